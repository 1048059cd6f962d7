#!/usr/bin/env node
// The web UI (modules/ui) in a real browser: Debian's chromium, headless,
// driven by puppeteer-core, against the real server, with data sent by the
// OpenTelemetry JS SDK (t/otel/ui-data.mjs: three services, 60 traces of 4
// spans with their logs over the last 30 minutes, and one trace of 10,000
// spans). Each view's figures are checked against SQL on /api/search (or
// the batch monitor), each view is screenshotted into build/ui-shots/,
// and any console error, page error, failed request or HTTP error in the
// page fails the test. Then the assets over curl (gzip and identity, ETag
// and 304, the headers), and a second server with auth on: the token
// prompt, the token kept for the tab and sent as a Bearer header.
// UI_SHOTS=DIR writes the screenshots there instead.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { createRequire } = require('node:module');
(async () => {
const { start, curl, ok, is, like, note, done, root, sleep } = await import('./lib/harness.mjs');
const puppeteer = createRequire(path.join(root, 't/otel/package.json'))('puppeteer-core');
const shots = process.env.UI_SHOTS || path.join(root, 'build/ui-shots');
fs.mkdirSync(shots, { recursive: true });

const s = await start({ tag: 'ui' });
function send(args, url = s.otlp) {
  const r = spawnSync('node', [path.join(root, 't/otel/ui-data.mjs'), '--url', url, ...args], { timeout: 120000 });
  try { return JSON.parse(r.stdout.toString().trim().split('\n').pop()); } catch { return { error: r.stderr.toString() }; }
}
async function q(query, base = s.control, hdr = []) {
  const r = curl(`${base}/api/search`, ['-d', JSON.stringify({ query, limit: 100000 }), ...hdr]);
  return JSON.parse(r.text).result.rows;
}
const sent = send(['--traces', '60', '--big', '10000']);
ok(sent.failed === 0 && sent.traces.length === 60 && sent.big, 'the SDK sent 60 traces, their logs and a 10,000-span trace', sent);

const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 860 });
// what the page must never do: every one is a failure, named
const problems = [];
// a step that makes the server refuse on purpose expects that status
let expected = null;
const unexpected = (t) => !(expected && new RegExp(`\\b${expected}\\b`).test(t));
page.on('console', (m) => { if (m.type() === 'error' && unexpected(m.text())) problems.push(`console: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('requestfailed', (r) => { if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
page.on('response', (r) => { if (r.status() >= 400 && unexpected(String(r.status()))) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
const kinds = new Set();
page.on('request', (r) => kinds.add(r.resourceType()));
const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
const text = (sel) => page.$eval(sel, (e) => e.textContent);
async function go(hash, sel) {
  await page.goto(`${s.control}/${hash}`, { waitUntil: 'networkidle0' });
  if (sel) await page.waitForSelector(sel, { timeout: 15000 });
}
const hour = `start_time >= (now_ns() - interval_ns('1 hour'))`;

// ---- 0. the first page: Services, with no click ----
const t0 = Date.now();
await page.goto(`${s.control}/`, { waitUntil: 'networkidle0' });
await page.waitForSelector('table.services tbody tr');
note(`first load of / to the services table: ${Date.now() - t0} ms (cold browser)`);
ok(!kinds.has('eventsource') && !kinds.has('websocket'), 'the first view holds no streaming request (no EventSource, no websocket)', [...kinds]);
const svcRows = await page.$$eval('table.services tbody tr', (trs) => trs.map((tr) => ({
  k: tr.dataset.service, n: Number(tr.querySelector('[data-n]')?.dataset.n), err: Number(tr.querySelector('[data-err]')?.dataset.err),
  p: [...tr.querySelectorAll('[data-ns]')].map((x) => Number(x.dataset.ns)) })));
const want = await q(`SELECT service_name AS k, count(*) AS n, count(*) FILTER (WHERE status_code = 2) AS err, p50(duration_ns) AS p50, p99(duration_ns) AS p99 FROM spans WHERE ${hour} GROUP BY 1 ORDER BY 1`);
is(svcRows.map((x) => x.k), ['bulk', 'checkout', 'frontend', 'payments'], 'Services lists the four services that sent spans in the last hour, by name');
is(svcRows.map((x) => [x.k, x.n, x.err, ...x.p]), want.map((x) => [x.k, x.n, x.err, x.p50, x.p99]), 'each service\'s spans, errors, p50 and p99 are SQL\'s');
is(svcRows.find((x) => x.k === 'payments').err, 12, 'payments: 12 failed charges of 60 (every 5th)');
ok(await page.$$eval('table.services svg.spark polyline', (l) => l.length) === 4, 'a sparkline beside each service');
await shot('services');

// a service's operations
await page.click('table.services tr[data-service="checkout"] a.svc');
await page.waitForSelector('table.operations tbody tr');
const ops = await page.$$eval('table.operations tbody tr', (trs) => trs.map((tr) => [tr.dataset.operation, Number(tr.querySelector('[data-n]').dataset.n), ...[...tr.querySelectorAll('[data-ns]')].map((x) => Number(x.dataset.ns))]));
const wantOps = await q(`SELECT name, count(*) AS n, p50(duration_ns) AS a, p99(duration_ns) AS b FROM spans WHERE service_name = 'checkout' AND ${hour} GROUP BY 1 ORDER BY 1`);
is(ops, wantOps.map((x) => [x.name, x.n, x.a, x.b]), 'a click on checkout shows its operations with SQL\'s figures');
like(page.url(), /#\/services\/checkout/, 'the service is in the URL');
await shot('operations');

// ---- 2. traces: search, scatter plot, waterfall ----
await go('#/traces?service=payments&status=error', 'table.grid tbody tr');
const found = await page.$$eval('table.grid tbody tr', (trs) => trs.map((tr) => tr.dataset.trace));
const wantFound = (await q(`SELECT DISTINCT trace_id FROM spans WHERE service_name = 'payments' AND status_code = 2 AND ${hour}`)).map((x) => x.trace_id);
is(found.slice().sort(), wantFound.slice().sort(), 'trace search by service and status finds the 12 traces with a failed charge');
is(await page.$$eval('svg.scatter circle.dot.err', (c) => c.length), 12, 'the scatter plot has a red dot for each');
await go('#/traces?operation=charge&min=60ms', 'table.grid tbody tr');
is((await page.$$eval('table.grid tbody tr', (t) => t.length)), (await q(`SELECT count(DISTINCT trace_id) AS n FROM spans WHERE name = 'charge' AND duration_ns >= 60000000 AND ${hour}`))[0].n, 'by operation and minimum duration, as SQL');
await go('#/traces?attrs=user.id%3Du3', 'table.grid tbody tr');
is((await page.$$eval('table.grid tbody tr', (t) => t.length)), (await q(`SELECT count(DISTINCT trace_id) AS n FROM spans WHERE attributes ->> 'user.id' = 'u3' AND ${hour}`))[0].n, 'by attribute, as SQL');
await shot('traces');

const failedTrace = wantFound[0];
await page.click(`table.grid tbody tr[data-trace]`);
await go(`#/traces/${failedTrace}`, '.wf-row');
const spans = await q(`SELECT span_id, parent_span_id, name, status_code FROM spans WHERE trace_id = '${failedTrace}'`);
const depthOf = (id, byId) => { let d = 0; for (let p = byId.get(id).parent_span_id; p && byId.has(p); p = byId.get(p).parent_span_id) d++; return d; };
const byId = new Map(spans.map((x) => [x.span_id, x]));
const wf = await page.$$eval('.wf-row', (rows) => rows.map((r) => ({ id: r.dataset.span, parent: r.dataset.parent, depth: Number(r.dataset.depth), err: r.classList.contains('err') })));
is(Number(await page.$eval('#wf-count', (e) => e.dataset.spans)), spans.length, 'the waterfall says 4 spans');
is(wf.map((r) => [r.id, r.parent || null, r.depth]).sort(), spans.map((x) => [x.span_id, x.parent_span_id, depthOf(x.span_id, byId)]).sort(), 'every span is a row, nested under its parent at its depth');
is(wf.filter((r) => r.err).length, spans.filter((x) => x.status_code === 2).length, 'errors are marked (the charge and the root)');
const charge = spans.find((x) => x.name === 'charge').span_id;
await page.click(`.wf-row[data-span="${charge}"]`);
await page.waitForSelector('.detail:not([hidden]) h2');
const detail = await text('.detail');
like(detail, /payment\.currency.*EUR/s, 'a span shows its attributes');
like(detail, /exception.*CardDeclined/s, 'and its events');
await shot('waterfall');
await page.click(`.wf-row[data-span="${spans.find((x) => x.name === 'reserve stock').span_id}"]`);
await page.waitForFunction(() => /Links \(1\)/.test(document.querySelector('.detail').textContent));
ok(await page.$('.detail a[href*="#/trace/"]'), 'a link to the linked trace');
// trace -> logs, logs -> trace
await page.click('.wf-head a[href*="#/logs"]');
await page.waitForSelector('table.logs tbody tr');
is((await page.$$eval('table.logs tbody tr', (t) => t.length)), (await q(`SELECT count(*) AS n FROM logs WHERE trace_id = '${failedTrace}'`))[0].n, 'the trace\'s logs link shows its 3 records');
await page.click('table.logs tbody tr td a[href*="#/trace/"]');
await page.waitForSelector('.wf-row');
like(page.url(), new RegExp(`#/trace/${failedTrace}`), 'a log record\'s trace id opens the trace');

// a trace as a client may send it: a cycle of parents, a span id twice
const odd = '00112233445566778899aabbccddeeff';
const oddSpan = (id, parent, name, k) => ({ traceId: odd, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name, kind: 1,
  startTimeUnixNano: `${Date.now() - 60e3 + k}000000`, endTimeUnixNano: `${Date.now() - 60e3 + k + 5}000000` });
curl(`${s.otlp}/v1/traces`, ['-H', 'Content-Type: application/json', '-d', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'odd' } }] },
  scopeSpans: [{ spans: [oddSpan('00000000000000a1', '00000000000000b2', 'a', 1), oddSpan('00000000000000b2', '00000000000000a1', 'b', 2),
    oddSpan('00000000000000c3', null, 'c', 3), oddSpan('00000000000000d4', '00000000000000c3', 'd', 4), oddSpan('00000000000000d4', '00000000000000c3', 'd again', 5)] }] }] })]);
