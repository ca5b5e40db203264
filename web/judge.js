// The judge's desk: the live standings, the true fault timeline beside every team's detections
// and fixes, each team's own timeline, and forms for point adjustments and verdict rulings.
'use strict';

(() => {
  const { el, fill, $, api, list, pick, humanize, text, timeOf, fmtGameTime } = BK;
  let token = null;
  let teams = [];
  let incidents = [];
  const clock = BK.gameClock($('clock'));
  const call = (path, options) => api(path, Object.assign({ token }, options || {}));

  function renderBoard(data) {
    teams = list(data, 'teams').slice().sort((a, b) => (a.rank || 0) - (b.rank || 0));
    fill('board', BK.standingsTable(teams));
    for (const id of ['tl-team', 'adj-team', 'rule-team']) {
      const sel = $(id);
      const old = sel.value;
      fill(sel, id === 'tl-team' ? el('option', { value: '' }, '— choose —') : null, teams.map((t) => el('option', { value: String(t.id) }, String(t.name))));
      if ([...sel.options].some((o) => o.value === old)) sel.value = old;
    }
  }

  async function refreshBoard() {
    try { renderBoard(await call('/scoreboard')); } catch (err) { BK.showError(err); }
  }

  async function refreshTruth() {
    try {
      incidents = list(await call('/judge/incidents'), 'incidents');
      fill('truth', BK.incidentGrid(incidents, { id: 'truth-table', empty: 'No fault has struck yet.' }));
      const sel = $('rule-incident');
      const old = sel.value;
      fill(sel, incidents.map((r) => el('option', { value: String(pick(r, 'id', 'incident')) }, `#${pick(r, 'id', 'incident')} ${BK.incidentLabel(r)}`)));
      if ([...sel.options].some((o) => o.value === old)) sel.value = old;
    } catch (err) { fill('truth', el('p', { class: 'empty' }, err.message)); }
  }

  async function refreshTimeline() {
    const id = $('tl-team').value;
    if (!id) { fill('team-timeline', el('p', { class: 'empty' }, 'Choose a team.')); return; }
    try {
      const entries = list(await call(`/judge/teams/${encodeURIComponent(id)}/timeline`), 'entries', 'timeline', 'events');
      fill('team-timeline', BK.table(entries, [
        { label: 'When', fmt: (r) => fmtGameTime(timeOf(r, 'at') ?? timeOf(r, 'elapsed') ?? BK.ticksToSeconds(pick(r, 'tick'))) },
        { label: 'What', fmt: (r) => humanize(pick(r, 'kind', 'type', 'event') ?? '') },
        { label: 'Incident', fmt: (r) => (pick(r, 'incident') !== undefined ? '#' + pick(r, 'incident') : '') },
        { label: 'Detail', fmt: (r) => String(pick(r, 'text', 'detail', 'description', 'message', 'summary') ?? text(Object.fromEntries(Object.entries(r).filter(([k]) => !/^(at|tick|kind|type|event)(_s|_tick)?$/.test(k))))) },
      ], { id: 'timeline-table', empty: 'Nothing yet.' }));
    } catch (err) { fill('team-timeline', el('p', { class: 'empty' }, err.message)); }
  }

  async function refreshGame() {
    try {
      const g = await api('/game');
      BK.tickSecondsFrom(g);
      fill('state-slot', BK.stateBadge(g.state));
      clock.update(g);
      $('frozen-badge').hidden = !g.frozen;
    } catch (err) { BK.showError(err); }
  }

  const refreshAll = BK.throttle(() => { refreshGame(); refreshBoard(); refreshTruth(); refreshTimeline(); }, 700);

  async function submitAdjustment(ev) {
    ev.preventDefault();
    const body = { team: Number($('adj-team').value), points: Number($('adj-points').value), reason: $('adj-reason').value.trim() };
    if (!body.reason) { BK.toast('A reason is required.', 'error'); return; }
    try {
      await call('/judge/adjustments', { method: 'POST', body });
      BK.toast(`Adjustment recorded: ${BK.fmtPoints(body.points)} points.`, 'ok');
      $('adj-points').value = '';
      $('adj-reason').value = '';
      refreshAll();
    } catch (err) { BK.showError(err); }
  }

  async function submitRuling(ev) {
    ev.preventDefault();
    const body = { team: Number($('rule-team').value), incident: Number($('rule-incident').value), ruling: $('rule-ruling').value, reason: $('rule-reason').value.trim() };
    if (body.ruling.startsWith('declaration_')) {
      const n = $('rule-declaration').value;
      if (n === '') { BK.toast('Give the declaration number (see the team timeline).', 'error'); return; }
      body.declaration = Number(n);
    }
    if (!body.reason) { BK.toast('A reason is required.', 'error'); return; }
    try {
      await call('/judge/verdicts', { method: 'POST', body });
      BK.toast('Ruling recorded.', 'ok');
      $('rule-reason').value = '';
      refreshAll();
    } catch (err) { BK.showError(err); }
  }

  function start(tok) {
    token = tok;
    $('judge').hidden = false;
    $('sign-out').hidden = false;
    $('live').hidden = false;
    $('tl-team').addEventListener('change', refreshTimeline);
    $('adjust-form').addEventListener('submit', submitAdjustment);
    $('rule-form').addEventListener('submit', submitRuling);
    const syncRuling = () => { $('rule-declaration-field').hidden = !$('rule-ruling').value.startsWith('declaration_'); };
    $('rule-ruling').addEventListener('change', syncRuling);
    syncRuling();
    refreshGame();
    refreshBoard().then(refreshTruth);
    BK.publicStream('/scoreboard/stream', ['scoreboard', 'game', 'announcement'], () => refreshAll(), (on) => {
      const n = $('live'); n.className = 'live ' + (on ? 'on' : 'off'); n.textContent = on ? 'live' : 'reconnecting…';
      if (on) refreshAll();
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-out').addEventListener('click', () => { BK.clearToken('judge'); location.reload(); });
    BK.signIn('judge', $('signin'), (tok) => api('/judge/incidents', { token: tok }), start);
  });
})();
