// Step charts: inline SVG line chart of several series over steps, with a hover readout.
// series: [{label, color, dashed, fill, dots, points: [{x: step, y}]}]
// options: {label (accessible name), yDomain: [min, max] (fixed y range, e.g. [0, 1] for accuracy),
//           logY (log10 y axis; points with y <= 0 are left out)}; the caller may change options, then set()
import { h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 240, PAD = { left: 48, right: 14, top: 14, bottom: 30 };

function svg(tag, attrs = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function niceTicks(min, max, count) {
  if (min === max) return [min];
  const step = (max - min) / (count - 1);
  return Array.from({ length: count }, (_, i) => min + i * step);
}

export function fmt(v) {
  if (!isFinite(v)) return "";
  const a = Math.abs(v);
  if (a !== 0 && a < 0.01) return v.toExponential(1);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(3);
}

function readout(v) {
  const a = Math.abs(v);
  return a !== 0 && a < 0.001 ? v.toExponential(3) : a >= 1000 ? v.toFixed(0) : v.toFixed(4);
}

export function lossChart(placeholder = "Waiting for training.log events…", options = {}) {
  const root = h("div.chart");
  const legend = h("div.chart-legend");
  const tooltip = h("div.chart-tooltip", { hidden: true });
  const box = h("div.chart-box", { style: "position:relative" });
  root.append(legend, box);
  let series = [];

  function render() {
    box.replaceChildren();
    legend.replaceChildren();
    const ty = options.logY ? (y) => Math.log10(y) : (y) => y;
    const visible = series.map((s) => (options.logY ? { ...s, points: s.points.filter((p) => p.y > 0) } : s)).filter((s) => s.points.length);
    if (!visible.length) {
      box.append(h("div.chart-empty", placeholder));
      return;
    }
    for (const s of visible) {
      legend.append(h("span.legend-item", h("span.legend-swatch", { style: `background:${s.color}` }), s.label));
    }
    const all = visible.flatMap((s) => s.points);
    let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
    let [y0, y1] = (!options.logY && options.yDomain) || [Math.min(...all.map((p) => ty(p.y))), Math.max(...all.map((p) => ty(p.y)))];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { const d = Math.abs(y0) * 0.5 || 0.5; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.06;
    y0 -= pad; y1 += pad;
    const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
    const sy = (y) => H - PAD.bottom - ((ty(y) - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
    const syt = (t) => H - PAD.bottom - ((t - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom); // t already on the axis scale
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": options.label || "Loss chart", "data-scale": options.logY ? "log" : "linear" });
    for (const t of niceTicks(y0 + pad, y1 - pad, 5)) {
      chart.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: syt(t), y2: syt(t), class: "grid" }));
      const label = svg("text", { x: PAD.left - 6, y: syt(t) + 4, "text-anchor": "end", class: "axis" });
      label.textContent = fmt(options.logY ? 10 ** t : t);
      chart.append(label);
    }
    const xTicks = [...new Set(niceTicks(x0, x1, Math.min(6, x1 - x0 + 1)).map((v) => Math.round(v)))];
    for (const t of xTicks) {
      const label = svg("text", { x: sx(t), y: H - 10, "text-anchor": "middle", class: "axis" });
      label.textContent = t;
      chart.append(label);
    }
    for (const s of visible) {
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
      if (s.fill) {
        const area = `${d} L${sx(s.points.at(-1).x).toFixed(1)},${H - PAD.bottom} L${sx(s.points[0].x).toFixed(1)},${H - PAD.bottom} Z`;
        chart.append(svg("path", { d: area, fill: s.color, opacity: "0.10" }));
      }
      chart.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": "2",
        "stroke-dasharray": s.dashed ? "6 4" : "none", class: "series", "data-series": s.label }));
      if (s.dots || s.points.length < 30) {
        for (const p of s.points) chart.append(svg("circle", { cx: sx(p.x), cy: sy(p.y), r: "2.6", fill: s.color, class: "point" }));
      }
    }
    const cross = svg("line", { y1: PAD.top, y2: H - PAD.bottom, class: "crosshair", visibility: "hidden" });
    const overlay = svg("rect", { x: PAD.left, y: PAD.top, width: W - PAD.left - PAD.right, height: H - PAD.top - PAD.bottom, fill: "transparent" });
    chart.append(cross, overlay);
    overlay.addEventListener("mousemove", (event) => {
      const rect = chart.getBoundingClientRect();
      const x = x0 + (((event.clientX - rect.left) / rect.width) * W - PAD.left) / (W - PAD.left - PAD.right) * (x1 - x0);
      const steps = [...new Set(all.map((p) => p.x))];
      const step = steps.reduce((best, s) => (Math.abs(s - x) < Math.abs(best - x) ? s : best), steps[0]);
      cross.setAttribute("x1", sx(step)); cross.setAttribute("x2", sx(step));
      cross.setAttribute("visibility", "visible");
      tooltip.replaceChildren(h("strong", `step ${step}`));
      for (const s of visible) {
        const p = s.points.find((q) => q.x === step);
        if (p) tooltip.append(h("div", h("span.legend-swatch", { style: `background:${s.color}` }), `${s.label}: ${readout(p.y)}`));
      }
      tooltip.hidden = false;
      const left = (sx(step) / W) * rect.width;
      tooltip.style.left = `${Math.min(left + 12, rect.width - 170)}px`;
      tooltip.style.top = "8px";
    });
    overlay.addEventListener("mouseleave", () => { tooltip.hidden = true; cross.setAttribute("visibility", "hidden"); });
    box.append(chart, tooltip);
  }

  return {
    element: root,
    set(newSeries) { series = newSeries; render(); },
    placeholder(text) { if (text !== placeholder) { placeholder = text; render(); } },
    pointCount() { return series.reduce((n, s) => n + s.points.length, 0); },
  };
}

// Merge a point into a step-sorted list (same step replaces), keeping at most `max` points.
export function addPoint(points, x, y, max = 2000) {
  if (typeof y !== "number" || !isFinite(y)) return;
  const i = points.findIndex((p) => p.x === x);
  if (i >= 0) points[i] = { x, y };
  else {
    points.push({ x, y });
    points.sort((a, b) => a.x - b.x);
    if (points.length > max) points.splice(0, points.length - max);
  }
}

export const PALETTE = ["#0d9488", "#db2777", "#6366f1", "#ea580c", "#0891b2", "#65a30d", "#9333ea", "#dc2626"];
