// The organizer's desk: clock control, teams and their tokens, freeze, announcements, the
// scenario with its check diagnostics, and exports.
'use strict';

(() => {
  const { el, fill, $, api, list, pick, humanize, text, timeOf, fmtDuration, fmtGameTime } = BK;
  let token = null;
  let game = null;
  const clock = BK.gameClock($('clock'));
  const call = (path, options) => api(path, Object.assign({ token }, options || {}));

  // ---------- clock ----------

  function renderGame(g) {
    game = g;
    BK.tickSecondsFrom(g);
    fill('state-slot', BK.stateBadge(g.state));
    clock.update(g);
    $('frozen-badge').hidden = !g.frozen;
    const manual = g.clock === 'manual';
    $('clock-detail').textContent = `State: ${humanize(g.state)} · elapsed ${fmtGameTime(g.elapsed_s)} · remaining ${fmtDuration(g.remaining_s)} · ` +
      (manual ? 'manual clock (advance it by hand)' : `speed ${g.speed ?? '?'}×`) + (g.frozen ? ' · public board frozen' : '');
    const s = g.state;
    $('btn-start').disabled = s !== 'lobby';
    $('btn-pause').disabled = s !== 'running';
    $('btn-resume').disabled = s !== 'paused';
    $('btn-finish').disabled = s === 'finished';
    $('btn-extend').disabled = s === 'finished';
    $('advance-form').hidden = g.clock !== undefined && !manual;
    $('btn-advance').disabled = s !== 'running';
    $('btn-freeze').disabled = Boolean(g.frozen);
    $('btn-unfreeze').disabled = !g.frozen;
  }

  async function refreshGame() {
    try { renderGame(await api('/game')); } catch (err) { BK.showError(err); }
  }

  async function gameOp(op, body) {
    if (op === 'finish' && !confirm('Finish the game now? Scores become final and every incident is revealed.')) return;
    try {
      const g = await call('/game/' + op, { method: 'POST', body });
      if (g && typeof g === 'object' && g.state) renderGame(g); else refreshGame();
      BK.toast(humanize(op) + ': done.', 'ok');
    } catch (err) { BK.showError(err); }
    refreshAll();
  }

  // ---------- teams ----------

  async function refreshTeams() {
    try {
      const teams = list(await call('/teams'), 'teams');
      fill('teams', BK.table(teams, [
        { label: 'Id', fmt: (r) => String(r.id ?? '') },
        { label: 'Name', fmt: (r) => String(r.name ?? '') },
        { label: '', fmt: (r) => el('span', { class: 'row' },
          el('button', { type: 'button', onclick: () => rotate(r), 'aria-label': `Rotate the token of ${r.name}` }, 'Rotate token'),
          el('button', { type: 'button', class: 'danger', onclick: () => remove(r), 'aria-label': `Remove ${r.name}` }, 'Remove')) },
      ], { id: 'teams-table', empty: 'No teams yet. Create one above.', rowAttrs: (r) => ({ dataset: { teamId: String(r.id) } }) }));
    } catch (err) { fill('teams', el('p', { class: 'empty' }, err.message)); }
  }

  function showToken(name, tok) {
    $('new-token-team').textContent = name;
    $('new-token').textContent = tok;
    $('new-token-box').hidden = false;
    $('copy-token').focus();
  }

  async function createTeam(ev) {
    ev.preventDefault();
    const name = $('team-name').value.trim();
    if (!name) return;
    try {
      const created = await call('/teams', { method: 'POST', body: { name } });
      showToken(String(pick(created, 'name') ?? name), String(pick(created, 'token') ?? ''));
      $('team-name').value = '';
      refreshTeams();
      refreshBoard();
    } catch (err) { BK.showError(err); }
  }

  async function rotate(team) {
    if (!confirm(`Give ${team.name} a new token? The old one stops working at once.`)) return;
    try {
      const answer = await call(`/teams/${encodeURIComponent(team.id)}/rotate`, { method: 'POST' });
      showToken(String(team.name), String(typeof answer === 'string' ? answer : pick(answer, 'token') ?? ''));
    } catch (err) { BK.showError(err); }
  }

  async function remove(team) {
    if (!confirm(`Remove ${team.name} from the game? This cannot be undone.`)) return;
    try {
      await call(`/teams/${encodeURIComponent(team.id)}`, { method: 'DELETE' });
      BK.toast(`${team.name} removed.`, 'ok');
      refreshTeams();
      refreshBoard();
    } catch (err) { BK.showError(err); }
  }

  // ---------- standings, announcements ----------

  async function refreshBoard() {
    try {
      const teams = list(await call('/scoreboard'), 'teams').slice().sort((a, b) => (a.rank || 0) - (b.rank || 0));
      fill('board', BK.standingsTable(teams));
    } catch (err) { BK.showError(err); }
  }

  async function refreshAnnouncements() {
    try {
      const items = list(await api('/announcements'), 'announcements');
      fill('announcements', items.length ? items.slice().reverse().map((a) => {
        const at = timeOf(a, 'at') ?? timeOf(a, 'elapsed');
        return el('li', null, at !== null ? el('span', { class: 'when' }, fmtGameTime(at)) : null, String(pick(a, 'message', 'text') ?? text(a)));
      }) : el('li', { class: 'empty' }, 'None yet.'));
    } catch (err) { BK.showError(err); }
  }

  async function announce(ev) {
    ev.preventDefault();
    const message = $('ann-message').value.trim();
    if (!message) return;
    try {
      await call('/announcements', { method: 'POST', body: { message } });
      $('ann-message').value = '';
      BK.toast('Announced.', 'ok');
      refreshAnnouncements();
    } catch (err) { BK.showError(err); }
  }

  // ---------- scenario ----------

  function diagnosticsView(diags) {
    const items = list(diags || [], 'diagnostics', 'errors', 'warnings');
    if (!items.length) return el('p', { class: 'banner ok' }, '✓ The scenario checks clean: no errors, no warnings.');
    return el('ul', { class: 'announcements', id: 'diagnostics' }, items.map((d) => {
      if (typeof d === 'string') return el('li', null, d);
      const severity = String(pick(d, 'severity', 'level') ?? 'error');
      const where = [pick(d, 'file'), pick(d, 'line'), pick(d, 'column', 'col')].filter((x) => x !== undefined).join(':');
      return el('li', null, el('span', { class: 'badge ' + (/warn/i.test(severity) ? 'warn' : /err/i.test(severity) ? 'bad' : '') }, (/warn/i.test(severity) ? '▲ ' : /err/i.test(severity) ? '✕ ' : '• ') + severity), ' ',
        where ? el('span', { class: 'mono muted' }, where + ' ') : null, String(pick(d, 'message', 'text') ?? text(d)),
        pick(d, 'help') ? el('div', { class: 'hint-text' }, String(pick(d, 'help'))) : null);
    }));
  }

  function triggerText(trigger) {
    if (!trigger) return '–';
    if (typeof trigger === 'string') return trigger;
    return text(trigger);
  }

  async function loadScenario() {
    try {
      const data = await call('/scenario');
      const scenario = pick(data, 'scenario') || data;
      const diags = pick(data, 'diagnostics', 'check', 'warnings');
      const services = list(pick(scenario, 'services') || []);
      const faults = list(pick(scenario, 'faults') || []);
      const zones = list(pick(scenario, 'zones') || []);
      fill('scenario',
        el('h3', null, String(pick(scenario, 'title') ?? pick(data, 'name') ?? 'Scenario')),
        pick(data, 'file', 'scenario_name', 'name') ? el('p', { class: 'mono muted' }, String(pick(data, 'file', 'scenario_name', 'name'))) : null,
        el('p', null, String(pick(scenario, 'description') ?? '')),
        el('p', { class: 'muted' }, [
          `Duration ${text(pick(scenario, 'duration'))}`, `difficulty ${humanize(pick(scenario, 'difficulty') ?? '–')}`,
          `${zones.length} zone(s)`, `${services.length} services`, `${faults.length} faults`,
          pick(scenario, 'freeze_at') ? `freezes at ${text(pick(scenario, 'freeze_at'))}` : 'no scheduled freeze',
          `seed ${text(pick(scenario, 'seed'))}`].join(' · ')),
        el('h3', { class: 'mt' }, 'Check'),
        diagnosticsView(diags),
        el('h3', { class: 'mt' }, 'Fault script (secret: never show it to teams)'),
        BK.table(faults, [
          { label: 'Fault', fmt: (f) => String(pick(f, 'name') ?? '') },
          { label: 'Kind', fmt: (f) => text(pick(f, 'kind')) },
          { label: 'Target', fmt: (f) => text(pick(f, 'target')) },
          { label: 'Trigger', fmt: (f) => triggerText(pick(f, 'trigger')) },
          { label: 'Lasts', fmt: (f) => text(pick(f, 'duration') ?? 'until fixed') },
        ], { id: 'faults-table', empty: 'No faults in this scenario.' }));
    } catch (err) { fill('scenario', el('p', { class: 'empty' }, err.message)); }
  }

  // ---------- exports ----------

  async function exportAs(format, file) {
    try {
      const query = `format=${encodeURIComponent(format)}` + (file ? `&file=${encodeURIComponent(file)}` : '');
      const response = await fetch(`${BK.API}/export?${query}`, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
      if (!response.ok) {
        let message = `Export failed (${response.status}).`;
        try { message = (await response.json()).message || message; } catch (_) { /* not JSON */ }
        throw new Error(message);
      }
      const type = response.headers.get('Content-Type') || '';
      const disposition = response.headers.get('Content-Disposition') || '';
      const named = /filename="?([^";]+)"?/.exec(disposition);
      const ext = type.includes('zip') ? 'zip' : type.includes('json') ? 'json' : format === 'csv' ? 'csv' : 'txt';
      BK.download(named ? named[1] : `breakathon-results.${ext}`, await response.blob());
      // A CSV export is one file per table: offer the others as buttons.
      const files = (response.headers.get('X-Export-Files') || '').split(',').map((f) => f.trim()).filter(Boolean);
      if (format === 'csv' && !file && files.length > 1) {
        fill('export-files', el('p', { class: 'muted' }, 'The CSV export has one file per table:'),
          el('div', { class: 'row' }, files.map((f) => el('button', { type: 'button', onclick: () => exportAs('csv', f) }, f))));
      }
    } catch (err) { BK.showError(err); }
  }

  // ---------- start ----------

  const refreshAll = BK.throttle(() => { refreshGame(); refreshBoard(); refreshAnnouncements(); refreshTeams(); }, 700);

  function start(tok) {
    token = tok;
    $('organizer').hidden = false;
    $('sign-out').hidden = false;
    $('live').hidden = false;
    for (const b of document.querySelectorAll('button[data-op]')) b.addEventListener('click', () => gameOp(b.dataset.op));
    $('extend-form').addEventListener('submit', (ev) => { ev.preventDefault(); gameOp('extend', { seconds: Number($('extend-seconds').value) }); });
    $('advance-form').addEventListener('submit', (ev) => { ev.preventDefault(); gameOp('advance', { seconds: Number($('advance-seconds').value) }); });
    $('team-form').addEventListener('submit', createTeam);
    $('copy-token').addEventListener('click', async () => {
      try { await navigator.clipboard.writeText($('new-token').textContent); BK.toast('Token copied.', 'ok'); } catch (_) { BK.toast('Select the token and copy it by hand.', 'error'); }
    });
    $('hide-token').addEventListener('click', () => { $('new-token-box').hidden = true; fill('new-token'); });
    $('ann-form').addEventListener('submit', announce);
    for (const b of document.querySelectorAll('button[data-format]')) b.addEventListener('click', () => exportAs(b.dataset.format));
    refreshGame();
    refreshTeams();
    refreshBoard();
    refreshAnnouncements();
    loadScenario();
    BK.publicStream('/scoreboard/stream', ['scoreboard', 'game', 'announcement'], () => refreshAll(), (on) => {
      const n = $('live'); n.className = 'live ' + (on ? 'on' : 'off'); n.textContent = on ? 'live' : 'reconnecting…';
      if (on) refreshAll();
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-out').addEventListener('click', () => { BK.clearToken('organizer'); location.reload(); });
    BK.signIn('organizer', $('signin'), (tok) => api('/teams', { token: tok }), start);
  });
})();
