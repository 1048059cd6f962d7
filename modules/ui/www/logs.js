// logs.js - the log explorer (#/logs?q=&service=&severity=&attrs=&trace=
// &span=&live=1): a histogram of the matching records over the range,
// stacked by severity (drag across it to zoom: the range becomes the
// selection), then the records newest first, a page at a time as the list
// scrolls; a record expands to all of its fields; trace ids link to the
// trace.
//
// Live tail polls /api/search about once a second for the records newer
// than the newest time seen (a cursor, exact as text), and puts them on
// top; it runs only while the view is on screen with live on, and holds
// no request open.
'use strict';
(function () {
  const h = OW.h;
  const PAGE = 100;
  // severity_number classes, as OpenTelemetry defines them (1-4 TRACE,
  // 5-8 DEBUG, ... 21-24 FATAL; 0 unspecified)
  const SEV = [
    { key: 0, label: 'unspecified', color: '#8e97a8' }, { key: 1, label: 'trace', color: '#a7b0c0' },
    { key: 2, label: 'debug', color: '#7aa2d6' }, { key: 3, label: 'info', color: '#3fa66b' },
    { key: 4, label: 'warn', color: '#e0a21a' }, { key: 5, label: 'error', color: '#dd4b4b' },
    { key: 6, label: 'fatal', color: '#9b1c7a' },
  ];
  // A record's class: by its number, or when a client set only the text,
  // by the text's first word (LIKE ignores ASCII case); the same in JS.
  const SEV_WORDS = [[6, 'fatal'], [5, 'err'], [4, 'warn'], [3, 'info'], [2, 'debug'], [1, 'trace']];
  const SEV_SQL = `CASE WHEN severity_number > 0 THEN (severity_number + 3) / 4 ${SEV_WORDS.map(([k, w]) => `WHEN severity_text LIKE '${w}%' THEN ${k}`).join(' ')} ELSE 0 END`;
  const sevClass = (n, text) => (n > 0 ? Math.min(6, Math.floor((n + 3) / 4)) : (SEV_WORDS.find(([, w]) => String(text || '').toLowerCase().startsWith(w)) || [0])[0]);
  // every column of logs (a record expands to all of them), named: "*,
  // expr" would go to SQLite, a list stays on the columnar engine
  const COLS = 'CAST(time AS TEXT) AS tns, time, observed_time, severity_number, severity_text, service_name, body, attributes, dropped_attributes_count, flags, trace_id, span_id, event_name, ' +
    'resource_attributes, resource_dropped_attributes_count, resource_schema_url, resource_entity_refs, scope_name, scope_version, scope_attributes, scope_dropped_attributes_count, scope_schema_url, otlp_exact';

  OW.views.logs = async function (el, arg, p) {
    const r = OW.range();
    el.append(h('h1', null, 'Logs'));
    const live = p.get('live') === '1';
    const form = h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      OW.setParams(Object.fromEntries(['q', 'service', 'severity', 'attrs', 'trace'].map((k) => [k, (f.get(k) || '').trim()])));
    } },
    h('label', null, 'text', h('input', { name: 'q', value: p.get('q') || '', size: 30, 'data-search': true, placeholder: 'words in the body' })),
    h('label', null, 'service', h('input', { name: 'service', value: p.get('service') || '' })),
    h('label', null, 'severity at least', h('select', { name: 'severity' }, h('option', { value: '' }, 'any'), SEV.slice(1).map((s) => h('option', { value: s.label, selected: p.get('severity') === s.label }, s.label)))),
    h('label', null, 'attributes', h('input', { name: 'attrs', value: p.get('attrs') || '', placeholder: 'user.id=42', size: 20 })),
    h('label', null, 'trace id', h('input', { name: 'trace', value: p.get('trace') || '', size: 34 })),
    h('button', { class: 'primary' }, 'Search'),
    h('button', { type: 'button', class: live ? 'on' : '', id: 'live', onclick: () => OW.setParams({ live: live ? '' : '1' }) }, live ? 'Live: on' : 'Live tail'));
    el.append(form);

    const where = [];
    if (p.get('q')) where.push(OW.textWhere('body', p.get('q')));
    if (p.get('service')) where.push(`service_name = ${OW.str(p.get('service'))}`);
    const sev = SEV.find((s) => s.label === p.get('severity'));
    if (sev) where.push(`${SEV_SQL} >= ${sev.key}`);
    where.push(...OW.attrWhere(p.get('attrs'), 'attributes'));
    if (p.get('trace')) where.push(`trace_id = ${OW.str(p.get('trace').toLowerCase())}`);
    if (p.get('span')) where.push(`span_id = ${OW.str(p.get('span').toLowerCase())}`);
    const filt = where.length ? ` AND ${where.join(' AND ')}` : '';
    const inRange = `${OW.timeWhere('time', r)}${filt}`;
    const signal = OW.abortable();
    const b = OW.bucket(r, 80);

    const hist = el.appendChild(h('div', { class: 'hist' }, OW.loading()));
    const meta = el.appendChild(h('div', { class: 'meta' }));
    const tbody = h('tbody');
    const table = h('table', { class: 'grid logs' }, h('thead', null, h('tr', null, ['time', 'severity', 'service', 'body', 'trace'].map((x) => h('th', null, x)))), tbody);
    const sentinel = h('div', { class: 'muted' });
    el.append(table, sentinel);

    const [hq, first] = await Promise.all([
      OW.sql(`SELECT time_bucket_ns(time, ${b.ns}) AS b, ${SEV_SQL} AS s, count(*) AS n FROM logs WHERE ${inRange} GROUP BY 1, 2`, { signal }),
      OW.sql(`SELECT ${COLS} FROM logs WHERE ${inRange} ORDER BY time DESC LIMIT ${PAGE}`, { signal }),
    ]);
    const buckets = new Map();
    let total = 0;
    for (const x of hq.rows) {
      const k = x.b / 1e6;
      if (!buckets.has(k)) buckets.set(k, { x: k, counts: {} });
      const c = Math.min(6, x.s || 0);
      buckets.get(k).counts[c] = (buckets.get(k).counts[c] || 0) + x.n;
      total += x.n;
    }
    const x1 = Math.max(r.to, OW.extent([...buckets.keys()])[1] + b.ms);
    hist.replaceChildren(OW.histogram([...buckets.values()], b.ms, r.from, x1, SEV,
      (from, to) => OW.setParams({ from: String(from), to: String(to) })),
    h('div', { class: 'legend' }, SEV.filter((s) => [...buckets.values()].some((x) => x.counts[s.key])).map((s) => h('span', null, h('i', { style: `background:${s.color}` }), s.label))));
    meta.replaceChildren(h('span', { id: 'log-total', dataset: { total } }, `${OW.fmtNum(total)} records`), ` in range · drag across the histogram to zoom · ${first.engine}, ${first.ms} ms`);
    if (!total && !live) {
      table.remove();
      return el.append(where.length ? h('p', { class: 'empty' }, 'No record matches these filters in this range.') : OW.firstData('log records'));
    }

    let shown = 0, newest = null;
    const add = (rows, top) => {
      const trs = rows.map((x) => record(x, top));
      if (top) tbody.prepend(...trs); else tbody.append(...trs);
      shown += rows.length;
      for (const x of rows) if (newest === null || BigInt(x.tns) > newest) newest = BigInt(x.tns);
    };
    add(first.rows, false);
    let more = first.rows.length === PAGE, busy = false, pageOffset = first.rows.length;
    sentinel.textContent = more ? 'loading more…' : shown ? 'end of the records in range' : '';
    // the next page: the records no newer than the first page's newest,
    // and OFFSET, as the newest-first order stands still below that time
    const upTo = newest;
    const io = new IntersectionObserver(async (ent) => {
      if (!ent[0].isIntersecting || !more || busy) return;
      busy = true;
      try {
        const next = await OW.sql(`SELECT ${COLS} FROM logs WHERE ${inRange} AND time <= ${upTo} ORDER BY time DESC LIMIT ${PAGE} OFFSET ${pageOffset}`, { signal });
        pageOffset += next.rows.length;
        add(next.rows, false);
        more = next.rows.length === PAGE;
        sentinel.textContent = more ? 'loading more…' : 'end of the records in range';
      } catch (e) {
        if (e.name !== 'AbortError') sentinel.replaceChildren(OW.errorBox(e));
      } finally { busy = false; }
    });
    io.observe(sentinel);
    signal.addEventListener('abort', () => io.disconnect());

    if (live) {
      // nothing in range yet: from its start, so no clock behind ours is missed
      if (newest === null) newest = BigInt(OW.ns(r.from)) - 1n;
      let polling = false;
      OW.every(1000, async () => {
        if (polling) return;
        polling = true;
        try {
          const res = await OW.sql(`SELECT ${COLS} FROM logs WHERE time > ${newest}${filt} ORDER BY time ASC LIMIT 500`, { signal });
          if (res.rows.length) {
            add(res.rows.reverse(), true);
            meta.querySelector('#log-total').textContent = `${OW.fmtNum(total)} records in range, ${shown - pageOffset} since live tail started`;
          }
        } catch (e) {
          if (e.name !== 'AbortError') meta.replaceChildren(OW.errorBox(e));
        } finally { polling = false; }
      });
    }
  };

  function record(x, isNew) {
    const c = sevClass(x.severity_number, x.severity_text);
    const tr = h('tr', { class: `click${isNew ? ' new' : ''}`, dataset: { time: x.tns } },
      h('td', { class: 'mono' }, OW.fmtTime(x.time / 1e6, true)),
      h('td', null, h('span', { class: `sev sev-${c}` }, x.severity_text || SEVNAME(c))),
      h('td', null, x.service_name ? h('a', { href: '#', title: 'only this service', onclick: (ev) => { ev.preventDefault(); ev.stopPropagation(); OW.setParams({ service: x.service_name }); } }, x.service_name) : ''),
      h('td', { class: 'body' }, String(x.body ?? '').slice(0, 2000)),
      h('td', { class: 'mono' }, x.trace_id ? h('a', { href: OW.href('trace', x.trace_id), onclick: (ev) => ev.stopPropagation() }, x.trace_id.slice(0, 8) + '…') : ''));
    tr.addEventListener('click', () => {
      const nx = tr.nextElementSibling;
      if (nx && nx.classList.contains('expanded')) return nx.remove();
      const fields = { ...x };
      delete fields.tns;
      fields.time = `${x.tns} (${new Date(Number(BigInt(x.tns) / 1000000n)).toISOString()})`;
      for (const k of ['attributes', 'resource_attributes']) { try { fields[k] = JSON.parse(fields[k]); } catch { /* as sent */ } }
      tr.after(h('tr', { class: 'expanded' }, h('td', { colspan: 5 }, OW.kv(fields),
        x.trace_id ? h('p', null, h('a', { href: OW.href('trace', x.trace_id) }, 'Open trace ' + x.trace_id)) : null)));
    });
    return tr;
  }
  const SEVNAME = (c) => SEV[c].label.toUpperCase();
})();
