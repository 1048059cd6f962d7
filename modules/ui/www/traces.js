// traces.js - trace search (#/traces?service=&operation=&attrs=&min=&max=
// &status=) with a scatter plot of duration against time, and one trace
// (#/trace/ID or #/traces/ID, from /api/traces/ID) as a waterfall: the
// span tree with timing bars, services in colours, errors marked; a
// span's attributes, events and links below it. Only the rows in view are
// in the page, and a subtree collapses, so a trace of 10,000 spans stays
// quick.
'use strict';
(function () {
  const h = OW.h;
  const ROW = 24;

  function field(label, name, p, attrs) {
    return h('label', null, label, h('input', { name, value: p.get(name) || '', ...attrs }));
  }

  OW.views.traces = async function (el, arg, p) {
    if (arg) return OW.views.trace(el, arg); // #/traces/ID is #/trace/ID
    const r = OW.range();
    el.append(h('h1', null, 'Traces'));
    const form = h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      OW.setParams(Object.fromEntries(['service', 'operation', 'attrs', 'min', 'max', 'status', 'id'].map((k) => [k, (f.get(k) || '').trim()])));
    } },
    field('trace id', 'id', p, { size: 34, placeholder: '32 hex digits' }),
    field('service', 'service', p, { 'data-search': true }),
    field('operation', 'operation', p),
    field('attributes', 'attrs', p, { placeholder: 'http.route=/cart code=500', size: 26 }),
    field('min duration', 'min', p, { placeholder: '100ms', size: 7 }),
    field('max duration', 'max', p, { placeholder: '2s', size: 7 }),
    h('label', null, 'status', h('select', { name: 'status' }, ['', 'error', 'ok', 'unset'].map((v) => h('option', { value: v, selected: (p.get('status') || '') === v }, v || 'any')))),
    h('button', { class: 'primary' }, 'Find traces'));
    el.append(form);
    if (p.get('id')) { location.hash = OW.href('trace', p.get('id').toLowerCase()); return; }
    const where = [OW.timeWhere('start_time', r)];
    if (p.get('service')) where.push(`service_name = ${OW.str(p.get('service'))}`);
    if (p.get('operation')) where.push(`name = ${OW.str(p.get('operation'))}`);
    where.push(...OW.attrWhere(p.get('attrs'), 'attributes'));
    for (const [k, op] of [['min', '>='], ['max', '<=']]) {
      if (!p.get(k)) continue;
      const ns = OW.parseDur(p.get(k));
      if (Number.isNaN(ns)) return el.append(OW.errorBox(new Error(`${k} duration: "${p.get(k)}" is not a duration such as 250ms, 1.5s or 300us`)));
      where.push(`duration_ns ${op} ${ns}`);
    }
    const st = { error: 2, ok: 1, unset: 0 }[p.get('status')];
    if (st !== undefined) where.push(`status_code = ${st}`);
    const box = el.appendChild(h('div', null, OW.loading()));
    const signal = OW.abortable();
    const res = await OW.sql(`SELECT trace_id, min(start_time) AS t, max(duration_ns) AS d, count(*) AS n, count(*) FILTER (WHERE status_code = 2) AS err FROM spans WHERE ${where.join(' AND ')} GROUP BY trace_id ORDER BY t DESC LIMIT 500`, { signal });
    box.replaceChildren();
    if (!res.rows.length) return box.append(where.length > 1 ? h('p', { class: 'empty' }, 'No trace has spans that match these filters in this range.') : OW.firstData('traces'));
    const ids = res.rows.map((x) => OW.str(x.trace_id)).join(', ');
    const roots = await OW.sql(`SELECT trace_id, service_name, name, duration_ns, count(*) AS c FROM spans WHERE trace_id IN (${ids}) AND parent_span_id IS NULL GROUP BY 1, 2, 3, 4`, { signal });
    const root = new Map(roots.rows.map((x) => [x.trace_id, x]));
    const open = (x) => { location.hash = OW.href('trace', x.trace_id); };
    box.append(h('div', { class: 'meta' }, `${res.rows.length}${res.rows.length === 500 ? ' (the newest 500)' : ''} traces with matching spans · duration of the longest matching span · ${res.engine}, ${res.ms} ms`));
    box.append(OW.scatter(res.rows.map((x) => ({ x: x.t / 1e6, y: x.d, err: x.err > 0, title: `${(root.get(x.trace_id) || {}).name || x.trace_id} ${OW.fmtDur(x.d)}`, onclick: () => open(x) })), r.from, Math.max(r.to, OW.extent(res.rows.map((x) => x.t / 1e6))[1])));
    box.append(OW.table(res.rows, [
      { label: 'start', get: (x) => OW.fmtTime(x.t / 1e6, true) },
      { label: 'root span', get: (x) => { const o = root.get(x.trace_id); return o ? h('span', null, h('i', { class: 'swatch', style: `background:${OW.color(o.service_name)}` }), `${o.service_name}: ${o.name}`) : h('span', { class: 'muted' }, 'no root span in range'); } },
      { label: 'trace id', cls: 'mono', get: (x) => h('a', { href: OW.href('trace', x.trace_id) }, x.trace_id) },
      { label: 'spans matched', cls: 'num', get: (x) => x.n },
      { label: 'errors', cls: 'num', get: (x) => (x.err ? h('span', { class: 'bad' }, x.err) : 0) },
      { label: 'duration', cls: 'num', get: (x) => OW.fmtDur((root.get(x.trace_id) || {}).duration_ns ?? x.d) },
    ], { onclick: open, data: (x) => ({ trace: x.trace_id }) }));
  };

  // The span tree: nodes in start order, children under their parent;
  // a span whose parent is not in the trace is a root. A span id sent
  // twice is two rows (children go under the first). A span in a cycle of
  // parents (no root above it) becomes a root, the cycle cut there.
  function tree(spans) {
    const nodes = spans.map((s) => ({ s, kids: [], depth: 0 }));
    const byId = new Map();
    for (const n of nodes) if (!byId.has(n.s.span_id)) byId.set(n.s.span_id, n);
    const roots = [];
    for (const n of nodes) {
      const p = n.s.parent_span_id ? byId.get(n.s.parent_span_id) : undefined;
      if (p && p !== n) p.kids.push(n); else roots.push(n);
    }
    // depths without recursion (a deep trace must not overflow the stack)
    const seen = new Set();
    const walk = (r) => {
      const stack = [[r, 0]];
      seen.add(r);
      while (stack.length) {
        const [n, d] = stack.pop();
        n.depth = d;
        n.kids = n.kids.filter((k) => !seen.has(k));
        for (const k of n.kids) { seen.add(k); k.parent = n; stack.push([k, d + 1]); }
      }
    };
    for (const r of roots) walk(r);
    for (const n of nodes) if (!seen.has(n)) { roots.push(n); walk(n); }
    return roots;
  }
  // The rows on screen: a pre-order walk that skips collapsed subtrees.
  function flatten(roots, collapsed) {
    const out = [];
    const stack = roots.slice().reverse();
    while (stack.length) {
      const n = stack.pop();
      out.push(n);
      if (!collapsed.has(n)) for (let i = n.kids.length - 1; i >= 0; i--) stack.push(n.kids[i]);
    }
    return out;
  }
  const parseJSON = (x) => { if (typeof x !== 'string') return x; try { return JSON.parse(x); } catch { return x; } };

  OW.views.trace = async function (el, id) {
    el.append(h('h1', null, h('a', { href: OW.href('traces') }, 'Traces'), ' / ', h('span', { class: 'mono' }, id)));
    const j = await OW.api(`/api/traces/${encodeURIComponent(id)}`, { signal: OW.abortable() });
    const spans = j.result.rows;
    if (!spans.length) return el.append(h('p', { class: 'empty' }, `No span of trace ${id}: it may be older than the data kept, or of another tenant.`));
    const roots = tree(spans);
    const t0 = OW.extent(spans.map((s) => s.start_time))[0], t1 = OW.extent(spans.map((s) => s.end_time))[1];
    const total = Math.max(1, t1 - t0);
    const services = [...new Set(spans.map((s) => s.service_name))];
    const errors = spans.filter((s) => s.status_code === 2).length;
    const collapsed = new Set();
    let rows = flatten(roots, collapsed), selected = null;
    el.append(h('div', { class: 'wf-head' },
      h('span', { id: 'wf-count', dataset: { spans: spans.length } }, `${spans.length} spans${j.result.has_more ? ` (the first ${spans.length}: query.max_rows)` : ''}`),
      h('span', null, `${services.length} service${services.length === 1 ? '' : 's'}`),
      h('span', null, `duration ${OW.fmtDur(total)}`),
      h('span', null, `started ${OW.fmtTime(t0 / 1e6, true)}`),
      errors ? h('button', { type: 'button', class: 'bad', id: 'next-error', title: 'select the next span with status ERROR', onclick: nextError }, `${errors} error${errors === 1 ? '' : 's'}: next`) : null,
      h('a', { href: OW.href('logs', '', { trace: id, from: String(Math.floor(t0 / 1e6) - 3600e3), to: String(Math.ceil(t1 / 1e6) + 3600e3) }) }, 'Logs of this trace'),
      h('button', { type: 'button', onclick: () => { collapsed.clear(); relayout(); } }, 'Expand all'),
      h('button', { type: 'button', onclick: () => { for (const r of flatten(roots, new Set())) if (r.kids.length && r.depth >= 1) collapsed.add(r); relayout(); } }, 'Collapse all')));
    el.append(h('div', { class: 'legend' }, services.map((s) => h('span', null, h('i', { style: `background:${OW.color(s)}` }), s))));
    // a ruler: offsets from the trace's start at fifths of its duration
    el.append(h('div', { class: 'wf-ruler' }, h('div', { class: 'wf-name' }, 'service and operation'),
      h('div', { class: 'wf-track' }, [0, 1, 2, 3, 4].map((k) => h('span', { style: `left:${k * 20}%` }, OW.fmtDur(Math.round((total * k) / 5)))))));
    const inner = h('div', { class: 'wf-inner' });
    const box = h('div', { class: 'wf', tabindex: 0 }, inner);
    const detail = h('div', { class: 'detail', hidden: true });
    el.append(box, detail);

    function row(n, i) {
      const s = n.s;
      const left = ((s.start_time - t0) / total) * 100, width = Math.max(0.1, ((s.end_time - s.start_time) / total) * 100);
      const err = s.status_code === 2;
      return h('div', { class: `wf-row${err ? ' err' : ''}${selected === n ? ' sel' : ''}`, style: `top:${i * ROW}px`,
        dataset: { span: s.span_id, parent: s.parent_span_id || '', depth: n.depth },
        onclick: (ev) => {
          if (ev.target.classList.contains('tog')) { collapsed.has(n) ? collapsed.delete(n) : collapsed.add(n); relayout(); return; }
          selected = n; show(s); draw(true);
        } },
      h('div', { class: 'wf-name', style: `padding-left:${n.depth * 14}px`, title: `${s.service_name}: ${s.name}` },
        h('span', { class: 'tog' }, n.kids.length ? (collapsed.has(n) ? '▸' : '▾') : ''),
        err ? h('span', { class: 'bad', title: s.status_message || 'error' }, '⚠ ') : null,
        h('span', { class: 'svc' }, s.service_name), s.name,
        n.kids.length && collapsed.has(n) ? h('span', { class: 'muted' }, ` (+${count(n) - 1})`) : null),
      h('div', { class: 'wf-track' },
        h('div', { class: `wf-bar${err ? ' err' : ''}`, style: `left:${left}%;width:${width}%;background:${OW.color(s.service_name)}` }),
        h('span', { class: 'wf-dur', style: left + width < 85 ? `left:${left + width + 0.5}%` : left > 15 ? `right:${100 - left + 0.5}%` : `left:${left}%;padding-left:4px;color:#fff` }, OW.fmtDur(s.duration_ns))));
    }
    function count(n) {
      let c = 0;
      const st = [n];
      while (st.length) { const x = st.pop(); c++; for (const k of x.kids) st.push(k); }
      return c;
    }
    let drawn = '';
    function draw(force) {
      const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 10);
      const last = Math.min(rows.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + 10);
      const key = `${first}:${last}`;
      if (!force && key === drawn) return;
      drawn = key;
      const frag = [];
      for (let i = first; i < last; i++) frag.push(row(rows[i], i));
      inner.replaceChildren(...frag);
    }
    function relayout() {
      rows = flatten(roots, collapsed);
      inner.style.height = `${rows.length * ROW}px`;
      box.style.height = `${Math.min(rows.length * ROW + 2, Math.max(240, innerHeight * 0.6))}px`;
      draw(true);
    }
    function show(s) {
      const ev = parseJSON(s.events) || [], links = parseJSON(s.links) || [];
      detail.hidden = false;
      detail.replaceChildren(
        h('h2', null, `${s.service_name}: ${s.name}`),
        h('div', { class: 'meta' }, `span ${s.span_id} · parent ${s.parent_span_id || 'none'} · kind ${['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][s.kind] || s.kind} · start +${OW.fmtDur(s.start_time - t0)} · duration ${OW.fmtDur(s.duration_ns)} · status ${['unset', 'ok', 'error'][s.status_code] || s.status_code}${s.status_message ? ': ' + s.status_message : ''}`),
        h('p', null, h('a', { href: OW.href('logs', '', { trace: id, span: s.span_id, from: String(Math.floor(t0 / 1e6) - 3600e3), to: String(Math.ceil(t1 / 1e6) + 3600e3) }) }, 'Logs of this span')),
        h('h3', null, 'Attributes'), OW.kv(s.attributes),
        h('h3', null, `Events (${ev.length})`),
        ev.length ? h('ul', null, ev.map((e) => h('li', null, `+${OW.fmtDur(Number(e.timeUnixNano) - s.start_time)} ${e.name}`, OW.kv(e.attributes)))) : h('span', { class: 'muted' }, 'none'),
        h('h3', null, `Links (${links.length})`),
        links.length ? h('ul', null, links.map((l) => h('li', null, h('a', { href: OW.href('trace', l.traceId) }, `${l.traceId} / ${l.spanId}`), OW.kv(l.attributes)))) : h('span', { class: 'muted' }, 'none'),
        h('h3', null, 'Resource'), OW.kv(s.resource_attributes),
        h('h3', null, 'Scope'), h('span', { class: 'mono' }, `${s.scope_name || ''} ${s.scope_version || ''}`));
    }
    // the next span with status ERROR after the one selected, in tree
    // order: its collapsed ancestors open, scrolled to, selected
    function nextError() {
      const all = flatten(roots, new Set()).filter((n) => n.s.status_code === 2);
      const n = all[(all.indexOf(selected) + 1) % all.length];
      for (let p = n.parent; p; p = p.parent) collapsed.delete(p);
      relayout();
      box.scrollTop = Math.max(0, rows.indexOf(n) * ROW - box.clientHeight / 2);
      selected = n;
      show(n.s);
      draw(true);
    }
    box.addEventListener('scroll', () => requestAnimationFrame(() => draw(false)), { passive: true });
    relayout();
  };
})();
