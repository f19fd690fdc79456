// Job detail: live events (SSE), charts (loss, accuracy, learning rate, throughput), "Advanced"
// statistics, the event log (each event at its own time), artifacts, metadata, cancel.
import { apiJson, download, eventSourceUrl } from "../api.js";
import { PALETTE, addPoint, fmt, lossChart } from "../chart.js";
import { EVENT_TYPES } from "../protocol.js";
import { summarise } from "../stats.js";
import { copyText, formatBytes, formatClock, formatDateTime, h, isTerminal, jobDuration, poll, replace, statusBadge } from "../ui.js";

const LOG_LINES = 500;
const WAITING = "Waiting for training.log events…";

// What the charts and the empty states say once a job has ended without the data they wait for.
const ENDED = {
  failed: { chart: "No training.log events: the job failed before logging a step.", artifacts: "No artifacts: the job failed before saving any." },
  cancelled: { chart: "No training.log events: the job was cancelled before logging a step.", artifacts: "No artifacts: the job was cancelled before saving any." },
  completed: { chart: "The job completed without logging a step.", artifacts: "The job completed without saving artifacts." },
};

export function render(container, { params: [jobId] }) {
  let job = null;
  let liveStatus = null;
  let terminalFromStream = null;
  let errorText = null;
  let artifacts = null;
  let advanced = false;
  const series = {
    loss: [], evalLoss: [], learningRate: [], tokensPerSecond: [], accuracy: [],
    fields: new Map(), // field name -> points
  };
  const scorers = new Set();
  let loggedSteps = 0;
  const logLines = [];

  const title = h("h1", jobId);
  const statusSlot = h("span", { id: "job-status" });
  const banner = h("div");
  const chart = lossChart(WAITING, { label: "Loss chart" });
  const accuracyChart = lossChart("No evaluation.completed events yet.", { label: "Accuracy chart", yDomain: [0, 1] });
  const lrChart = lossChart(WAITING, { label: "Learning rate chart" });
  const tpsChart = lossChart(WAITING, { label: "Tokens per second chart" });
  const stats = h("div.card-body.stats-body");
  const statsCard = h("section.card", { id: "advanced-stats", hidden: true },
    h("div.card-head", h("h2", "Advanced statistics"), h("span.muted", "per series: mean ± 95% CI (Student t for n ≤ 31), sample std dev")), stats);
  const advancedButton = h("button.chip-btn", { type: "button", id: "toggle-advanced", "aria-pressed": "false",
    onclick: () => { advanced = !advanced; draw(); } }, "Advanced");
  const eventLog = h("pre.log.event-log", { id: "event-log" });
  const artifactsBody = h("div", { id: "artifacts" }, h("p.muted", "Artifacts appear when checkpoints are saved."));
  const meta = h("dl.meta", { id: "job-meta" });
  const cancelButton = h("button.btn.danger", { type: "button", id: "cancel-job", hidden: true, onclick: () => cancel() }, "Cancel job");
  const playButton = h("a.btn", { id: "open-playground", hidden: true, href: `#/playground?adapter=${encodeURIComponent(jobId)}` }, "Open in Playground");
  const exportButton = (format) => h("button.btn.small", { type: "button", id: `export-${format}`, title: `Download this run's events and metrics as ${format.toUpperCase()}`,
    onclick: (e) => exportEvents(format, e.currentTarget) }, format.toUpperCase());
  const scorerLabel = h("span.muted", { id: "accuracy-scorer" });
  const artifactCount = h("span.muted", { id: "artifact-count" });
  const accuracyCard = h("section.card", { id: "accuracy-card", hidden: true },
    h("div.card-head", h("h2", "Accuracy"), scorerLabel), h("div.card-body", accuracyChart.element));

  container.append(
    h("div.page-head", h("a.link.back", { href: "#/jobs" }, "← Back to jobs"),
      h("div.row.space", h("div.row", title, statusSlot), h("div.row", h("span.row.export-buttons", h("span.muted", "Download"), exportButton("csv"), exportButton("json")), playButton, cancelButton))),
    banner,
    h("div.detail-grid",
      h("div.stack",
        h("div.chart-grid",
          h("section.card", { id: "loss-card" }, h("div.card-head", h("h2", "Loss"), advancedButton),
            h("div.card-body", h("div", { id: "loss-chart" }, chart.element))),
          accuracyCard,
          h("section.card", { id: "lr-card" }, h("div.card-head", h("h2", "Learning rate")), h("div.card-body", { id: "lr-chart" }, lrChart.element)),
          h("section.card", { id: "tps-card" }, h("div.card-head", h("h2", "Throughput"), h("span.muted", "tokens/s")), h("div.card-body", { id: "tps-chart" }, tpsChart.element))),
        statsCard,
        h("section.card", h("div.card-head", h("h2", "Events")), h("div.card-body", eventLog)),
        h("section.card", h("div.card-head", h("h2", "Artifacts"), artifactCount), h("div.card-body", artifactsBody))),
      h("aside.card.sidebar", h("div.card-head", h("h2", "Details")), h("div.card-body", meta))),
  );

  const status = () => terminalFromStream || (job && isTerminal(job.status) ? job.status : null) || liveStatus || (job && job.status) || "queued";

  function fieldSeries() {
    return [...series.fields.entries()].map(([name, points], i) => ({ label: `field: ${name}`, color: PALETTE[(i + 2) % PALETTE.length], points, dashed: true, dots: true }));
  }

  function statsTable() {
    const rows = [["training loss", series.loss], ["eval loss", series.evalLoss], ["accuracy", series.accuracy],
      ...[...series.fields.entries()].map(([name, points]) => [`field: ${name}`, points]),
      ["learning rate", series.learningRate], ["tokens/s", series.tokensPerSecond]]
      .map(([label, points]) => [label, summarise(points.map((p) => p.y))]).filter(([, s]) => s);
    if (!rows.length) return h("p.muted", "Statistics appear with the first logged step.");
    const num = (v) => (v === null ? "—" : fmt(v));
    return h("table.table.stats-table",
      h("thead", h("tr", ["Series", "n", "Mean ± 95% CI", "Std dev", "Variance", "p90", "p95"].map((c) => h("th", c)))),
      h("tbody", rows.map(([label, s]) => h("tr", { dataset: { series: label } },
        h("td", label), h("td.num", String(s.n)),
        h("td.num.stat-mean", s.ci95 === null ? num(s.mean) : `${num(s.mean)} ± ${num(s.ci95)}`),
        h("td.num.stat-std", num(s.std)), h("td.num", num(s.variance)),
        h("td.num.stat-p90", num(s.p90)), h("td.num.stat-p95", num(s.p95))))));
  }

  function draw() {
    const s = status();
    const ended = isTerminal(s) ? ENDED[s] : null;
    title.textContent = job ? job.name : jobId;
    replace(statusSlot, statusBadge(s));
    cancelButton.hidden = isTerminal(s);
    playButton.hidden = s !== "completed";
    const failure = s === "failed" ? errorText || (job && job.error) || null : null;
    replace(banner, s === "failed" ? h("div.banner.error", { id: "job-error", role: "alert" },
      h("strong", "Job failed: "), failure || "the backend recorded no error message for this job.") : null);
    chart.placeholder(ended ? ended.chart : WAITING);
    // Logged steps without this metric: say so rather than wait for it.
    const logged = series.loss.length || series.evalLoss.length || loggedSteps > 0;
    lrChart.placeholder(logged ? "This job's training.log events carry no learning rate." : ended ? ended.chart : WAITING);
    tpsChart.placeholder(logged ? "This job's training.log events carry no tokens/s." : ended ? ended.chart : WAITING);
    chart.set([
      { label: "training loss", color: "#0d9488", points: series.loss, fill: true },
      { label: "eval loss", color: "#db2777", points: series.evalLoss, dashed: true, dots: true },
    ]);
    lrChart.set([{ label: "learning rate", color: "#6366f1", points: series.learningRate }]);
    tpsChart.set([{ label: "tokens/s", color: "#ea580c", points: series.tokensPerSecond }]);
    accuracyCard.hidden = !series.accuracy.length && !series.fields.size;
    if (!accuracyCard.hidden) {
      accuracyChart.set([{ label: "accuracy", color: "#0891b2", points: series.accuracy, fill: true }, ...fieldSeries()]);
      scorerLabel.textContent = [...scorers].join(", ");
    }
    advancedButton.classList.toggle("active", advanced);
    advancedButton.setAttribute("aria-pressed", String(advanced));
    statsCard.hidden = !advanced;
    if (advanced) replace(stats, statsTable());
    if (ended && artifacts && !artifacts.length) replace(artifactsBody, h("p.muted", ended.artifacts));
    drawMeta(s);
  }

  function drawMeta(s) {
    const config = (job && job.config) || {};
    const ds = config.datasetSource || {};
    const dataset = ds.type === "uploaded" ? ds.filename || ds.datasetId : ds.type === "huggingface" ? ds.name : ds.url || ds.path || "—";
    const rows = [
      ["Status", s], ["Duration", job ? jobDuration({ ...job, status: s }) : "—"],
      ["Created", formatDateTime(job && job.createdAt)], ["Started", formatDateTime(job && job.startedAt)],
      ["Completed", formatDateTime(job && job.completedAt)], ["Base model", config.model || "—"],
      ["Dataset", dataset], ["Max steps", config.maxSteps ?? "—"], ["Epochs", config.numTrainEpochs ?? "—"],
      ["Time budget", config.maxTime ?? "—"], ["torch.compile", config.torchCompile ? "on" : "off"],
      ["Artifacts", artifacts ? artifacts.length : "—"],
    ];
    replace(meta, rows.map(([k, v]) => [h("dt", k), h("dd", String(v))]),
      h("dt", "Job ID"), h("dd.job-id", h("code.mono", { id: "job-id" }, jobId),
        h("button.btn.small", { type: "button", id: "copy-job-id", title: "Copy the job id", onclick: (e) => copyText(jobId, e.currentTarget) }, "Copy")));
  }

  // One event-log line, stamped with the event's own time (the page's clock only when it has none).
  function logLine(kind, text, timestamp) {
    const time = formatClock(timestamp) || formatClock(new Date().toISOString());
    logLines.push(h("span.log-line", { dataset: { kind }, title: timestamp || "" }, `${time} [${kind}] ${text}\n`));
    if (logLines.length > LOG_LINES) logLines.splice(0, logLines.length - LOG_LINES);
    const atBottom = eventLog.scrollTop + eventLog.clientHeight >= eventLog.scrollHeight - 24;
    eventLog.replaceChildren(...logLines);
    if (atBottom) eventLog.scrollTop = eventLog.scrollHeight;
  }

  async function loadArtifacts() {
    try {
      artifacts = (await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/artifacts`)).artifacts;
    } catch (err) {
      replace(artifactsBody, h("p.muted", `Could not list artifacts: ${err.message}`));
      return;
    }
    artifactCount.textContent = `artifacts: ${artifacts.length}`;
    if (!artifacts.length) { replace(artifactsBody, h("p.muted", "No artifacts yet.")); draw(); return; }
    replace(artifactsBody, h("table.table.artifacts-table",
      h("thead", h("tr", h("th", "File"), h("th", "Size"), h("th", ""))),
      h("tbody", artifacts.map((a) => h("tr", { dataset: { pathname: a.pathname } },
        h("td.mono", a.pathname), h("td.num", formatBytes(a.size)),
        h("td", h("button.btn.small.download", { type: "button", onclick: (e) => downloadArtifact(a, e.currentTarget) }, "Download")))))));
    draw();
  }

  async function downloadArtifact(artifact, button) {
    button.disabled = true;
    try {
      await download(`/api/jobs/${encodeURIComponent(jobId)}/artifacts/${artifact.pathname.split("/").map(encodeURIComponent).join("/")}`,
        artifact.pathname.replace(/\//g, "_"));
    } catch (err) {
      logLine("error", `download of ${artifact.pathname} failed: ${err.message}`);
    } finally { button.disabled = false; }
  }

  async function exportEvents(format, button) {
    button.disabled = true;
    try {
      await download(`/api/jobs/${encodeURIComponent(jobId)}/export?format=${format}`, `${jobId}-events.${format}`);
    } catch (err) {
      logLine("error", `${format.toUpperCase()} download failed: ${err.message}`);
    } finally { button.disabled = false; }
  }

  async function cancel() {
    cancelButton.disabled = true;
    cancelButton.textContent = "Cancelling…";
    try {
      const result = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" });
      if (result.job) job = result.job;
      logLine("cancel", `requested; status=${job && job.status}`);
    } catch (err) {
      logLine("error", `cancel failed: ${err.message}`);
    } finally {
      cancelButton.disabled = false;
      cancelButton.textContent = "Cancel job";
      draw();
    }
  }

  async function refreshJob() {
    try { job = (await apiJson(`/api/jobs/${encodeURIComponent(jobId)}`)).job; } catch (err) { if (!job) replace(banner, h("div.banner.error", err.message)); return; }
    if (job.status === "failed" && job.error && !errorText) errorText = job.error;
    draw();
  }

  const num = (v, digits = 4) => (typeof v === "number" && isFinite(v) ? v.toFixed(digits) : null);
  const source = new EventSource(eventSourceUrl(jobId));
  // The job status an event announces comes from protocol (EVENT_TYPES); the handlers below only render.
  const handled = new Set();
  const announce = (name) => {
    const kind = EVENT_TYPES[name];
    if (!kind || !kind.status) return;
    if (kind.terminal) terminalFromStream = kind.status; else liveStatus = kind.status;
  };
  const on = (name, fn) => {
    handled.add(name);
    source.addEventListener(name, (e) => { let data = {}; try { data = JSON.parse(e.data); } catch { /* keep {} */ } announce(name); fn(data); draw(); });
  };
  on("training.started", (d) => {
    const m = d.metadata || {};
    logLine("started", [m.model, m.device, m.datasetRows != null ? `${m.datasetRows} rows` : null, m.maxSteps ? `${m.maxSteps} steps` : null].filter(Boolean).join(", ") || "training started", d.timestamp);
  });
  on("training.log", (d) => {
    loggedSteps += 1;
    addPoint(series.loss, d.step, d.loss);
    addPoint(series.evalLoss, d.step, d.evalLoss);
    addPoint(series.learningRate, d.step, d.learningRate);
    addPoint(series.tokensPerSecond, d.step, d.tokensPerSecond);
    const parts = [`step=${d.step}`];
    if (num(d.loss)) parts.push(`loss=${num(d.loss)}`);
    if (num(d.evalLoss)) parts.push(`evalLoss=${num(d.evalLoss)}`);
    if (typeof d.learningRate === "number") parts.push(`lr=${d.learningRate.toExponential(2)}`);
    if (num(d.tokensPerSecond, 0)) parts.push(`tokens/s=${num(d.tokensPerSecond, 0)}`);
    logLine("log", parts.join(" "), d.timestamp);
  });
  on("evaluation.completed", (d) => {
    addPoint(series.accuracy, d.step, d.accuracy);
    const fields = d.fields && typeof d.fields === "object" ? Object.entries(d.fields) : [];
    for (const [name, value] of fields) {
      if (!series.fields.has(name)) series.fields.set(name, []);
      addPoint(series.fields.get(name), d.step, value);
    }
    if (d.scorer) scorers.add(d.scorer);
    const perField = fields.filter(([, v]) => typeof v === "number").map(([k, v]) => `${k}=${v.toFixed(3)}`).join(" ");
    logLine("eval", [`step=${d.step}`, d.scorer ? `scorer=${d.scorer}` : null, num(d.accuracy, 3) ? `accuracy=${num(d.accuracy, 3)}` : null,
      perField || null, d.rows != null ? `rows=${d.rows}` : null].filter(Boolean).join(" "), d.timestamp);
  });
  on("checkpoint.saved", (d) => { logLine("checkpoint", `step=${d.step}`, d.timestamp); loadArtifacts(); });
  on("training.completed", (d) => { logLine("completed", "training completed", d.timestamp); loadArtifacts(); });
  on("training.failed", (d) => {
    errorText = d.error || null;
    logLine("failed", `${d.error || "no error message"}${d.step != null ? ` (at step ${d.step})` : ""}`, d.timestamp);
    loadArtifacts();
  });
  on("training.cancelled", (d) => { logLine("cancelled", d.reason || "cancelled", d.timestamp); loadArtifacts(); });
  // Any other type protocol knows (a newer one): one log line with its own fields.
  const extra = (d) => Object.entries(d).filter(([k, v]) => !["type", "jobId", "timestamp"].includes(k) && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  for (const name of Object.keys(EVENT_TYPES).filter((n) => !handled.has(n))) {
    on(name, (d) => { logLine(name, extra(d) || name, d.timestamp); if (EVENT_TYPES[name].terminal) loadArtifacts(); });
  }
  source.addEventListener("end", () => { logLine("end", "stream ended"); source.close(); refreshJob(); });
  source.addEventListener("error", () => { if (source.readyState !== EventSource.CLOSED) logLine("stream", "interrupted, reconnecting…"); });

  draw();
  loadArtifacts();
  const stopPoll = poll(refreshJob, 5000);
  return () => { stopPoll(); source.close(); };
}