await go(`#/trace/${odd}`, '.wf-row');
is(await page.$$eval('.wf-row', (r) => r.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top)).map((x) => `${x.querySelector('.wf-name').lastChild.textContent}:${x.dataset.depth}`)),
  ['c:0', 'd:1', 'd again:1', 'a:0', 'b:1'], 'a cycle of parents is cut (its first span a root) and a span id sent twice is two rows');

// 10,000 spans: only the rows in view are in the page; collapsing works
let t1 = Date.now();
await go(`#/trace/${sent.big}`, '.wf-row');
note(`the 10,000-span trace rendered in ${Date.now() - t1} ms (navigation to rows on screen)`);
is(Number(await page.$eval('#wf-count', (e) => e.dataset.spans)), 10000, 'the big trace: 10000 spans');
const drawn = await page.$$eval('.wf-row', (r) => r.length);
ok(drawn > 10 && drawn < 200, `only the rows in view are drawn (${drawn})`);
t1 = Date.now();
await page.$eval('.wf', (b) => { b.scrollTop = b.scrollHeight; b.dispatchEvent(new Event('scroll')); });
await page.waitForFunction(() => [...document.querySelectorAll('.wf-row')].some((r) => Number(r.style.top.replace('px', '')) / 24 >= 9990));
note(`scrolled to the last rows in ${Date.now() - t1} ms`);
// the bottom rows are the last spans of the tree in pre-order (children
// in start order, as /api/traces gives them)
const all = JSON.parse(curl(`${s.control}/api/traces/${sent.big}`).text).result.rows;
const kids = new Map();
for (const x of all) { if (!kids.has(x.parent_span_id)) kids.set(x.parent_span_id, []); kids.get(x.parent_span_id).push(x.span_id); }
const order = [];
for (const st = [...(kids.get(null) || [])].reverse(); st.length;) { const id = st.pop(); order.push(id); st.push(...[...(kids.get(id) || [])].reverse()); }
const bottom = await page.$$eval('.wf-row', (r) => r.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top)).slice(-5).map((x) => x.dataset.span));
is(bottom, order.slice(-5), 'scrolled to the bottom: the last five spans of the tree');
await shot('waterfall-10k');
await page.$eval('.wf', (b) => { b.scrollTop = 0; b.dispatchEvent(new Event('scroll')); });
await page.waitForFunction(() => document.querySelector('.wf-row[data-depth="0"]'));
t1 = Date.now();
await page.click('.wf-row[data-depth="0"] .tog');
await page.waitForFunction(() => document.querySelectorAll('.wf-row').length === 1);
note(`collapsing the root took ${Date.now() - t1} ms`);
like(await text('.wf-row'), /\+9999/, 'collapsing the root leaves one row, "+9999" hidden under it');
// errors in a big trace: "next" opens, scrolls to and selects each
const bigErrors = all.filter((x) => x.status_code === 2).map((x) => x.span_id);
const errOrder = order.filter((id) => bigErrors.includes(id));
const visited = [];
for (let i = 0; i < 2; i++) {
  await page.click('#next-error');
  await page.waitForFunction((n) => document.querySelectorAll('.wf-row.sel.err').length === 1 && document.querySelector('.detail h2'), {}, i);
  visited.push(await page.$eval('.wf-row.sel', (r) => r.dataset.span));
}
is(visited, errOrder.slice(0, 2), `"next error" selects the errors in tree order, opening the collapsed root (${bigErrors.length} errors)`);

