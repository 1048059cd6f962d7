// core.js - what every view shares: building elements, the URL (hash
// routes /#/view/arg?key=value: the time range and every filter live there,
// so a view can be shared and reloaded), the tenant and the token, and the
// calls to the server's APIs. Values from the server are put in the page as
// text, never as HTML.
'use strict';
const OW = (window.OW = { views: {} });

OW.h = function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat(Infinity)) if (k !== undefined && k !== null && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
};
const h = OW.h;

// ---- the URL ----
OW.route = function () {
  const s = location.hash.replace(/^#\/?/, '');
  const q = s.indexOf('?');
  const parts = (q < 0 ? s : s.slice(0, q)).split('/').map(decodeURIComponent);
  return { view: parts[0] || 'services', arg: parts.slice(1).join('/'), params: new URLSearchParams(q < 0 ? '' : s.slice(q + 1)) };
};
OW.href = function (view, arg, params) {
  const p = new URLSearchParams();
  const cur = OW.route().params;
  for (const k of ['from', 'to', 'tenant']) if (cur.get(k) && !(params && k in params)) p.set(k, cur.get(k));
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const qs = p.toString();
  return `#/${view}${arg ? '/' + encodeURIComponent(arg) : ''}${qs ? '?' + qs : ''}`;
};
// Sets params of the current view (undefined or '' removes one).
OW.setParams = function (changes, replace) {
  const r = OW.route();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') r.params.delete(k);
    else r.params.set(k, v);
  }
  const qs = r.params.toString();
  const hash = `#/${r.view}${r.arg ? '/' + encodeURIComponent(r.arg) : ''}${qs ? '?' + qs : ''}`;
  if (replace) { history.replaceState(null, '', hash); OW.render(); } else location.hash = hash;
};

// ---- time ----
const UNITS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };
// The chosen range in ms: from, to (now unless fixed), its name, and
// open: a range relative to now has no end in SQL, so that records a
// client's clock put ahead of ours (ingest takes up to
// limits.max_future_hours) are seen too.
OW.range = function () {
  const p = OW.route().params;
  const rel = /^(\d+)([smhd])$/.exec(p.get('from') || '1h');
  const now = Date.now();
  if (rel && !p.get('to')) return { from: now - rel[1] * UNITS[rel[2]], to: now, name: rel[0], open: true };
  const from = Number(p.get('from')), to = Number(p.get('to'));
  if (Number.isFinite(from) && Number.isFinite(to) && to > from) return { from, to, name: 'abs' };
  return { from: now - 3600e3, to: now, name: '1h', open: true };
};
OW.ns = (ms) => `${Math.round(ms)}000000`; // ms as an exact integer of ns for SQL
OW.timeWhere = (col, r) => `${col} >= ${OW.ns(r.from)}${r.open ? '' : ` AND ${col} < ${OW.ns(r.to)}`}`;
// A bucket width (ns, as SQL text) giving about n buckets over the range.
OW.bucket = function (r, n) {
  const steps = [1e3, 5e3, 10e3, 30e3, 60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 86400e3];
  const want = (r.to - r.from) / (n || 60);
  const ms = steps.find((s) => s >= want) || 86400e3;
  return { ms, ns: OW.ns(ms) };
};
OW.fmtTime = function (ms, withDate) {
  const d = new Date(ms);
  const p = (x, n = 2) => String(x).padStart(n, '0');
  const t = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  return withDate ? `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${t}` : t;
};
OW.fmtDur = function (ns) {
  if (ns === null || ns === undefined || Number.isNaN(ns)) return '–';
  const a = Math.abs(ns);
  if (a >= 60e9) return `${(ns / 60e9).toFixed(1)} min`;
  if (a >= 1e9) return `${(ns / 1e9).toFixed(a >= 10e9 ? 1 : 2)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(a >= 10e6 ? 1 : 2)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(a >= 10e3 ? 1 : 2)} µs`;
  return `${ns} ns`;
};
// "250ms", "1.5s", "300us", "2m" into ns; NaN when it is none.
OW.parseDur = function (s) {
  const m = /^\s*([\d.]+)\s*(ns|us|µs|ms|s|m|min)?\s*$/.exec(s || '');
  if (!m) return NaN;
  const mult = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9 }[m[2] || 'ms'];
  return Math.round(Number(m[1]) * mult);
};
OW.fmtNum = (x, d = 2) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d }));
OW.fmtBytes = function (b) {
  if (b === null || b === undefined) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return `${i ? b.toFixed(1) : b} ${u[i]}`;
};

