// services.js - the first page (#/services): every service that sent
// spans, log records or metric points in the range, with its span rate,
// error rate (status ERROR), p50 and p99 span duration and a sparkline of
// its spans over the range; #/services/NAME the same figures for each of
// its operations (span names).
'use strict';
(function () {
  const h = OW.h;

  // The figures of spans grouped by key (service_name, or name within a
  // service): rows {k, n, err, p50, p99, spark: [counts]}, the TOP busiest
  // (a service may name its spans by id), in the order of their keys.
  const TOP = 300;
  async function figures(key, where, r, signal) {
    const b = OW.bucket(r, 30);
    const sparkSQL = (w) => `SELECT ${key} AS k, time_bucket_ns(start_time, ${b.ns}) AS b, count(*) AS n FROM spans WHERE ${w} GROUP BY 1, 2`;
    let [agg, spark] = await Promise.all([
      OW.sql(`SELECT ${key} AS k, count(*) AS n, count(*) FILTER (WHERE status_code = 2) AS err, p50(duration_ns) AS p50, p99(duration_ns) AS p99 FROM spans WHERE ${where} GROUP BY 1 ORDER BY n DESC LIMIT ${TOP}`, { signal }),
      OW.sql(sparkSQL(where), { signal }),
    ]);
    const keys = agg.rows.map((x) => x.k);
    if (keys.length === TOP) {
      const list = keys.filter((k) => k !== null).map(OW.str).join(', ');
      spark = await OW.sql(sparkSQL(`${where} AND (${list ? `${key} IN (${list})` : '0'}${keys.includes(null) ? ` OR ${key} IS NULL` : ''})`), { signal });
    }
    const first = Math.floor(r.from / b.ms) * b.ms;
    const nb = Math.ceil((Math.max(r.to, OW.extent(spark.rows.map((x) => x.b / 1e6 + b.ms))[1]) - first) / b.ms);
    const series = new Map();
    for (const x of spark.rows) {
      if (!series.has(x.k)) series.set(x.k, new Array(nb).fill(0));
      const i = Math.round((x.b / 1e6 - first) / b.ms);
      if (i >= 0 && i < nb) series.get(x.k)[i] += x.n;
    }
    const rows = agg.rows.map((x) => ({ ...x, spark: series.get(x.k) || [] })).sort((x, y) => byKey(x.k, y.k));
    rows.truncated = keys.length === TOP;
    return rows;
  }
  // keys in SQLite's order: NULL first, then text by its code units
  const byKey = (a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);

  function figureCols(r, nameCol) {
    const secs = (r.to - r.from) / 1000;
    return [
      nameCol,
      { label: 'spans/s', cls: 'num', get: (x) => h('span', { dataset: { n: x.n } }, OW.fmtNum(x.n / secs, 3)) },
      { label: 'spans', cls: 'num', get: (x) => OW.fmtNum(x.n) },
      { label: 'errors', cls: 'num', get: (x) => h('span', { class: x.err ? 'bad' : '', dataset: { err: x.err } }, x.n ? `${OW.fmtNum((100 * x.err) / x.n, 2)} %` : '–') },
      { label: 'p50', cls: 'num', get: (x) => h('span', { dataset: { ns: x.p50 } }, OW.fmtDur(x.p50)) },
      { label: 'p99', cls: 'num', get: (x) => h('span', { dataset: { ns: x.p99 } }, OW.fmtDur(x.p99)) },
      { label: 'spans over time', get: (x) => OW.sparkline(x.spark) },
    ];
  }

  OW.views.services = async function (el, arg) {
    const r = OW.range();
    const signal = OW.abortable();
    if (arg) return operations(el, arg, r, signal);
    el.append(h('h1', null, 'Services'));
    const box = el.appendChild(h('div', null, OW.loading()));
    const where = OW.timeWhere('start_time', r);
    const [rows, logs, metrics] = await Promise.all([
      figures('service_name', where, r, signal),
      OW.sql(`SELECT service_name AS k, count(*) AS n FROM logs WHERE ${OW.timeWhere('time', r)} GROUP BY 1`, { signal }),
      OW.sql(`SELECT service_name AS k, count(*) AS n FROM metrics WHERE ${OW.timeWhere('time', r)} GROUP BY 1`, { signal }),
    ]);
    const all = new Map(rows.map((x) => [x.k, { ...x, logs: 0, points: 0 }]));
    for (const [list, field] of [[logs.rows, 'logs'], [metrics.rows, 'points']])
      for (const x of list) {
        if (!all.has(x.k)) all.set(x.k, { k: x.k, n: 0, err: 0, p50: null, p99: null, spark: [], logs: 0, points: 0 });
        all.get(x.k)[field] = x.n;
      }
    const list = [...all.values()].sort((a, b) => byKey(a.k, b.k));
    box.replaceChildren();
    if (!list.length) return box.append(...[await older(r, signal), OW.firstData('services')].filter(Boolean));
    const name = { label: 'service', get: (x) => h('a', { href: OW.href('services', x.k), class: 'svc' }, h('i', { class: 'swatch', style: `background:${OW.color(String(x.k))}` }), x.k || '(no service.name)') };
    const cols = figureCols(r, name);
    cols.push({ label: 'log records', cls: 'num', get: (x) => h('a', { href: OW.href('logs', '', { service: x.k }) }, OW.fmtNum(x.logs)) });
    cols.push({ label: 'metric points', cls: 'num', get: (x) => OW.fmtNum(x.points) });
    box.append(OW.table(list, cols, { cls: 'services', data: (x) => ({ service: x.k }) }));
  };

  // With nothing in the range: when the newest record is, and the
  // shortest range that shows it; with nothing at all, the tenants that
  // sent data (the batch monitor knows them; without a token only: with
  // one, the token decides the tenant).
  async function older(r, signal) {
    const res = await Promise.all([['spans', 'start_time'], ['logs', 'time'], ['metrics', 'time']].map(([t, c]) => OW.sql(`SELECT max(${c}) AS t FROM ${t}`, { signal })));
    const newest = OW.extent(res.map((x) => x.rows[0].t).filter((t) => t !== null))[1] / 1e6;
    if (!Number.isFinite(newest)) return OW.token() ? null : others(signal);
    const age = Date.now() - newest;
    const range = [...document.querySelectorAll('#range option')].map((o) => o.value).find((v) => /^\d+[mhd]$/.test(v) && Number(v.slice(0, -1)) * { m: 60e3, h: 3600e3, d: 86400e3 }[v.slice(-1)] > age);
    return h('p', { class: 'empty' }, `The newest record is from ${OW.fmtTime(newest, true)}, before this range. `,
      range ? h('a', { href: OW.href('services', '', { from: range }) }, `Show the last ${range}`) : null);
  }

  async function others(signal) {
    const j = await OW.api('/api/batch-monitor/throughput?minutes=43200', { signal });
    const mine = OW.tenant() || 'default';
    const names = j.clients.map((c) => c.client_id).filter((t) => t !== mine).sort();
    if (!names.length) return null;
    return h('p', { class: 'empty', id: 'other-tenants' }, `Tenant ${mine} has no data; these tenants sent some: `,
      names.map((t, i) => [i ? ', ' : '', h('a', { href: OW.href('services', '', { tenant: t }) }, t)]));
  }

  async function operations(el, svc, r, signal) {
    el.append(h('h1', null, h('a', { href: OW.href('services') }, 'Services'), ' / ', svc));
    el.append(h('p', null, h('a', { href: OW.href('traces', '', { service: svc }) }, 'Traces of this service'), ' · ', h('a', { href: OW.href('logs', '', { service: svc }) }, 'Logs of this service')));
    const box = el.appendChild(h('div', null, OW.loading()));
    const rows = await figures('name', `service_name = ${OW.str(svc)} AND ${OW.timeWhere('start_time', r)}`, r, signal);
    box.replaceChildren();
    if (!rows.length) return box.append(h('p', { class: 'empty' }, `No spans of ${svc} in this range.`));
    const name = { label: 'operation', get: (x) => h('a', { href: OW.href('traces', '', { service: svc, operation: x.k }) }, x.k) };
    if (rows.truncated) box.append(h('p', { class: 'meta' }, `The ${TOP} busiest operations of ${svc}.`));
    box.append(OW.table(rows, figureCols(r, name), { cls: 'operations', data: (x) => ({ operation: x.k }) }));
  }
})();