// ---- 3. logs: histogram, results, expand, zoom, live tail ----
// a record with a severity text and no number, as some clients send
curl(`${s.otlp}/v1/logs`, ['-H', 'Content-Type: application/json', '-d', JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
  scopeLogs: [{ logRecords: [{ timeUnixNano: `${Date.now() - 5000}000000`, severityText: 'Warning', body: { stringValue: 'stock low, severity as text' } }] }] }] })]);
await go('#/logs', 'table.logs tbody tr');
const hist = await page.$$eval('svg.histogram rect[data-count]', (r) => r.map((x) => [Number(x.dataset.series), Number(x.dataset.count)]));
const bySev = {};
for (const [k, n] of hist) bySev[k] = (bySev[k] || 0) + n;
const wantSev = await q(`SELECT (severity_number + 3) / 4 AS s, count(*) AS n FROM logs WHERE time >= now_ns() - interval_ns('1 hour') GROUP BY 1 ORDER BY 1`);
const wantBySev = Object.fromEntries(wantSev.filter((x) => x.s !== 0).map((x) => [x.s, x.n]));
wantBySev[4] = 1; // the "Warning" by its text: SQL's severity_number puts it in class 0
is(wantSev.find((x) => x.s === 0)?.n, 1, 'one record without a severity number');
is(bySev, wantBySev, 'the histogram\'s counts by severity are SQL\'s (INFO 60, DEBUG 60, ERROR 12), the record with only a text by its text (warn)');
is(Number(await page.$eval('#log-total', (e) => e.dataset.total)), wantSev.reduce((a, x) => a + x.n, 0), 'and its total');
const firstRows = await page.$$eval('table.logs tbody tr', (t) => t.map((r) => r.dataset.time));
const newest = await q(`SELECT CAST(time AS TEXT) AS t FROM logs ORDER BY time DESC LIMIT 100`);
is(firstRows, newest.map((x) => x.t), 'the first 100 records, newest first');
await page.$eval('table.logs', (t) => t.nextElementSibling.scrollIntoView());
await page.waitForFunction(() => document.querySelectorAll('table.logs tbody tr').length > 100);
is(await page.$$eval('table.logs tbody tr', (t) => t.length), 133, 'scrolling loads the rest (133)');
await page.click('table.logs tbody tr:nth-child(1) td.body');
await page.waitForSelector('tr.expanded');
const fieldNames = await page.$$eval('tr.expanded table.kv > tbody > tr > th, tr.expanded table.kv > tr > th', (t) => t.map((x) => x.textContent));
is(fieldNames.slice().sort(), Object.keys((await q('SELECT * FROM logs LIMIT 1'))[0]).sort(), 'a record expands to all of its fields (every column of logs)');
await page.$eval('header', (h) => h.scrollIntoView());
await shot('logs');
// drag across the histogram: the range becomes the selection
const box = await (await page.$('svg.histogram')).boundingBox();
await page.mouse.move(box.x + box.width * 0.5, box.y + 40);
await page.mouse.down();
await page.mouse.move(box.x + box.width * 0.8, box.y + 40, { steps: 5 });
await page.mouse.up();
await page.waitForFunction(() => /to=\d+/.test(location.hash));
const zoomed = new URLSearchParams(page.url().split('?')[1]);
const zf = Number(zoomed.get('from')), zt = Number(zoomed.get('to'));
ok(zt > zf && Date.now() - zf < 3600e3, 'dragging on the histogram zooms: from and to in the URL', page.url());
await page.waitForNetworkIdle();
await page.waitForSelector('#log-total');
const zn = (await q(`SELECT count(*) AS n FROM logs WHERE time >= ${zf}000000 AND time < ${zt}000000`))[0].n;
is(Number(await page.$eval('#log-total', (e) => e.dataset.total)), zn, `the zoomed range's total is SQL's (${zn})`);
// a record's service filters by it
await page.click('table.logs tbody tr:nth-child(1) td:nth-child(3) a');
await page.waitForFunction(() => /service=/.test(location.hash));
like(page.url(), /service=(checkout|payments|frontend)/, 'a click on a record\'s service filters by it');
// the filters, from the URL
await go('#/logs?q=card%20declined&service=payments&severity=error', 'table.logs tbody tr');
is(await page.$$eval('table.logs tbody tr', (t) => t.length), 12, 'text, service and severity: the 12 card declines');
// live tail: a record sent after the page opened appears
await go('#/logs?live=1&q=tail-', '#live.on');
const marker = `tail-${Date.now()}`;
const tailSent = send(['--logs-only', marker]);
ok(tailSent.failed === 0, 'the SDK sent one record after the page opened');
await page.waitForFunction((m) => [...document.querySelectorAll('table.logs td.body')].some((td) => td.textContent === m), { timeout: 10000 }, marker);
ok(true, 'live tail shows it');
ok(!kinds.has('eventsource') && !kinds.has('websocket'), 'live tail polls: no request held open');
await shot('logs-live');

