/**
 * The chart renderer inlined into the HTML report: plain ES2017 that draws SVG from the JSON data
 * block, so the file opens offline in any browser. Hand-written instead of inlining a library because
 * none installed here draws box plots and shaded time windows without plugins, and this stays ~5 KB
 * (Chart.js alone is ~200 KB minified). Each chart host gets data-rendered="true" and data-points=N
 * once drawn; a script error is caught into <html data-js-error>, which the Chromium test checks.
 */
export const CHARTS_JS = String.raw`
(function () {
  window.onerror = function (msg) { document.documentElement.setAttribute('data-js-error', String(msg)); };
  var NS = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function tr(v, log) { return log ? Math.log(v) / Math.LN10 : v; }
  function scale(lo, hi, a, b, log) {
    var l = tr(lo, log), h = tr(hi, log);
    if (!(h > l)) { l -= 0.5; h += 0.5; }
    return function (v) { return a + (tr(v, log) - l) / (h - l) * (b - a); };
  }
  function ticks(lo, hi, log) {
    var t = [], v;
    if (log) {
      for (var e = Math.floor(tr(lo, true)); e <= Math.ceil(tr(hi, true)); e++) t.push(Math.pow(10, e));
      return t;
    }
    var span = hi - lo || Math.abs(hi) || 1;
    var step = Math.pow(10, Math.floor(Math.log(span / 5) / Math.LN10));
    var m = span / step;
    if (m > 25) step *= 5; else if (m > 10) step *= 2;
    for (v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push(v);
    return t;
  }
  function fmt(v) {
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
    return String(+v.toPrecision(3));
  }
  function extent(vs, log) {
    var lo = Infinity, hi = -Infinity;
    vs.forEach(function (v) { if (isFinite(v) && (!log || v > 0)) { if (v < lo) lo = v; if (v > hi) hi = v; } });
    if (lo === Infinity) { lo = log ? 1 : 0; hi = log ? 10 : 1; }
    if (log) { lo = Math.pow(10, Math.floor(tr(lo, true))); hi = Math.pow(10, Math.ceil(tr(hi, true))); if (hi <= lo) hi = lo * 10; }
    else if (lo > 0 && lo < hi / 3) lo = 0;
    return [lo, hi];
  }
  function draw(host, c) {
    var W = 760, H = 300, L = 70, R = 150, T = 14, B = 42, points = 0;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': c.title }, host);
    var xs = [], ys = [];
    if (c.kind === 'box') c.boxes.forEach(function (b) { ys.push(b.low, b.high); });
    else {
      c.series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
      (c.windows || []).forEach(function (w) { xs.push(w[0], w[1]); });
      if (c.baseline != null) ys.push(c.baseline);
    }
    var ye = extent(ys, c.ylog);
    var y = scale(ye[0], ye[1], H - B, T, c.ylog);
    var x;
    if (c.kind === 'box') {
      var slot = (W - L - R) / Math.max(1, c.boxes.length);
      x = function (i) { return L + slot * (i + 0.5); };
    } else {
      var xe = extent(xs, c.xlog);
      x = scale(xe[0], xe[1], L, W - R, c.xlog);
      ticks(xe[0], xe[1], c.xlog).forEach(function (t) {
        var px = x(t);
        if (px < L - 0.5 || px > W - R + 0.5) return;
        el('line', { x1: px, x2: px, y1: H - B, y2: H - B + 4, stroke: '#444' }, svg);
        el('text', { x: px, y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11 }, svg, fmt(t));
      });
    }
    ticks(ye[0], ye[1], c.ylog).forEach(function (t) {
      var py = y(t);
      if (py < T - 0.5 || py > H - B + 0.5) return;
      el('line', { x1: L, x2: W - R, y1: py, y2: py, stroke: '#e4e4e4' }, svg);
      el('text', { x: L - 6, y: py + 4, 'text-anchor': 'end', 'font-size': 11 }, svg, fmt(t));
    });
    el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#444' }, svg);
    el('line', { x1: L, x2: L, y1: T, y2: H - B, stroke: '#444' }, svg);
    el('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 12 }, svg, c.xLabel);
    el('text', { x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', 'font-size': 12, transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, svg, c.yLabel + (c.ylog ? ' (log)' : ''));
    var legend = [];
    if (c.kind === 'box') {
      c.boxes.forEach(function (b, i) {
        var cx = x(i), w = Math.min(60, slot * 0.5);
        el('line', { x1: cx, x2: cx, y1: y(b.low), y2: y(b.high), stroke: b.color }, svg);
        el('rect', { x: cx - w / 2, y: y(b.q3), width: w, height: Math.max(1, y(b.q1) - y(b.q3)), fill: b.color, 'fill-opacity': 0.3, stroke: b.color }, svg);
        el('line', { x1: cx - w / 2, x2: cx + w / 2, y1: y(b.median), y2: y(b.median), stroke: b.color, 'stroke-width': 2.5 }, svg);
        el('text', { x: cx, y: H - B + 16, 'text-anchor': 'middle', 'font-size': 12 }, svg, b.name + ' (n=' + b.n + ')');
        points += 5;
      });
    } else {
      (c.windows || []).forEach(function (w) {
        el('rect', { x: x(w[0]), y: T, width: Math.max(0.5, x(w[1]) - x(w[0])), height: H - B - T, fill: c.windowColors[w[2]], 'fill-opacity': 0.18 }, svg);
      });
      (c.windowNames || []).forEach(function (n, i) { legend.push([n + ' running', c.windowColors[i], true]); });
      if (c.baseline != null) {
        el('line', { x1: L, x2: W - R, y1: y(c.baseline), y2: y(c.baseline), stroke: '#c0392b', 'stroke-dasharray': '5 4' }, svg);
        legend.push(['idle baseline ' + fmt(c.baseline) + ' W', '#c0392b', false]);
      }
      c.series.forEach(function (s) {
        var pts = s.points.filter(function (p) { return isFinite(p[1]) && (!c.ylog || p[1] > 0) && (!c.xlog || p[0] > 0); });
        var d = pts.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join(' ');
        if (pts.length > 1) el('polyline', { points: d, fill: 'none', stroke: s.color, 'stroke-width': c.kind === 'timeline' ? 1 : 1.6 }, svg);
        if (c.kind !== 'timeline') pts.forEach(function (p) { el('circle', { cx: x(p[0]), cy: y(p[1]), r: 2.6, fill: s.color }, svg); });
        points += pts.length;
        legend.push([s.name, s.color, false]);
      });
    }
    legend.forEach(function (g, i) {
      el('rect', { x: W - R + 10, y: T + i * 18, width: 12, height: 12, fill: g[1], 'fill-opacity': g[2] ? 0.35 : 1 }, svg);
      el('text', { x: W - R + 28, y: T + i * 18 + 10, 'font-size': 12 }, svg, g[0]);
    });
    host.setAttribute('data-points', String(points));
    host.setAttribute('data-rendered', 'true');
  }
  var data = JSON.parse(document.getElementById('nebula-data').textContent);
  var drawn = 0;
  data.charts.forEach(function (c) {
    var host = document.getElementById(c.id);
    if (!host) return;
    draw(host, c);
    drawn++;
  });
  document.documentElement.setAttribute('data-charts-rendered', String(drawn));
})();
`;