// ---- SQL text ----
OW.str = (s) => `'${String(s).replace(/'/g, "''")}'`;
// "k=v k2=v2" (a value may be "quoted") into conditions on a JSON column.
OW.attrWhere = function (text, col) {
  const out = [];
  const re = /([^\s=]+)\s*=\s*("([^"]*)"|\S+)/g;
  let m;
  while ((m = re.exec(text || ''))) {
    const v = m[3] !== undefined ? m[3] : m[2];
    const cond = /^-?\d+(\.\d+)?$/.test(v) ? `(${col} ->> ${OW.str(m[1])} = ${v} OR ${col} ->> ${OW.str(m[1])} = ${OW.str(v)})` : `${col} ->> ${OW.str(m[1])} = ${OW.str(v)}`;
    out.push(cond);
  }
  return out;
};
// A text to find in a column: LIKE '%text%' (ASCII case ignored), or
// instr when the text holds LIKE's own wildcards.
OW.textWhere = (col, text) => (/[%_\\]/.test(text) ? `instr(${col}, ${OW.str(text)}) > 0` : `${col} LIKE ${OW.str('%' + text + '%')}`);

// ---- tenant and token ----
OW.tenant = () => OW.route().params.get('tenant') || sessionStorage.getItem('openwit.tenant') || '';
OW.token = () => sessionStorage.getItem('openwit.token') || '';

