// Endpoints: list the project's OpenAI-compatible deployments and create new ones.
import { apiJson } from "../api.js";
import { baseModelOptions, baseModels } from "../models.js";
import { h, jobTag, relativeTime, replace, shortId } from "../ui.js";

const SLUG_PATTERN = "[a-z0-9][a-z0-9\\-]*[a-z0-9]";

export function targetSummary(target) {
  if (!target) return "—";
  if (target.kind === "base_model") return `Base model: ${target.baseModel}`;
  const a = target.adapter || {};
  return a.kind === "checkpoint" ? `Checkpoint step ${a.step} (job ${shortId(a.jobId)})` : `Final adapter (job ${shortId(a.jobId)})`;
}

export function stateBadge(enabled) {
  return h(`span.badge.${enabled ? "status-completed" : "status-cancelled"}`, { dataset: { state: enabled ? "enabled" : "disabled" } },
    enabled ? "enabled" : "disabled");
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
      replace(body, h("table.table.endpoints-table",
        h("thead", h("tr", ["Slug", "Target", "Auth", "State", "URL", "Created"].map((c) => h("th", c)))),
        h("tbody", items.map((d) => h("tr", { dataset: { endpointId: d.id, slug: d.slug } },
          h("td", h("a.job-link", { href: `#/endpoints/${encodeURIComponent(d.id)}` }, d.slug)),
          h("td", targetSummary(d.target)), h("td", d.authMode === "none" ? "public" : "API key"),
          h("td", stateBadge(d.enabled)), h("td.mono", d.endpointUrl || d.url || ""),
          h("td", { title: d.createdAt }, relativeTime(d.createdAt)))))));
    } catch (err) {
      replace(body, h("div.banner.error", `Endpoints are not available: ${err.message}`));
    }
  }

  async function showForm() {
    let jobs = [];
    try { jobs = (await apiJson("/api/jobs")).jobs.filter((j) => j.status === "completed"); } catch { /* base models only */ }
    let models = null;
    let modelsError = null;
    try { models = await baseModels(); } catch (err) { modelsError = err.message; }
    const slug = h("input.input", { id: "endpoint-slug", required: true, minlength: "2", maxlength: "50", pattern: SLUG_PATTERN,
      placeholder: "my-endpoint", title: "2-50 characters: a-z, 0-9 and '-', starting and ending with a letter or digit" });
    const target = h("select.input", { id: "endpoint-target", onchange: () => loadWeights() },
      jobs.length ? h("optgroup", { label: "Trained adapters" }, jobs.map((j) => h("option", { value: `job:${j.id}` }, `${j.name} (${jobTag(j)})`))) : null,
      models ? h("optgroup", { label: "Base models" }, baseModelOptions(models)) : null);
    const weights = h("select.input", { id: "endpoint-weights" });
    const weightsLabel = h("label", "Weights", weights);
    const auth = h("select.input", { id: "endpoint-auth" }, h("option", { value: "fixed_api_key" }, "Fixed API key"), h("option", { value: "none" }, "No auth (public)"));
    const error = h("div", modelsError ? h("div.banner.warn", `Could not list base models: ${modelsError}`) : null);
    const submit = h("button.btn.primary", { type: "submit", id: "create-endpoint" }, "Create");

    let weightsGeneration = 0;
    async function loadWeights() {
      const mine = ++weightsGeneration;  // only the latest selection fills the list (changes can overlap)
      const value = target.value;
      weightsLabel.hidden = !value.startsWith("job:");
      if (weightsLabel.hidden) return;
      const final = h("option", { value: "final" }, "Final adapter");
      replace(weights, final);
      try {
        const { checkpoints } = await apiJson(`/api/jobs/${encodeURIComponent(value.slice(4))}/checkpoints`);
        if (mine !== weightsGeneration) return;
        const chosen = weights.value;
        replace(weights, final, (checkpoints || []).map((cp) => h("option", { value: String(cp.step) }, `Checkpoint step ${cp.step}`)));
        weights.value = chosen;
      } catch (err) { replace(error, h("div.banner.warn", `Could not list checkpoints: ${err.message}`)); }
    }

    function targetBody() {
      const value = target.value;
      if (!value.startsWith("job:")) return { kind: "base_model", baseModel: value.slice(5) };
      const jobId = value.slice(4);
      const adapter = weights.value === "final" ? { kind: "final", jobId } : { kind: "checkpoint", jobId, step: Number(weights.value) };
      return { kind: "adapter", adapter };
    }

    const form = h("form.card.card-body.form", {
      id: "endpoint-form",
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        replace(error);
        try {
          const result = await apiJson("/api/deployments", { method: "POST", body: { slug: slug.value.trim(), target: targetBody(), authMode: auth.value } });
          replace(formSlot);
          if (result.deployment) location.hash = `#/endpoints/${encodeURIComponent(result.deployment.id)}`;
          else load();
        } catch (err) {
          replace(error, h("div.banner.error", { id: "endpoint-form-error" }, err.message));
        } finally { submit.disabled = false; }
      },
    }, h("h2", "New endpoint"), h("label", "Slug (part of the URL: /d/<slug>/v1)", slug), h("label", "Serves", target), weightsLabel,
      h("label", "Auth", auth), error,
      h("div.row", submit, h("button.btn", { type: "button", onclick: () => replace(formSlot) }, "Cancel")));
    replace(formSlot, form);
    await loadWeights();
    slug.focus();
  }

  load();
}
