// sql.js - the SQL console (#/sql?q=...): one query of /api/search in its
// dialect (SQLite's, README "Queries"), the answer as a table, or as a
// line or bar chart when a column holds times (integer nanoseconds, as
// the tables' time columns and time_bucket_ns give them); which engine
// answered and how long it took; the same query as CSV, downloaded.
'use strict';
(function () {
  const h = OW.h;
  const EXAMPLE = 'SELECT time_bucket_ns(start_time, interval_ns(\'1 minute\')) AS t, service_name, count(*) AS spans\nFROM spans\nWHERE start_time > now_ns() - interval_ns(\'1 hour\')\nGROUP BY 1, 2 ORDER BY 1';
  const LIMIT = 10000;

  // The column that holds times: integers of ns between 2001 and 2100,
  // preferring one whose name says so.
  function timeColumn(cols, rows) {
    const isNs = (v) => typeof v === 'number' && Number.isInteger(v) && v > 1e18 && v < 4.1e18;
    const cands = cols.filter((c) => rows.length && rows.every((r) => r[c] === null || isNs(r[c])) && rows.some((r) => isNs(r[c])));
    return cands.find((c) => /time|^t$|^ts$|bucket|minute|hour|day/i.test(c)) || cands[0];
  }
  function chartOf(rows, cols, tcol, kind) {
    const nums = cols.filter((c) => c !== tcol && rows.some((r) => typeof r[c] === 'number'));
    const labels = cols.filter((c) => c !== tcol && !nums.includes(c));
    const series = new Map();
    for (const r of rows) for (const c of nums) {
      if (typeof r[c] !== 'number') continue;
      const name = [...labels.map((l) => String(r[l])), nums.length > 1 || !labels.length ? c : null].filter((x) => x !== null).join(' · ');
      if (!series.has(name)) series.set(name, { label: name, points: [] });
      series.get(name).points.push([r[tcol] / 1e6, r[c]]);
    }
    if (!series.size) return null;
    return OW.timeChart([...series.values()].slice(0, 20), kind);
  }

  OW.views.sql = async function (el, arg, p) {
    el.append(h('h1', null, 'SQL'));
    const q = p.get('q') || EXAMPLE;
    const ta = h('textarea', { class: 'sql', spellcheck: 'false', 'data-search': true }, q);
    const kind = p.get('chart') || 'line';
    const run = () => OW.setParams({ q: ta.value.trim(), run: String(Date.now()) });
    ta.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); } });
    const csv = h('button', { type: 'button', onclick: async () => {
      try {
        const res = await OW.api('/api/search', { raw: true, body: JSON.stringify({ query: ta.value, limit: LIMIT, format: 'csv' }) });
        const url = URL.createObjectURL(await res.blob());
        const a = h('a', { href: url, download: 'openwit-query.csv' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      } catch (e) { out.prepend(OW.errorBox(e)); }
    } }, 'Download CSV');
    el.append(ta, h('div', { class: 'row' }, h('button', { class: 'primary', type: 'button', onclick: run }, 'Run (Ctrl+Enter)'), csv,
      h('span', { class: 'muted' }, 'SQLite\u2019s dialect over spans, logs and metrics; time columns are integer nanoseconds; p50, p90, p99, time_bucket_ns, interval_ns, now_ns, match() are there too (README, Queries).')));
    const out = el.appendChild(h('div'));
    if (!p.get('q')) return;
    out.append(OW.loading());
    const res = await OW.sql(q, { limit: LIMIT, signal: OW.abortable() });
    const cols = res.rows.length ? Object.keys(res.rows[0]) : [];
    out.replaceChildren(h('div', { class: 'meta', id: 'sql-meta', dataset: { engine: res.engine, rows: res.rows.length } },
      `${res.rows.length} rows${res.hasMore ? ` (the first ${LIMIT})` : ''} · engine ${res.engine} · ${res.ms} ms · ${OW.fmtNum(res.scanned)} rows scanned`));
    const tcol = timeColumn(cols, res.rows);
    if (tcol) {
      const chart = chartOf(res.rows, cols, tcol, kind);
      if (chart) {
        out.append(h('div', { class: 'row' }, 'Chart over ', h('code', null, tcol), ':',
          ['line', 'bar'].map((k) => h('button', { type: 'button', class: k === kind ? 'on' : '', onclick: () => OW.setParams({ chart: k }) }, k))), chart);
      }
    }
    if (!res.rows.length) return out.append(h('p', { class: 'empty' }, 'The query returned no rows.'));
    const cell = (r, c) => {
      if (r[c] === null) return h('span', { class: 'muted' }, 'NULL');
      if (c === tcol) return h('span', { title: String(r[c]) }, OW.fmtTime(r[c] / 1e6, true));
      return typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c]);
    };
    const tcols = cols.map((c) => ({ label: c, cls: typeof res.rows[0][c] === 'number' ? 'num' : '', get: (r) => cell(r, c) }));
    // a table of more rows than anyone reads costs the page seconds: the
    // chart and the CSV have them all
    const SHOW = 1000;
    if (res.rows.length > SHOW) out.append(h('p', { class: 'meta' }, `The table shows the first ${SHOW} rows; Download CSV has all.`));
    out.append(h('div', { class: 'scroll' }, OW.table(res.rows.slice(0, SHOW), tcols, { cls: 'sql-result' })));
  };
})();