// ---- the APIs ----
// Every failure becomes an Error whose message is the server's own
// ({"error": ...} or the text it sent), with .status.
OW.api = async function (path, opts = {}) {
  const headers = Object.assign({}, opts.headers);
  if (OW.token()) headers.Authorization = `Bearer ${OW.token()}`;
  if (OW.tenant()) headers['X-Scope-OrgID'] = OW.tenant();
  let res;
  // a query refused for the tenant's cap (429) is asked again after its
  // Retry-After, give or take half (a view asks several at once: they
  // should not come back together), twelve times at most (some 12 s at
  // Retry-After: 1): a view's queries take the tenant's slots in turn,
  // behind others' queries
  for (let tries = 0; ; tries++) {
    try {
      // relative to the page (its assets too): behind a proxy that serves
      // openwit under a path of its own, the calls go there
      res = await fetch(path.replace(/^\//, ''), { method: opts.body ? 'POST' : 'GET', headers, body: opts.body, signal: opts.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw Object.assign(new Error(`cannot reach the server: ${e.message}`), { status: 0 });
    }
    if (res.status !== 429 || tries === 12) break;
    const wait = Math.min(5, Number(res.headers.get('Retry-After')) || 1) * 1000 * (0.5 + Math.random());
    await new Promise((ok, fail) => {
      const t = setTimeout(ok, wait);
      opts.signal?.addEventListener('abort', () => { clearTimeout(t); fail(new DOMException('aborted', 'AbortError')); });
    });
  }
  if (opts.raw && res.ok) return res;
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  if (!res.ok || (json && json.status === 'failed')) {
    const msg = (json && json.error) || text || `${res.status} ${res.statusText}`;
    const err = Object.assign(new Error(msg), { status: res.status, path });
    if (res.status === 401) OW.askToken(msg);
    throw err;
  }
  return json !== undefined ? json : text;
};
// One query of /api/search: {rows, engine, ms, hasMore}.
OW.sql = async function (query, opts = {}) {
  const body = JSON.stringify({ query, limit: opts.limit || 10000, ...(opts.engine ? { engine: opts.engine } : {}) });
  const j = await OW.api('/api/search', { body, signal: opts.signal });
  return { rows: j.result.rows, engine: j.engine, ms: j.execution_time_ms, hasMore: j.result.has_more, scanned: j.rows_scanned };
};

OW.askToken = function (why) {
  const d = document.getElementById('token-dialog');
  document.getElementById('token-why').textContent = why || '';
  document.getElementById('token-input').value = '';
  if (!d.open) d.showModal();
};

// ---- pieces of views ----
OW.errorBox = (e) => h('div', { class: 'error', role: 'alert' }, e.status ? `${e.status}: ` : '', e.message);
OW.loading = () => h('div', { class: 'muted' }, 'loading…');
// The empty state of a view with no data: how to send the first record.
OW.firstData = function (what) {
  const host = location.hostname || '127.0.0.1';
  const now = Date.now();
  const span = {
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hello' } }] },
      scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'first-span', kind: 2,
        startTimeUnixNano: `${now}000000`, endTimeUnixNano: `${now + 25}000000` }] }] }],
  };
  const log = {
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hello' } }] },
      scopeLogs: [{ logRecords: [{ timeUnixNano: `${now}000000`, severityNumber: 9, severityText: 'INFO', body: { stringValue: 'hello, openwit' } }] }] }],
  };
  const tenant = OW.tenant() ? ` -H 'X-Scope-OrgID: ${OW.tenant().replace(/'/g, '')}'` : '';
  const curl = (sig, body) => `curl -s http://${host}:4318/v1/${sig} -H 'Content-Type: application/json'${tenant} -d '${JSON.stringify(body)}'`;
  return h('div', { class: 'empty' },
    h('p', null, `No ${what} in this range. Point an OpenTelemetry SDK or Collector's OTLP/HTTP exporter at http://${host}:4318, or send a first span:`),
    h('pre', { class: 'copy' }, curl('traces', span)),
    h('p', null, 'or a first log record:'),
    h('pre', { class: 'copy' }, curl('logs', log)));
};
// A table of rows: cols is [{label, get(row) -> text or Node, cls}].
OW.table = function (rows, cols, opts = {}) {
  return h('table', { class: `grid ${opts.cls || ''}` },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { class: c.cls }, c.label)))),
    h('tbody', null, rows.map((r) => h('tr', { onclick: opts.onclick ? () => opts.onclick(r) : undefined, class: opts.onclick ? 'click' : undefined, dataset: opts.data ? opts.data(r) : undefined },
      cols.map((c) => h('td', { class: c.cls }, c.get(r)))))));
};
// A table of an object's fields (attributes, a record).
OW.kv = function (obj) {
  if (obj === null || obj === undefined) return h('span', { class: 'muted' }, 'none');
  if (typeof obj === 'string') { try { obj = JSON.parse(obj); } catch { return h('span', null, obj); } }
  const keys = Object.keys(obj);
  if (!keys.length) return h('span', { class: 'muted' }, 'none');
  return h('table', { class: 'kv' }, keys.map((k) => h('tr', null, h('th', null, k),
    h('td', null, typeof obj[k] === 'object' && obj[k] !== null ? JSON.stringify(obj[k]) : String(obj[k])))));
};
// The least and greatest of numbers, [Infinity, -Infinity] for none (a
// loop: spreading a trace's 100,000 spans into Math.min overflows the stack).
OW.extent = function (values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
};
// A stable colour for a name (services, severities' fallback).
OW.color = function (name) {
  let x = 2166136261;
  for (let i = 0; i < name.length; i++) x = Math.imul(x ^ name.charCodeAt(i), 16777619);
  return `hsl(${(x >>> 0) % 360} 60% 50%)`;
};
// Timers and requests of the view on screen, dropped when it changes.
OW.life = { timers: [], aborts: [] };
OW.every = function (ms, fn) { OW.life.timers.push(setInterval(fn, ms)); };
OW.abortable = function () { const a = new AbortController(); OW.life.aborts.push(a); return a.signal; };
OW.endView = function () {
  for (const t of OW.life.timers) clearInterval(t);
  for (const a of OW.life.aborts) a.abort();
  OW.life = { timers: [], aborts: [] };
};
