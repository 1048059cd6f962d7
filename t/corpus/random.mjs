// random.mjs - generated expression-rich queries over spans, logs and
// metrics of t/bench/loadgen's data, each as a pair (openwit SQL, DuckDB
// SQL) like the corpus (queries.mjs says how the dialects differ): integer
// and real arithmetic, CASE, COALESCE, IIF, NULLIF, CAST, comparisons,
// AND/OR/NOT, IS NULL, BETWEEN, IN, LIKE, string functions, scalar min and
// max, ->> on attributes, in SELECT, WHERE, GROUP BY, HAVING and ORDER BY,
// with DISTINCT and count(DISTINCT). The same seed gives the same queries.
//
// What would make the two dialects differ without either being wrong is
// left out: divisors are non-zero literals and dividends not negative
// (SQLite truncates, DuckDB's // floors), no real is a group key or summed
// with mixed signs, no round() under ORDER BY, rows are ordered totally
// (by every group, or ending with span_id).

// where the data's t0_ns goes (loadgen's; generate's t0)
const T0 = '@T0';
const SVC = ['frontend', 'frontend-proxy', 'checkout', 'payment', 'cart', 'auth', 'ad', 'currency', 'product-catalog', 'email'];
// columns: [openwit text, DuckDB text, type, literal pool or [lo, hi]]
const tables = {
  spans: {
    key: 'span_id',
    cols: [
      ['duration_ns', 'duration_ns', 'int', [0, 400000000]],
      ['kind', 'kind', 'int', [1, 5]],
      ['status_code', 'status_code', 'int', [0, 2]],
      ['flags', 'flags', 'int', [257, 769]],
      [`((start_time - ${T0}) / 1000000)`, `((epoch_ns(start_time) - ${T0}) // 1000000)`, 'int', [0, 3600000]],
      ['(end_time - start_time)', '(epoch_ns(end_time) - epoch_ns(start_time))', 'int', [0, 400000000]],
      ['service_name', 'service_name', 'text', SVC],
      ['name', 'name', 'text', ['GET /api/cart', 'POST /api/checkout', 'render', 'validate', 'publish orders', 'cart.CartService/GetCart', 'GET', 'SELECT shop.orders', 'HGETALL']],
      ['status_message', 'status_message', 'text', ['failed to process message', 'upstream timeout', '']],
      ['scope_name', 'scope_name', 'text', ['@opentelemetry/instrumentation-http', 'io.opentelemetry.jdbc', 'frontend']],
    ],
    attrs: [
      ["attributes ->> 'http.route'", 'text', ['/api/cart', '/api/products', '/', '/api/checkout']],
      ["attributes ->> 'http.request.method'", 'text', ['GET', 'POST', 'PUT']],
      ["attributes ->> 'db.system'", 'text', ['redis', 'postgresql', 'mysql', 'mongodb']],
      ["attributes ->> 'rpc.method'", 'text', ['GetCart', 'Charge', 'Convert', 'PlaceOrder']],
      ["attributes ->> 'http.response.status_code'", 'int', [200, 503]],
      ["attributes ->> 'server.port'", 'int', [5432, 50051]],
      ["resource_attributes ->> 'k8s.pod.name'", 'text', ['checkout-', 'payment-', 'cart-']],
      ["resource_attributes ->> 'process.pid'", 'int', [1, 60]],
    ],
  },
  logs: {
    cols: [
      ['severity_number', 'severity_number', 'int', [5, 17]],
      ['flags', 'flags', 'int', [0, 1]],
      [`((time - ${T0}) / 1000000000)`, `((epoch_ns(time) - ${T0}) // 1000000000)`, 'int', [0, 3600]],
      ['(observed_time - time)', '(epoch_ns(observed_time) - epoch_ns(time))', 'int', [50000, 2000000]],
      ['service_name', 'service_name', 'text', SVC],
      ['severity_text', 'severity_text', 'text', ['INFO', 'WARN', 'ERROR', 'DEBUG']],
      ['body', 'body', 'text', ['Health check OK', 'Order ORD-', 'timeout', 'card declined', 'GC pause', 'HTTP/1.1" 200', 'Retrying call to payment']],
      ['scope_name', 'scope_name', 'text', ['envoy.access_log', 'pino', 'log/slog']],
    ],
    attrs: [
      ["attributes ->> 'log.type'", 'text', ['access']],
      ["attributes ->> 'url.path'", 'text', ['/api/cart', '/api/products', '/']],
      ["attributes ->> 'http.response.status_code'", 'int', [200, 503]],
      ["attributes ->> 'code.lineno'", 'int', [10, 400]],
      ["attributes ->> 'exception.type'", 'text', ['TimeoutError', 'PaymentDeclinedError']],
      ["resource_attributes ->> 'k8s.pod.name'", 'text', ['checkout-', 'frontend-']],
    ],
  },
  metrics: {
    cols: [
      ['value', 'value', 'real', [0, 1]],
      ['value_int', 'value_int', 'int', [0, 100000000]],
      ['count', 'count', 'int', [0, 100000]],
      ['sum', 'sum', 'real', [0, 1000]],
      ['temporality', 'temporality', 'int', [1, 2]],
      [`((time - ${T0}) / 1000000000)`, `((epoch_ns(time) - ${T0}) // 1000000000)`, 'int', [0, 300]],
      ['metric_name', 'metric_name', 'text', ['process.cpu.utilization', 'process.memory.usage', 'http.server.request.duration', 'system.network.io', 'jvm.memory.used', 'process.cpu.time']],
      ['metric_type', 'metric_type', 'text', ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary']],
      ['metric_unit', 'metric_unit', 'text', ['s', 'By', '1', 'ms', '{request}']],
      ['service_name', 'service_name', 'text', SVC],
    ],
    attrs: [
      ["attributes ->> 'cpu.mode'", 'text', ['user', 'system']],
      ["attributes ->> 'network.io.direction'", 'text', ['transmit', 'receive']],
      ["attributes ->> 'http.route'", 'text', ['/api/cart', '/api/products']],
      ["resource_attributes ->> 'k8s.pod.name'", 'text', ['checkout-', 'ad-']],
    ],
  },
};
// ->> in DuckDB: VARCHAR, cast where the value is a number
const duckAttr = (e, type) => (type === 'int' ? `(${e})::BIGINT` : `(${e})`);

export function generate(n, seed, t0) {
  let s = seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 16777216; };
  const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
  const pick = (xs) => xs[ri(0, xs.length - 1)];
  const str = (t) => `'${t.replace(/'/g, "''")}'`;
  const out = [];
  for (let k = 0; k < n; k++) {
    const tname = pick(Object.keys(tables));
    const T = tables[tname];
    const at = (e) => e.replaceAll(T0, String(t0));
    const cols = T.cols.map(([o, d, type, pool]) => ({ o: at(o), d: at(d), type, pool }));
    for (const [o, type, pool] of T.attrs) cols.push({ o, d: duckAttr(o, type), type, pool });
    const ofType = (type) => cols.filter((c) => c.type === type);
    const lit = (c) => {
      if (c.type === 'text') return str(pick(c.pool));
      if (c.type === 'real') return (c.pool[0] + rnd() * (c.pool[1] - c.pool[0])).toFixed(3);
      return String(ri(c.pool[0], c.pool[1]));
    };
    const E = (o, d, type, pool) => ({ o, d, type, pool });
    // an expression of a type: {o, d, type, pool (literals like its values)}
    const expr = (type, depth) => {
      const leaf = depth <= 0 || rnd() < 0.35;
      if (type === 'int') {
        if (leaf) return ri(0, 5) ? pick(ofType('int')) : E(String(ri(0, 1000)), null, 'int', [0, 1000]);
        switch (ri(0, 11)) {
          case 0: case 1: { const a = expr('int', depth - 1), b = expr('int', depth - 1); return E(`(${a.o} + ${b.o})`, `(${a.d ?? a.o} + ${b.d ?? b.o})`, 'int', a.pool); }
          case 2: { const a = expr('int', depth - 1), m = ri(1, 9); return E(`${a.o} * ${m}`, `${a.d ?? a.o} * ${m}`, 'int', [a.pool[0] * m, a.pool[1] * m]); }
          case 3: { const a = nonneg(depth - 1), m = pick([2, 7, 10, 1000, 1000000]); return E(`${a.o} / ${m}`, `${a.d ?? a.o} // ${m}`, 'int', [0, Math.max(1, Math.floor(a.pool[1] / m))]); }
          case 4: { const a = nonneg(depth - 1), m = pick([2, 3, 10, 100]); return E(`${a.o} % ${m}`, `${a.d ?? a.o} % ${m}`, 'int', [0, m - 1]); }
          case 5: { const a = expr('int', depth - 1), b = expr('int', depth - 1); return E(`abs(${a.o} - ${b.o})`, `abs(${a.d ?? a.o} - ${b.d ?? b.o})`, 'int', a.pool); }
          case 6: { const c = cond(depth - 1), a = expr('int', depth - 1), b = expr('int', depth - 1); return E(`CASE WHEN ${c.o} THEN ${a.o} ELSE ${b.o} END`, `CASE WHEN ${c.d} THEN ${a.d ?? a.o} ELSE ${b.d ?? b.o} END`, 'int', a.pool); }
          case 7: { const a = expr('int', depth - 1), l = ri(0, 9); return E(`COALESCE(${a.o}, ${l})`, `COALESCE(${a.d ?? a.o}, ${l})`, 'int', a.pool); }
          case 8: {
            const t = expr('text', depth - 1), td = t.d ?? t.o;
            if (ri(0, 1)) return E(`length(${t.o})`, `length(${td})`, 'int', [0, 40]);
            const x = str(pick(['a', 'e', '/', ' ', 'o']));
            return E(`instr(${t.o}, ${x})`, `instr(${td}, ${x})`, 'int', [0, 10]);
          }
          case 9: { // SQLite's scalar min and max are NULL with a NULL argument, DuckDB's least and greatest skip it
            const a = expr('int', depth - 1), b = expr('int', depth - 1), f = pick(['min', 'max']), ad = a.d ?? a.o, bd = b.d ?? b.o;
            return E(`${f}(${a.o}, ${b.o})`, `CASE WHEN ${ad} IS NULL OR ${bd} IS NULL THEN NULL ELSE ${f === 'min' ? 'least' : 'greatest'}(${ad}, ${bd}) END`, 'int', a.pool);
          }
          case 10: { const c = cond(depth - 1); return E(`(${c.o})`, `(${c.d})::INT`, 'int', [0, 1]); }
          default: { const c = cond(depth - 1), a = expr('int', depth - 1), l = ri(0, 3); return E(`iif(${c.o}, ${a.o}, ${l})`, `CASE WHEN ${c.d} THEN ${a.d ?? a.o} ELSE ${l} END`, 'int', a.pool); }
        }
      }
      if (type === 'real') {
        const reals = ofType('real');
        if (leaf && reals.length && ri(0, 1)) return pick(reals);
        switch (ri(0, 4)) {
          case 0: { const a = nonneg(depth - 1), m = pick(['1000.0', '1e6', '2.5']); return E(`${a.o} / ${m}`, `${a.d ?? a.o} / ${m}`, 'real', [0, a.pool[1] / Number(m)]); }
          case 1: { const a = nonneg(depth - 1); return E(`${a.o} * 0.5`, `${a.d ?? a.o} * 0.5`, 'real', [0, a.pool[1] / 2]); }
          case 2: if (reals.length) { const a = pick(reals); return E(`COALESCE(${a.o}, 0.0)`, `COALESCE(${a.d}, 0.0)`, 'real', a.pool); } // falls through
          case 3: { const a = nonneg(depth - 1); return E(`CAST(${a.o} AS REAL)`, `CAST(${a.d ?? a.o} AS DOUBLE)`, 'real', a.pool); }
          default: { const a = nonneg(depth - 1), b = nonneg(depth - 1); return E(`(${a.o} + ${b.o} / 3.0)`, `(${a.d ?? a.o} + ${b.d ?? b.o} / 3.0)`, 'real', a.pool); }
        }
      }
      // text
      if (leaf) return pick(ofType('text'));
      const a = expr('text', depth - 1);
      const ad = a.d ?? a.o;
      switch (ri(0, 8)) {
        case 0: return E(`lower(${a.o})`, `lower(${ad})`, 'text', a.pool.map((x) => x.toLowerCase()));
        case 1: return E(`upper(${a.o})`, `upper(${ad})`, 'text', a.pool.map((x) => x.toUpperCase()));
        case 2: { const p = ri(1, 5), l = ri(1, 12); return E(`substr(${a.o}, ${p}, ${l})`, `substr(${ad}, ${p}, ${l})`, 'text', a.pool.map((x) => x.substr(p - 1, l))); }
        case 3: return E(`trim(${a.o})`, `trim(${ad})`, 'text', a.pool);
        case 4: { const f = pick(['e', 'o', '/', ' ']), t = pick(['E', '_', '']); return E(`replace(${a.o}, ${str(f)}, ${str(t)})`, `replace(${ad}, ${str(f)}, ${str(t)})`, 'text', a.pool.map((x) => x.split(f).join(t))); }
        case 5: { // SQLite's ->> binds as || does: a ->> beside || needs its parentheses
          const b = expr('text', depth - 1), par = (x) => (/^[a-z_]+ ->> '[^']*'$/.test(x) ? `(${x})` : x);
          return E(`${par(a.o)} || '-' || ${par(b.o)}`, `${ad} || '-' || ${b.d ?? b.o}`, 'text', a.pool.map((x) => `${x}-${pick(b.pool)}`));
        }
        case 6: return E(`COALESCE(${a.o}, 'none')`, `COALESCE(${ad}, 'none')`, 'text', [...a.pool, 'none']);
        case 7: { const c = cond(depth - 1), b = expr('text', depth - 1); return E(`CASE WHEN ${c.o} THEN ${a.o} ELSE ${b.o} END`, `CASE WHEN ${c.d} THEN ${ad} ELSE ${b.d ?? b.o} END`, 'text', [...a.pool, ...b.pool]); }
        default: { const i = nonneg(depth - 1); return E(`CAST(${i.o} AS TEXT)`, `CAST(${i.d ?? i.o} AS VARCHAR)`, 'text', [String(i.pool[0]), String(i.pool[1])]); }
      }
    };
    // an integer that is never negative: a column or a literal
    const nonneg = () => (ri(0, 4) ? pick(ofType('int')) : E(String(ri(1, 1000)), null, 'int', [1, 1000]));
    const litOf = (e) => (e.type === 'text' ? str(pick(e.pool)) : e.type === 'real' ? (e.pool[0] + rnd() * (e.pool[1] - e.pool[0])).toFixed(3) : String(ri(Math.floor(e.pool[0]), Math.ceil(e.pool[1]))));
    const likeOf = (e) => {
      let v = pick(e.pool);
      const a = ri(0, v.length), b = ri(a, Math.min(v.length, a + 6));
      let p = v.slice(a, b);
      if (ri(0, 2) === 0) p = pick([p.toUpperCase(), p.toLowerCase()]);
      if (p.length && ri(0, 3) === 0) { const j = ri(0, p.length - 1); p = p.slice(0, j) + '_' + p.slice(j + 1); }
      return str(pick([`%${p}%`, `${p}%`, `%${p}`, p]));
    };
    // a condition: {o, d}
    const cond = (depth) => {
      if (depth > 0 && rnd() < 0.3) {
        const a = cond(depth - 1), b = cond(depth - 1);
        switch (ri(0, 2)) {
          case 0: return { o: `(${a.o} AND ${b.o})`, d: `(${a.d} AND ${b.d})` };
          case 1: return { o: `(${a.o} OR ${b.o})`, d: `(${a.d} OR ${b.d})` };
          default: return { o: `NOT (${a.o})`, d: `NOT (${a.d})` };
        }
      }
      const type = pick(['int', 'int', 'text', 'text', 'real']);
      // on a column most of the time (a literal alone now and then: folded)
      let e = expr(type === 'real' && !ofType('real').length ? 'int' : type, depth - 1);
      for (let i = 0; i < 4 && !/[a-z]/.test(e.o) && ri(0, 9); i++) e = expr(e.type, depth - 1);
      const ed = e.d ?? e.o;
      switch (ri(0, 6)) {
        case 0: return ri(0, 1) ? { o: `${e.o} IS NULL`, d: `${ed} IS NULL` } : { o: `${e.o} IS NOT NULL`, d: `${ed} IS NOT NULL` };
        case 1: if (e.type === 'text') { const p = likeOf(e), not = ri(0, 3) ? '' : 'NOT '; return { o: `${e.o} ${not}LIKE ${p}`, d: `${ed} ${not}ILIKE ${p}` }; } // falls through
        case 2: { let a = litOf(e), b = litOf(e); if (e.type !== 'text' && Number(a) > Number(b)) [a, b] = [b, a]; return { o: `${e.o} BETWEEN ${a} AND ${b}`, d: `${ed} BETWEEN ${a} AND ${b}` }; }
        // = and IN where a literal may hit: texts, and integers of a narrow range
        case 3: if (e.type === 'text' || e.pool[1] - e.pool[0] <= 1000) { const l = Array.from({ length: ri(1, 3) }, () => litOf(e)).join(', '), not = ri(0, 3) ? '' : 'NOT '; return { o: `${e.o} ${not}IN (${l})`, d: `${ed} ${not}IN (${l})` }; } // falls through
        default: { const op = pick(e.type === 'text' || e.pool[1] - e.pool[0] <= 1000 ? ['=', '!=', '<', '<=', '>', '>='] : ['!=', '<', '<=', '>', '>=']), l = litOf(e); return { o: `${e.o} ${op} ${l}`, d: `${ed} ${op} ${l}` }; }
      }
    };
    const where = ri(0, 3) ? (() => { const c = cond(2); return { o: ` WHERE ${c.o}`, d: ` WHERE ${c.d}` }; })() : { o: '', d: '' };
    // an item to show or group by: an integer or text expression (a
    // condition reads as 0 or 1)
    const item = () => expr(pick(['int', 'text', 'text']), ri(0, 2));
    const shape = ri(0, 9);
    let o, d;
    if (shape <= 4) { // groups and aggregates
      const gs = Array.from({ length: ri(1, 2) }, item);
      const aggs = Array.from({ length: ri(1, 3) }, () => {
        switch (ri(0, 7)) {
          case 0: return { o: 'count(*)', d: 'count(*)' };
          case 1: { const e = item(); return { o: `count(${e.o})`, d: `count(${e.d ?? e.o})` }; }
          case 2: { const e = item(); return { o: `count(DISTINCT ${e.o})`, d: `count(DISTINCT ${e.d ?? e.o})` }; }
          case 3: { const e = expr('int', 2); return { o: `sum(${e.o})`, d: `sum(${e.d ?? e.o})` }; }
          case 4: { const e = expr(pick(['int', 'real']), 2); return { o: `avg(${e.o})`, d: `avg(${e.d ?? e.o})` }; }
          case 5: { const e = expr(pick(['int', 'real', 'text']), 2), f = pick(['min', 'max']); return { o: `${f}(${e.o})`, d: `${f}(${e.d ?? e.o})` }; }
          case 6: { const e = expr('real', 2); return { o: `sum(${e.o})`, d: `sum(${e.d ?? e.o})` }; }
          default: { const c = cond(1); return { o: `sum(CASE WHEN ${c.o} THEN 1 ELSE 0 END)`, d: `sum(CASE WHEN ${c.d} THEN 1 ELSE 0 END)` }; }
        }
      });
      const sel = [...gs.map((g, i) => [`${g.o} AS g${i}`, `${g.d ?? g.o} AS g${i}`]), ...aggs.map((a, i) => [`${a.o} AS a${i}`, `${a.d} AS a${i}`])];
      const by = gs.map((_, i) => i + 1).join(', ');
      o = `SELECT ${sel.map((x) => x[0]).join(', ')} FROM ${tname}${where.o} GROUP BY ${by}`;
      d = `SELECT ${sel.map((x) => x[1]).join(', ')} FROM ${tname}${where.d} GROUP BY ${by}`;
      if (ri(0, 3) === 0) { const h = ri(1, 20); o += ` HAVING count(*) > ${h}`; d += ` HAVING count(*) > ${h}`; }
      const desc = ri(0, 1) ? ' DESC' : '';
      o += ` ORDER BY ${gs.map((_, i) => `${i + 1}${desc}`).join(', ')}`;
      d += ` ORDER BY ${gs.map((_, i) => `${i + 1}${desc}`).join(', ')}`;
      if (ri(0, 2) === 0) { const l = ri(1, 30); o += ` LIMIT ${l}`; d += ` LIMIT ${l}`; }
    } else if (shape <= 6) { // DISTINCT
      const es = Array.from({ length: ri(1, 2) }, item);
      o = `SELECT DISTINCT ${es.map((e, i) => `${e.o} AS c${i}`).join(', ')} FROM ${tname}${where.o} ORDER BY ${es.map((_, i) => i + 1).join(', ')} LIMIT 200`;
      d = `SELECT DISTINCT ${es.map((e, i) => `${e.d ?? e.o} AS c${i}`).join(', ')} FROM ${tname}${where.d} ORDER BY ${es.map((_, i) => i + 1).join(', ')} LIMIT 200`;
    } else if (shape === 7 && T.key) { // rows, ordered totally by the span id last
      const es = Array.from({ length: ri(1, 3) }, () => expr(pick(['int', 'text', 'real']), ri(0, 2)));
      const lim = ri(1, 50);
      // by the expressions but reals and literals (a literal is a position), then the key
      const by = es.filter((e) => e.type !== 'real' && /[a-z]/.test(e.o));
      o = `SELECT ${es.map((e, i) => `${e.o} AS c${i}`).join(', ')} FROM ${tname}${where.o} ORDER BY ${by.map((e) => e.o).concat('span_id').join(', ')} LIMIT ${lim}`;
      d = `SELECT ${es.map((e, i) => `${e.d ?? e.o} AS c${i}`).join(', ')} FROM ${tname}${where.d} ORDER BY ${by.map((e) => e.d ?? e.o).concat('span_id').join(', ')} LIMIT ${lim}`;
    } else { // one number
      const e = expr('int', 2);
      o = `SELECT count(*) AS n, sum(${e.o}) AS s FROM ${tname}${where.o}`;
      d = `SELECT count(*) AS n, sum(${e.d ?? e.o}) AS s FROM ${tname}${where.d}`;
    }
    out.push({ ow: o, duck: d });
  }
  return out;
}
