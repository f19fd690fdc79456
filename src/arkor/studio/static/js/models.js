// The base models the pickers offer, from Studio's /api/models (the engine's registry): one list,
// fetched once per page load.
import { apiJson } from "./api.js";
import { h } from "./ui.js";

let pending = null;

export function baseModels() {
  if (!pending) pending = apiJson("/api/models").catch((err) => { pending = null; throw err; });
  return pending;
}

// `<option value="base:<id>">` per model, the default first; test-only and not-offline models say so.
export function baseModelOptions(listing) {
  const models = [...listing.models].sort((a, b) => (b.id === listing.default) - (a.id === listing.default));
  return models.map((m) => h("option", { value: `base:${m.id}`, title: m.description || m.name, dataset: { model: m.id } },
    m.id + (m.testOnly ? " (tests only)" : m.offline ? "" : " (needs a download)")));
}
