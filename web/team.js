// The team console: the fleet map, per-service metrics and logs, alerts, complaints, and the
// forms a team plays with (act, declare, notify, buy hints), its incidents and score ledger.
// Refreshed from the team's live stream; every value from the server is set as text.
'use strict';

(() => {
  const { el, svg, fill, $, api, list, pick, humanize, text, timeOf, fmtDuration, fmtGameTime, fmtPoints } = BK;
  /** Most log lines asked for and shown. */
  const LOG_LIMIT = 200;
  /** Least time between two refreshes of the console after live events, in milliseconds. */
  const REFRESH_MIN_INTERVAL_MS = 500;
  /** Least time between two refreshes of charts and logs, in milliseconds. */
  const HEAVY_REFRESH_MIN_INTERVAL_MS = 2500;
  /** Simulated seconds of metric history charted. */
  const CHART_WINDOW_S = 900;
  /**
   * While the game runs, how often the console re-reads the fleet, alerts and complaints, in
   * milliseconds: the simulation changes every tick, but only score and state changes are
   * pushed on the streams.
   */
  const RUNNING_REFRESH_MS = 2000;
  /** Most entries kept in the session's action and declaration logs. */
  const SESSION_LOG_LIMIT = 50;
  /** Fleet map geometry, in SVG user units. */
  const MAP = { scale: 1.2, colWidth: 230, nodeWidth: 190, rowGap: 22, padX: 16, padY: 16, headH: 44, zoneH: 20 };
  const CHART_SETS = {
    traffic: ['rps', 'error_percent', 'latency_p99_ms', 'latency_p50_ms'],
    resources: ['cpu_percent', 'memory_percent', 'disk_percent', 'connections_percent'],
    health: ['healthy_percent', 'saturation_percent'],
  };

  let token = null;
  let fleet = { services: [], zones: [] };
  let selected = null;
  let game = null;
  let lastAnnouncementCount = null;
  const actionLog = [];
  const declareLog = [];
  const clock = BK.gameClock($('clock'));

  const call = (path, options) => api(path, Object.assign({ token }, options || {}));

  // ---------- fleet model helpers ----------

  const services = () => list(fleet, 'services');
  const serviceByName = (name) => services().find((s) => s.name === name);
  function zoneNames() {
    const zones = list(pick(fleet, 'zones') || [], 'zones').map((z) => (typeof z === 'string' ? z : pick(z, 'name', 'id')));
    if (zones.length) return zones.filter(Boolean).map(String);
    const found = new Set();
    for (const s of services()) for (const i of instancesOf(s)) if (i.zone) found.add(String(i.zone));
    return [...found];
  }
  // A zone's own state from GET /team/fleet (`zones: [{name, up, drained}]`): draining a
  // whole zone marks the zone, not its instances.
  function zoneState(name) {
    const zones = list(pick(fleet, 'zones') || [], 'zones');
    const z = zones.find((x) => x && typeof x === 'object' && String(pick(x, 'name', 'id')) === String(name));
    if (!z) return null;
    if (z.up === false) return 'down';
    return z.drained ? 'drained' : null;
  }
  function zoneText(name) {
    const state = zoneState(name);
    return state ? `${name} (${BK.healthInfo(state)[1]} ${state})` : String(name);
  }
  function instancesOf(s) { return list(pick(s, 'instances') || [], 'instances').filter((i) => pick(i, 'phase') !== 'removed'); }
  function depsOf(s) {
    return list(pick(s, 'dependencies', 'deps', 'calls') || [], 'dependencies')
      .map((d) => (typeof d === 'string' ? d : pick(d, 'service', 'name', 'callee'))).filter(Boolean).map(String);
  }
  function instanceIndex(inst, i) { const v = pick(inst, 'index', 'id', 'instance'); return v === undefined ? i : v; }
  function instanceHealth(inst) {
    const phase = pick(inst, 'phase');
    if (phase !== undefined) {
      if (phase === 'running') {
        const zone = zoneState(inst.zone);
        if (zone === 'down') return 'down';
        if (inst.drained || zone === 'drained') return 'drained';
        return inst.probe_healthy === false ? 'failing' : 'healthy';
      }
      return phase;
    }
    const state = pick(inst, 'health', 'state', 'status');
    if (state !== undefined) return state;
    if (inst.healthy !== undefined) return inst.healthy;
    return 'unknown';
  }
  function serviceHealth(s) {
    const h = pick(s, 'health', 'status', 'state');
    const inst = instancesOf(s);
    // Probes pass on drained instances: a "healthy" service with every instance drained
    // (itself or by its zone) serves nobody.
    if (h === 'healthy' && inst.length && inst.every((i) => instanceHealth(i) === 'drained')) return 'drained';
    if (h !== undefined) return h;
    if (!inst.length) return 'unknown';
    const ok = inst.filter((i) => BK.healthInfo(instanceHealth(i))[0] === 'ok').length;
    return ok === inst.length ? 'healthy' : ok === 0 ? 'down' : 'degraded';
  }

  // ---------- fleet map (SVG built node by node) ----------

  function layout() {
    const list_ = services();
    const names = list_.map((s) => s.name);
    const callers = new Map(names.map((n) => [n, []]));
    for (const s of list_) for (const d of depsOf(s)) if (callers.has(d)) callers.get(d).push(s.name);
    // Column = longest call path from an entry point (services nobody calls), cycle-safe.
    const col = new Map();
    const visiting = new Set();
    const depth = (n) => {
      if (col.has(n)) return col.get(n);
      if (visiting.has(n)) return 0;
      visiting.add(n);
      const c = callers.get(n) || [];
      const v = c.length ? Math.max(...c.map((x) => depth(x) + 1)) : 0;
      visiting.delete(n);
      col.set(n, v);
      return v;
    };
    names.forEach(depth);
    const columns = [];
    for (const s of list_) { const c = col.get(s.name) || 0; (columns[c] = columns[c] || []).push(s); }
    return columns.map((c) => c || []);
  }

  function nodeHeight(s) {
    const zones = new Set(instancesOf(s).map((i) => String(i.zone ?? '')));
    return MAP.headH + Math.max(1, zones.size) * MAP.zoneH + 8;
  }

  function renderMap() {
    const columns = layout();
    if (!columns.length) { fill('fleet-map', el('p', { class: 'empty' }, 'No services.')); return; }
    const pos = new Map();
    let height = 0;
    columns.forEach((colServices, c) => {
      let y = MAP.padY;
      for (const s of colServices) {
        const h = nodeHeight(s);
        pos.set(s.name, { x: MAP.padX + c * MAP.colWidth, y, h });
        y += h + MAP.rowGap;
      }
      height = Math.max(height, y);
    });
    const width = MAP.padX * 2 + (columns.length - 1) * MAP.colWidth + MAP.nodeWidth;
    const root = svg('svg', { class: 'fleet-map', viewBox: `0 0 ${width} ${height}`, width: String(Math.round(width * MAP.scale)), height: String(Math.round(height * MAP.scale)), role: 'group', 'aria-label': 'Fleet map: services, their calls and health' });
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9aa5b4' }));
    root.appendChild(svg('defs', null, marker));
    for (const s of services()) {
      const from = pos.get(s.name);
      for (const d of depsOf(s)) {
        const to = pos.get(d);
        if (!from || !to) continue;
        const x1 = from.x + MAP.nodeWidth; const y1 = from.y + from.h / 2;
        const x2 = to.x; const y2 = to.y + to.h / 2;
        const path = x2 > x1
          ? `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2 - 2},${y2}`
          : `M${from.x + MAP.nodeWidth / 2},${from.y + from.h} C${from.x + MAP.nodeWidth / 2},${from.y + from.h + 30} ${to.x + MAP.nodeWidth / 2},${to.y - 30} ${to.x + MAP.nodeWidth / 2},${to.y - 2}`;
        root.appendChild(svg('path', { class: 'edge', d: path, 'marker-end': 'url(#arrow)' }, svg('title', null, `${s.name} calls ${d}`)));
      }
    }
    for (const s of services()) root.appendChild(mapNode(s, pos.get(s.name)));
    fill('fleet-map', root);
  }

  function mapNode(s, p) {
    const [cls, icon, word] = BK.healthInfo(serviceHealth(s));
    const insts = instancesOf(s);
    const g = svg('g', {
      class: 'node' + (s.name === selected ? ' selected' : ''), transform: `translate(${p.x},${p.y})`, tabindex: '0', role: 'button',
      'aria-label': `${s.name}, ${humanize(s.kind)}, ${word}, ${insts.length} instances`, 'aria-pressed': String(s.name === selected),
      dataset: { service: s.name, health: word },
    });
    g.appendChild(svg('rect', { class: 'box', width: MAP.nodeWidth, height: p.h, rx: '8' }));
    g.appendChild(svg('text', { x: '10', y: '19', 'font-size': '14', 'font-weight': '700' }, s.name.length > 24 ? s.name.slice(0, 23) + '…' : s.name));
    g.appendChild(svg('text', { x: '10', y: '36', 'font-size': '11', fill: '#5b6574' }, humanize(s.kind || '')));
    g.appendChild(svg('text', { x: MAP.nodeWidth - 10, y: '36', 'font-size': '12', 'font-weight': '600', 'text-anchor': 'end', class: 'h-' + cls }, `${icon} ${word}`));
    const byZone = new Map();
    insts.forEach((inst, i) => { const z = String(inst.zone ?? ''); if (!byZone.has(z)) byZone.set(z, []); byZone.get(z).push([inst, i]); });
    if (!byZone.size) byZone.set('', []);
    let y = MAP.headH;
    for (const [zone, members] of byZone) {
      const zstate = zone ? zoneState(zone) : null;
      g.appendChild(svg('text', { x: '10', y: y + 14, class: 'zone-label', dataset: { zoneState: zstate || 'normal' } },
        zone ? (zstate ? `${zone.length > 6 ? zone.slice(0, 5) + '…' : zone} ${BK.healthInfo(zstate)[1]}` : zone) : 'instances',
        svg('title', null, zone ? zoneText(zone) : 'instances')));
      const fits = Math.floor((MAP.nodeWidth - 70) / 20);
      if (members.length > fits) {
        // Show the troubled instances first when they do not all fit.
        const order = { bad: 0, warn: 1, idle: 2, ok: 3 };
        members.sort((a, b) => order[BK.healthInfo(instanceHealth(a[0]))[0]] - order[BK.healthInfo(instanceHealth(b[0]))[0]]);
        g.appendChild(svg('text', { x: MAP.nodeWidth - 8, y: y + 14, 'font-size': '11', 'text-anchor': 'end', class: 'zone-label' }, `+${members.length - fits + 1}`));
      }
      members.forEach(([inst, i], k) => {
        const [icls, iicon, iword] = BK.healthInfo(instanceHealth(inst));
        const x = 70 + k * 20;
        if (members.length > fits && k >= fits - 1) return;
        const idx = instanceIndex(inst, i);
        const box = svg('g', { dataset: { instance: String(idx), state: iword } },
          svg('rect', { x, y: y + 2, width: '16', height: '16', rx: '3', class: 'h-' + icls }),
          svg('text', { x: x + 8, y: y + 14, 'font-size': '11', 'text-anchor': 'middle', class: 'glyph' }, iicon),
          svg('title', null, `${s.name} #${idx}${zone ? ' in ' + zoneText(zone) : ''}: ${iword}`));
        g.appendChild(box);
      });
      y += MAP.zoneH;
    }
    g.appendChild(svg('title', null, `${s.name} (${humanize(s.kind || '')}): ${word}`));
    const choose = () => selectService(s.name, true);
    g.addEventListener('click', choose);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); choose(); } });
    return g;
  }

  // ---------- selected service: details, charts ----------

  function selectService(name, fromMap) {
    selected = name;
    renderMap();
    renderServiceDetail();
    refreshCharts();
    if (fromMap) {
      $('action-service').value = name;
      onActionServiceChange();
      if ($('declare-kind-service').checked) $('declare-target').value = name;
      const node = document.querySelector(`#fleet-map .node[data-service="${CSS.escape(name)}"]`);
      if (node) node.focus();
    }
  }

  function kv(pairs) {
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== '') dl.append(el('dt', null, k), el('dd', null, v));
    return dl;
  }

  function renderServiceDetail() {
    const s = serviceByName(selected);
    if (!s) { fill('service-detail', el('p', { class: 'empty' }, 'Select a service on the map.')); return; }
    $('svc-title').textContent = 'Service: ' + s.name;
    const metrics = pick(s, 'metrics', 'current');
    const metricPairs = metrics && typeof metrics === 'object'
      ? Object.entries(metrics).filter(([k, v]) => typeof v === 'number' && k !== 'tick').map(([k, v]) => [humanize(k), BK.fmtField(k, v)]) : [];
    const flags = pick(s, 'flags');
    const config = pick(s, 'config');
    const insts = instancesOf(s);
    fill('service-detail',
      el('div', { class: 'row' }, BK.healthBadge(serviceHealth(s)), el('span', { class: 'muted' }, humanize(s.kind || '')),
        s.customer_facing ? el('span', { class: 'badge accent' }, 'customer-facing') : null),
      kv([
        ['version', pick(s, 'version')],
        ['can roll back to', list(pick(s, 'rollback_versions') || []).join(', ')],
        ['calls', depsOf(s).join(', ') || 'nothing'],
        ['zones', [...new Set(insts.map((i) => i.zone).filter(Boolean))].map(zoneText).join(', ')],
        ['shedding', Number(pick(s, 'shed_percent')) > 0 ? pick(s, 'shed_percent') + ' % of load' : null],
        ['rate limit', pick(s, 'rate_limit_rps') !== undefined ? pick(s, 'rate_limit_rps') + ' requests/s' : null],
        ['telemetry', s.metrics === null ? '? dark — no metrics or logs are arriving' : null],
        ...metricPairs,
      ]),
      insts.length ? BK.table(insts, [
        { label: 'Instance', fmt: (r, i) => '#' + instanceIndex(r, i) },
        { label: 'Zone', fmt: (r) => (r.zone === undefined || r.zone === null ? '–' : zoneText(r.zone)) },
        { label: 'Health', fmt: (r) => BK.healthBadge(instanceHealth(r)) },
        { label: 'Version', fmt: (r) => String(pick(r, 'version') ?? pick(s, 'version') ?? '–') },
        { label: 'CPU', num: true, fmt: (r) => BK.fmtField('cpu_percent', pick(r.metrics || r, 'cpu_percent')) },
        { label: 'Memory', num: true, fmt: (r) => BK.fmtField('memory_percent', pick(r.metrics || r, 'memory_percent')) },
        { label: 'Errors', num: true, fmt: (r) => BK.fmtField('error_percent', pick(r.metrics || r, 'error_percent')) },
        { label: 'p99', num: true, fmt: (r) => BK.fmtField('latency_p99_ms', pick(r.metrics || r, 'latency_p99_ms')) },
      ], { id: 'instances-table' }) : null,
      config && typeof config === 'object' && Object.keys(config).length
        ? el('div', { class: 'mt' }, el('h3', null, 'Config'), kv(Object.entries(config).map(([k, v]) => [k, text(v)]))) : null,
      flags && typeof flags === 'object' && Object.keys(flags).length
        ? el('div', { class: 'mt' }, el('h3', null, 'Feature flags'), kv(Object.entries(flags).map(([k, v]) => [k, v ? 'on' : 'off']))) : null);
  }

  function refreshCharts() {
    if (!selected) { fill('charts'); return; }
    const set = CHART_SETS[$('chart-set').value] || CHART_SETS.traffic;
    const elapsed = game ? Number(game.elapsed_s) || 0 : 0;
    const since = Math.max(0, Math.floor((elapsed - CHART_WINDOW_S) / (BK.ticksToSeconds(1) || 1)));
    const figures = set.map((metric) => {
      const img = el('img', { class: 'chart', alt: `${humanize(metric)} of ${selected} over time`, hidden: true });
      BK.loadImage(img, `/team/metrics/chart.svg?service=${encodeURIComponent(selected)}&metric=${encodeURIComponent(metric)}&since=${since}`, token);
      return el('figure', null, img, el('figcaption', null, humanize(metric)));
    });
    fill('charts', figures);
  }

  // ---------- logs ----------

  async function refreshLogs() {
    const q = $('logs-q').value.trim();
    const service = $('logs-service').value;
    const params = new URLSearchParams();
    if (service) params.set('service', service);
    if (q) params.set('q', q);
    params.set('limit', String(LOG_LIMIT));
    try {
      const lines = list(await call('/team/logs?' + params.toString()), 'logs', 'lines').slice(-LOG_LIMIT);
      const box = $('logs');
      const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
      if (!lines.length) { fill(box, el('span', { class: 'muted' }, q ? 'No log line matches.' : 'No log lines.')); return; }
      fill(box, lines.map((l) => {
        if (typeof l === 'string') return el('span', { class: 'line' }, l);
        const level = String(pick(l, 'level', 'severity') ?? 'info').toLowerCase();
        const at = timeOf(l, 'at') ?? timeOf(l, 'time');
        const tick = at ?? BK.ticksToSeconds(pick(l, 'tick'));
        const where = [pick(l, 'service'), pick(l, 'instance') !== undefined ? '#' + pick(l, 'instance') : null].filter((x) => x !== undefined && x !== null).join('');
        return el('span', { class: 'line lvl-' + level }, `${fmtGameTime(tick)} ${level.toUpperCase().padEnd(5)} ${where ? where + ' ' : ''}${String(pick(l, 'message', 'text') ?? text(l))}`);
      }));
      if (atBottom) box.scrollTop = box.scrollHeight;
    } catch (err) {
      fill('logs', el('span', { class: 'muted' }, err.message));
    }
  }

  // ---------- alerts and complaints ----------

  async function refreshAlerts() {
    try {
      const alerts = list(await call('/team/alerts'), 'alerts');
      const firing = alerts.filter((a) => isFiring(a));
      const badge = $('alerts-count');
      badge.textContent = firing.length ? `${firing.length} firing` : 'quiet';
      badge.className = 'badge ' + (firing.length ? 'bad' : 'ok');
      if (!alerts.length) { fill('alerts', el('p', { class: 'empty' }, 'No alerts.')); return; }
      const sorted = alerts.slice().sort((a, b) => Number(isFiring(b)) - Number(isFiring(a)));
      fill('alerts', sorted.map((a) => {
        const on = isFiring(a);
        const since = timeOf(a, 'since') ?? timeOf(a, 'fired') ?? timeOf(a, 'started') ?? timeOf(a, 'at');
        return el('div', { class: 'alert-item', dataset: { service: String(pick(a, 'service') ?? '') } },
          el('span', { class: 'badge ' + (on ? 'bad' : 'ok') }, on ? '● firing' : '✓ resolved'), ' ',
          el('strong', null, String(pick(a, 'name', 'rule', 'title') ?? 'alert')),
          pick(a, 'service') ? el('span', { class: 'muted' }, ' on ' + pick(a, 'service')) : null,
          since !== null ? el('span', { class: 'muted' }, ' · since ' + fmtGameTime(since)) : null,
          pick(a, 'message', 'summary', 'description') ? el('div', null, String(pick(a, 'message', 'summary', 'description'))) : null);
      }));
    } catch (err) { fill('alerts', el('p', { class: 'empty' }, err.message)); }
  }
  function isFiring(a) {
    const v = pick(a, 'firing', 'active');
    if (v !== undefined) return Boolean(v);
    const state = pick(a, 'state', 'status');
    if (state !== undefined) return String(state).toLowerCase() === 'firing';
    return pick(a, 'resolved_tick', 'resolved_s', 'resolved_at') === undefined;
  }

  async function refreshComplaints() {
    try {
      const items = list(await call('/team/complaints'), 'complaints');
      const badge = $('complaints-count');
      badge.textContent = String(items.length);
      badge.className = 'badge ' + (items.length ? 'warn' : 'ok');
      if (!items.length) { fill('complaints', el('p', { class: 'empty' }, 'No complaints. Customers are happy (for now).')); return; }
      fill('complaints', items.slice().reverse().map((c) => {
        const at = timeOf(c, 'at') ?? BK.ticksToSeconds(pick(c, 'tick'));
        return el('div', { class: 'complaint-item' }, el('span', { class: 'badge warn' }, '☹ complaint'), ' ',
          el('span', { class: 'muted' }, fmtGameTime(at) + (pick(c, 'service') ? ' · ' + pick(c, 'service') : '')),
          el('div', null, String(pick(c, 'message', 'text') ?? text(c))));
      }));
    } catch (err) { fill('complaints', el('p', { class: 'empty' }, err.message)); }
  }

  // ---------- the action panel ----------

  function fillServiceSelects() {
    const names = services().map((s) => s.name);
    const keep = (id, extra) => {
      const sel = $(id);
      const old = sel.value;
      fill(sel, extra || [], names.map((n) => el('option', { value: n }, n)));
      if ([...sel.options].some((o) => o.value === old)) sel.value = old;
    };
    keep('action-service');
    keep('logs-service', [el('option', { value: '' }, 'all services')]);
    fillDeclareTargets();
    const notify = $('notify-target');
    const oldNotify = notify.value;
    fill(notify, el('option', { value: '' }, 'nothing specific'),
      el('optgroup', { label: 'Services' }, names.map((n) => el('option', { value: 'service:' + n }, n))),
      el('optgroup', { label: 'Zones' }, zoneNames().map((z) => el('option', { value: 'zone:' + z }, z))));
    if ([...notify.options].some((o) => o.value === oldNotify)) notify.value = oldNotify;
  }

  function validActions(s) {
    if (!s) return [];
    const fromServer = pick(s, 'actions', 'valid_actions');
    if (Array.isArray(fromServer) && fromServer.length) return fromServer.map(String);
    return Object.entries(BK.ACTIONS).filter(([, a]) => a.kinds.includes(String(s.kind))).map(([name]) => name);
  }

  function onActionServiceChange() {
    const s = serviceByName($('action-service').value);
    const sel = $('action-kind');
    const old = sel.value;
    fill(sel, validActions(s).map((a) => el('option', { value: a }, humanize(a))));
    if ([...sel.options].some((o) => o.value === old)) sel.value = old;
    renderActionParams();
  }

  function paramField(id, label, input, help) {
    return el('div', { class: 'field' }, el('label', { for: id }, label), input, help ? el('p', { class: 'hint-text' }, help) : null);
  }

  function renderActionParams() {
    const s = serviceByName($('action-service').value);
    const action = $('action-kind').value;
    const spec = BK.ACTIONS[action] || { params: [] };
    $('action-help').textContent = spec.help || '';
    const fields = [];
    for (const p of spec.params) {
      if (p === 'instance') {
        const insts = s ? instancesOf(s) : [];
        fields.push(paramField('param-instance', 'Instance', el('select', { id: 'param-instance', required: true },
          insts.map((inst, i) => {
            const idx = instanceIndex(inst, i);
            const [, icon, word] = BK.healthInfo(instanceHealth(inst));
            return el('option', { value: String(idx), dataset: { state: word } }, `#${idx}${inst.zone ? ' (' + inst.zone + ')' : ''} ${icon} ${word}`);
          }))));
      } else if (p === 'version') {
        const versions = s ? list(pick(s, 'rollback_versions') || []) : [];
        const input = el('input', { type: 'text', id: 'param-version', list: 'versions-list', placeholder: action === 'rollback' ? 'previous version' : 'new version', autocomplete: 'off' });
        fields.push(paramField('param-version', 'Version (optional)', input, versions.length ? 'Known earlier versions: ' + versions.join(', ') : null),
          el('datalist', { id: 'versions-list' }, versions.map((v) => el('option', { value: String(v) }))));
      } else if (p === 'count') {
        fields.push(paramField('param-count', 'How many instances', el('input', { type: 'number', id: 'param-count', min: '1', max: '50', value: '1', required: true })));
      } else if (p === 'zone') {
        fields.push(paramField('param-zone', 'Zone', el('select', { id: 'param-zone', required: true }, zoneNames().map((z) => el('option', { value: z }, z)))),
          el('div', { class: 'field' }, el('label', null, el('input', { type: 'checkbox', id: 'param-zone-only-service' }), ' only this service (otherwise the whole zone)')));
      } else if (p === 'key') {
        const keys = s && pick(s, 'config') ? Object.keys(pick(s, 'config')) : [];
        fields.push(paramField('param-key', 'Config key', el('input', { type: 'text', id: 'param-key', list: 'keys-list', required: true, autocomplete: 'off' })),
          el('datalist', { id: 'keys-list' }, keys.map((k) => el('option', { value: k }))));
      } else if (p === 'value') {
        fields.push(paramField('param-value', 'Value', el('input', { type: 'text', id: 'param-value', required: true, autocomplete: 'off' })));
      } else if (p === 'flag') {
        const flags = s && pick(s, 'flags') ? Object.keys(pick(s, 'flags')) : [];
        fields.push(paramField('param-flag', 'Flag', flags.length
          ? el('select', { id: 'param-flag', required: true }, flags.map((f) => el('option', { value: f }, f)))
          : el('input', { type: 'text', id: 'param-flag', required: true, autocomplete: 'off' })));
      } else if (p === 'enabled') {
        fields.push(el('div', { class: 'field' }, el('label', null, el('input', { type: 'checkbox', id: 'param-enabled' }), ' turn the flag on (unchecked: off)')));
      } else if (p === 'level_percent') {
        fields.push(paramField('param-level', 'Share of load to shed, %', el('input', { type: 'number', id: 'param-level', min: '0', max: '100', step: '5', value: '20', required: true })));
      }
    }
    fill('action-params', fields);
  }

  function buildAction() {
    const action = $('action-kind').value;
    const service = $('action-service').value;
    const spec = BK.ACTIONS[action] || { params: [] };
    const body = { action };
    const params = {};
    if (!spec.zone || ($('param-zone-only-service') && $('param-zone-only-service').checked)) body.service = service;
    for (const p of spec.params) {
      if (p === 'instance') body.instance = Number($('param-instance').value);
      else if (p === 'zone') body.zone = $('param-zone').value;
      else if (p === 'version') { const v = $('param-version').value.trim(); if (v) params.version = v; }
      else if (p === 'count') params.count = Number($('param-count').value);
      else if (p === 'key') params.key = $('param-key').value.trim();
      else if (p === 'value') params.value = $('param-value').value;
      else if (p === 'flag') params.flag = $('param-flag').value.trim();
      else if (p === 'enabled') params.enabled = $('param-enabled').checked;
      else if (p === 'level_percent') params.level_percent = Number($('param-level').value);
    }
    if (Object.keys(params).length) body.params = params;
    return body;
  }

  function describeAction(body) {
    const target = [body.service, body.instance !== undefined ? '#' + body.instance : null, body.zone ? 'zone ' + body.zone : null].filter(Boolean).join(' ');
    const params = body.params ? ' (' + Object.entries(body.params).map(([k, v]) => `${humanize(k)} ${v}`).join(', ') + ')' : '';
    return `${humanize(body.action)} ${target}${params}`;
  }

  function pushLog(log, entry, id) {
    log.unshift(entry);
    log.length = Math.min(log.length, SESSION_LOG_LIMIT);
    fill(id, log.length ? el('ul', { class: 'announcements' }, log.map((e) => el('li', null, e))) : el('p', { class: 'empty' }, 'None yet.'));
  }

  async function submitAction(ev) {
    ev.preventDefault();
    const body = buildAction();
    const button = $('action-submit');
    button.disabled = true;
    try {
      const accepted = await call('/team/actions', { method: 'POST', body });
      const at = timeOf(accepted || {}, 'apply') ?? BK.ticksToSeconds(pick(accepted || {}, 'apply_tick', 'tick'));
      const msg = `Queued: ${describeAction(body)}` + (at !== null ? ` — takes effect at ${fmtGameTime(at)}` : '');
      BK.toast(msg, 'ok');
      pushLog(actionLog, el('span', { class: 'outcome-ok', dataset: { outcome: 'accepted' } }, '✓ ' + msg), 'action-log');
    } catch (err) {
      BK.showError(err);
      pushLog(actionLog, el('span', { class: 'outcome-bad', dataset: { outcome: 'refused' } }, `✕ ${describeAction(body)}: ${err.message}`), 'action-log');
    } finally {
      button.disabled = false;
      refreshSoon();
    }
  }

  // ---------- declarations ----------

  function fillDeclareTargets() {
    const zone = $('declare-kind-zone').checked;
    const sel = $('declare-target');
    const old = sel.value;
    const names = zone ? zoneNames() : services().map((s) => s.name);
    fill(sel, names.map((n) => el('option', { value: n }, n)));
    if (names.includes(old)) sel.value = old;
    else if (!zone && selected && names.includes(selected)) sel.value = selected;
    const cls = $('declare-class');
    const oldCls = cls.value;
    const classes = BK.FAULT_CLASSES.filter((c) => BK.ZONE_CLASSES.includes(c) === zone);
    fill(cls, el('option', { value: '' }, '— choose —'), classes.map((c) => el('option', { value: c }, humanize(c))));
    if (classes.includes(oldCls)) cls.value = oldCls;
  }

  function outcomeMessage(outcome) {
    if (outcome === null || outcome === undefined) return ['ok', 'Declaration accepted.'];
    if (typeof outcome === 'string') return [/false|wrong|duplicate|already/i.test(outcome) ? 'bad' : 'ok', humanize(outcome)];
    const message = pick(outcome, 'message');
    const correct = pick(outcome, 'correct', 'accepted');
    const kind = pick(outcome, 'outcome', 'result', 'verdict', 'kind', 'status');
    const ttd = timeOf(outcome, 'ttd');
    const points = pick(outcome, 'points');
    let good = correct !== undefined ? Boolean(correct) : kind ? !/false|wrong|duplicate|already/i.test(String(kind)) : true;
    const keys = Object.keys(outcome);
    if (kind === undefined && correct === undefined && keys.length === 1) {
      good = !/false|wrong|duplicate|already/i.test(keys[0]);
      const inner = outcome[keys[0]];
      const innerTtd = inner && typeof inner === 'object' ? timeOf(inner, 'ttd') : null;
      const innerPts = inner && typeof inner === 'object' ? pick(inner, 'points') : undefined;
      return [good ? 'ok' : 'bad', message || [humanize(keys[0]), innerTtd !== null ? 'TTD ' + fmtDuration(innerTtd) : null, innerPts !== undefined ? fmtPoints(innerPts) + ' points' : null].filter(Boolean).join(' · ')];
    }
    const parts = [message || (kind ? humanize(kind) : good ? 'correct' : 'false alarm')];
    if (ttd !== null) parts.push('TTD ' + fmtDuration(ttd));
    if (points !== undefined) parts.push(fmtPoints(points) + ' points');
    return [good ? 'ok' : 'bad', parts.join(' · ')];
  }

  async function submitDeclaration(ev) {
    ev.preventDefault();
    const zone = $('declare-kind-zone').checked;
    const target = $('declare-target').value;
    const fault = $('declare-class').value;
    if (!target || !fault) { BK.toast('Choose a target and a kind of fault.', 'error'); return; }
    const body = zone ? { zone: target, fault } : { service: target, fault };
    const button = $('declare-submit');
    button.disabled = true;
    try {
      const outcome = await call('/team/declarations', { method: 'POST', body });
      const [kind, message] = outcomeMessage(outcome);
      BK.toast(`Declared ${humanize(fault)} on ${target}: ${message}`, kind === 'ok' ? 'ok' : 'error');
      pushLog(declareLog, el('span', { class: 'outcome-' + kind, dataset: { outcome: kind } }, `${kind === 'ok' ? '✓' : '✕'} ${humanize(fault)} on ${target} — ${message}`), 'declare-log');
    } catch (err) {
      BK.showError(err);
      pushLog(declareLog, el('span', { class: 'outcome-bad', dataset: { outcome: 'refused' } }, `✕ ${humanize(fault)} on ${target}: ${err.message}`), 'declare-log');
    } finally {
      button.disabled = false;
      refreshSoon();
    }
  }

  // ---------- notifications ----------

  async function submitNotification(ev) {
    ev.preventDefault();
    const body = { audience: $('notify-audience').value, message: $('notify-message').value.trim() };
    const about = $('notify-target').value;
    if (about.startsWith('service:')) body.service = about.slice(8);
    else if (about.startsWith('zone:')) body.zone = about.slice(5);
    if (!body.message) return;
    try {
      await call('/team/notifications', { method: 'POST', body });
      BK.toast('Sent to ' + humanize(body.audience) + '.', 'ok');
      $('notify-message').value = '';
    } catch (err) { BK.showError(err); }
  }

  // ---------- hints, incidents, ledger, announcements, rules, debrief ----------

  async function refreshHints() {
    try {
      const hints = list(await call('/team/hints'), 'hints');
      if (!hints.length) { fill('hints', el('p', { class: 'empty' }, 'No hints are available yet. Hints unlock a while after something breaks.')); return; }
      fill('hints', hints.map((h, i) => {
        const id = pick(h, 'id', 'index') ?? i;
        const taken = Boolean(pick(h, 'taken', 'bought', 'taken_at_s'));
        const available = pick(h, 'available', 'unlocked');
        const unlock = timeOf(h, 'unlock') ?? timeOf(h, 'unlocks') ?? timeOf(h, 'available_at');
        const cost = pick(h, 'cost', 'cost_points', 'points') ?? '?';
        const button = el('button', { type: 'button', disabled: taken || available === false, dataset: { hint: String(id) } }, `Buy for ${cost} points`);
        button.addEventListener('click', async () => {
          button.disabled = true;
          try { await call(`/team/hints/${encodeURIComponent(id)}/take`, { method: 'POST' }); BK.toast('Hint bought.', 'ok'); } catch (err) { BK.showError(err); }
          refreshSoon();
        });
        return el('div', { class: 'hint-item' },
          el('div', { class: 'row' }, el('strong', null, String(pick(h, 'title', 'name') ?? `Hint ${Number(id) + 1}`)),
            el('span', { class: 'badge' }, `cost ${cost}`),
            taken ? el('span', { class: 'badge ok' }, '✓ bought') : available === false ? el('span', { class: 'badge' }, unlock !== null ? 'unlocks at ' + fmtGameTime(unlock) : 'locked') : button),
          taken && pick(h, 'text') ? el('div', null, markdown(String(pick(h, 'text')))) : null);
      }));
    } catch (err) { fill('hints', el('p', { class: 'empty' }, err.message)); }
  }

  async function refreshIncidents() {
    try {
      const items = list(await call('/team/incidents'), 'incidents');
      fill('incidents', BK.table(items, [
        { label: 'Incident', fmt: (r) => '#' + String(pick(r, 'incident', 'id') ?? '') },
        { label: 'Target', fmt: (r) => BK.targetText(pick(r, 'root', 'target', 'service', 'zone')) },
        { label: 'Fault', fmt: (r) => humanize(pick(r, 'class', 'fault') ?? '') },
        { label: 'Status', fmt: (r) => incidentStatus(r) },
        { label: 'TTD', num: true, fmt: (r) => fmtDuration(timeOf(r, 'ttd')) },
        { label: 'TTF', num: true, fmt: (r) => fmtDuration(timeOf(r, 'ttf')) },
        { label: 'Points', num: true, fmt: (r) => fmtPoints(pick(r, 'points')) },
      ], { id: 'incidents-table', empty: 'None declared yet.', rowAttrs: (r) => ({ dataset: { status: String(pick(r, 'phase', 'status', 'state') ?? ''), incident: String(pick(r, 'incident', 'id') ?? '') } }) }));
    } catch (err) { fill('incidents', el('p', { class: 'empty' }, err.message)); }
  }
  function incidentStatus(r) {
    const status = String(pick(r, 'phase', 'status', 'state') ?? (timeOf(r, 'ttf') !== null ? 'fixed' : 'open')).toLowerCase();
    const map = { fixed: ['ok', '✓'], resolved: ['ok', '✓'], open: ['bad', '●'], detected: ['warn', '●'], mitigated: ['warn', '▲'], fixing: ['warn', '↻'], verifying: ['warn', '↻'], expired: ['', '⌛'] };
    const [cls, icon] = map[status] || ['', '•'];
    return el('span', { class: 'badge ' + cls }, `${icon} ${humanize(status)}`);
  }

  async function refreshLedger() {
    try {
      const data = await call('/team/ledger');
      const entries = list(data, 'entries', 'ledger');
      let total = 0;
      const rows = entries.map((e) => { total += Number(pick(e, 'points', 'delta') ?? 0); return Object.assign({}, e, { __total: total }); });
      const score = pick(data, 'total', 'score') ?? (rows.length && pick(rows[rows.length - 1], 'score_after') !== undefined ? rows[rows.length - 1].score_after : total);
      const badge = $('team-score');
      badge.hidden = false;
      badge.textContent = `Score ${Number(score).toLocaleString('en')}`;
      fill('ledger', el('p', null, el('strong', null, 'Score: ' + Number(score).toLocaleString('en'))),
        BK.table(rows.slice().reverse(), [
          { label: 'When', fmt: (r) => fmtGameTime(timeOf(r, 'elapsed') ?? timeOf(r, 'at') ?? BK.ticksToSeconds(pick(r, 'tick'))) },
          { label: 'Points', num: true, fmt: (r) => fmtPoints(pick(r, 'points', 'delta')), cls: (r) => 'num ' + (Number(pick(r, 'points', 'delta')) >= 0 ? 'pos' : 'neg') },
          { label: 'Reason', fmt: (r) => text(pick(r, 'reason', 'kind', 'description')) },
          { label: 'Score', num: true, fmt: (r) => Number(pick(r, 'score_after') ?? r.__total).toLocaleString('en') },
        ], { class: 'ledger', id: 'ledger-table', empty: 'No points yet.' }));
    } catch (err) { fill('ledger', el('p', { class: 'empty' }, err.message)); }
  }

  async function refreshAnnouncements() {
    try {
      const items = list(await api('/announcements'), 'announcements');
      if (lastAnnouncementCount !== null && items.length > lastAnnouncementCount) {
        const latest = items[items.length - 1];
        BK.toast('Announcement: ' + String(pick(latest, 'message', 'text') ?? ''), '');
        const badge = $('news-count');
        badge.hidden = false;
        badge.textContent = 'new';
      }
      lastAnnouncementCount = items.length;
      fill('announcements', items.length ? items.slice().reverse().map((a) => {
        const at = timeOf(a, 'at') ?? timeOf(a, 'elapsed');
        return el('li', null, at !== null ? el('span', { class: 'when' }, fmtGameTime(at)) : null, String(pick(a, 'message', 'text') ?? text(a)));
      }) : el('li', { class: 'empty' }, 'None yet.'));
    } catch (err) { BK.showError(err); }
  }

  /**
   * A little safe Markdown, built as DOM (never parsed as HTML): headings, bullet lists with
   * continuation lines, tables, paragraphs, `code`, **bold** and *italic*.
   */
  function markdown(source) {
    const out = [];
    const inline = (textIn) => {
      const nodes = [];
      const re = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*)/g;
      let last = 0;
      let m;
      while ((m = re.exec(textIn))) {
        if (m.index > last) nodes.push(textIn.slice(last, m.index));
        const t = m[0];
        if (t.startsWith('`')) nodes.push(el('code', null, t.slice(1, -1)));
        else if (t.startsWith('**')) nodes.push(el('strong', null, inline(t.slice(2, -2))));
        else nodes.push(el('em', null, inline(t.slice(1, -1))));
        last = m.index + t.length;
      }
      if (last < textIn.length) nodes.push(textIn.slice(last));
      return nodes;
    };
    let block = null; // {kind: 'p'|'ul'|'table', lines or items or rows}
    const flush = () => {
      if (!block) return;
      if (block.kind === 'p') out.push(el('p', null, inline(block.lines.join(' '))));
      else if (block.kind === 'ul') out.push(el('ul', null, block.items.map((item) => el('li', null, inline(item.join(' '))))));
      else if (block.kind === 'table') {
        const rows = block.rows.filter((r) => !r.every((c) => /^:?-{3,}:?$/.test(c)));
        const [head, ...body] = rows;
        out.push(el('table', { class: 'md-table' },
          head ? el('thead', null, el('tr', null, head.map((c) => el('th', { scope: 'col' }, inline(c))))) : null,
          el('tbody', null, body.map((r) => el('tr', null, r.map((c) => el('td', null, inline(c))))))));
      }
      block = null;
    };
    for (const raw of String(source).split('\n')) {
      const line = raw.replace(/\s+$/, '');
      const heading = /^(#{1,4})\s+(.*)$/.exec(line);
      const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
      if (!line.trim()) { flush(); continue; }
      if (heading) { flush(); out.push(el('h' + Math.min(4, heading[1].length + 1), null, inline(heading[2]))); continue; }
      if (line.trim().startsWith('|')) {
        if (!block || block.kind !== 'table') { flush(); block = { kind: 'table', rows: [] }; }
        block.rows.push(line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim()));
        continue;
      }
      if (bullet) {
        if (!block || block.kind !== 'ul') { flush(); block = { kind: 'ul', items: [] }; }
        block.items.push([bullet[1]]);
        continue;
      }
      if (block && block.kind === 'ul' && /^\s/.test(line)) { block.items[block.items.length - 1].push(line.trim()); continue; }
      if (!block || block.kind !== 'p') { flush(); block = { kind: 'p', lines: [] }; }
      block.lines.push(line.trim());
    }
    flush();
    return out;
  }

  async function loadRules() {
    try {
      const data = await api('/rules', { accept: 'application/json, text/markdown, text/plain' });
      const source = typeof data === 'string' ? data : pick(data, 'markdown', 'text', 'rules') ?? text(data);
      fill('rules', markdown(source));
    } catch (err) { fill('rules', el('p', { class: 'empty' }, err.message)); }
  }

  /** A measured amount (revenue units, requests) rounded to whole units, or a dash. */
  function fmtAmount(value) {
    const n = Number(value);
    return value === undefined || value === null || !Number.isFinite(n)
      ? '–'
      : Math.round(n).toLocaleString('en');
  }

  async function loadDebrief() {
    try {
      const d = await call('/team/debrief');
      const incidents = list(pick(d, 'incidents') || []);
      const timeline = list(pick(d, 'timeline') || []);
      const ledger = list(pick(d, 'ledger') || []);
      fill('debrief',
        el('p', null, el('strong', null, `Final rank ${pick(d, 'rank') ?? '–'} · score ${Number(pick(d, 'score') ?? 0).toLocaleString('en')}`)),
        kv([
          ['revenue', pick(d, 'revenue_points') !== undefined ? fmtPoints(pick(d, 'revenue_points')) + ' points' : null],
          ['SLA penalties', pick(d, 'sla_penalty_points') !== undefined ? fmtPoints(-Math.abs(Number(pick(d, 'sla_penalty_points')))) + ' points' : null],
        ]),
        el('h3', { class: 'mt' }, 'What broke, and how it went'),
        BK.table(incidents, [
          { label: 'Struck', fmt: (r) => fmtGameTime(timeOf(r, 'injected') ?? timeOf(r.result || {}, 'injected')) },
          { label: 'Fault', fmt: (r) => BK.incidentLabel(r) },
          { label: 'You', fmt: (r) => BK.outcomeText(r.result || r) },
          { label: 'Points', num: true, fmt: (r) => fmtPoints(pick(r.result || r, 'points')) },
          { label: 'Revenue lost', num: true, fmt: (r) => fmtAmount(pick(r.result || r, 'revenue_lost_units')) },
          { label: 'Requests failed', num: true, fmt: (r) => fmtAmount(pick(r.result || r, 'requests_failed')) },
        ], { id: 'debrief-incidents', empty: 'Nothing broke.' }),
        kv([
          ['revenue lost with no incident open', fmtAmount(pick(d, 'unattributed_revenue_lost_units'))],
          ['requests failed with no incident open', fmtAmount(pick(d, 'unattributed_requests_failed'))],
        ]),
        el('h3', { class: 'mt' }, 'What you did'),
        BK.table(timeline, [
          { label: 'When', fmt: (r) => fmtGameTime(timeOf(r, 'elapsed') ?? BK.ticksToSeconds(pick(r, 'tick'))) },
          { label: 'What', fmt: (r) => humanize(pick(r, 'kind') ?? '') },
          { label: 'Detail', fmt: (r) => String(pick(r, 'text') ?? '') },
        ], { empty: 'Nothing recorded.' }),
        el('h3', { class: 'mt' }, 'Every change of your score'),
        BK.table(ledger, [
          { label: 'When', fmt: (r) => fmtGameTime(timeOf(r, 'elapsed') ?? BK.ticksToSeconds(pick(r, 'tick'))) },
          { label: 'Points', num: true, fmt: (r) => fmtPoints(pick(r, 'points')) },
          { label: 'Reason', fmt: (r) => String(pick(r, 'reason') ?? '') },
          { label: 'Score', num: true, fmt: (r) => String(pick(r, 'score_after') ?? '') },
        ], { class: 'ledger', empty: 'No points.' }));
    } catch (err) { fill('debrief', el('p', { class: 'empty' }, err.message)); }
  }

  // ---------- game state ----------

  async function refreshGame() {
    try {
      const g = await api('/game');
      const wasFinished = game && game.state === 'finished';
      game = g;
      BK.tickSecondsFrom(g);
      fill('state-slot', BK.stateBadge(g.state));
      clock.update(g);
      const banner = $('state-banner');
      const messages = {
        lobby: 'The game has not started yet. Look around: the fleet is healthy for now.',
        paused: '‖ The game is paused: the simulation and every timer are stopped, actions wait until it resumes.',
        finished: '■ The game is over. Your debrief is open below.',
      };
      banner.hidden = !messages[g.state];
      banner.textContent = messages[g.state] || '';
      const finished = g.state === 'finished';
      $('tab-debrief').hidden = !finished;
      if (finished && !wasFinished) { loadDebrief(); showTab('debrief'); }
    } catch (err) { BK.showError(err); }
  }

  // ---------- refresh orchestration ----------

  async function refreshFleet() {
    try {
      fleet = (await call('/team/fleet')) || { services: [] };
      if (Array.isArray(fleet)) fleet = { services: fleet };
      if (!selected || !serviceByName(selected)) selected = services().length ? services()[0].name : null;
      fillServiceSelects();
      renderMap();
      renderServiceDetail();
      if (!$('action-kind').options.length || !validActions(serviceByName($('action-service').value)).includes($('action-kind').value)) onActionServiceChange();
    } catch (err) { BK.showError(err); }
  }

  const refreshLight = () => { refreshGame(); refreshFleet(); refreshAlerts(); refreshComplaints(); refreshIncidents(); refreshLedger(); refreshHints(); };
  const refreshHeavy = BK.throttle(() => { refreshCharts(); refreshLogs(); }, HEAVY_REFRESH_MIN_INTERVAL_MS);
  const refreshSoon = BK.throttle(() => { refreshLight(); refreshHeavy(); }, REFRESH_MIN_INTERVAL_MS);

  function onTeamEvent(name, data) {
    const type = data && typeof data === 'object' && data.type ? data.type : name;
    if (type === 'announcement' || type === 'announcements') { refreshAnnouncements(); return; }
    refreshSoon();
  }

  // ---------- tabs and keyboard ----------

  function showTab(name) {
    for (const tab of document.querySelectorAll('.tabs [role=tab]')) {
      const on = tab.id === 'tab-' + name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      $(tab.getAttribute('aria-controls')).hidden = !on;
    }
    if (name === 'news') $('news-count').hidden = true;
    if (name === 'debrief') loadDebrief();
  }

  function wireTabs() {
    const tabs = [...document.querySelectorAll('.tabs [role=tab]')];
    tabs.forEach((tab) => {
      tab.addEventListener('click', () => showTab(tab.id.slice(4)));
      tab.addEventListener('keydown', (ev) => {
        if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
        const visible = tabs.filter((t) => !t.hidden);
        const i = visible.indexOf(tab);
        const next = visible[(i + (ev.key === 'ArrowRight' ? 1 : visible.length - 1)) % visible.length];
        showTab(next.id.slice(4));
        next.focus();
      });
    });
    showTab('act');
    const keys = { a: 'act', d: 'declare', n: 'notify', h: 'hints', i: 'incidents', s: 'ledger' };
    document.addEventListener('keydown', (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const t = ev.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
      if (ev.key === '/') { ev.preventDefault(); $('logs-q').focus(); return; }
      if (ev.key === 'g') { const node = document.querySelector('#fleet-map .node'); if (node) node.focus(); return; }
      if (keys[ev.key]) { showTab(keys[ev.key]); $('tab-' + keys[ev.key]).focus(); }
    });
  }

  // ---------- start ----------

  async function start(tok, me) {
    token = tok;
    $('console').hidden = false;
    $('sign-out').hidden = false;
    $('live').hidden = false;
    const name = me && typeof me === 'object' ? pick(me, 'name', 'team_name') : null;
    $('team-name').textContent = name ? String(name) : 'Your team';
    if (name) document.title = `Breakathon — ${name}`;
    wireTabs();
    $('action-service').addEventListener('change', onActionServiceChange);
    $('action-kind').addEventListener('change', renderActionParams);
    $('action-form').addEventListener('submit', submitAction);
    $('declare-form').addEventListener('submit', submitDeclaration);
    $('declare-kind-service').addEventListener('change', fillDeclareTargets);
    $('declare-kind-zone').addEventListener('change', fillDeclareTargets);
    $('notify-form').addEventListener('submit', submitNotification);
    $('logs-form').addEventListener('submit', (ev) => { ev.preventDefault(); refreshLogs(); });
    $('chart-set').addEventListener('change', refreshCharts);
    await refreshGame();
    await refreshFleet();
    refreshLight();
    refreshHeavy();
    refreshAnnouncements();
    loadRules();
    setInterval(() => {
      if (game && game.state === 'running' && document.visibilityState === 'visible') { refreshFleet(); refreshAlerts(); refreshComplaints(); refreshHeavy(); }
    }, RUNNING_REFRESH_MS);
    const setLive = (on) => { const n = $('live'); n.className = 'live ' + (on ? 'on' : 'off'); n.textContent = on ? 'live' : 'reconnecting…'; if (on) refreshSoon(); };
    // One stream only: browsers allow few connections per server over HTTP/1.1, and a team
    // often has the console and the scoreboard open side by side. The team stream carries
    // state changes, verdicts, incidents, ledger entries and announcements; the fleet is
    // re-read on a timer while the game runs.
    BK.authStream('/team/stream', token, onTeamEvent, setLive);
  }

  async function verify(tok) {
    // The fleet needs a team token: it proves the token; /team/me (if served) names the team.
    await api('/team/fleet', { token: tok });
    try { return await api('/team/me', { token: tok }); } catch (_) { return null; }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-out').addEventListener('click', () => { BK.clearToken('team'); location.reload(); });
    BK.signIn('team', $('signin'), verify, start);
  });
})();
