// Jobs page: the project's jobs, polled every 5 s, with search and a status filter.
import { apiJson } from "../api.js";
import { h, jobDuration, jobTag, poll, relativeTime, replace, shortId, statusBadge } from "../ui.js";

const FILTERS = ["all", "running", "completed", "queued", "failed", "cancelled"];

export function jobsTable(jobs, { compact = false } = {}) {
  const head = ["Status", "Name", "Created", "Duration", ...(compact ? [] : ["ID"])];
  return h("table.table.jobs-table",
    h("thead", h("tr", head.map((c) => h("th", c)))),
    h("tbody", jobs.map((job) => h("tr", { dataset: { jobId: job.id } },
      h("td", statusBadge(job.status)),
      h("td", h("a.job-link", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name),
        h("span.job-tag", { title: job.id }, jobTag(job))),
      h("td", { title: new Date(job.createdAt).toLocaleString() }, relativeTime(job.createdAt)),
      h("td.num", jobDuration(job)),
      compact ? null : h("td.mono", { title: job.id }, shortId(job.id)),
    ))));
}

export function render(container) {
  let jobs = null;
  let loadError = null;
  let filter = "all";
  let search = "";
  const body = h("div.card-body");
  const searchInput = h("input.input", { type: "search", placeholder: "Search name or id", "aria-label": "Search jobs",
    oninput: (e) => { search = e.target.value.trim().toLowerCase(); draw(); } });
  const chips = h("div.chips", FILTERS.map((f) => h("button.chip-btn", { type: "button", dataset: { filter: f },
    onclick: () => { filter = f; draw(); } }, f[0].toUpperCase() + f.slice(1))));
  container.append(
    h("div.page-head", h("h1", "Jobs"), h("p.muted", "Every training run of this project. Updates every 5 seconds.")),
    h("section.card", h("div.toolbar", searchInput, chips), body),
  );

  function draw() {
    for (const chip of chips.children) chip.classList.toggle("active", chip.dataset.filter === filter);
    if (loadError && !jobs) return replace(body, h("div.banner.error", `Failed to load jobs: ${loadError}`));
    if (!jobs) return replace(body, h("div.skeleton"), h("div.skeleton"), h("div.skeleton"));
    if (!jobs.length) return replace(body, h("div.empty", h("strong", "No jobs yet"), h("p.muted", "Run training from the Overview page to create one.")));
    const shown = jobs.filter((j) => (filter === "all" || j.status === filter)
      && (!search || j.name.toLowerCase().includes(search) || j.id.toLowerCase().includes(search)));
    if (!shown.length) return replace(body, h("div.empty", h("strong", "No matches"), h("p.muted", "Try another search or status.")));
    replace(body, jobsTable(shown));
  }

  draw();
  return poll(async () => {
    try { jobs = (await apiJson("/api/jobs")).jobs; loadError = null; } catch (err) { loadError = err.message; }
    draw();
  }, 5000);
}
