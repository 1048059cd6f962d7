// pipeline.js - the batch pipeline (#/pipeline?batch=ID), from the batch
// monitor and /metrics, asked again every 2 s while the view is on screen:
// the lifecycle (created, WAL, stored, indexed, completed) with how many
// batches reached each stage and how many wait before it; every
// stage's queue; the time from creation to each stage
// (openwit_batch_stage_seconds); stuck and failed batches with their error
// and retries; alerts; throughput per tenant; and one batch's timeline.
// With auth on these need an admin token for all tenants (*).
'use strict';
(function () {
  const h = OW.h;
  // status.stages counts the batches whose stage flag is set (ingestion's
  // is set with storage's, when the part is committed: not a stage here;
  // the batches between WAL and stored are in memory, queryable)
  const LIFE = [
    { key: 'wal', label: 'WAL', hint: 'durable in the WAL' },
    { key: 'storage', label: 'stored', hint: 'in a Parquet part' },
    { key: 'index', label: 'indexed', hint: 'its parts indexed' },
    { key: 'janitor', label: 'completed', hint: 'indexed, WAL file gone' },
  ];
  const STEPS = [['created_at', 'created'], ['kafka_completed_at', 'Kafka'], ['wal_completed_at', 'WAL'], ['ingestion_completed_at', 'buffered'],
    ['storage_completed_at', 'stored'], ['wal_removed_at', 'WAL file removed'], ['index_completed_at', 'indexed'], ['janitor_completed_at', 'completed']];
  const when = (s) => (s ? new Date(s.replace(' ', 'T') + 'Z').getTime() : null);

  // openwit_batch_stage_seconds from Prometheus text: per stage its
  // count, mean and the p50 and p99 bucket bounds.
  function stageLatency(text) {
    const st = new Map();
    for (const line of text.split('\n')) {
      const m = /^openwit_batch_stage_seconds_(bucket|sum|count)\{stage="([^"]+)"(?:,le="([^"]+)")?\} (\S+)/.exec(line);
      if (!m) continue;
      if (!st.has(m[2])) st.set(m[2], { buckets: [], sum: 0, count: 0 });
      const o = st.get(m[2]);
      if (m[1] === 'bucket') o.buckets.push([m[3] === '+Inf' ? Infinity : Number(m[3]), Number(m[4])]);
      else o[m[1]] = Number(m[4]);
    }
    const q = (o, f) => { const b = o.buckets.find(([, c]) => c >= f * o.count); return b ? b[0] : null; };
    return [...st].map(([stage, o]) => ({ stage, count: o.count, mean: o.count ? o.sum / o.count : null, p50: o.count ? q(o, 0.5) : null, p99: o.count ? q(o, 0.99) : null }));
  }
  const secs = (s) => (s === null ? '–' : s === Infinity ? '> 7 d' : OW.fmtDur(Math.round(s * 1e9)));

  function lifecycle(st) {
    const out = [h('div', { class: 'stage', dataset: { stage: 'created', count: st.batches.total } }, h('small', null, 'created'), h('b', null, OW.fmtNum(st.batches.total)), h('small', null, 'batches'))];
    let prev = st.batches.total;
    for (const s of LIFE) {
      const n = st.stages[s.key];
      out.push(h('div', { class: 'arrow' }, '→', h('br'), h('small', { dataset: { waiting: s.key } }, prev - n > 0 ? `${prev - n} ${s.key === 'storage' ? 'in memory' : 'waiting'}` : '')));
      out.push(h('div', { class: 'stage', dataset: { stage: s.key, count: n } }, h('small', null, s.label), h('b', null, OW.fmtNum(n)), h('small', null, s.hint)));
      prev = n;
    }
    out.push(h('div', { class: 'stage', dataset: { stage: 'failed', count: st.batches.failed } }, h('small', null, 'failed'), h('b', { class: st.batches.failed ? 'bad' : '' }, OW.fmtNum(st.batches.failed)), h('small', null, 'with an error')));
    return h('div', { class: 'stages' }, out);
  }

  function queues(st) {
    const rows = Object.entries(st.queues).map(([name, q]) => ({ name, ...q }));
    return OW.table(rows, [
      { label: 'queue', get: (q) => q.name },
      { label: 'depth', cls: 'num', get: (q) => h('span', { dataset: { depth: q.depth_items } }, OW.fmtNum(q.depth_items)) },
      { label: 'capacity', cls: 'num', get: (q) => (q.capacity_items === null ? '–' : OW.fmtNum(q.capacity_items)) },
      { label: 'bytes', cls: 'num', get: (q) => OW.fmtBytes(q.depth_bytes) },
      { label: 'byte cap', cls: 'num', get: (q) => (q.capacity_bytes === null ? '–' : OW.fmtBytes(q.capacity_bytes)) },
      { label: 'waits', cls: 'num', get: (q) => OW.fmtNum(q.waits) },
      { label: 'mean wait', cls: 'num', get: (q) => `${OW.fmtNum(q.wait_avg_ms, 3)} ms` },
      { label: 'max wait', cls: 'num', get: (q) => `${OW.fmtNum(q.wait_max_ms, 3)} ms` },
    ], { cls: 'queues', data: (q) => ({ queue: q.name }) });
  }

  function batchList(list, empty) {
    if (!list.length) return h('p', { class: 'muted' }, empty);
    return OW.table(list, [
      { label: 'batch', cls: 'mono', get: (b) => h('a', { href: OW.href('pipeline', '', { batch: b.batch_id }) }, b.batch_id) },
      { label: 'tenant', get: (b) => b.client_id },
      { label: 'signal', get: (b) => b.signal },
      { label: 'stage', get: (b) => b.stage || b.error_stage || '' },
      { label: 'created', get: (b) => b.created_at },
      { label: 'records', cls: 'num', get: (b) => OW.fmtNum(b.record_count) },
      { label: 'retries', cls: 'num', get: (b) => b.retry_count ?? '' },
      { label: 'error', get: (b) => (b.error_message ? h('span', { class: 'bad' }, `${b.error_stage}: ${b.error_message}`) : '') },
    ]);
  }

  function timeline(b) {
    const t0 = when(b.created_at);
    const steps = STEPS.filter(([k]) => b[k]).map(([k, label]) => ({ label, at: b[k], ms: when(b[k]) }));
    return h('div', { class: 'detail', id: 'batch-timeline' },
      h('h2', null, `Batch ${b.batch_id}`),
      h('div', { class: 'meta' }, `${b.client_id} · ${b.signal} · from ${b.source} · ${OW.fmtNum(b.message_count)} messages · ${OW.fmtNum(b.record_count)} records · ${OW.fmtBytes(b.batch_size)} · stage ${b.stage}${b.retry_count ? ` · ${b.retry_count} retries` : ''}`),
      b.error_message ? h('div', { class: 'error' }, `${b.error_stage}: ${b.error_message}`) : null,
      h('ol', { class: 'timeline' }, steps.map((s) => h('li', null, h('b', null, s.label), ` ${s.at} UTC`, h('span', { class: 'muted' }, s.ms !== null && t0 !== null && s.label !== 'created' ? `  +${OW.fmtDur((s.ms - t0) * 1e6)}` : '')))),
      b.topics ? h('div', { class: 'meta' }, `Kafka ${b.topics} offsets ${b.first_offset}–${b.last_offset}`) : null);
  }

  OW.views.pipeline = async function (el, arg, p) {
    el.append(h('h1', null, 'Pipeline'));
    const form = h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); OW.setParams({ batch: new FormData(form).get('batch').trim() }); } },
      h('label', null, 'batch id', h('input', { name: 'batch', value: p.get('batch') || '', size: 38, 'data-search': true })),
      h('button', { class: 'primary' }, 'Show timeline'));
    const box = h('div', null, OW.loading());
    const tl = h('div');
    el.append(form, tl, box);
    const signal = OW.abortable();
    if (p.get('batch')) {
      try { tl.append(timeline(await OW.api(`/api/batch-monitor/batches/${encodeURIComponent(p.get('batch'))}`, { signal }))); } catch (e) { if (e.name !== 'AbortError') tl.append(OW.errorBox(e)); }
    }
    let busy = false;
    async function refresh() {
      if (busy) return;
      busy = true;
      try {
        const [st, al, pend, thr, metrics] = await Promise.all([
          OW.api('/api/batch-monitor/status', { signal }),
          OW.api('/api/batch-monitor/alerts', { signal }),
          OW.api('/api/batch-monitor/batches?status=pending&limit=20', { signal }),
          OW.api('/api/batch-monitor/throughput?minutes=60', { signal }),
          OW.api('/metrics', { signal }),
        ]);
        const lat = stageLatency(metrics);
        box.replaceChildren(
          h('div', { class: 'meta', id: 'pipeline-updated' }, `updated ${OW.fmtTime(Date.now())} · every 2 s · ${st.batches.pending} pending · oldest pending since ${st.oldest_pending_created_at || '–'} · in flight ${OW.fmtBytes(st.pipeline.inflight_bytes)} of ${OW.fmtBytes(st.pipeline.inflight_bytes_max)} · buffered ${OW.fmtBytes(st.pipeline.buffered_bytes)}${st.pipeline.disk_full ? ' · DISK FULL' : ''}${st.pipeline.draining ? ' · draining' : ''}`),
          lifecycle(st),
          h('h2', null, 'Time from creation to each stage'),
          OW.table(lat, [
            { label: 'stage', get: (x) => x.stage },
            { label: 'batches', cls: 'num', get: (x) => OW.fmtNum(x.count) },
            { label: 'mean', cls: 'num', get: (x) => secs(x.mean) },
            { label: 'p50 within', cls: 'num', get: (x) => secs(x.p50) },
            { label: 'p99 within', cls: 'num', get: (x) => secs(x.p99) },
          ], { cls: 'latency' }),
          h('h2', null, 'Queues between stages'), queues(st),
          h('h2', null, `Stuck batches (pending over ${al.stuck_after_minutes} min)`), batchList(al.stuck_batches, 'None.'),
          h('h2', null, 'Failed batches'), batchList(al.failed_batches, 'None.'),
          h('h2', null, `Alerts (${al.alerts.length})`),
          al.alerts.length ? OW.table(al.alerts, [
            { label: 'when', get: (a) => a.created_at }, { label: 'kind', get: (a) => a.kind },
            { label: 'batch', cls: 'mono', get: (a) => (a.batch_id ? h('a', { href: OW.href('pipeline', '', { batch: a.batch_id }) }, a.batch_id) : '') },
            { label: 'message', get: (a) => a.message }]) : h('p', { class: 'muted' }, 'None.'),
          h('h2', null, 'Pending batches (oldest 20)'), batchList(pend.batches, 'None: every batch is complete.'),
          h('h2', null, `Throughput per tenant, last ${thr.minutes} minutes`),
          OW.table(thr.clients, [
            { label: 'tenant', get: (c) => c.client_id }, { label: 'batches', cls: 'num', get: (c) => OW.fmtNum(c.batches) },
            { label: 'messages', cls: 'num', get: (c) => OW.fmtNum(c.total_messages) }, { label: 'records', cls: 'num', get: (c) => OW.fmtNum(c.total_records) },
            { label: 'bytes', cls: 'num', get: (c) => OW.fmtBytes(c.total_bytes) }, { label: 'records/s', cls: 'num', get: (c) => OW.fmtNum(c.records_per_second, 3) }]));
      } catch (e) {
        if (e.name !== 'AbortError') box.replaceChildren(OW.errorBox(e));
      } finally { busy = false; }
    }
    await refresh();
    OW.every(2000, refresh);
  };
})();