// ---- 4. SQL console ----
const sqlText = 'SELECT service_name, count(*) AS n, max(duration_ns) AS longest FROM spans GROUP BY 1 ORDER BY 1';
await go(`#/sql?q=${encodeURIComponent(sqlText)}`, '#sql-meta');
const cells = await page.$$eval('table.sql-result tbody tr', (t) => t.map((r) => [...r.children].map((c) => c.textContent)));
const wantSql = await q(sqlText);
is(cells, wantSql.map((x) => [x.service_name, String(x.n), String(x.longest)]), 'the SQL console shows the query\'s rows');
like(await text('#sql-meta'), /engine columnar · [\d.]+ ms/, 'and which engine answered, and how long it took');
await go(`#/sql?q=${encodeURIComponent("SELECT time_bucket_ns(start_time, interval_ns('5 minutes')) AS t, count(*) AS n FROM spans WHERE service_name = 'frontend' GROUP BY 1 ORDER BY 1")}&chart=bar`, '#sql-meta');
ok(await page.$('svg.chart.bar rect'), 'a result with a time column is drawn as a chart (bar)');
await shot('sql');
// CSV download: the file is the API's CSV of the same query
const dl = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'openwit-ui-dl-'));
const cdp = await page.createCDPSession();
await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dl });
await go(`#/sql?q=${encodeURIComponent(sqlText)}`, '#sql-meta');
await page.click('.row button:nth-child(2)');
let csvFile;
for (let i = 0; i < 300 && !csvFile; i++) { await sleep(50); csvFile = fs.readdirSync(dl).find((f) => f.endsWith('.csv')); }
const csvWant = curl(`${s.control}/api/search`, ['-d', JSON.stringify({ query: sqlText, format: 'csv', limit: 10000 })]).text;
is(csvFile && fs.readFileSync(path.join(dl, csvFile), 'utf8'), csvWant, 'Download CSV saves the API\'s CSV of the query');
fs.rmSync(dl, { recursive: true, force: true });
// a server error, shown as given
expected = 400;
await go(`#/sql?q=${encodeURIComponent('SELECT nope FROM spans')}`, '.error');
like(await text('.error'), /400: no such column: nope/, 'a failed query shows the server\'s message');
expected = null;

