// Overview: Run training (manifest, button, dry-run toggle, streamed log) and the most recent jobs.
// The run lives in Studio, not in this page: coming back re-attaches to its console and Stop button.
import { apiFetch, apiJson, readText } from "../api.js";
import { h, poll, replace } from "../ui.js";
import { jobsTable } from "./jobs.js";

const LOG_LIMIT = 100 * 1024;

export function render(container) {
  let manifest = null;
  let manifestError = null;
  let running = false;
  let stopping = false;
  let reader = null; // AbortController of the console stream this page follows
  let left = false;
  let hasOutput = false; // a run's console is (or was) shown on this page
  const status = h("p.muted.manifest-status", "Reading src/arkor/index.py…");
  const runButton = h("button.btn.primary", { type: "button", id: "run-training", disabled: true, onclick: () => run() }, "Run training");
  const stopButton = h("button.btn.danger", { type: "button", id: "stop-training", hidden: true, onclick: () => stop() }, "Stop training");
  const dryRun = h("input", { type: "checkbox", id: "dry-run" });
  const dryRunLabel = h("label.toggle", dryRun, " Dry run");
  const log = h("pre.log", { id: "train-log" }, "Output of arkor start appears here.");
  const recent = h("div.card-body");

  container.append(
    h("div.page-head", h("h1", "Overview"), h("p.muted", "Run this project's trainer and follow its jobs.")),
    h("div.grid-2",
      h("section.card",
        h("div.card-head", h("h2", "Run training")),
        h("div.card-body", status,
          h("div.row", runButton, stopButton, dryRunLabel),
          log)),
      h("section.card",
        h("div.card-head", h("h2", "Recent jobs"), h("a.link", { href: "#/jobs" }, "All jobs →")),
        recent)),
    h("div.grid-2.tiles",
      h("a.tile", { href: "#/playground" }, h("strong", "Open the Playground"), h("span.muted", "Chat with a base model, a trained adapter or any checkpoint.")),
      h("a.tile", { href: "#/compare" }, h("strong", "Compare runs"), h("span.muted", "Overlay the loss curves of several jobs."))),
  );

  const notProject = () => manifest && manifest.project === false;

  function drawButton() {
    const name = manifest && manifest.trainer ? manifest.trainer.name : null;
    runButton.textContent = running ? "Running…" : name ? `Run training: ${name}` : "Run training";
    runButton.disabled = running || !name;
    runButton.hidden = notProject() && !running;
    dryRunLabel.hidden = runButton.hidden;
    log.hidden = notProject() && !hasOutput;
    stopButton.hidden = !running;
    stopButton.disabled = stopping;
    stopButton.textContent = stopping ? "Stopping…" : "Stop training";
    status.classList.toggle("error-text", Boolean(manifestError));
    if (manifestError) return replace(status, `Couldn't read manifest: ${manifestError}`);
    if (notProject()) {
      return replace(status, h("span", { id: "no-project" },
        h("strong", "This folder is not an arkor project"), ` (no ${manifest.entry || "src/arkor/index.py"}). `,
        "Create one with ", h("code", "arkor init"), " in this folder, or start ", h("code", "arkor dev"),
        " inside an existing project. Studio picks it up without a restart."));
    }
    if (manifest && !name) return replace(status, "No trainer in src/arkor/index.py yet. Add create_trainer(...) and pass it to create_arkor.");
    if (name) replace(status, `Trainer ${name} from src/arkor/index.py.`);
  }

  function appendLog(text) {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
    let next = log.textContent + text;
    if (next.length > LOG_LIMIT) next = next.slice(next.length - LOG_LIMIT);
    log.textContent = next;
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  // Show a run's console from the response that streams it (a start, or a re-attach).
  async function follow(responsePromise, controller) {
    try {
      const response = await responsePromise;
      await readText(response, appendLog);
    } catch (err) {
      if (err.name === "AbortError") return; // this page was left; the run goes on
      appendLog(`\n[error] ${err.message}\n`);
    } finally {
      if (reader === controller) reader = null;
    }
    if (left) return;
    running = false;
    stopping = false;
    drawButton();
    refreshJobs();
  }

  function run() {
    if (running) return;
    running = true;
    hasOutput = true;
    drawButton();
    log.textContent = "";
    appendLog(dryRun.checked ? "Starting arkor start --dry-run…\n" : "Starting arkor start…\n");
    const controller = new AbortController();
    reader = controller;
    follow(apiFetch("/api/train", { method: "POST", body: { dryRun: dryRun.checked }, signal: controller.signal }), controller);
  }

  async function stop() {
    stopping = true;
    drawButton();
    try {
      await apiJson("/api/train/stop", { method: "POST" });
    } catch (err) {
      stopping = false;
      appendLog(`\n[error] Could not stop: ${err.message}\n`);
      drawButton();
    }
  }

  // Re-attach to the run this Studio is running (or ran last): its output so far, then live.
  async function attach() {
    let state;
    try { state = await apiJson("/api/train"); } catch { return; }
    if (left || !state.run || reader) return;
    running = state.running;
    hasOutput = true;
    drawButton();
    log.textContent = "";
    const controller = new AbortController();
    reader = controller;
    follow(apiFetch("/api/train/output", { signal: controller.signal }), controller);
  }

  async function refreshJobs() {
    try {
      const { jobs } = await apiJson("/api/jobs");
      if (!jobs.length) {
        const hint = notProject() ? [h("code", "arkor init"), " creates a project; then Run training starts a job."]
          : manifest && manifest.trainer ? ["Click Run training to start one."] : ["Add a trainer to src/arkor/index.py to start one."];
        replace(recent, h("div.empty", h("strong", "No jobs yet"), h("p.muted", hint)));
      } else replace(recent, jobsTable(jobs.slice(0, 5), { compact: true }));
    } catch (err) {
      replace(recent, h("div.banner.error", `Failed to load jobs: ${err.message}`));
    }
  }

  drawButton();
  attach();
  const stopManifest = poll(async () => {
    try { manifest = await apiJson("/api/manifest"); manifestError = null; } catch (err) { manifestError = err.message; }
    drawButton();
  }, 5000);
  const stopJobs = poll(refreshJobs, 5000);
  return () => { left = true; stopManifest(); stopJobs(); if (reader) reader.abort(); };
}
