// Endpoints: list the project's OpenAI-compatible deployments and create new ones.
import { apiJson } from "../api.js";
import { h, replace, shortId } from "../ui.js";

export function targetSummary(target) {
  if (!target) return "—";
  if (target.kind === "base_model") return `Base model: ${target.baseModel}`;
  const a = target.adapter || {};
  return a.kind === "checkpoint" ? `Checkpoint step ${a.step} (job ${shortId(a.jobId)})` : `Final adapter (job ${shortId(a.jobId)})`;
}

export function render(container) {
  const body = h("div.card-body", h("div.skeleton"));
  const formSlot = h("div");
  container.append(
    h("div.page-head", h("div.row.space", h("h1", "Endpoints"),
      h("button.btn.primary", { type: "button", id: "new-endpoint", onclick: () => showForm() }, "New endpoint")),
      h("p.muted", "Serve a base model or a trained adapter over an OpenAI-compatible API.")),
    formSlot,
    h("section.card", body),
  );

  async function load() {
    try {
      const result = await apiJson("/api/deployments");
      const items = result.deployments || [];
      if (result.unavailable) return replace(body, h("div.banner.warn", { id: "endpoints-unavailable" }, result.unavailable));
      if (result.scopeMissing) return replace(body, h("div.empty", h("strong", "Workspace not scoped to a project yet"), h("p.muted", "Run training once, or create an endpoint, to create the project.")));
      if (!items.length) return replace(body, h("div.empty", h("strong", "No endpoints yet"), h("p.muted", "Create one to serve a model.")));
      replace(body, h("table.table",
        h("thead", h("tr", ["Slug", "Target", "Auth", "State"].map((c) => h("th", c)))),
        h("tbody", items.map((d) => h("tr",
          h("td", h("a.job-link", { href: `#/endpoints/${encodeURIComponent(d.id)}` }, d.slug)),
          h("td", targetSummary(d.target)), h("td", `auth: ${d.authMode}`),
          h("td", h(`span.badge.${d.enabled ? "status-completed" : "status-cancelled"}`, d.enabled ? "enabled" : "disabled")))))));
    } catch (err) {
      replace(body, h("div.banner.error", `Endpoints are not available: ${err.message}`));
    }
  }

  async function showForm() {
    let jobs = [];
    try { jobs = (await apiJson("/api/jobs")).jobs.filter((j) => j.status === "completed"); } catch { /* base model only */ }
    const slug = h("input.input", { id: "endpoint-slug", required: true, pattern: "[a-z0-9][a-z0-9-]*[a-z0-9]", placeholder: "my-endpoint" });
    const kind = h("select.input", { id: "endpoint-target" },
      jobs.map((j) => h("option", { value: `job:${j.id}` }, `Final adapter: ${j.name} (${shortId(j.id)})`)),
      h("option", { value: "base:HuggingFaceTB/SmolLM2-135M-Instruct" }, "Base model: SmolLM2-135M-Instruct"));
    const auth = h("select.input", { id: "endpoint-auth" }, h("option", { value: "fixed_api_key" }, "Fixed API key"), h("option", { value: "none" }, "No auth (public)"));
    const error = h("div");
    const form = h("form.card.card-body.form", {
      onsubmit: async (e) => {
        e.preventDefault();
        const value = kind.value;
        const target = value.startsWith("job:") ? { kind: "adapter", adapter: { kind: "final", jobId: value.slice(4) } } : { kind: "base_model", baseModel: value.slice(5) };
        try {
          const result = await apiJson("/api/deployments", { method: "POST", body: { slug: slug.value.trim().toLowerCase(), target, authMode: auth.value } });
          replace(formSlot);
          if (result.deployment) location.hash = `#/endpoints/${encodeURIComponent(result.deployment.id)}`;
          else load();
        } catch (err) { replace(error, h("div.banner.error", err.message)); }
      },
    }, h("h2", "New endpoint"), h("label", "Slug", slug), h("label", "Serves", kind), h("label", "Auth", auth), error,
      h("div.row", h("button.btn.primary", { type: "submit" }, "Create"), h("button.btn", { type: "button", onclick: () => replace(formSlot) }, "Cancel")));
    replace(formSlot, form);
  }

  load();
}