// ---- 5. pipeline ----
await go('#/pipeline', '.stages');
let stages, status;
for (let i = 0; i < 20; i++) {
  status = JSON.parse(curl(`${s.control}/api/batch-monitor/status`).text);
  stages = await page.$$eval('.stage', (st) => Object.fromEntries(st.map((x) => [x.dataset.stage, Number(x.dataset.count)])));
  const again = JSON.parse(curl(`${s.control}/api/batch-monitor/status`).text);
  if (JSON.stringify(again.stages) === JSON.stringify(status.stages) && stages.created === status.batches.total && stages.janitor === status.stages.janitor) break;
  await sleep(500);
}
is(stages, { created: status.batches.total, wal: status.stages.wal, storage: status.stages.storage, index: status.stages.index, janitor: status.stages.janitor, failed: status.batches.failed },
  'the lifecycle\'s counts are /api/batch-monitor/status\'s');
const queues = await page.$$eval('table.queues tbody tr', (t) => t.map((r) => r.dataset.queue));
is(queues, Object.keys(status.queues), 'every stage\'s queue is listed');
ok(await page.$('table.latency tbody tr'), 'time from creation to each stage, from /metrics');
const batch = JSON.parse(curl(`${s.control}/api/batch-monitor/batches?limit=1`).text).batches[0];
await go(`#/pipeline?batch=${batch.batch_id}`, '#batch-timeline');
like(await text('#batch-timeline'), new RegExp(`Batch ${batch.batch_id}.*created.*WAL`, 's'), 'a batch\'s timeline by id');
await shot('pipeline');

