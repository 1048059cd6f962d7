// The web UI's first load on loopback, in Debian's chromium (headless,
// puppeteer-core): each run a fresh browser context (no cache, no
// connection kept), / opened on the Services view (query: its hash's
// parameters, such as the tenant and the range). Two times
// from the page's own clock (navigation start = 0), medians of the runs:
//   load      the load event: the page, its scripts and styles (the goal:
//             under 200 ms)
//   services  the Services table drawn, its queries over the tenant's data
//             answered
// make bench (t/bench/compare.mjs) calls uiFirstLoad on its server with
// the bench's data. Alone, `node t/bench/ui.mjs` starts ./openwit with
// t/otel/ui-data.mjs's shop and prints the numbers as JSON.
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function uiFirstLoad(base, query, runs = 7) {
  const puppeteer = createRequire(path.join(root, 't/otel/package.json'))('puppeteer-core');
  const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const load = [], services = [];
  let bytes = 0, errors = 0;
  try {
    for (let i = 0; i <= runs; i++) {
      const ctx = await browser.createBrowserContext();
      const page = await ctx.newPage();
      page.on('pageerror', () => errors++);
      let b = 0;
      page.on('response', async (r) => { try { b += Number(r.headers()['content-length'] || 0); } catch { /* gone */ } });
      await page.goto(`${base}/#/services${query ? `?${query}` : ''}`, { waitUntil: 'load' });
      const shown = await (await page.waitForFunction(() => document.querySelector('table.services tbody tr, .empty') && performance.now(), { polling: 'mutation', timeout: 60000 })).jsonValue();
      const nav = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
      if (i > 0) { load.push(nav); services.push(shown); bytes = b; } // the first run warms chromium itself
      await ctx.close();
    }
  } finally {
    await browser.close();
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  return { load_ms: median(load), services_ms: median(services), runs, asset_bytes: bytes, errors };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { start } = await import('../lib/harness.mjs');
  const { spawnSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const s = await start({ tag: 'bench-ui' });
  spawnSync('node', [path.join(root, 't/otel/ui-data.mjs'), '--url', s.otlp, '--traces', '200'], { stdio: 'ignore' });
  console.log(JSON.stringify(await uiFirstLoad(s.control, '')));
  await s.stop();
  fs.rmSync(s.dir, { recursive: true, force: true });
  process.exit(0);
}
