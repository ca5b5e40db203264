// Breakathon: helpers shared by every page (no framework, no build step, nothing from the network
// but this server). Data from the API is only ever put into the page as text (textContent /
// createElement), never parsed as HTML.
'use strict';

const BK = (() => {
  const API = '/api/v1';
  /** Longest an API request may take before the page reports it, in milliseconds. */
  const REQUEST_TIMEOUT_MS = 15000;
  /** Longest wait between reconnects of a live stream, in milliseconds. */
  const STREAM_RETRY_MAX_MS = 10000;
  /** Most toasts shown at once. */
  const MAX_TOASTS = 4;
  /** How long a toast stays, in milliseconds. */
  const TOAST_MS = 6000;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------- DOM building ----------

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach((c) => append(node, c)); return; }
    if (child instanceof Node) { node.appendChild(child); return; }
    node.appendChild(document.createTextNode(String(child)));
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.setAttribute('class', value);
      else if (key === 'text') node.textContent = String(value);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key === 'style' && typeof value === 'object') Object.assign(node.style, value);
      else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else if (key === 'value' && 'value' in node) node.value = value;
      else if (key === 'checked' || key === 'disabled' || key === 'selected' || key === 'hidden') node[key] = Boolean(value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
  }

  /** Creates an element: el('td', {class: 'num'}, 'text', childNode, [more]). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  /** Creates an SVG element in the SVG namespace. */
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  /** Replaces the children of `node` (an element or an id) with `children`. */
  function fill(node, ...children) {
    const target = typeof node === 'string' ? document.getElementById(node) : node;
    if (!target) return null;
    while (target.firstChild) target.removeChild(target.firstChild);
    append(target, children);
    return target;
  }

  function $(id) { return document.getElementById(id); }

  // ---------- formatting ----------

  /** Seconds as m:ss or h:mm:ss; "–" when there is no value. */
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || seconds === '' || Number.isNaN(Number(seconds))) return '–';
    let s = Math.round(Number(seconds));
    const sign = s < 0 ? '−' : '';
    s = Math.abs(s);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const pad = (n) => String(n).padStart(2, '0');
    return h > 0 ? `${sign}${h}:${pad(m)}:${pad(sec)}` : `${sign}${m}:${pad(sec)}`;
  }

  /** A game time (seconds from the start) as T+m:ss. */
  function fmtGameTime(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    return 'T+' + fmtDuration(seconds);
  }

  /** Points with an explicit sign. */
  function fmtPoints(points) {
    const n = Number(points);
    if (!Number.isFinite(n)) return '–';
    return (n > 0 ? '+' : n < 0 ? '−' : '') + Math.abs(n).toLocaleString('en');
  }

  /** snake_case → "snake case". */
  function humanize(name) {
    if (name === null || name === undefined) return '';
    return String(name).replace(/_/g, ' ');
  }

  /** Seconds per simulation tick (set by pages from /game when the server reports it). */
  let tickSeconds = 1;
  function setTickSeconds(s) { if (Number(s) > 0) tickSeconds = Number(s); }
  /** Learns the tick length from a game status ({tick, elapsed_s} or tick_ms). */
  function tickSecondsFrom(g) {
    if (!g || typeof g !== 'object') return;
    if (Number(g.tick_ms) > 0) setTickSeconds(Number(g.tick_ms) / 1000);
    else if (Number(g.tick) > 0 && Number(g.elapsed_s) > 0) setTickSeconds(Math.round((Number(g.elapsed_s) / Number(g.tick)) * 1000) / 1000);
  }
  function ticksToSeconds(ticks) { return ticks === null || ticks === undefined ? null : Number(ticks) * tickSeconds; }

  /** Picks the first defined field among `names`. */
  function pick(obj, ...names) {
    if (!obj || typeof obj !== 'object') return undefined;
    for (const n of names) if (obj[n] !== undefined && obj[n] !== null) return obj[n];
    return undefined;
  }

  /** A time field of a view: `<base>_s` in seconds, else `<base>_tick` converted. */
  function timeOf(obj, base) {
    const s = pick(obj, base + '_s', base + '_secs', base + '_seconds');
    if (s !== undefined) return Number(s);
    const t = pick(obj, base + '_tick', base + '_ticks');
    return t === undefined ? null : ticksToSeconds(t);
  }

  /** A displayable text for any JSON value (objects become "key: value" pairs). */
  function text(value) {
    if (value === null || value === undefined) return '–';
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (Array.isArray(value)) return value.map(text).join(', ');
    if (typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 1) {
        const inner = value[keys[0]];
        return inner === null || typeof inner !== 'object' ? `${humanize(keys[0])} ${text(inner)}` : `${humanize(keys[0])}: ${text(inner)}`;
      }
      return keys.map((k) => `${humanize(k)}: ${text(value[k])}`).join('; ');
    }
    return String(value);
  }

  /** Formats a field by its name's unit suffix. */
  function fmtField(key, value) {
    if (value === null || value === undefined) return '–';
    if (/(_s|_secs|_seconds)$/.test(key) && typeof value === 'number') return fmtDuration(value);
    if (/_tick$/.test(key) && typeof value === 'number') return fmtGameTime(ticksToSeconds(value));
    if (/(^|_)points$/.test(key) && typeof value === 'number') return fmtPoints(value);
    if (/_percent$/.test(key) && typeof value === 'number') return value.toFixed(1) + ' %';
    if (/_ms$/.test(key) && typeof value === 'number') return Math.round(value) + ' ms';
    if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(2);
    if (typeof value === 'string' && /^[a-z]+(_[a-z]+)+$/.test(value)) return humanize(value);
    return text(value);
  }

  // ---------- status badges (icon + word + colour) ----------

  const HEALTH = {
    ok: ['ok', '✓', 'healthy'],
    healthy: ['ok', '✓', 'healthy'],
    up: ['ok', '✓', 'up'],
    running: ['ok', '✓', 'running'],
    degraded: ['warn', '▲', 'degraded'],
    warning: ['warn', '▲', 'warning'],
    warn: ['warn', '▲', 'warning'],
    unhealthy: ['bad', '✕', 'unhealthy'],
    down: ['bad', '✕', 'down'],
    failed: ['bad', '✕', 'failed'],
    crashed: ['bad', '✕', 'crashed'],
    dead: ['bad', '✕', 'dead'],
    critical: ['bad', '✕', 'critical'],
    booting: ['idle', '↻', 'booting'],
    starting: ['idle', '↻', 'starting'],
    warming: ['warn', '↻', 'warming up'],
    warming_up: ['warn', '↻', 'warming up'],
    draining: ['idle', '⇢', 'draining'],
    drained: ['idle', '⇢', 'drained'],
    stopped: ['idle', '■', 'stopped'],
    unknown: ['idle', '?', 'unknown'],
    failing: ['bad', '✕', 'failing probe'],
    removed: ['idle', '■', 'removed'],
    dark: ['idle', '?', 'no telemetry'],
    no_data: ['idle', '?', 'no data'],
  };

  /** Normalises a health value (string, bool, or {status}) to [class, icon, word]. */
  function healthInfo(value) {
    if (value === true) return HEALTH.healthy;
    if (value === false) return HEALTH.unhealthy;
    if (value && typeof value === 'object') value = pick(value, 'status', 'state', 'health');
    const key = String(value === undefined || value === null ? 'unknown' : value).toLowerCase();
    return HEALTH[key] || ['idle', '•', humanize(key)];
  }

  function healthBadge(value) {
    const [cls, icon, word] = healthInfo(value);
    return el('span', { class: 'badge ' + cls, title: word }, el('span', { 'aria-hidden': 'true' }, icon), ' ' + word);
  }

  const GAME_STATES = {
    lobby: ['idle', '…', 'lobby — not started'],
    running: ['ok', '▶', 'running'],
    paused: ['warn', '‖', 'paused'],
    finished: ['accent', '■', 'finished'],
  };

  function stateBadge(state) {
    const [cls, icon, word] = GAME_STATES[String(state)] || ['idle', '•', humanize(state)];
    return el('span', { class: 'badge ' + cls, id: 'game-state', dataset: { state: String(state) } }, el('span', { 'aria-hidden': 'true' }, icon), ' ' + word);
  }

  // ---------- toasts and errors ----------

  function toast(message, kind) {
    let box = $('toasts');
    if (!box) {
      box = el('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
      document.body.appendChild(box);
    }
    const node = el('div', { class: 'toast ' + (kind || ''), title: 'click to dismiss' }, String(message));
    node.addEventListener('click', () => node.remove());
    box.appendChild(node);
    while (box.children.length > MAX_TOASTS) box.removeChild(box.firstChild);
    setTimeout(() => node.remove(), TOAST_MS);
  }

  /** How long the same error message is not shown again, in milliseconds. */
  const ERROR_REPEAT_MS = 15000;
  const lastShown = new Map();

  /** Shows an error's message (the same message at most once per ERROR_REPEAT_MS). */
  function showError(err) {
    const message = err && err.message ? err.message : String(err);
    console.warn('breakathon:', err);
    if (err && err.status === 401 && onUnauthorized) { onUnauthorized(message); return; }
    const now = Date.now();
    if (lastShown.has(message) && now - lastShown.get(message) < ERROR_REPEAT_MS) return;
    lastShown.set(message, now);
    toast(message, 'error');
  }

  /** What a signed-in page does when the server stops accepting its token. */
  let onUnauthorized = null;
  const SIGNIN_REASON_KEY = 'breakathon.signin.reason';

  // ---------- API ----------

  /** An error answered by the server: `message` is meant for people. */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /**
   * Calls the API: api('/game'), api('/teams', {method: 'POST', body: {...}, token}).
   * Resolves with the parsed JSON (or text for non-JSON answers); rejects with ApiError.
   */
  async function api(path, options) {
    const opts = options || {};
    const headers = { Accept: opts.accept || 'application/json' };
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(API + path, { method: opts.method || 'GET', headers, body, signal: controller.signal, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', 'Cannot reach the game server (' + (e.name === 'AbortError' ? 'timed out' : 'offline') + ').');
    } finally {
      clearTimeout(timer);
    }
    if (opts.blob && response.ok) return response.blob();
    const type = response.headers.get('Content-Type') || '';
    let data = null;
    if (response.status !== 204) {
      const raw = await response.text();
      if (type.includes('json') && raw) {
        try { data = JSON.parse(raw); } catch (_) { data = raw; }
      } else {
        data = raw;
      }
    }
    if (!response.ok) {
      const message = data && typeof data === 'object' && data.message ? data.message
        : (typeof data === 'string' && data.trim() ? data.trim().slice(0, 300) : `Request failed (${response.status}).`);
      throw new ApiError(response.status, data && data.error ? data.error : 'http_' + response.status, message);
    }
    return data;
  }

  /** Items of a list answer that may be a bare array or an object wrapping one. */
  function list(data, ...keys) {
    if (Array.isArray(data)) return data;
    if (data && typeof data === 'object') {
      for (const k of keys) if (Array.isArray(data[k])) return data[k];
      const arrays = Object.values(data).filter(Array.isArray);
      if (arrays.length === 1) return arrays[0];
    }
    return [];
  }

  // ---------- tokens (sessionStorage: gone when the tab closes) ----------

  const tokenKey = (role) => 'breakathon.' + role + '.token';
  function getToken(role) { try { return sessionStorage.getItem(tokenKey(role)); } catch (_) { return null; } }
  function setToken(role, token) { try { sessionStorage.setItem(tokenKey(role), token); } catch (_) { /* private mode */ } }
  function clearToken(role) { try { sessionStorage.removeItem(tokenKey(role)); } catch (_) { /* private mode */ } }

  /**
   * Shows a sign-in form in `container` until `verify(token)` resolves; then stores the token
   * and calls `onReady(token, verified)`. A stored token is tried first.
   */
  function signIn(role, container, verify, onReady) {
    const stored = getToken(role);
    const form = el('form', { class: 'card signin', id: 'signin-form' });
    const input = el('input', { type: 'password', id: 'signin-token', name: 'token', autocomplete: 'off', required: true, style: { width: '100%' } });
    const status = el('p', { class: 'muted', id: 'signin-status', role: 'status', 'aria-live': 'polite' });
    append(form, [
      el('h1', null, 'Sign in'),
      el('p', { class: 'muted' }, `Paste the ${role} token you were given.`),
      el('div', { class: 'field' }, el('label', { for: 'signin-token' }, humanize(role).replace(/^./, (c) => c.toUpperCase()) + ' token'), input),
      el('button', { class: 'primary', type: 'submit', id: 'signin-submit' }, 'Sign in'),
      status,
    ]);
    const attempt = async (token, quiet) => {
      status.textContent = 'Checking…';
      try {
        const verified = await verify(token);
        setToken(role, token);
        fill(container);
        onUnauthorized = (message) => {
          onUnauthorized = null;
          clearToken(role);
          try { sessionStorage.setItem(SIGNIN_REASON_KEY, 'Signed out: ' + message); } catch (_) { /* private mode */ }
          location.reload();
        };
        onReady(token, verified);
      } catch (err) {
        if (err && (err.status === 401 || err.status === 403)) clearToken(role);
        status.textContent = quiet ? '' : (err && err.message ? err.message : String(err));
        fill(container, form);
        input.focus();
      }
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (token) attempt(token, false);
    });
    let reason = null;
    try { reason = sessionStorage.getItem(SIGNIN_REASON_KEY); sessionStorage.removeItem(SIGNIN_REASON_KEY); } catch (_) { /* private mode */ }
    if (reason) status.textContent = reason;
    if (stored) attempt(stored, true);
    else { fill(container, form); input.focus(); }
  }

  // ---------- live streams ----------

  /**
   * Public Server-Sent Events with the browser's EventSource: `onEvent(name, data)` for every
   * event (unnamed ones arrive as 'message'); `onState(connected)` on (re)connection changes.
   */
  function publicStream(path, names, onEvent, onState) {
    const source = new EventSource(API + path);
    const handle = (name) => (ev) => {
      let data = ev.data;
      try { data = JSON.parse(ev.data); } catch (_) { /* plain text */ }
      onEvent(name, data);
    };
    source.onmessage = handle('message');
    for (const n of names || []) source.addEventListener(n, handle(n));
    source.onopen = () => onState && onState(true);
    source.onerror = () => onState && onState(false);
    return source;
  }

  /**
   * Server-Sent Events that need a bearer token (EventSource cannot send headers): read with
   * fetch and parsed here. Reconnects with backoff. Returns {close()}.
   */
  function authStream(path, token, onEvent, onState) {
    let closed = false;
    let retryMs = 500;
    let controller = null;
    const dispatch = (block) => {
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const idx = line.indexOf(':');
        const field = idx < 0 ? line : line.slice(0, idx);
        let value = idx < 0 ? '' : line.slice(idx + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') name = value;
        else if (field === 'data') data.push(value);
      }
      if (!data.length) return;
      let parsed = data.join('\n');
      try { parsed = JSON.parse(parsed); } catch (_) { /* plain text */ }
      onEvent(name, parsed);
    };
    const run = async () => {
      while (!closed) {
        controller = new AbortController();
        try {
          const response = await fetch(API + path, { headers: { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' }, signal: controller.signal, cache: 'no-store' });
          if (!response.ok || !response.body) throw new Error('stream refused: ' + response.status);
          if (onState) onState(true);
          retryMs = 500;
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
            let cut;
            while ((cut = buffer.indexOf('\n\n')) >= 0) {
              dispatch(buffer.slice(0, cut));
              buffer = buffer.slice(cut + 2);
            }
          }
        } catch (_) { /* reconnect below */ }
        if (closed) break;
        if (onState) onState(false);
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, STREAM_RETRY_MAX_MS);
      }
    };
    run();
    return { close() { closed = true; if (controller) controller.abort(); } };
  }

  /** Runs `fn` at most once per `ms`, always with the latest call honoured (trailing edge). */
  function throttle(fn, ms) {
    let last = 0;
    let timer = null;
    return function throttled() {
      const now = Date.now();
      const wait = last + ms - now;
      if (wait <= 0) { last = now; fn(); return; }
      if (!timer) timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
    };
  }

  // ---------- tables ----------

  /**
   * A table from rows of objects. `columns`: [{key, label, fmt(row) → node|text, num}] or
   * omitted to show every scalar field of the rows.
   */
  function table(rows, columns, options) {
    const opts = options || {};
    if (!rows || rows.length === 0) return el('p', { class: 'empty' }, opts.empty || 'Nothing yet.');
    let cols = columns;
    if (!cols) {
      const keys = [];
      for (const r of rows) for (const k of Object.keys(r || {})) if (!keys.includes(k)) keys.push(k);
      cols = keys.map((k) => ({ key: k, label: humanize(k) }));
    }
    const head = el('tr', null, cols.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
    const body = rows.map((r, i) => {
      const tr = el('tr', opts.rowAttrs ? opts.rowAttrs(r, i) : null);
      for (const c of cols) {
        const v = c.fmt ? c.fmt(r, i) : fmtField(c.key, r ? r[c.key] : undefined);
        tr.appendChild(el('td', { class: typeof c.cls === 'function' ? c.cls(r) : (c.cls || (c.num ? 'num' : null)) }, v));
      }
      return tr;
    });
    return el('table', { class: opts.class || null, id: opts.id || null }, opts.caption ? el('caption', { class: 'muted' }, opts.caption) : null, el('thead', null, head), el('tbody', null, body));
  }


  /** The staff pages' standings table (rank, team, score, counts, medians) of rows sorted by rank. */
  function standingsTable(teams) {
    return table(teams, [
      { label: '#', fmt: (r) => String(r.rank ?? '') },
      { label: 'Team', fmt: (r) => String(r.name ?? '') },
      { label: 'Score', num: true, fmt: (r) => Number(r.score ?? 0).toLocaleString('en') },
      { label: 'Detected', num: true, fmt: (r) => String(r.incidents_detected ?? 0) },
      { label: 'Fixed', num: true, fmt: (r) => String(r.incidents_fixed ?? 0) },
      { label: 'Median TTD', num: true, fmt: (r) => fmtDuration(r.median_ttd_s) },
      { label: 'Median TTF', num: true, fmt: (r) => fmtDuration(r.median_ttf_s) },
    ], { id: 'board-table', class: 'board', empty: 'No teams yet.' });
  }

  // ---------- incidents: one row per incident, one column per team ----------

  /** Per-team outcomes of an incident row, as [team label, outcome] pairs. */
  function teamCells(row) {
    const teams = pick(row, 'teams', 'outcomes', 'results', 'by_team');
    if (Array.isArray(teams)) return teams.map((t) => [String(pick(t, 'team_name', 'name') ?? pick(t, 'team', 'team_id', 'id') ?? '?'), t]);
    if (teams && typeof teams === 'object') return Object.entries(teams);
    return [];
  }

  /** "detected in 0:40, fixed in 2:10" for one team's outcome of an incident. */
  function outcomeText(o) {
    if (!o || typeof o !== 'object') return text(o);
    const parts = [];
    const d = timeOf(o, 'ttd');
    const f = timeOf(o, 'ttf');
    const m = timeOf(o, 'ttm');
    if (d !== null) parts.push('detected in ' + fmtDuration(d));
    else { const at = timeOf(o, 'detected') ?? timeOf(o, 'detected_at'); if (at !== null) parts.push('detected ' + fmtGameTime(at)); }
    if (m !== null && f === null) parts.push('mitigated in ' + fmtDuration(m));
    if (f !== null) parts.push('fixed in ' + fmtDuration(f));
    else { const at = timeOf(o, 'fixed') ?? timeOf(o, 'fixed_at'); if (at !== null) parts.push('fixed ' + fmtGameTime(at)); }
    const status = pick(o, 'phase', 'status', 'outcome', 'state');
    if (status && (parts.length === 0 || /expired|open|mitigated|verifying/.test(String(status)))) parts.unshift(humanize(status));
    const complaint = timeOf(o, 'first_complaint');
    if (complaint !== null) parts.push('first complaint ' + fmtGameTime(complaint));
    if (parts.length === 0) parts.push('—');
    const icons = { fixed: '✓ ', open: '● ', mitigated: '▲ ', verifying: '↻ ', expired: '○ ' };
    return (icons[String(status)] || '') + parts.join(', ');
  }

  /** A root-cause target ({Service: "x"}, {zone: "a"}, "x") as "x" or "zone a". */
  function targetText(target) {
    if (target === null || target === undefined) return '';
    if (typeof target !== 'object') return String(target);
    const keys = Object.keys(target);
    if (keys.length === 1) {
      const kind = keys[0].toLowerCase();
      const name = text(target[keys[0]]);
      return kind === 'zone' ? 'zone ' + name : name;
    }
    return text(target);
  }

  /** "shop-api-instance-crash · crash · on shop-api". */
  function incidentLabel(row) {
    const name = pick(row, 'fault_name', 'name', 'fault');
    const cls = pick(row, 'class', 'fault_class');
    const root = pick(row, 'root', 'target');
    return [name ? String(name) : null, cls ? humanize(cls) : null, root ? 'on ' + targetText(root) : null].filter(Boolean).join(' · ');
  }

  /** A table of incidents with their injection time and each team's outcome. */
  function incidentGrid(incidents, options) {
    const opts = options || {};
    const teamNames = [];
    for (const row of incidents) for (const [name] of teamCells(row)) if (!teamNames.includes(name)) teamNames.push(name);
    if (!incidents.length) return el('p', { class: 'empty' }, opts.empty || 'No incidents.');
    if (!teamNames.length) return table(incidents.map((r) => ({ incident: incidentLabel(r), struck: fmtGameTime(timeOf(r, 'inject') ?? timeOf(r, 'injected')) })), null, opts);
    const head = el('tr', null, el('th', { scope: 'col' }, 'Incident'), el('th', { scope: 'col' }, 'Struck'), el('th', { scope: 'col' }, 'Ended'),
      teamNames.map((n) => el('th', { scope: 'col' }, n)));
    const rows = incidents.map((row) => {
      const cells = new Map(teamCells(row));
      const end = timeOf(row, 'ends') ?? timeOf(row, 'end') ?? timeOf(row, 'ended');
      return el('tr', { dataset: { incident: String(pick(row, 'incident', 'id') ?? '') } },
        el('td', null, incidentLabel(row)),
        el('td', null, fmtGameTime(timeOf(row, 'inject') ?? timeOf(row, 'injected'))),
        el('td', null, end === null ? 'until fixed' : fmtGameTime(end)),
        teamNames.map((n) => el('td', { dataset: { team: n } }, cells.has(n) ? outcomeText(cells.get(n)) : '—')));
    });
    return el('table', { id: opts.id || null }, el('thead', null, head), el('tbody', null, rows));
  }

  // ---------- images from authenticated endpoints ----------

  const blobUrls = new WeakMap();
  /** Loads an image (e.g. an SVG chart) with the bearer token into `img`. */
  async function loadImage(img, path, token) {
    try {
      const blob = await api(path, { token, blob: true, accept: 'image/svg+xml' });
      const old = blobUrls.get(img);
      const url = URL.createObjectURL(blob);
      blobUrls.set(img, url);
      img.src = url;
      if (old) URL.revokeObjectURL(old);
      img.hidden = false;
    } catch (err) {
      img.hidden = true;
      img.alt = err && err.message ? err.message : 'chart unavailable';
    }
  }

  /** Saves a blob or text as a file download. */
  function download(name, content, type) {
    const blob = content instanceof Blob ? content : new Blob([content], { type: type || 'text/plain' });
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---------- the game clock ----------

  /**
   * Keeps a clock element current between server updates: it counts locally while the game
   * runs at a speed, and is reset by every `update(game)` from the server.
   */
  function gameClock(node) {
    let base = null;
    let at = 0;
    let timer = null;
    const render = () => {
      if (!base) return;
      let elapsed = Number(base.elapsed_s) || 0;
      let remaining = base.remaining_s === undefined || base.remaining_s === null ? null : Number(base.remaining_s);
      const manual = base.clock === 'manual' || base.speed === 0 || base.speed === null;
      if (base.state === 'running' && !manual) {
        const delta = ((performance.now() - at) / 1000) * (Number(base.speed) || 1);
        elapsed += delta;
        if (remaining !== null) remaining = Math.max(0, remaining - delta);
      }
      fill(node,
        el('span', { class: 'elapsed', title: 'elapsed (simulated time)' }, fmtGameTime(elapsed)),
        remaining === null || base.state === 'finished' ? null : el('span', { class: 'muted' }, ' · ', el('span', { class: 'remaining', title: 'remaining' }, fmtDuration(remaining) + ' left')));
    };
    return {
      update(game) {
        base = game;
        at = performance.now();
        render();
        const counting = game && game.state === 'running' && game.clock !== 'manual';
        if (counting && !timer) timer = setInterval(render, 1000);
        if (!counting && timer) { clearInterval(timer); timer = null; }
      },
    };
  }

  // ---------- scenario vocabulary (mirrors crates/scenario) ----------

  const FAULT_CLASSES = ['crash', 'bad_deploy', 'memory_leak', 'cpu_saturation', 'connection_pool_exhausted',
    'dependency_latency', 'packet_loss', 'network_partition', 'zone_outage', 'dns_failure', 'disk_full',
    'certificate_expired', 'bad_config', 'bad_feature_flag', 'cache_cold', 'retry_storm', 'traffic_spike',
    'replica_lag', 'clock_skew', 'noisy_neighbor', 'quota_exceeded', 'telemetry_outage'];
  const ZONE_CLASSES = ['network_partition', 'zone_outage', 'noisy_neighbor'];

  const ALL_KINDS = ['frontend', 'api', 'worker', 'database', 'cache', 'queue', 'dns', 'load_balancer', 'external_api'];
  const NOT_EXTERNAL = ALL_KINDS.filter((k) => k !== 'external_api');
  /** ActionKind: which service kinds it is valid for (ActionKind::valid_for) and its parameters. */
  const ACTIONS = {
    restart_instance: { kinds: NOT_EXTERNAL, params: ['instance'], help: 'Restart one instance (it boots and warms up again).' },
    restart_service: { kinds: NOT_EXTERNAL, params: [], help: 'Restart every instance, one zone at a time.' },
    rollback: { kinds: NOT_EXTERNAL, params: ['version'], help: 'Deploy an earlier version (named, or the previous one).' },
    roll_forward: { kinds: NOT_EXTERNAL, params: ['version'], help: 'Deploy a newer version (a patch).' },
    scale_out: { kinds: NOT_EXTERNAL, params: ['count'], help: 'Add instances.' },
    scale_in: { kinds: NOT_EXTERNAL, params: ['count'], help: 'Remove instances.' },
    failover_zone: { kinds: ALL_KINDS, params: ['zone'], zone: true, help: "Move a zone's traffic and primaries to the other zones." },
    drain_zone: { kinds: ALL_KINDS, params: ['zone'], zone: true, help: 'Stop sending traffic to a zone.' },
    undrain_zone: { kinds: ALL_KINDS, params: ['zone'], zone: true, help: 'Send traffic to a drained zone again.' },
    set_config: { kinds: ALL_KINDS, params: ['key', 'value'], help: 'Set a config value by key (timeout, retries, pool size, rate limit…).' },
    revert_config: { kinds: ALL_KINDS, params: [], help: 'Put the config back to the last known good values.' },
    toggle_flag: { kinds: ALL_KINDS, params: ['flag', 'enabled'], help: 'Turn a feature flag on or off.' },
    warm_cache: { kinds: ['cache'], params: [], help: 'Pre-load the cache so it serves hits again.' },
    flush_cache: { kinds: ['cache'], params: [], help: 'Empty the cache.' },
    renew_certificate: { kinds: ALL_KINDS, params: [], help: 'Install a fresh TLS certificate.' },
    free_disk: { kinds: NOT_EXTERNAL, params: [], help: 'Free disk space / rotate logs.' },
    shed_load: { kinds: ['frontend', 'api', 'load_balancer', 'worker', 'queue'], params: ['level_percent'], help: 'Shed non-critical load or enable a rate limit.' },
    promote_replica: { kinds: ['database'], params: [], help: 'Promote or rebuild the database replica.' },
    route_reads_to_primary: { kinds: ['database'], params: [], help: 'Route reads to the primary database.' },
    failover_dns: { kinds: ['dns'], params: [], help: 'Switch to the secondary DNS resolver.' },
    raise_quota: { kinds: ['external_api'], params: [], help: 'Raise the quota of the external API.' },
    restore_telemetry: { kinds: ALL_KINDS, params: [], help: 'Restore the telemetry pipeline of the service.' },
    kill_job: { kinds: NOT_EXTERNAL, params: [], help: 'Kill a runaway job on the service.' },
  };

  const METRICS = ['rps', 'error_percent', 'latency_p50_ms', 'latency_p99_ms', 'cpu_percent', 'memory_percent',
    'disk_percent', 'connections_percent', 'saturation_percent', 'healthy_percent'];

  /** Marks the link of the current page in the top bar. */
  function markNav() {
    for (const a of document.querySelectorAll('.topbar nav a')) {
      if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
    }
  }
  document.addEventListener('DOMContentLoaded', markNav);

  /** Script errors seen on this page (the browser test checks that there are none). */
  const errors = [];
  window.addEventListener('error', (ev) => errors.push(String(ev.message || ev.error || 'error')));
  window.addEventListener('unhandledrejection', (ev) => errors.push('unhandled: ' + String(ev.reason && ev.reason.message ? ev.reason.message : ev.reason)));

  return {
    errors, API, el, svg, fill, $, append, fmtDuration, fmtGameTime, fmtPoints, fmtField, humanize, text, pick, timeOf,
    setTickSeconds, tickSecondsFrom, targetText, ticksToSeconds, healthInfo, incidentGrid, incidentLabel, outcomeText, healthBadge, stateBadge, toast, showError, ApiError, api, list,
    getToken, setToken, clearToken, signIn, publicStream, authStream, throttle, table, standingsTable, loadImage, download,
    gameClock, FAULT_CLASSES, ZONE_CLASSES, ACTIONS, ALL_KINDS, METRICS,
  };
})();