// the theme follows the system's
await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
await go('#/services', 'table.services tbody tr');
const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
await shot('services-dark');
await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
is([light, dark], ['rgb(255, 255, 255)', 'rgb(20, 23, 29)'], 'light and dark themes follow the system');

// keyboard: '/' focuses the view's search
await go('#/logs', 'table.logs');
await page.keyboard.press('/');
is(await page.evaluate(() => document.activeElement.name), 'q', "'/' focuses the search box");

// ---- 6. tenants ----
const other = send(['--logs-only', 'from the other tenant', '--header', 'X-Scope-OrgID: acme']);
ok(other.failed === 0, 'a record for tenant acme');
await go('#/services?tenant=acme', 'table.services tbody tr');
is(await page.$$eval('table.services tbody tr', (t) => t.map((r) => r.dataset.service)), ['checkout'], 'the tenant in the URL: acme\'s one service, none of default\'s');

// a tenant with no data: the tenants that have some, and the empty
// state's curl line, which sends a first span
await go('#/services?tenant=fresh', '.empty pre');
is(await page.$$eval('#other-tenants a', (a) => a.map((x) => x.textContent)), ['acme', 'default'], 'a tenant with no data links to those that have some');
const line = await text('.empty pre');
like(line, /^curl -s http:\/\/127\.0\.0\.1:4318\/v1\/traces .*-H 'X-Scope-OrgID: fresh' -d '\{"resourceSpans"/, 'an empty view shows the curl line that sends a first span (for its tenant)');
const r = spawnSync('sh', ['-c', line.replace(':4318/', `:${s.ports.otlp}/`)]);
is(r.status, 0, 'that line, run (on the test\'s port), succeeds');
await go('#/services?tenant=fresh&from=5m', 'table.services');
is(await page.$$eval('table.services tbody tr', (t) => t.map((x) => x.dataset.service)), ['hello'], 'and its span\'s service is listed');

// data older than the range: the empty view says when, and links to a range
const old = Date.now() - 3 * 3600e3;
curl(`${s.otlp}/v1/traces`, ['-H', 'Content-Type: application/json', '-H', 'X-Scope-OrgID: old', '-d', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cron' } }] },
  scopeSpans: [{ spans: [{ traceId: '0123456789abcdef0123456789abcdef', spanId: '0123456789abcdef', name: 'nightly', kind: 1, startTimeUnixNano: `${old}000000`, endTimeUnixNano: `${old + 5}000000` }] }] }] })]);
