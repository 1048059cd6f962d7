#!/usr/bin/env node
// Running as a systemd service: the unit `make install` installs passes
// `systemd-analyze verify` (and has the sandboxing README promises), and
// openwit speaks the notify protocol without libsystemd: READY=1 once it
// answers /ready, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 when
// SIGTERM starts the drain; to an abstract ("@name") socket and to a path;
// a NOTIFY_SOCKET that is not there is a warning, not a failure.
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
(async () => {
const { start, bin, root, curl, ok, is, like, note, done, sleep, tmpdir, jsonTraces } = await import('./lib/harness.mjs');

// ---- the unit ----
{
  const dir = tmpdir('install');
  const r = spawnSync('make', ['-s', '-C', root, 'install', `DESTDIR=${dir}`, 'PREFIX=/usr/local', `OPENWIT=${bin}`, '-o', bin], { encoding: 'utf8' });
  is(r.status, 0, `make install DESTDIR=... succeeds ${r.stderr}`);
  const unit = path.join(dir, 'usr/local/lib/systemd/system/openwit.service');
  ok(fs.existsSync(unit), 'it installs lib/systemd/system/openwit.service under PREFIX');
  ok(fs.existsSync(path.join(dir, 'etc/openwit/openwit.yaml')), 'and /etc/openwit/openwit.yaml');
  const text = fs.readFileSync(unit, 'utf8');
  for (const want of [/^Type=notify$/m, /^User=openwit$/m, /^ExecStart=\/usr\/local\/bin\/openwit -c \/etc\/openwit\/openwit\.yaml$/m,
    /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, /^NoNewPrivileges=yes$/m, /^ProtectSystem=strict$/m,
    /^ReadWritePaths=\/var\/lib\/openwit$/m, /^PrivateTmp=yes$/m, /^StateDirectory=openwit$/m, /^WorkingDirectory=\/var\/lib\/openwit$/m])
    like(text, want, `the unit has ${want.source.replace(/[\^$\\]/g, '')}`);
  const r2 = spawnSync('make', ['-s', '-C', root, 'install', `DESTDIR=${dir}`, 'PREFIX=/opt/ow', 'SYSCONFDIR=/etc/ow', `OPENWIT=${bin}`, '-o', bin], { encoding: 'utf8' });
  like(fs.readFileSync(path.join(dir, 'opt/ow/lib/systemd/system/openwit.service'), 'utf8'), /^ExecStart=\/opt\/ow\/bin\/openwit -c \/etc\/ow\/openwit\/openwit\.yaml$/m,
    `PREFIX and SYSCONFDIR set ExecStart's paths (${r2.status})`);
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    note('SKIP systemd-analyze verify: systemd-analyze is not installed (Debian package systemd)');
  } else {
    // verify needs ExecStart's binary: the one installed under DESTDIR
    const verify = (body) => {
      const f = path.join(dir, 'openwit.service');
      fs.writeFileSync(f, body.replace('ExecStart=/usr/local/bin/openwit', `ExecStart=${dir}/usr/local/bin/openwit`));
      return spawnSync('systemd-analyze', ['verify', '--man=no', f], { encoding: 'utf8' });
    };
    const v = verify(text);
    ok(v.status === 0 && v.stderr.trim() === '', 'systemd-analyze verify finds nothing wrong with the unit', v.stderr);
    const bad = verify(text.replace('ProtectSystem=strict', 'ProtectSystem=strictly'));
    like(bad.stderr, /ProtectSystem|protect system/i, 'and it would say so of a bad setting (the check can fail)');
  }
}

// ---- the notify protocol ----
function listen(addr) {
  const p = spawn('python3', [path.join(root, 't/lib/notify-listen.py'), addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  const l = { got: [], proc: p, buf: '' };
  p.stdout.on('data', (d) => {
    l.buf += d;
    let i;
    while ((i = l.buf.indexOf('\n')) >= 0) {
      const line = l.buf.slice(0, i);
      l.buf = l.buf.slice(i + 1);
      if (line === 'listening') l.ready = true;
      else l.got.push(JSON.parse(line));
    }
  });
  return l;
}
async function until(cond, ms = 10000) {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await sleep(20);
  return cond();
}

for (const kind of ['abstract', 'path']) {
  const dir = tmpdir('notify');
  const addr = kind === 'abstract' ? `@openwit-test-${process.pid}-${Date.now()}` : path.join(dir, 'notify.sock');
  const l = listen(addr);
  ok(await until(() => l.ready), `${kind}: the listener is up at ${addr}`);
  const s = await start({ tag: 'notify', env: { NOTIFY_SOCKET: addr } });
  ok(await until(() => l.got.length > 0), `${kind}: a notification arrives`);
  is(l.got[0], 'READY=1', `${kind}: the first is READY=1`);
  is(curl(`${s.control}/ready`).code, 200, `${kind}: and /ready answers 200`);
  is(curl(`${s.otlp}/v1/traces`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', jsonTraces('notify')]).code, 200,
    `${kind}: ingest is taken`);
  s.proc.kill('SIGHUP');
  ok(await until(() => l.got.length >= 3), `${kind}: SIGHUP sends two more`);
  like(l.got[1], /^RELOADING=1\nMONOTONIC_USEC=\d+$/, `${kind}: RELOADING=1 with MONOTONIC_USEC`);
  is(l.got[2], 'READY=1', `${kind}: then READY=1`);
  const exited = s.stop('SIGTERM');
  ok(await until(() => l.got.length >= 4), `${kind}: SIGTERM sends one more`);
  is(l.got[3], 'STOPPING=1', `${kind}: STOPPING=1`);
  is((await exited).code, 0, `${kind}: and the server exits 0`);
  is(l.got.length, 4, `${kind}: nothing else`);
  s.forget();
  l.proc.kill();
}

// a socket that is not there: a warning, and the server runs
{
  const dir = tmpdir('notify');
  const s = await start({ tag: 'notify', env: { NOTIFY_SOCKET: path.join(dir, 'absent.sock') } });
  like(s.log(), /\[warn\] cannot send READY=1 to NOTIFY_SOCKET .*absent\.sock/, 'an absent NOTIFY_SOCKET: a warning naming it');
  is(curl(`${s.control}/ready`).code, 200, 'and the server is ready');
}
done();
})();
