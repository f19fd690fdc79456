// Compare: pick runs; overlay any logged series (EMA smoothing like TensorBoard's, log-scale y), and
// tables of their configs (differing values highlighted) and final metrics. Each run is read once
// through /api/jobs/{id}/export (bounded by the Studio server), not by holding an event stream open.
import { apiJson } from "../api.js";
import { PALETTE, addPoint, lossChart } from "../chart.js";
import { h, jobDuration, jobTag, replace, statusBadge } from "../ui.js";
import { metric } from "./jobs.js";

export const SERIES = {
  loss: { label: "Training loss", event: "training.log", field: "loss" },
  evalLoss: { label: "Eval loss", event: "training.log", field: "evalLoss" },
  accuracy: { label: "Accuracy", event: "evaluation.completed", field: "accuracy" },
  learningRate: { label: "Learning rate", event: "training.log", field: "learningRate" },
  tokensPerSecond: { label: "Tokens/s", event: "training.log", field: "tokensPerSecond" },
};

// TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0.
export function smooth(points, weight) {
  if (!weight) return points;
  let last = 0;
  return points.map((p, i) => {
    last = last * weight + (1 - weight) * p.y;
    return { x: p.x, y: last / (1 - weight ** (i + 1)) };
  });
}

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = value;
  return out;
}

const show = (v) => (v === undefined || v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));

export function render(container) {
  const runs = new Map(); // jobId -> {job, events, summary} | {job, error} | {job, loading}
  let seriesKey = "loss";
  let weight = 0;
  let logY = false;
  const chartOptions = { label: "Comparison chart" };
  const chart = lossChart("Pick jobs on the left to overlay their curves.", chartOptions);
  const list = h("div.compare-list", h("p.muted", "Loading jobs…"));
  const seriesSelect = h("select.input", { id: "compare-series", "aria-label": "Series",
    onchange: (e) => { seriesKey = e.target.value; draw(); } },
  Object.entries(SERIES).map(([key, s]) => h("option", { value: key }, s.label)));
  const weightValue = h("output", { id: "smoothing-value" }, "0.00");
  const slider = h("input", { type: "range", id: "smoothing", min: "0", max: "0.99", step: "0.01", value: "0", "aria-label": "Smoothing",
    oninput: (e) => { weight = Number(e.target.value); weightValue.textContent = weight.toFixed(2); draw(); } });
  const logBox = h("input", { type: "checkbox", id: "log-scale", onchange: (e) => { logY = e.target.checked; draw(); } });
  const configBody = h("div.card-body", { id: "compare-config" }, h("p.muted", "Select runs to compare their configs."));
  const metricsBody = h("div.card-body", { id: "compare-metrics" }, h("p.muted", "Select runs to compare their final metrics."));
  container.append(
    h("div.page-head", h("h1", "Compare runs"), h("p.muted", "Overlay any logged series of several jobs; compare their configs and final metrics.")),
    h("div.playground",
      h("aside.card.settings", h("div.card-head", h("h2", "Jobs")), h("div.card-body", list)),
      h("div.stack",
        h("section.card", h("div.card-head", h("h2", "Series"),
          h("div.row.chart-controls", seriesSelect,
            h("label.row.small", "Smoothing ", slider, weightValue),
            h("label.row.small", logBox, " Log scale"))),
        h("div.card-body", { id: "compare-chart" }, chart.element)),
        h("section.card", h("div.card-head", h("h2", "Final metrics")), metricsBody),
        h("section.card", h("div.card-head", h("h2", "Config"), h("span.muted", "values that differ are highlighted")), configBody))),
  );

  const color = (i) => PALETTE[i % PALETTE.length];
  const label = (job) => `${job.name} · ${jobTag(job)}`;

  function points(run) {
    const spec = SERIES[seriesKey];
    const out = [];
    for (const e of run.events || []) if (e.type === spec.event) addPoint(out, e.step, e[spec.field]);
    return out;
  }

  function draw() {
    const chosen = [...runs.values()];
    chartOptions.logY = logY;
    chart.placeholder(chosen.length ? `The chosen runs logged no ${SERIES[seriesKey].label.toLowerCase()}${logY ? " above 0" : ""}.` : "Pick jobs on the left to overlay their curves.");
    chart.set(chosen.map((run, i) => ({ label: label(run.job), color: color(i), points: smooth(points(run), weight) })));
    drawMetrics(chosen);
    drawConfig(chosen);
  }

  function headRow(chosen, first) {
    return h("tr", h("th", first), chosen.map((run, i) => h("th", { dataset: { jobId: run.job.id } },
      h("span.legend-swatch", { style: `background:${color(i)}` }), run.job.name, h("span.job-tag", jobTag(run.job)))));
  }

  function drawMetrics(chosen) {
    if (!chosen.length) return replace(metricsBody, h("p.muted", "Select runs to compare their final metrics."));
    const rows = [
      ["Status", (r) => statusBadge(r.job.status)],
      ["Final loss", (r) => metric(r.summary && r.summary.finalLoss)],
      ["Eval loss", (r) => metric(r.summary && r.summary.evalLoss)],
      ["Accuracy", (r) => metric(r.summary && r.summary.accuracy, 3)],
      ["Steps", (r) => (r.summary && r.summary.steps != null ? String(r.summary.steps) : "—")],
      ["Duration", (r) => jobDuration(r.job)],
    ];
    replace(metricsBody, h("div.table-scroll", h("table.table.compare-metrics",
      h("thead", headRow(chosen, "Metric")),
      h("tbody", rows.map(([name, cell]) => h("tr", { dataset: { metric: name } }, h("th", name),
        chosen.map((run) => h("td.num", run.error ? "—" : run.loading ? "…" : cell(run)))))))));
  }

  function drawConfig(chosen) {
    if (!chosen.length) return replace(configBody, h("p.muted", "Select runs to compare their configs."));
    const flat = chosen.map((run) => flatten({ name: run.job.name, ...(run.job.config || {}) }));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
    replace(configBody, h("div.table-scroll", h("table.table.compare-config",
      h("thead", headRow(chosen, "Field")),
      h("tbody", keys.map((key) => {
        const values = flat.map((f) => show(f[key]));
        const differs = chosen.length > 1 && new Set(values).size > 1;
        return h("tr", { dataset: { key, differs: String(differs) } }, h("th.mono", key),
          values.map((v) => h(`td.mono${differs ? ".differs" : ""}`, v)));
      })))));
  }

  async function toggle(job, on) {
    if (!on) { runs.delete(job.id); draw(); return; }
    const run = { job, loading: true };
    runs.set(job.id, run);
    draw();
    try {
      const answer = await apiJson(`/api/jobs/${encodeURIComponent(job.id)}/export?format=json`);
      Object.assign(run, { job: answer.job || job, events: answer.events, summary: answer.summary, loading: false });
    } catch (err) {
      Object.assign(run, { error: err.message, loading: false });
    }
    if (runs.get(job.id) === run) draw();
  }

  (async () => {
    try {
      const { jobs } = await apiJson("/api/jobs");
      if (!jobs.length) return replace(list, h("div.empty", h("strong", "No jobs yet")));
      replace(list, jobs.map((job) => h("label.check-row", { title: job.id },
        h("input", { type: "checkbox", dataset: { jobId: job.id }, onchange: (e) => toggle(job, e.target.checked) }),
        h("span.check-name", job.name, h("span.job-tag", jobTag(job))), statusBadge(job.status))));
    } catch (err) {
      replace(list, h("div.banner.error", `Failed to load jobs: ${err.message}`));
    }
  })();
  draw();
  return () => runs.clear();
}