await go('#/services?tenant=old', '.empty a');
like(await text('.empty'), /The newest record is from .*before this range\. Show the last 6h/, 'a range with nothing in it says when the newest record is');
await page.click('.empty a');
await page.waitForSelector('table.services tbody tr');
is(await page.$$eval('table.services tbody tr', (t) => t.map((x) => x.dataset.service)), ['cron'], 'and its link shows it');

is(problems, [], 'no console error, page error, failed request or HTTP error in the page');

// ---- the assets over curl ----
const plain = curl(`${s.control}/`);
const gz = curl(`${s.control}/`, ['-H', 'Accept-Encoding: gzip']);
is(plain.code, 200, 'GET / is 200');
like(plain.headers['content-type'], /^text\/html/, 'as HTML');
like(plain.headers['content-security-policy'], /default-src 'none'.*connect-src 'self'/, 'with a policy that keeps the page to its origin');
is(gz.headers['content-encoding'], 'gzip', 'gzip when accepted');
is(require('node:zlib').gunzipSync(gz.body).toString(), plain.text, 'the gzip inflates to the identity body');
ok(plain.headers['content-encoding'] === undefined, 'identity when gzip is not accepted');
like(plain.headers.etag, /^"[0-9a-f]{16}"$/, 'an ETag');
is(plain.headers['cache-control'], 'no-cache', 'Cache-Control: no-cache (revalidate)');
is(curl(`${s.control}/`, ['-H', `If-None-Match: ${plain.headers.etag}`]).code, 304, 'If-None-Match: 304');
for (const [ae, want] of [['br, gzip;q=0.5', 'gzip'], ['gzip;q=0', undefined], ['*', 'gzip'], ['identity', undefined], ['x-gzip', 'gzip']])
  is(curl(`${s.control}/`, ['-H', `Accept-Encoding: ${ae}`]).headers['content-encoding'], want, `Accept-Encoding: ${ae}: ${want || 'identity'}`);
// HEAD: GET's headers and length, and no body (read to the connection's end)
const head = await new Promise((resolve, reject) => {
  const c = require('node:net').connect(s.ports.control, '127.0.0.1', () => c.end('HEAD / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n'));
  const got = [];
  c.on('data', (d) => got.push(d));
  c.on('end', () => resolve(Buffer.concat(got).toString('latin1')));
  c.on('error', reject);
});
const [headHead, headBody] = head.split('\r\n\r\n');
like(headHead, new RegExp(`^HTTP/1.1 200 .*Content-Encoding: gzip.*Content-Length: ${gz.body.length}\r\n`, 's'), 'HEAD /: the headers of GET, its length');
is(headBody, '', 'and no body');
is(curl(`${s.control}/ui/core.js`).headers['content-type'], 'text/javascript; charset=utf-8', 'a script under /ui/');
is(curl(`${s.control}/ui/nope.js`).code, 404, 'an unknown asset is 404');
const post = curl(`${s.control}/`, ['-X', 'POST']);
is([post.code, post.headers.allow, JSON.parse(post.text).error], [405, 'GET, HEAD', 'method not allowed: use GET'], 'POST / is 405, Allow: GET, HEAD, and its JSON');
is(JSON.parse(curl(`${s.control}/ui/nope.js`).text).error, 'not found', 'a 404\'s JSON');
let total = 0;
for (const f of fs.readdirSync(path.join(root, 'modules/ui/www'))) {
  const p = f === 'index.html' ? '/' : `/ui/${f}`;
  const r = curl(`${s.control}${p}`, ['-H', 'Accept-Encoding: gzip']);
  total += r.body.length;
  if (!ok(require('node:zlib').gunzipSync(r.body).equals(fs.readFileSync(path.join(root, 'modules/ui/www', f))), `${p} is modules/ui/www/${f}`)) break;
}
note(`the UI's assets: ${total} bytes gzipped`);

