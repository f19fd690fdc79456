// Endpoint detail: URL, code samples, enable/disable, auth mode, API keys (plaintext shown once), delete.
import { apiJson } from "../api.js";
import { copyText, h, relativeTime, replace } from "../ui.js";
import { stateBadge, targetSummary } from "./endpoints.js";
import { presetForJob } from "./playground.js";

// The absolute OpenAI base URL; Studio's proxy adds `endpointUrl` from the backend's base URL.
function endpointUrl(d) {
  return d.endpointUrl || d.url || `/d/${d.slug}/v1`;
}

// The request a sample sends: a plain greeting, or for a template's fine-tune (`preset`) the system
// prompt it was trained with, an example input, greedy decoding and its answer schema.
export function sampleRequest(d, preset) {
  if (!preset) return { model: d.slug, messages: [{ role: "user", content: "Hello" }] };
  return { model: d.slug, messages: [{ role: "system", content: preset.systemPrompt }, { role: "user", content: preset.example }],
    temperature: 0, response_format: preset.responseFormat };
}

// A JSON value as Python source: the same structure, with Python's True, False and None.
function pythonLiteral(value, indent) {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value !== "object") return JSON.stringify(value);  // a JSON string or number is a Python one too
  const inner = `${indent}    `;
  const items = Array.isArray(value) ? value.map((v) => pythonLiteral(v, inner))
    : Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v, inner)}`);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return items.length ? `${open}\n${items.map((item) => inner + item).join(",\n")},\n${indent}${close}` : open + close;
}

export function samples(d, preset = null) {
  const url = endpointUrl(d);
  const keyed = d.authMode !== "none";
  const request = sampleRequest(d, preset);
  // JSON inside a single-quoted shell string: a quote in the data closes it, so it is spelled '\''.
  const body = JSON.stringify(request).replace(/'/g, "'\\''");
  const curl = [`curl ${url}/chat/completions`, `  -H "Content-Type: application/json"`,
    keyed ? `  -H "Authorization: Bearer $ARKOR_API_KEY"` : null,
    `  -d '${body}'`].filter(Boolean).join(" \\\n");
  const { model, ...rest } = request;
  const python = [keyed ? "import os\n" : null, "from openai import OpenAI", "",
    `client = OpenAI(base_url="${url}", api_key=${keyed ? 'os.environ["ARKOR_API_KEY"]' : '"not-required"'})`,
    "reply = client.chat.completions.create(", `    model=${JSON.stringify(model)},`,
    ...Object.entries(rest).map(([key, value]) => `    ${key}=${pythonLiteral(value, "    ")},`),
    ")", "print(reply.choices[0].message.content)"]
    .filter((line) => line !== null).join("\n");
  return { curl, python };
}

// The preset of the template the endpoint's job was trained for, if any (see playground.presetForJob).
async function endpointPreset(d) {
  const jobId = d.target && d.target.adapter && d.target.adapter.jobId;
  if (!jobId) return null;
  try {
    const [{ job }, { presets }] = await Promise.all([apiJson(`/api/jobs/${encodeURIComponent(jobId)}`), apiJson("/api/presets")]);
    return presetForJob(job, presets);
  } catch { return null; }  // the plain sample still works
}

// A button that asks for a second click before it acts (no blocking confirm() dialogs).
function confirmButton(label, confirmLabel, attrs, action) {
  let armed = false;
  let timer = null;
  const button = h("button.btn.small.danger", { type: "button", ...attrs, onclick: async () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      timer = setTimeout(() => { armed = false; button.textContent = label; }, 4000);
      return;
    }
    clearTimeout(timer);
    button.disabled = true;
    try { await action(); } finally { button.disabled = false; armed = false; button.textContent = label; }
  } }, label);
  return button;
}

export function render(container, { params: [id] }) {
  const base = `/api/deployments/${encodeURIComponent(id)}`;
  const main = h("div", h("div.skeleton"));
  const notice = h("div");
  container.append(h("div.page-head", h("a.link.back", { href: "#/endpoints" }, "← Back to endpoints")), notice, main);
  // A new key's plaintext lives only in this closure until the user dismisses it or leaves the page.
  let shownKey = null;

  function fail(err) { replace(notice, h("div.banner.error", { id: "endpoint-error" }, err.message)); }

  async function load() {
    let d;
    try { d = (await apiJson(base)).deployment; } catch (err) { return replace(main, h("div.banner.error", `Could not load endpoint: ${err.message}`)); }
    const url = endpointUrl(d);
    const code = samples(d, await endpointPreset(d));
    const sample = h("pre.code", { id: "endpoint-sample" }, code.curl);
    const tabs = [["curl", "cURL", code.curl], ["python", "Python (openai)", code.python]].map(([key, label, text]) =>
      h("button.chip-btn", { type: "button", dataset: { sample: key }, class: key === "curl" ? "active" : "", onclick: (e) => {
        sample.textContent = text;
        for (const tab of tabs) tab.classList.toggle("active", tab === e.currentTarget);
      } }, label));
    const keys = h("div", { id: "endpoint-keys" });
    const created = h("div", { id: "key-created" });
    const label = h("input.input", { placeholder: "Key label, e.g. my-app", maxlength: "80", id: "key-label", required: true });
    const authSelect = h("select.input", { id: "endpoint-auth-mode", onchange: (e) => patch({ authMode: e.target.value }) },
      h("option", { value: "fixed_api_key", selected: d.authMode === "fixed_api_key" }, "Fixed API key"),
      h("option", { value: "none", selected: d.authMode === "none" }, "No auth (public)"));
    replace(main,
      h("div.row.space", h("div.row", h("h1", d.slug), h("span", { id: "endpoint-state" }, stateBadge(d.enabled))),
        confirmButton("Delete", "Click again to delete", { id: "delete-endpoint" }, async () => {
          try { await apiJson(base, { method: "DELETE" }); location.hash = "#/endpoints"; } catch (err) { fail(err); }
        })),
      h("p.muted", targetSummary(d.target), " · created ", relativeTime(d.createdAt)),
      h("section.card", h("div.card-head", h("h2", "Endpoint URL"), h("span.muted", "OpenAI-compatible base URL")),
        h("div.card-body.row", h("code.mono", { id: "endpoint-url" }, url),
          h("button.btn.small", { type: "button", onclick: (e) => copyText(url, e.target) }, "Copy"))),
      h("section.card", h("div.card-head", h("h2", "Quick start"), h("div.chips", tabs)),
        h("div.card-body", sample, h("div.row", { style: "margin-top:8px" },
          h("button.btn.small", { type: "button", onclick: (e) => copyText(sample.textContent, e.target) }, "Copy sample"),
          d.authMode === "none" ? null : h("span.muted", "Set ARKOR_API_KEY to a key issued below.")))),
      h("section.card", h("div.card-head", h("h2", "Settings")), h("div.card-body.row",
        h("button.btn", { type: "button", id: "toggle-enabled", onclick: () => patch({ enabled: !d.enabled }) }, d.enabled ? "Disable" : "Enable"),
        h("span.muted", d.enabled ? "Serving requests." : "Disabled: requests get 404."),
        h("label.row", "Auth", authSelect))),
      h("section.card", h("div.card-head", h("h2", "API keys")), h("div.card-body",
        d.authMode === "none" ? h("p.muted", "Auth is set to none: keys are not checked.") : null,
        created,
        h("form.row", { id: "key-form", onsubmit: async (e) => {
          e.preventDefault();
          try {
            const { key } = await apiJson(`${base}/keys`, { method: "POST", body: { label: label.value } });
            label.value = "";
            shownKey = key;
            showCreated();
            loadKeys();
          } catch (err) { replace(created, h("div.banner.error", err.message)); }
        } }, h("div", { style: "flex:1;min-width:200px" }, label), h("button.btn", { type: "submit", id: "create-key" }, "Create key")),
        keys)));
    showCreated();

    function showCreated() {
      if (!shownKey) return replace(created);
      const key = shownKey;
      replace(created, h("div.banner.warn.key-once",
        h("strong", `Copy key "${key.label}" now. It is shown only once.`),
        h("code.mono", { id: "key-plaintext" }, key.plaintext),
        h("button.btn.small", { type: "button", onclick: (ev) => copyText(key.plaintext, ev.target) }, "Copy"),
        h("button.btn.small", { type: "button", id: "key-dismiss", onclick: () => { shownKey = null; showCreated(); } }, "I've saved it")));
    }

    async function loadKeys() {
      try {
        const list = (await apiJson(`${base}/keys`)).keys || [];
        replace(keys, list.length ? h("table.table.keys-table",
          h("thead", h("tr", ["Label", "Key", "Created", "Last used", ""].map((c) => h("th", c)))),
          h("tbody", list.map((k) => h("tr", { class: k.enabled === false ? "revoked" : "", dataset: { keyId: k.id } },
            h("td", k.label), h("td.mono.key-prefix", `${k.prefix}…`), h("td", relativeTime(k.createdAt)),
            h("td", k.lastUsedAt ? relativeTime(k.lastUsedAt) : "never"),
            h("td", k.enabled === false ? "revoked" : confirmButton("Revoke", "Click again to revoke", { class: "revoke-key" }, async () => {
              try { await apiJson(`${base}/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" }); loadKeys(); } catch (err) { fail(err); }
            }))))))
          : h("p.muted", "No keys yet."));
      } catch (err) { replace(keys, h("div.banner.error", err.message)); }
    }
    loadKeys();
  }

  async function patch(body) {
    replace(notice);
    try { await apiJson(base, { method: "PATCH", body }); } catch (err) { fail(err); }
    load();
  }

  load();
}
