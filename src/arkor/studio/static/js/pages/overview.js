// Overview: Run training (manifest, button, dry-run toggle, streamed log) and the most recent jobs.
import { apiFetch, apiJson, readText } from "../api.js";
import { h, poll, replace } from "../ui.js";
import { jobsTable } from "./jobs.js";

const LOG_LIMIT = 100 * 1024;

export function render(container) {
  let manifest = null;
  let manifestError = null;
  let running = false;
  let controller = null;
  const status = h("p.muted.manifest-status", "Reading src/arkor/index.py…");
  const runButton = h("button.btn.primary", { type: "button", id: "run-training", disabled: true, onclick: () => run() }, "Run training");
  const stopButton = h("button.btn", { type: "button", id: "stop-training", hidden: true, onclick: () => controller && controller.abort() }, "Stop");
  const dryRun = h("input", { type: "checkbox", id: "dry-run" });
  const log = h("pre.log", { id: "train-log" }, "Output of arkor start appears here.");
  const recent = h("div.card-body");

  container.append(
    h("div.page-head", h("h1", "Overview"), h("p.muted", "Run this project's trainer and follow its jobs.")),
    h("div.grid-2",
      h("section.card",
        h("div.card-head", h("h2", "Run training")),
        h("div.card-body", status,
          h("div.row", runButton, stopButton, h("label.toggle", dryRun, " Dry run")),
          log)),
      h("section.card",
        h("div.card-head", h("h2", "Recent jobs"), h("a.link", { href: "#/jobs" }, "All jobs →")),
        recent)),
    h("div.grid-2.tiles",
      h("a.tile", { href: "#/playground" }, h("strong", "Open the Playground"), h("span.muted", "Chat with a base model, a trained adapter or any checkpoint.")),
      h("a.tile", { href: "#/compare" }, h("strong", "Compare runs"), h("span.muted", "Overlay the loss curves of several jobs."))),
  );

  function drawButton() {
    const name = manifest && manifest.trainer ? manifest.trainer.name : null;
    runButton.textContent = running ? "Running…" : name ? `Run training: ${name}` : "Run training";
    runButton.disabled = running || !name;
    stopButton.hidden = !running;
    if (manifestError) status.textContent = `Couldn't read manifest: ${manifestError}`;
    else if (manifest && !name) status.textContent = "No trainer in src/arkor/index.py yet. Add create_trainer(...) and pass it to create_arkor.";
    else if (name) status.textContent = `Trainer ${name} from src/arkor/index.py.`;
    status.classList.toggle("error-text", Boolean(manifestError));
  }

  function appendLog(text) {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
    let next = log.textContent + text;
    if (next.length > LOG_LIMIT) next = next.slice(next.length - LOG_LIMIT);
    log.textContent = next;
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  async function run() {
    if (running) return;
    running = true;
    controller = new AbortController();
    drawButton();
    log.textContent = "";
    appendLog(dryRun.checked ? "Starting arkor start --dry-run…\n" : "Starting arkor start…\n");
    try {
      const response = await apiFetch("/api/train", { method: "POST", body: { dryRun: dryRun.checked }, signal: controller.signal });
      await readText(response, appendLog);
    } catch (err) {
      appendLog(err.name === "AbortError" ? "\n[stopped]\n" : `\n[error] ${err.message}\n`);
    } finally {
      running = false;
      controller = null;
      drawButton();
      refreshJobs();
    }
  }

  async function refreshJobs() {
    try {
      const { jobs } = await apiJson("/api/jobs");
      if (!jobs.length) replace(recent, h("div.empty", h("strong", "No jobs yet"), h("p.muted", "Click Run training to start one.")));
      else replace(recent, jobsTable(jobs.slice(0, 5), { compact: true }));
    } catch (err) {
      replace(recent, h("div.banner.error", `Failed to load jobs: ${err.message}`));
    }
  }

  drawButton();
  const stopManifest = poll(async () => {
    try { manifest = await apiJson("/api/manifest"); manifestError = null; } catch (err) { manifestError = err.message; }
    drawButton();
  }, 5000);
  const stopJobs = poll(refreshJobs, 5000);
  return () => { stopManifest(); stopJobs(); };
}
