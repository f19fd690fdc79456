// Studio shell: hash router, header (identity chip, theme), and page lifecycle.
import { apiJson } from "./api.js";
import { h } from "./ui.js";

const routes = [
  [/^\/$/, "overview", () => import("./pages/overview.js")],
  [/^\/jobs$/, "jobs", () => import("./pages/jobs.js")],
  [/^\/jobs\/([^/]+)$/, "jobs", () => import("./pages/job.js")],
  [/^\/compare$/, "compare", () => import("./pages/compare.js")],
  [/^\/playground$/, "playground", () => import("./pages/playground.js")],
  [/^\/endpoints$/, "endpoints", () => import("./pages/endpoints.js")],
  [/^\/endpoints\/([^/]+)$/, "endpoints", () => import("./pages/endpoint.js")],
];

let cleanup = null;
let generation = 0;

export function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [pathPart, query = ""] = raw.split("?");
  const path = pathPart.length > 1 ? pathPart.replace(/\/+$/, "") : "/";
  return { path, query: new URLSearchParams(query) };
}

async function route() {
  const { path, query } = parseHash();
  const mine = ++generation;
  if (cleanup) { try { cleanup(); } catch (err) { console.warn(err); } cleanup = null; }
  let match = null;
  for (const [pattern, tab, load] of routes) {
    const m = path.match(pattern);
    if (m) { match = { tab, load, params: m.slice(1).map((p) => { try { return decodeURIComponent(p); } catch { return null; } }) }; break; }
  }
  if (!match || match.params.includes(null)) { location.hash = "#/"; return; }
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.tab === match.tab);
  const app = document.getElementById("app");
  const module = await match.load();
  if (mine !== generation) return;
  app.replaceChildren();
  const container = h("div.page", { dataset: { page: match.tab } });
  app.append(container);
  cleanup = module.render(container, { params: match.params, query }) || null;
}

async function identity() {
  const chip = document.getElementById("identity");
  try {
    const creds = await apiJson("/api/credentials");
    chip.textContent = creds.mode === "oauth" ? "oauth" : "anonymous";
    const host = (() => { try { return new URL(creds.baseUrl).host; } catch { return ""; } })();
    chip.title = [creds.orgSlug, creds.projectSlug].filter(Boolean).join(" / ") + (host ? ` · backend ${host}` : "");
    chip.className = "chip ok";
  } catch (err) {
    chip.textContent = "error";
    chip.title = err.message;
    chip.className = "chip error";
  }
}

function theme() {
  const stored = localStorage.getItem("arkor-studio-theme");
  const dark = stored ? stored === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  document.getElementById("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("arkor-studio-theme", next);
  });
}

theme();
window.addEventListener("hashchange", route);
route();
identity();
