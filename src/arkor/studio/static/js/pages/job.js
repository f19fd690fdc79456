// Job detail: live events (SSE), loss chart, event log, artifacts, metadata, cancel.
import { apiJson, download, eventSourceUrl } from "../api.js";
import { addPoint, lossChart } from "../chart.js";
import { formatBytes, formatDateTime, h, isTerminal, jobDuration, poll, replace, statusBadge } from "../ui.js";

const LOG_LINES = 500;

export function render(container, { params: [jobId] }) {
  let job = null;
  let liveStatus = null;
  let terminalFromStream = null;
  let errorText = null;
  let artifacts = null;
  const train = [];
  const evalPoints = [];
  const logLines = [];

  const title = h("h1", jobId);
  const statusSlot = h("span", { id: "job-status" });
  const banner = h("div");
  const chart = lossChart();
  const eventLog = h("pre.log.event-log", { id: "event-log" });
  const artifactsBody = h("div", { id: "artifacts" }, h("p.muted", "Artifacts appear when checkpoints are saved."));
  const meta = h("dl.meta");
  const cancelButton = h("button.btn.danger", { type: "button", id: "cancel-job", hidden: true, onclick: () => cancel() }, "Cancel job");
  const playButton = h("a.btn", { id: "open-playground", hidden: true, href: `#/playground?adapter=${encodeURIComponent(jobId)}` }, "Open in Playground");

  container.append(
    h("div.page-head", h("a.link.back", { href: "#/jobs" }, "← Back to jobs"),
      h("div.row.space", h("div.row", title, statusSlot), h("div.row", playButton, cancelButton))),
    banner,
    h("div.detail-grid",
      h("div.stack",
        h("section.card", h("div.card-head", h("h2", "Loss")), h("div.card-body", chart.element)),
        h("section.card", h("div.card-head", h("h2", "Events")), h("div.card-body", eventLog)),
        h("section.card", h("div.card-head", h("h2", "Artifacts"), h("span.muted", { id: "artifact-count" })), h("div.card-body", artifactsBody))),
      h("aside.card.sidebar", h("div.card-head", h("h2", "Details")), h("div.card-body", meta))),
  );

  const status = () => terminalFromStream || (job && isTerminal(job.status) ? job.status : null) || liveStatus || (job && job.status) || "queued";

  function draw() {
    const s = status();
    title.textContent = job ? job.name : jobId;
    replace(statusSlot, statusBadge(s));
    cancelButton.hidden = isTerminal(s);
    playButton.hidden = s !== "completed";
    replace(banner, errorText ? h("div.banner.error", { id: "job-error" }, `Job failed: ${errorText}`) : null);
    chart.set([
      { label: "training loss", color: "#0d9488", points: train, fill: true },
      { label: "eval loss", color: "#db2777", points: evalPoints, dashed: true, dots: true },
    ]);
    const config = (job && job.config) || {};
    const ds = config.datasetSource || {};
    const dataset = ds.type === "uploaded" ? ds.filename || ds.datasetId : ds.type === "huggingface" ? ds.name : ds.url || ds.path || "—";
    const rows = [
      ["Status", s], ["Duration", job ? jobDuration({ ...job, status: s }) : "—"],
      ["Created", formatDateTime(job && job.createdAt)], ["Started", formatDateTime(job && job.startedAt)],
      ["Completed", formatDateTime(job && job.completedAt)], ["Base model", config.model || "—"],
      ["Dataset", dataset], ["Max steps", config.maxSteps ?? "—"], ["Artifacts", artifacts ? artifacts.length : "—"], ["Job ID", jobId],
    ];
    replace(meta, rows.map(([k, v]) => [h("dt", k), h("dd", { class: k === "Job ID" ? "mono" : "" }, String(v))]));
  }

  function logLine(kind, text) {
    const time = new Date().toTimeString().slice(0, 8);
    logLines.push(`${time} [${kind}] ${text}`);
    if (logLines.length > LOG_LINES) logLines.splice(0, logLines.length - LOG_LINES);
    const atBottom = eventLog.scrollTop + eventLog.clientHeight >= eventLog.scrollHeight - 24;
    eventLog.textContent = logLines.join("\n");
    if (atBottom) eventLog.scrollTop = eventLog.scrollHeight;
  }

  async function loadArtifacts() {
    try {
      artifacts = (await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/artifacts`)).artifacts;
    } catch (err) {
      replace(artifactsBody, h("p.muted", `Could not list artifacts: ${err.message}`));
      return;
    }
    document.getElementById("artifact-count").textContent = `artifacts: ${artifacts.length}`;
    if (!artifacts.length) { replace(artifactsBody, h("p.muted", "No artifacts yet.")); draw(); return; }
    replace(artifactsBody, h("table.table.artifacts-table",
      h("thead", h("tr", h("th", "File"), h("th", "Size"), h("th", ""))),
      h("tbody", artifacts.map((a) => h("tr",
        h("td.mono", a.pathname), h("td.num", formatBytes(a.size)),
        h("td", h("button.btn.small", { type: "button", onclick: () => download(
          `/api/jobs/${encodeURIComponent(jobId)}/artifacts/${a.pathname.split("/").map(encodeURIComponent).join("/")}`,
          a.pathname.replace(/\//g, "_")) }, "Download")))))));
    draw();
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
    if (job.status === "failed" && job.error) errorText = job.error;
    draw();
  }

  const source = new EventSource(eventSourceUrl(jobId));
  const on = (name, fn) => source.addEventListener(name, (e) => { let data = {}; try { data = JSON.parse(e.data); } catch { /* keep {} */ } fn(data); draw(); });
  on("training.started", (d) => {
    liveStatus = "running";
    const m = d.metadata || {};
    logLine("started", [m.model, m.device, m.datasetRows != null ? `${m.datasetRows} rows` : null, m.maxSteps ? `${m.maxSteps} steps` : null].filter(Boolean).join(", "));
  });
  on("training.log", (d) => {
    addPoint(train, d.step, d.loss);
    addPoint(evalPoints, d.step, d.evalLoss);
    const parts = [`step=${d.step}`];
    if (typeof d.loss === "number") parts.push(`loss=${d.loss.toFixed(4)}`);
    if (typeof d.evalLoss === "number") parts.push(`evalLoss=${d.evalLoss.toFixed(4)}`);
    logLine("log", parts.join(" "));
  });
  on("checkpoint.saved", (d) => { logLine("checkpoint", `step=${d.step}`); loadArtifacts(); });
  on("training.completed", () => { terminalFromStream = "completed"; logLine("completed", "training completed"); loadArtifacts(); });
  on("training.failed", (d) => { terminalFromStream = "failed"; errorText = d.error || "unknown error"; logLine("failed", errorText); });
  on("training.cancelled", (d) => { terminalFromStream = "cancelled"; logLine("cancelled", d.reason || "cancelled"); });
  source.addEventListener("end", () => { logLine("end", "stream ended"); source.close(); refreshJob(); });
  source.addEventListener("error", () => { if (source.readyState !== EventSource.CLOSED) logLine("stream", "interrupted, reconnecting…"); });

  draw();
  loadArtifacts();
  const stopPoll = poll(refreshJob, 5000);
  return () => { stopPoll(); source.close(); };
}
