// Playground: streaming chat with a base model, a completed job's adapter, or any checkpoint, with an
// optional response format (JSON object / JSON schema) that the backend enforces by constrained decoding.
import { apiFetch, apiJson, readSse } from "../api.js";
import { baseModelOptions, baseModels } from "../models.js";
import { h, jobTag, replace } from "../ui.js";

const EXAMPLE_SCHEMA = JSON.stringify({
  type: "object",
  properties: { answer: { type: "string", maxLength: 40 }, confident: { type: "boolean" } },
  required: ["answer", "confident"],
  additionalProperties: false,
}, null, 2);

// The `responseFormat` of a chat body, or throws naming what is wrong with the schema text.
export function responseFormatOf(kind, schemaText) {
  if (kind === "json_object") return { type: "json_object" };
  if (kind !== "json_schema") return null;
  let schema;
  try { schema = JSON.parse(schemaText); } catch (err) { throw new Error(`JSON schema is not valid JSON: ${err.message}`); }
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) throw new Error("JSON schema must be a JSON object.");
  return { type: "json_schema", json_schema: { name: "response", schema, strict: true } };
}

// The preset a job was trained for: its `evalScorer` names a template (`arkor init --template`).
export function presetForJob(job, presets) {
  const scorer = job && job.config && job.config.evalScorer;
  return presets.find((p) => p.template === scorer) || null;
}

// The message of an in-band error frame: `{"error": "..."}` (the backend's shape), `{"error": {"message"}}`, or raw text.
export function errorOfFrame(chunk, raw) {
  const error = chunk && (chunk.error ?? chunk.message);
  if (typeof error === "string" && error) return error;
  if (error && typeof error.message === "string") return error.message;
  return raw || "unknown error";
}

