// main.js - starts the page: the header's range, tenant and token, the
// keyboard ('/' focuses the view's search), and the router, which renders
// the view the hash names and ends the last one's timers and requests. No
// view holds a streaming request open: live views poll while they are on
// screen.
'use strict';
(function () {
  const h = OW.h;
  const view = document.getElementById('view');
  let seq = 0;

  OW.render = async function () {
    const r = OW.route();
    OW.endView();
    const mine = ++seq;
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('on', a.dataset.view === (r.view === 'trace' ? 'traces' : r.view));
    const sel = document.getElementById('range');
    sel.value = OW.range().name;
    document.getElementById('tenant').value = OW.tenant();
    document.getElementById('token-btn').hidden = !OW.token();
    const fn = OW.views[r.view];
    view.replaceChildren();
    view.dataset.view = r.view;
    if (!fn) return view.append(h('div', { class: 'error' }, `no view named ${r.view}`));
    try {
      await fn(view, r.arg, r.params);
    } catch (e) {
      if (e.name === 'AbortError' || mine !== seq) return;
      view.append(OW.errorBox(e));
    }
  };

  document.getElementById('range').addEventListener('change', (ev) => {
    if (ev.target.value !== 'abs') OW.setParams({ from: ev.target.value, to: '' });
  });
  document.getElementById('tenant').addEventListener('change', (ev) => {
    const t = ev.target.value.trim();
    if (t) sessionStorage.setItem('openwit.tenant', t);
    else sessionStorage.removeItem('openwit.tenant');
    OW.setParams({ tenant: t });
  });
  document.getElementById('token-btn').addEventListener('click', () => OW.askToken(''));
  document.getElementById('token-dialog').addEventListener('close', (ev) => {
    const d = ev.target;
    if (d.returnValue === 'forget') sessionStorage.removeItem('openwit.token');
    else {
      const t = document.getElementById('token-input').value.trim();
      if (t) sessionStorage.setItem('openwit.token', t);
    }
    OW.render();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t.closest && t.closest('input, textarea, select, [contenteditable]')) return;
    const s = view.querySelector('[data-search]');
    if (s) { ev.preventDefault(); s.focus(); s.select && s.select(); }
  });
  window.addEventListener('hashchange', OW.render);
  // the tenants the server knows, for the switcher, asked when it is first
  // used: the batch monitor lists them (with auth on it needs an admin
  // token for all tenants; without one the list stays empty)
  let listed = false;
  document.getElementById('tenant').addEventListener('focus', () => {
    if (listed) return;
    listed = true;
    OW.api('/api/batch-monitor/throughput?minutes=43200').then((j) => {
      document.getElementById('tenants').replaceChildren(...j.clients.map((c) => h('option', { value: c.client_id })));
    }, () => { listed = false; });
  });
  OW.render();
})();
