// Endpoint detail: URL, code samples, enable/disable, auth mode, API keys (plaintext shown once).
import { apiJson } from "../api.js";
import { copyText, h, replace } from "../ui.js";
import { targetSummary } from "./endpoints.js";

export function render(container, { params: [id] }) {
  const base = `/api/deployments/${encodeURIComponent(id)}`;
  const main = h("div", h("div.skeleton"));
  container.append(h("div.page-head", h("a.link.back", { href: "#/endpoints" }, "← Back to endpoints")), main);

  function urlOf(d) {
    return d.url || `${location.protocol}//${location.host.replace(/:\d+$/, "")}/d/${d.slug}/v1`;
  }

  async function load() {
    let d;
    try { d = (await apiJson(base)).deployment; } catch (err) { return replace(main, h("div.banner.error", `Could not load endpoint: ${err.message}`)); }
    const url = d.baseUrl || urlOf(d);
    const keyHeader = d.authMode === "none" ? "" : ` \\\n  -H "Authorization: Bearer $ARKOR_API_KEY"`;
    const curl = `curl ${url}/chat/completions \\\n  -H "Content-Type: application/json"${keyHeader} \\\n  -d '{"model": "${d.slug}", "messages": [{"role": "user", "content": "Hello"}]}'`;
    const python = `from openai import OpenAI\n\nclient = OpenAI(base_url="${url}", api_key=${d.authMode === "none" ? '"not-required"' : 'os.environ["ARKOR_API_KEY"]'})\nreply = client.chat.completions.create(\n    model="${d.slug}",\n    messages=[{"role": "user", "content": "Hello"}],\n)\nprint(reply.choices[0].message.content)`;
    const sample = h("pre.code", curl);
    const keys = h("div");
    const created = h("div");
    const label = h("input.input", { placeholder: "Key label", maxlength: "80", id: "key-label" });
    replace(main,
      h("div.row.space", h("h1", d.slug), h("button.btn.danger", { type: "button", onclick: async () => {
        if (!confirm(`Delete endpoint ${d.slug}?`)) return;
        try { await apiJson(base, { method: "DELETE" }); location.hash = "#/endpoints"; } catch (err) { alert(err.message); }
      } }, "Delete")),
      h("p.muted", targetSummary(d.target)),
      h("section.card", h("div.card-head", h("h2", "Endpoint URL")), h("div.card-body.row", h("code.mono", url),
        h("button.btn.small", { type: "button", onclick: (e) => copyText(url, e.target) }, "Copy"))),
      h("section.card", h("div.card-head", h("h2", "Quick start"), h("div.row",
        h("button.btn.small", { type: "button", onclick: () => (sample.textContent = curl) }, "cURL"),
        h("button.btn.small", { type: "button", onclick: () => (sample.textContent = (d.authMode === "none" ? "" : "import os\n") + python) }, "Python (openai)"))),
        h("div.card-body", sample)),
      h("section.card", h("div.card-head", h("h2", "Settings")), h("div.card-body.row",
        h("button.btn", { type: "button", onclick: () => patch({ enabled: !d.enabled }) }, d.enabled ? "Disable" : "Enable"),
        h("label.row", "Auth ", h("select.input", { onchange: (e) => patch({ authMode: e.target.value }) },
          h("option", { value: "fixed_api_key", selected: d.authMode === "fixed_api_key" }, "Fixed API key"),
          h("option", { value: "none", selected: d.authMode === "none" }, "No auth (public)"))))),
      h("section.card", h("div.card-head", h("h2", "API keys")), h("div.card-body",
        d.authMode === "none" ? h("p.muted", "Auth is set to none; keys are not enforced.") : null,
        created,
        h("form.row", { onsubmit: async (e) => {
          e.preventDefault();
          try {
            const { key } = await apiJson(`${base}/keys`, { method: "POST", body: { label: label.value } });
            label.value = "";
            replace(created, h("div.banner.warn.key-once", h("strong", "Copy this key now. It is shown only once."),
              h("code.mono", key.plaintext), h("button.btn.small", { type: "button", onclick: (ev) => copyText(key.plaintext, ev.target) }, "Copy"),
              h("button.btn.small", { type: "button", onclick: () => replace(created) }, "I've saved it")));
            loadKeys();
          } catch (err) { replace(created, h("div.banner.error", err.message)); }
        } }, label, h("button.btn", { type: "submit" }, "Issue key")),
        keys)));

    async function loadKeys() {
      try {
        const list = (await apiJson(`${base}/keys`)).keys || [];
        replace(keys, list.length ? h("table.table", h("tbody", list.map((k) => h("tr", { class: k.enabled === false ? "revoked" : "" },
          h("td", k.label), h("td.mono", `${k.prefix}…`),
          h("td", k.enabled === false ? "revoked" : h("button.btn.small", { type: "button", onclick: async () => {
            if (!confirm(`Revoke key ${k.label}?`)) return;
            try { await apiJson(`${base}/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" }); loadKeys(); } catch (err) { alert(err.message); }
          } }, "Revoke")))))) : h("p.muted", "No keys yet."));
      } catch (err) { replace(keys, h("div.banner.error", err.message)); }
    }
    loadKeys();
  }

  async function patch(body) {
    try { await apiJson(base, { method: "PATCH", body }); } catch (err) { alert(err.message); }
    load();
  }

  load();
}