export function render(container, { query }) {
  let jobs = [];
  let presets = [];
  let messages = [];
  let controller = null;
  let checkpointGeneration = 0;
  const target = h("select.input", { id: "target", "aria-label": "Model or adapter", onchange: () => { onTargetChange(); } });
  const checkpoint = h("select.input", { id: "checkpoint", "aria-label": "Checkpoint", hidden: true, onchange: () => resetChat() });
  const temperature = h("input.input", { type: "number", id: "temperature", min: "0", max: "2", step: "0.1", value: "0.7" });
  const topP = h("input.input", { type: "number", id: "top-p", min: "0.05", max: "1", step: "0.05", value: "0.95" });
  const maxTokens = h("input.input", { type: "number", id: "max-tokens", min: "1", max: "4096", step: "1", value: "128" });
  const system = h("textarea.input", { id: "system-prompt", rows: "3", placeholder: "Optional system prompt" });
  const format = h("select.input", { id: "response-format", "aria-label": "Response format", onchange: () => { schemaLabel.hidden = format.value !== "json_schema"; } },
    h("option", { value: "text" }, "Text"), h("option", { value: "json_object" }, "JSON object"), h("option", { value: "json_schema" }, "JSON schema"));
  const schemaText = h("textarea.input.mono", { id: "json-schema", rows: "8", spellcheck: "false" }, EXAMPLE_SCHEMA);
  const schemaLabel = h("label", { hidden: true }, "Schema (strict)", schemaText);
  const preset = h("select.input", { id: "preset", "aria-label": "Task preset", onchange: () => applyPreset(presets.find((p) => p.template === preset.value)) },
    h("option", { value: "" }, "None"));
  const transcript = h("div.transcript", { id: "transcript" });
  const input = h("textarea.input.chat-input", { id: "chat-input", rows: "2", placeholder: "Message (Enter to send, Shift+Enter for a new line)" });
  const sendButton = h("button.btn.primary", { type: "button", id: "send", onclick: () => send() }, "Send");
  const stopButton = h("button.btn", { type: "button", id: "stop", hidden: true, onclick: () => controller && controller.abort() }, "Stop");
  const notice = h("div");
  const checkpointLabel = h("label", { id: "checkpoint-label" }, "Weights", checkpoint);

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });

  container.append(
    h("div.page-head", h("h1", "Playground"), h("p.muted", "Chat with a base model or what your jobs trained.")),
    notice,
    h("div.playground",
      h("aside.card.settings",
        h("div.card-head", h("h2", "Settings")),
        h("div.card-body.form",
          h("label", "Model", target), checkpointLabel,
          h("label", "Task preset", preset),
          h("label", "Temperature", temperature), h("label", "Top p", topP), h("label", "Max tokens", maxTokens),
          h("label", "System prompt", system),
          h("label", "Response format", format), schemaLabel,
          h("button.btn", { type: "button", onclick: () => resetChat() }, "Clear chat"))),
      h("section.card.chat",
        transcript,
        h("div.composer", input, h("div.row", sendButton, stopButton)))),
  );

  // A template's preset: the system prompt and answer schema its model was trained with, greedy decoding.
  function applyPreset(chosen) {
    preset.value = chosen ? chosen.template : "";
    if (!chosen) return;
    system.value = chosen.systemPrompt;
    format.value = "json_schema";
    schemaText.value = JSON.stringify(chosen.responseFormat.json_schema.schema, null, 2);
    schemaLabel.hidden = false;
    temperature.value = "0";
    maxTokens.value = "256";
    input.placeholder = `e.g. ${chosen.example}`;
  }

  function resetChat() {
    if (controller) controller.abort();
    messages = [];
    replace(transcript, h("div.empty.muted", "Say something to start."));
  }

  function selected() {
    const value = target.value;
    if (value.startsWith("job:")) {
      const jobId = value.slice(4);
      const cp = checkpoint.value;
      return cp === "final" ? { adapter: { kind: "final", jobId } } : { adapter: { kind: "checkpoint", jobId, step: Number(cp) } };
    }
    return { baseModel: value.slice(5) };
  }

  async function onTargetChange() {
    resetChat();
    const value = target.value;
    checkpoint.hidden = !value.startsWith("job:");
    checkpointLabel.hidden = checkpoint.hidden;
    const url = value.startsWith("job:") ? `#/playground?adapter=${encodeURIComponent(value.slice(4))}` : "#/playground";
    history.replaceState(null, "", url);
    if (checkpoint.hidden) return;
    const jobId = value.slice(4);
    const job = jobs.find((j) => j.id === jobId);
    const trainedFor = presetForJob(job, presets);
    if (trainedFor) applyPreset(trainedFor);
    const mine = ++checkpointGeneration;  // overlapping target changes: only the latest fills the list
    const final = job && job.status === "completed" ? h("option", { value: "final" }, "Final adapter") : null;
    replace(checkpoint, final);
    try {
      const { checkpoints } = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/checkpoints`);
      if (mine !== checkpointGeneration) return;
      replace(checkpoint, final, checkpoints.map((cp) => h("option", { value: String(cp.step) }, `Checkpoint step ${cp.step}`)));
    } catch (err) {
      replace(notice, h("div.banner.warn", `Could not list checkpoints: ${err.message}`));
    }
  }

  function bubble(role, text) {
    const body = h("div.bubble-text", text);
    const el = h(`div.bubble.${role}`, h("div.bubble-role", role), body);
    transcript.querySelector(".empty")?.remove();
    transcript.append(el);
    transcript.scrollTop = transcript.scrollHeight;
    return body;
  }

  // Under a JSON response format, say whether the finished reply parses (it may not when max tokens cut it).
  function markJson(out, reply, finishReason) {
    let valid = true;
    try { JSON.parse(reply); } catch { valid = false; }
    out.parentElement.dataset.jsonValid = String(valid);
    out.parentElement.append(h(`div.json-check.${valid ? "ok" : "bad"}`, valid ? "✓ valid JSON"
      : `✗ not complete JSON${finishReason === "length" ? " (stopped at max tokens: raise it)" : ""}`));
  }

  function showError(out, message, reply) {
    out.parentElement.dataset.error = "true";
    out.parentElement.append(h("div.bubble-error", { role: "alert" },
      reply ? `The reply stopped early with an error: ${message}` : `The model could not reply: ${message}`));
  }

  async function send() {
    const text = input.value.trim();
    if (!text || controller) return;
    let responseFormat;
    try { responseFormat = responseFormatOf(format.value, schemaText.value); } catch (err) {
      replace(notice, h("div.banner.error", { id: "format-error" }, err.message));
      return;
    }
    replace(notice);
    input.value = "";
    bubble("user", text);
    messages.push({ role: "user", content: text });
    const out = bubble("assistant", "");
    out.classList.add("streaming");
    controller = new AbortController();
    sendButton.disabled = true;
    stopButton.hidden = false;
    const history = system.value.trim() ? [{ role: "system", content: system.value.trim() }, ...messages] : messages;
    const body = { messages: history, stream: true, ...selected(),
      temperature: Number(temperature.value), topP: Number(topP.value), maxTokens: Math.round(Number(maxTokens.value)) };
    if (responseFormat) body.responseFormat = responseFormat;
    let reply = "";
    let finishReason = null;
    let streamError = null;
    try {
      const response = await apiFetch("/api/inference/chat", { method: "POST", body, signal: controller.signal });
      await readSse(response, (data, event) => {
        if (data === "[DONE]") return;
        let chunk;
        try { chunk = JSON.parse(data); } catch { chunk = null; }
        // The backend reports a failure after the reply started as an in-band `event: error` frame.
        if (event === "error") { streamError = errorOfFrame(chunk, data); return; }
        if (!chunk) return;
        const choice = chunk.choices && chunk.choices[0];
        if (choice && choice.finish_reason) finishReason = choice.finish_reason;
        const delta = choice && choice.delta;
        if (delta && delta.content) { reply += delta.content; out.textContent = reply; transcript.scrollTop = transcript.scrollHeight; }
      });
      if (reply) messages.push({ role: "assistant", content: reply });
      if (streamError) showError(out, streamError, reply);
      else if (responseFormat) markJson(out, reply, finishReason);
    } catch (err) {
      out.textContent = reply;
      if (err.name === "AbortError") out.append(" [stopped]");
      else showError(out, err.message, reply);
      if (reply) messages.push({ role: "assistant", content: reply });
    } finally {
      out.classList.remove("streaming");
      out.parentElement.dataset.done = "true";
      controller = null;
      sendButton.disabled = false;
      stopButton.hidden = true;
    }
  }

  (async () => {
    const problems = [];
    const [jobList, models, presetList] = await Promise.all([
      apiJson("/api/jobs").then((r) => r.jobs, (err) => { problems.push(`Could not load jobs: ${err.message}. Base models only.`); return []; }),
      baseModels().catch((err) => { problems.push(`Could not list base models: ${err.message}`); return null; }),
      apiJson("/api/presets").then((r) => r.presets, (err) => { problems.push(`Could not load task presets: ${err.message}`); return []; }),
    ]);
    jobs = jobList;
    presets = presetList;
    replace(preset, h("option", { value: "" }, "None"), presets.map((p) => h("option", { value: p.template }, p.template)));
    if (problems.length) replace(notice, h("div.banner.warn", problems.join(" ")));
    const trained = jobs.filter((j) => j.status === "completed" || j.status === "running" || j.status === "cancelled");
    replace(target,
      models ? h("optgroup", { label: "Base models" }, baseModelOptions(models)) : null,
      trained.length ? h("optgroup", { label: "Trained adapters" }, trained.map((j) => h("option", { value: `job:${j.id}` }, `${j.name} (${jobTag(j)}) · ${j.status}`))) : null);
    const wanted = query.get("adapter");
    const firstCompleted = trained.find((j) => j.status === "completed");
    if (wanted && trained.some((j) => j.id === wanted)) target.value = `job:${wanted}`;
    else if (wanted && firstCompleted) target.value = `job:${firstCompleted.id}`;
    await onTargetChange();
  })();
  resetChat();
  return () => { if (controller) controller.abort(); };
}
