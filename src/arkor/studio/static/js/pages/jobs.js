// Jobs page: the project's jobs, polled every 5 s, with search, a status filter and sortable metric
// columns (final loss, eval loss, accuracy, steps from /api/jobs/summary, computed by the Studio server).
import { apiJson } from "../api.js";
import { h, jobDuration, jobTag, poll, relativeTime, replace, shortId, statusBadge } from "../ui.js";

const FILTERS = ["all", "running", "completed", "queued", "failed", "cancelled"];

const durationMs = (job) => (job.startedAt ? (job.completedAt ? new Date(job.completedAt) : (job.status === "running" ? new Date() : null)) - new Date(job.startedAt) : null);
const metric = (v, digits = 4) => (typeof v === "number" && isFinite(v) ? (Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(2) : v.toFixed(digits)) : "—");

// key -> [header, value for sorting, cell text]
export const COLUMNS = {
  status: ["Status", (j) => j.status],
  name: ["Trainer", (j) => j.name.toLowerCase()],
  model: ["Base model", (j) => (j.config && j.config.model) || null],
  created: ["Created", (j) => new Date(j.createdAt).getTime()],
  duration: ["Duration", (j) => { const ms = durationMs(j); return ms === null || isNaN(ms) ? null : ms; }],
  steps: ["Steps", (j, s) => (s && s.steps != null ? s.steps : null)],
  finalLoss: ["Final loss", (j, s) => (s ? s.finalLoss : null)],
  evalLoss: ["Eval loss", (j, s) => (s ? s.evalLoss : null)],
  accuracy: ["Accuracy", (j, s) => (s ? s.accuracy : null)],
};

// Missing values sort last in both directions.
export function sortJobs(jobs, summaries, key, direction) {
  const value = COLUMNS[key][1];
  const sign = direction === "desc" ? -1 : 1;
  return [...jobs].sort((a, b) => {
    const va = value(a, summaries[a.id]), vb = value(b, summaries[b.id]);
    if (va === null || va === undefined) return vb === null || vb === undefined ? 0 : 1;
    if (vb === null || vb === undefined) return -1;
    return (va < vb ? -1 : va > vb ? 1 : 0) * sign;
  });
}

export function jobsTable(jobs, { compact = false, summaries = null, sort = null, onSort = null } = {}) {
  const keys = compact ? ["status", "name", "created", "duration"]
    : ["status", "name", "model", "created", "duration", "steps", "finalLoss", "evalLoss", "accuracy"];
  const header = (key) => {
    const label = COLUMNS[key][0];
    if (!onSort) return h("th", label);
    const active = sort && sort.key === key;
    return h("th.sortable", { dataset: { sort: key }, "aria-sort": active ? (sort.direction === "asc" ? "ascending" : "descending") : "none" },
      h("button.th-btn", { type: "button", onclick: () => onSort(key) }, label, h("span.sort-mark", active ? (sort.direction === "asc" ? " ▲" : " ▼") : "")));
  };
  const s = (job) => (summaries && summaries[job.id]) || null;
  const cells = {
    status: (job) => h("td", statusBadge(job.status)),
    name: (job) => h("td", h("a.job-link", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name), h("span.job-tag", { title: job.id }, jobTag(job))),
    model: (job) => h("td.mono.model-cell", (job.config && job.config.model) || "—"),
    created: (job) => h("td", { title: new Date(job.createdAt).toLocaleString() }, relativeTime(job.createdAt)),
    duration: (job) => h("td.num", jobDuration(job)),
    steps: (job) => h("td.num", s(job) && s(job).steps != null ? String(s(job).steps) : "—"),
    finalLoss: (job) => h("td.num", { title: (s(job) && s(job).error) || "" }, metric(s(job) && s(job).finalLoss)),
    evalLoss: (job) => h("td.num", metric(s(job) && s(job).evalLoss)),
    accuracy: (job) => h("td.num", { title: (s(job) && s(job).scorer) || "" }, metric(s(job) && s(job).accuracy, 3)),
  };
  return h("table.table.jobs-table",
    h("thead", h("tr", keys.map(header), compact ? null : h("th", "ID"))),
    h("tbody", jobs.map((job) => h("tr", { dataset: { jobId: job.id } },
      keys.map((key) => { const td = cells[key](job); td.dataset.col = key; return td; }),
      compact ? null : h("td.mono", { title: job.id }, shortId(job.id))))));
}

export function render(container) {
  let jobs = null;
  let summaries = {};
  let omitted = 0;
  let loadError = null;
  let filter = "all";
  let search = "";
  let sort = null; // {key, direction}; null keeps the backend's order (newest first)
  const body = h("div.card-body");
  const note = h("p.muted.small", { id: "summary-note" });
  const searchInput = h("input.input", { type: "search", placeholder: "Search name or id", "aria-label": "Search jobs",
    oninput: (e) => { search = e.target.value.trim().toLowerCase(); draw(); } });
  const chips = h("div.chips", FILTERS.map((f) => h("button.chip-btn", { type: "button", dataset: { filter: f },
    onclick: () => { filter = f; draw(); } }, f[0].toUpperCase() + f.slice(1))));
  container.append(
    h("div.page-head", h("h1", "Jobs"), h("p.muted", "Every training run of this project. Click a column to sort, again to reverse. Updates every 5 seconds.")),
    h("section.card", h("div.toolbar", searchInput, chips), body, note),
  );

  function onSort(key) {
    sort = sort && sort.key === key ? { key, direction: sort.direction === "asc" ? "desc" : "asc" } : { key, direction: "asc" };
    draw();
  }

  function draw() {
    for (const chip of chips.children) chip.classList.toggle("active", chip.dataset.filter === filter);
    note.textContent = omitted ? `Metrics are computed for the newest jobs only; ${omitted} older job${omitted > 1 ? "s show" : " shows"} —.` : "";
    if (loadError && !jobs) return replace(body, h("div.banner.error", `Failed to load jobs: ${loadError}`));
    if (!jobs) return replace(body, h("div.skeleton"), h("div.skeleton"), h("div.skeleton"));
    if (!jobs.length) return replace(body, h("div.empty", h("strong", "No jobs yet"), h("p.muted", "Run training from the Overview page to create one.")));
    let shown = jobs.filter((j) => (filter === "all" || j.status === filter)
      && (!search || j.name.toLowerCase().includes(search) || j.id.toLowerCase().includes(search)));
    if (!shown.length) return replace(body, h("div.empty", h("strong", "No matches"), h("p.muted", "Try another search or status.")));
    if (sort) shown = sortJobs(shown, summaries, sort.key, sort.direction);
    replace(body, h("div.table-scroll", jobsTable(shown, { summaries, sort, onSort })));
  }

  draw();
  return poll(async () => {
    try { jobs = (await apiJson("/api/jobs")).jobs; loadError = null; } catch (err) { loadError = err.message; }
    draw();
    try { const answer = await apiJson("/api/jobs/summary"); summaries = answer.summaries || {}; omitted = answer.omitted || 0; } catch (err) { console.warn(err); }
    draw();
  }, 5000);
}

export { metric, durationMs };
