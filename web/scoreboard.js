// The public scoreboard: standings pushed live over Server-Sent Events (no reload, no polling),
// announcements, the score chart, and after Finish every incident revealed.
'use strict';

(() => {
  const { el, fill, $, api, list, fmtDuration, fmtGameTime, pick, timeOf, text } = BK;
  /** Speed of the big-screen auto-scroll, in pixels per step. */
  const SCROLL_STEP_PX = 1;
  /** Time between auto-scroll steps, in milliseconds. */
  const SCROLL_INTERVAL_MS = 40;
  /** Pause at the top and bottom of the page in big-screen mode, in milliseconds. */
  const SCROLL_PAUSE_MS = 4000;
  /** Most announcements listed (newest first). */
  const MAX_ANNOUNCEMENTS = 8;
  /** Least time between two reloads of the chart, in milliseconds. */
  const CHART_MIN_INTERVAL_MS = 2000;

  const clock = BK.gameClock($('clock'));
  let lastScores = new Map();
  let game = null;
  let resultsShown = false;

  // ---------- standings ----------

  function renderBoard(data) {
    const teams = list(data, 'teams').slice().sort((a, b) => (a.rank || 0) - (b.rank || 0));
    if (data && typeof data === 'object' && data.frozen !== undefined) setFrozen(Boolean(data.frozen));
    if (teams.length === 0) {
      fill('board', el('p', { class: 'empty' }, 'No teams yet.'));
      lastScores = new Map();
      return;
    }
    const rows = teams.map((t) => {
      const changed = lastScores.has(t.id) && lastScores.get(t.id) !== t.score;
      return el('tr', { class: changed ? 'changed' : null, dataset: { teamId: String(t.id) } },
        el('td', { class: 'rank', dataset: { field: 'rank' } }, String(t.rank ?? '')),
        el('td', { class: 'team', dataset: { field: 'name' } }, String(t.name ?? '')),
        el('td', { class: 'num score', dataset: { field: 'score' } }, Number(t.score ?? 0).toLocaleString('en')),
        el('td', { class: 'num', dataset: { field: 'incidents_detected' } }, String(t.incidents_detected ?? 0)),
        el('td', { class: 'num', dataset: { field: 'incidents_fixed' } }, String(t.incidents_fixed ?? 0)),
        el('td', { class: 'num', dataset: { field: 'median_ttd_s' } }, fmtDuration(t.median_ttd_s)),
        el('td', { class: 'num', dataset: { field: 'median_ttf_s' } }, fmtDuration(t.median_ttf_s)));
    });
    lastScores = new Map(teams.map((t) => [t.id, t.score]));
    const head = el('tr', null,
      el('th', { scope: 'col' }, '#'), el('th', { scope: 'col' }, 'Team'), el('th', { scope: 'col', class: 'num' }, 'Score'),
      el('th', { scope: 'col', class: 'num', title: 'incidents detected' }, 'Detected'),
      el('th', { scope: 'col', class: 'num', title: 'incidents fixed' }, 'Fixed'),
      el('th', { scope: 'col', class: 'num', title: 'median time to detect' }, 'Median TTD'),
      el('th', { scope: 'col', class: 'num', title: 'median time to fix' }, 'Median TTF'));
    fill('board', el('table', { class: 'board', id: 'board-table' }, el('thead', null, head), el('tbody', null, rows)));
  }

  function setFrozen(frozen) {
    $('frozen-banner').hidden = !frozen;
  }

  // ---------- game status, announcements, chart ----------

  function renderGame(g) {
    if (!g || typeof g !== 'object') return;
    game = g;
    BK.tickSecondsFrom(g);
    fill('state-slot', BK.stateBadge(g.state));
    clock.update(g);
    if (g.title) $('game-title').textContent = g.title;
    setFrozen(Boolean(g.frozen) && g.state !== 'finished');
    $('finished-banner').hidden = g.state !== 'finished';
    if (g.state === 'finished') loadResults();
  }

  async function refreshGame() {
    try { renderGame(await api('/game')); } catch (err) { BK.showError(err); }
  }

  function renderAnnouncements(data) {
    const items = list(data, 'announcements').slice().reverse().slice(0, MAX_ANNOUNCEMENTS);
    if (items.length === 0) { fill('announcements', el('li', { class: 'empty' }, 'None yet.')); return; }
    fill('announcements', items.map((a) => {
      const at = timeOf(a, 'at') ?? timeOf(a, 'elapsed') ?? timeOf(a, 'time');
      return el('li', null, at === null ? null : el('span', { class: 'when' }, fmtGameTime(at)), String(pick(a, 'message', 'text') ?? text(a)));
    }));
  }

  async function refreshAnnouncements() {
    try { renderAnnouncements(await api('/announcements')); } catch (err) { BK.showError(err); }
  }

  let chartSeq = 0;
  const refreshChart = BK.throttle(() => {
    if (!game || game.state === 'lobby') return;
    const img = $('score-chart');
    chartSeq += 1;
    img.onload = () => { img.hidden = false; $('chart-empty').hidden = true; };
    img.onerror = () => { img.hidden = true; $('chart-empty').hidden = false; };
    img.src = BK.API + '/scoreboard/chart.svg?v=' + chartSeq;
  }, CHART_MIN_INTERVAL_MS);

  // ---------- after Finish: the per-incident grid and the true timeline ----------

  function renderResults(data) {
    // The grid comes as the true incidents plus every team's results: put each incident's
    // results beside it.
    const results = list(pick(data, 'results') || []);
    const incidents = list(data, 'incidents', 'grid', 'rows').map((i) => (i.teams ? i : Object.assign({}, i, {
      teams: results.filter((r) => String(pick(r, 'incident')) === String(pick(i, 'incident', 'id'))),
    })));
    fill('grid', BK.incidentGrid(incidents, { id: 'incident-grid', empty: 'No incidents happened.' }));
    const timeline = list(pick(data, 'timeline', 'true_timeline', 'faults') || [], 'events', 'entries');
    const source = timeline.length ? timeline : incidents;
    fill('timeline', BK.table(source, [
      { label: 'Struck', fmt: (r) => fmtGameTime(timeOf(r, 'inject') ?? timeOf(r, 'injected') ?? timeOf(r, 'at')) },
      { label: 'Fault', fmt: (r) => BK.incidentLabel(r) || text(r) },
      { label: 'Ended', fmt: (r) => { const e = timeOf(r, 'ends') ?? timeOf(r, 'end') ?? timeOf(r, 'ended'); return e === null ? 'until fixed' : fmtGameTime(e); } },
    ], { id: 'true-timeline', empty: 'No faults.' }));
  }

  async function loadResults() {
    if (resultsShown) return;
    try {
      const data = await api('/incidents');
      resultsShown = true;
      $('results').hidden = false;
      renderResults(data);
    } catch (err) {
      if (err.status !== 409 && err.status !== 403) BK.showError(err);
    }
  }

  // ---------- big-screen mode ----------

  let scrollTimer = null;
  function setBig(on) {
    document.body.classList.toggle('big', on);
    document.documentElement.classList.toggle('big', on);
    $('big-toggle').setAttribute('aria-pressed', String(on));
    const url = new URL(location.href);
    if (on) url.searchParams.set('big', '1'); else url.searchParams.delete('big');
    history.replaceState(null, '', url);
    if (scrollTimer) { clearInterval(scrollTimer); scrollTimer = null; }
    const reduced = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    if (on && !reduced) {
      let pauseUntil = Date.now() + SCROLL_PAUSE_MS;
      scrollTimer = setInterval(() => {
        const max = document.documentElement.scrollHeight - window.innerHeight;
        if (max <= 0 || Date.now() < pauseUntil) return;
        if (window.scrollY >= max - 1) {
          pauseUntil = Date.now() + SCROLL_PAUSE_MS;
          setTimeout(() => window.scrollTo(0, 0), SCROLL_PAUSE_MS);
          pauseUntil += SCROLL_PAUSE_MS;
        } else {
          window.scrollBy(0, SCROLL_STEP_PX);
        }
      }, SCROLL_INTERVAL_MS);
    }
  }

  // ---------- live stream ----------

  const refreshAll = BK.throttle(() => { refreshGame(); refreshAnnouncements(); refreshChart(); }, 300);

  function onEvent(name, data) {
    if (name === 'game') { renderGame(data); refreshChart(); return; }
    if (name === 'announcement' || name === 'announcements') { refreshAnnouncements(); return; }
    if (data && typeof data === 'object' && (Array.isArray(data.teams) || Array.isArray(data))) {
      renderBoard(data);
      if (data.game) renderGame(data.game); else refreshGame();
      refreshAnnouncements();
      refreshChart();
      return;
    }
    refreshAll();
  }

  function setLive(on) {
    const node = $('live');
    node.className = 'live ' + (on ? 'on' : 'off');
    node.textContent = on ? 'live' : 'reconnecting…';
    if (on) refreshAll();
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('big-toggle').addEventListener('click', () => setBig(!document.body.classList.contains('big')));
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'b' && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !(ev.target instanceof HTMLInputElement)) setBig(!document.body.classList.contains('big'));
    });
    if (new URLSearchParams(location.search).get('big') === '1') setBig(true);
    await refreshGame();
    try { renderBoard(await api('/scoreboard')); } catch (err) { BK.showError(err); }
    refreshAnnouncements();
    refreshChart();
    BK.publicStream('/scoreboard/stream', ['scoreboard', 'game', 'announcement'], onEvent, setLive);
  });
})();