// ---- behind a reverse proxy, under a path of its own ----
const http = require('node:http');
const proxy = http.createServer((req, res) => {
  if (!req.url.startsWith('/openwit/')) { res.writeHead(404); return res.end(); }
  const up = http.request({ host: '127.0.0.1', port: s.ports.control, path: req.url.slice('/openwit'.length), method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  req.pipe(up);
});
await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
await page.goto(`http://127.0.0.1:${proxy.address().port}/openwit/`, { waitUntil: 'networkidle0' });
await page.waitForSelector('table.services tbody tr');
ok(true, 'served by a proxy under /openwit/, the page and its queries work (relative URLs)');
proxy.close();
is(problems, [], 'no error in the page behind the proxy');

// ---- a query cap of 1 a tenant: the views' queries refused (429) are
// asked again after Retry-After ----
const capped = await start({ tag: 'ui-cap', config: { 'query.max_concurrent_per_tenant': 1 } });
ok(send(['--traces', '3'], capped.otlp).failed === 0, 'a server that admits one query a tenant at a time');
let refused = 0;
const count429 = (r) => { if (r.status() === 429) refused++; };
page.on('response', count429);
expected = 429;
// a slow query (~0.6 s idle) holds the tenant's one slot while the page
// loads, so its first queries are refused for certain
const slow = fetch(`${capped.control}/api/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c' }) });
await sleep(100);
await page.goto(`${capped.control}/`, { waitUntil: 'networkidle0' });
await page.waitForSelector('table.services tbody tr', { timeout: 30000 });
is(await page.$$eval('table.services tbody tr', (t) => t.map((x) => x.dataset.service)), ['checkout', 'frontend', 'payments'], `Services still shows the data (${refused} queries answered 429, asked again)`);
ok(refused > 0, 'some of its queries were refused at first (429), so the retry is what answered them');
expected = null;
page.off('response', count429);
is((await slow).status, 200, 'the slow query that held the slot answered');
is(problems, [], 'no other error in the page');

// ---- auth on: the token prompt ----
const token = `ow_${crypto.randomBytes(32).toString('base64url')}`;
const a = await start({ tag: 'ui-auth', config: { 'auth.tokens': JSON.stringify([`sha256:${crypto.createHash('sha256').update(token).digest('hex')} * read,write,admin`]) } });
ok(send(['--traces', '5', '--header', `Authorization: Bearer ${token}`], a.otlp).failed === 0, 'auth on: the SDK sends with its token');
expected = 401;
await page.goto(`${a.control}/`, { waitUntil: 'networkidle0' });
await page.waitForSelector('#token-dialog[open]');
ok(true, 'without a token the page asks for one');
await page.type('#token-input', token);
await page.click('#token-form button[value="ok"]');
await page.waitForSelector('table.services tbody tr');
is(await page.$$eval('table.services tbody tr', (t) => t.map((r) => r.dataset.service)), ['checkout', 'frontend', 'payments'], 'with the token, Services shows the data');
is(await page.evaluate(() => sessionStorage.getItem('openwit.token')), token, 'the token is kept in the tab\'s session storage');
// the server answers 401 to a request without the Bearer header: 200s
// show the page sent it
const authSeen = [];
page.on('response', (r) => { if (r.url().includes('/api/search')) authSeen.push(r.status()); });
await go('#/logs', 'table.logs, .empty');
ok(authSeen.length > 0 && authSeen.every((x) => x === 200), 'and sent as a Bearer header: the queries are answered', authSeen);
expected = null;
is(problems, [], 'no other error in the page with auth on');

await browser.close();
done();
})();
