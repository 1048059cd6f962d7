// charts.js - small SVG charts of our own: a sparkline, a scatter plot, a
// stacked bar histogram over time (drag across it to choose a range) and a
// line or bar chart of series over time. x is always time in ms.
'use strict';
(function () {
  const NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...kids) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const k of kids.flat()) if (k !== undefined && k !== null) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  // "nice" ticks between lo and hi
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }
  const TSTEPS = [1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3];
  function timeTicks(lo, hi, n) {
    const step = TSTEPS.find((x) => x >= (hi - lo) / n) || 86400e3;
    const off = new Date(lo).getTimezoneOffset() * 60e3;
    const out = [];
    for (let v = Math.ceil((lo - off) / step) * step + off; v <= hi; v += step) out.push(v);
    return { out, step };
  }
  function timeLabel(ms, step) {
    const d = new Date(ms), p = (x) => String(x).padStart(2, '0');
    if (step >= 86400e3) return `${d.getMonth() + 1}/${d.getDate()}`;
    if (step < 60e3) return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    return `${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  // charts fill the view's width (their text keeps its size)
  const full = () => Math.max(480, document.getElementById('view').clientWidth - 34);
  const shortNum = (v) => (Math.abs(v) >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`);

  // A frame: axes for x (time) in [x0, x1] and y in [0 or y0, y1].
  function frame(W, H, x0, x1, y0, y1, yfmt) {
    const L = 56, R = 10, T = 8, B = 22;
    const X = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
    const Y = (y) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
    const g = s('g', { class: 'axis' });
    for (const v of ticks(y0, y1, 4)) {
      g.append(s('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: 'gridline' }));
      g.append(s('text', { x: L - 4, y: Y(v) + 4, 'text-anchor': 'end' }, (yfmt || shortNum)(v)));
    }
    const tt = timeTicks(x0, x1, Math.max(2, Math.floor(W / 90)));
    for (const v of tt.out) if (X(v) < W - 16) g.append(s('text', { x: X(v), y: H - 6, 'text-anchor': 'middle' }, timeLabel(v, tt.step)));
    return { X, Y, g, L, R, T, B };
  }

  OW.sparkline = function (values, W = 120, H = 24) {
    const max = Math.max(1, OW.extent(values)[1]);
    const pts = values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * (W - 2) + 1).toFixed(1)},${(H - 2 - (v / max) * (H - 4)).toFixed(1)}`);
    return s('svg', { class: 'spark', width: W, height: H, viewBox: `0 0 ${W} ${H}` }, s('polyline', { points: pts.join(' ') }));
  };

  // points: [{x (ms), y (ns), err, title, onclick}]
  OW.scatter = function (points, x0, x1, W = full(), H = 200) {
    const ymax = Math.max(1, OW.extent(points.map((p) => p.y))[1]) * 1.05;
    const f = frame(W, H, x0, x1, 0, ymax, (v) => OW.fmtDur(v));
    const svg = s('svg', { class: 'chart scatter', viewBox: `0 0 ${W} ${H}`, width: W, height: H }, f.g);
    for (const p of points) {
      const c = s('circle', { cx: f.X(p.x), cy: f.Y(p.y), r: 4, class: p.err ? 'dot err' : 'dot' }, s('title', null, p.title));
      if (p.onclick) c.addEventListener('click', p.onclick);
      svg.append(c);
    }
    return svg;
  };

  // buckets: [{x (ms), counts: {series: n}}], width in ms; series in
  // stacking order with colours. onzoom(from, to) after a drag.
  OW.histogram = function (buckets, width, x0, x1, series, onzoom, W = full(), H = 140) {
    const tot = (b) => series.reduce((a, sr) => a + (b.counts[sr.key] || 0), 0);
    const ymax = Math.max(1, OW.extent(buckets.map(tot))[1]);
    const f = frame(W, H, x0, x1, 0, ymax);
    const svg = s('svg', { class: 'chart histogram', viewBox: `0 0 ${W} ${H}`, width: W, height: H }, f.g);
    for (const b of buckets) {
      let acc = 0;
      const bw = Math.max(1, f.X(b.x + width) - f.X(b.x) - 1);
      const g = s('g', { class: 'bucket', 'data-x': b.x, 'data-total': tot(b) });
      for (const sr of series) {
        const n = b.counts[sr.key] || 0;
        if (!n) continue;
        g.append(s('rect', { x: f.X(b.x), y: f.Y(acc + n), width: bw, height: f.Y(acc) - f.Y(acc + n), fill: sr.color, 'data-series': sr.key, 'data-count': n },
          s('title', null, `${OW.fmtTime(b.x, true)}  ${sr.label}: ${n}`)));
        acc += n;
      }
      svg.append(g);
    }
    // drag to zoom: the selection in screen pixels to the times under it
    const sel = s('rect', { class: 'brush', y: f.T, height: H - f.T - f.B, width: 0, x: 0, visibility: 'hidden' });
    svg.append(sel);
    let start = null;
    const toX = (ev) => {
      const r = svg.getBoundingClientRect();
      return Math.min(W - f.R, Math.max(f.L, ((ev.clientX - r.left) / r.width) * W));
    };
    const toT = (px) => x0 + ((px - f.L) / (W - f.L - f.R)) * (x1 - x0);
    svg.addEventListener('mousedown', (ev) => { start = toX(ev); sel.setAttribute('visibility', 'visible'); sel.setAttribute('x', start); sel.setAttribute('width', 0); ev.preventDefault(); });
    svg.addEventListener('mousemove', (ev) => {
      if (start === null) return;
      const x = toX(ev);
      sel.setAttribute('x', Math.min(start, x));
      sel.setAttribute('width', Math.abs(x - start));
    });
    const end = (ev) => {
      if (start === null) return;
      const x = toX(ev), a = Math.min(start, x), b = Math.max(start, x);
      start = null;
      sel.setAttribute('visibility', 'hidden');
      if (b - a >= 3 && onzoom) onzoom(Math.floor(toT(a)), Math.ceil(toT(b)));
    };
    svg.addEventListener('mouseup', end);
    svg.addEventListener('mouseleave', end);
    return svg;
  };

  // series: [{label, points: [[x ms, y]]}]; kind 'line' or 'bar' (a bar
  // spans from its time to the next one, as a time bucket does)
  OW.timeChart = function (series, kind, W = full(), H = 260) {
    const xs = series.flatMap((sr) => sr.points.map((p) => p[0]));
    const ys = series.flatMap((sr) => sr.points.map((p) => p[1]));
    let [x0, x1] = OW.extent(xs);
    let gap = OW.extent([...new Set(xs)].sort((a, b) => a - b).map((x, i, a) => (i ? x - a[i - 1] : Infinity)))[0];
    if (!Number.isFinite(gap)) gap = 1000; // one time
    if (kind === 'bar') x1 += gap;
    if (x0 === x1) { x0 -= 1000; x1 += 1000; }
    const [ylo, yhi] = OW.extent(ys);
    const y0 = Math.min(0, ylo), y1 = Math.max(1e-9, yhi) * 1.05;
    const f = frame(W, H, x0, x1, y0, y1);
    const svg = s('svg', { class: `chart ${kind}`, viewBox: `0 0 ${W} ${H}`, width: W, height: H }, f.g);
    const bw = Math.max(1, ((f.X(x0 + gap) - f.X(x0)) * 0.85) / series.length);
    series.forEach((sr, k) => {
      const color = OW.color(sr.label);
      const pts = sr.points.slice().sort((a, b) => a[0] - b[0]);
      if (kind === 'bar') {
        for (const [x, y] of pts)
          svg.append(s('rect', { x: f.X(x) + k * bw, y: f.Y(Math.max(0, y)), width: bw, height: Math.abs(f.Y(y) - f.Y(0)), fill: color }, s('title', null, `${sr.label} ${OW.fmtTime(x, true)}: ${y}`)));
      } else {
        svg.append(s('polyline', { points: pts.map(([x, y]) => `${f.X(x).toFixed(1)},${f.Y(y).toFixed(1)}`).join(' '), stroke: color, fill: 'none', 'stroke-width': 1.5 }));
      }
    });
    const legend = OW.h('div', { class: 'legend' }, series.map((sr) => OW.h('span', null, OW.h('i', { style: `background:${OW.color(sr.label)}` }), sr.label)));
    return OW.h('div', null, svg, legend);
  };
})();
