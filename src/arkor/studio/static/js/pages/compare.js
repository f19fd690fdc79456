// Compare: overlay the training-loss curves of chosen jobs (events read once from each job's stream).
import { apiJson, eventSourceUrl } from "../api.js";
import { PALETTE, addPoint, lossChart } from "../chart.js";
import { h, jobTag, replace, statusBadge } from "../ui.js";

export function render(container) {
  const chart = lossChart("Pick jobs on the left to overlay their loss curves.");
  const list = h("div.compare-list", h("p.muted", "Loading jobs…"));
  const curves = new Map(); // jobId -> {label, points, source}
  container.append(
    h("div.page-head", h("h1", "Compare runs"), h("p.muted", "Training loss of several jobs on one chart.")),
    h("div.playground",
      h("aside.card.settings", h("div.card-head", h("h2", "Jobs")), h("div.card-body", list)),
      h("section.card", h("div.card-head", h("h2", "Training loss")), h("div.card-body", chart.element))),
  );

  function draw() {
    chart.set([...curves.values()].map((c, i) => ({ label: c.label, color: PALETTE[i % PALETTE.length], points: c.points })));
  }

  function toggle(job, on) {
    if (!on) { curves.get(job.id)?.source.close(); curves.delete(job.id); draw(); return; }
    const points = [];
    const source = new EventSource(eventSourceUrl(job.id));
    source.addEventListener("training.log", (e) => { const d = JSON.parse(e.data); addPoint(points, d.step, d.loss); draw(); });
    source.addEventListener("end", () => source.close());
    curves.set(job.id, { label: `${job.name} · ${jobTag(job)}`, points, source });
    draw();
  }

  (async () => {
    try {
      const { jobs } = await apiJson("/api/jobs");
      if (!jobs.length) return replace(list, h("div.empty", h("strong", "No jobs yet")));
      replace(list, jobs.map((job) => h("label.check-row", { title: job.id },
        h("input", { type: "checkbox", dataset: { jobId: job.id }, onchange: (e) => toggle(job, e.target.checked) }),
        h("span.check-name", job.name, h("span.job-tag", jobTag(job))), statusBadge(job.status))));
    } catch (err) {
      replace(list, h("div.banner.error", `Failed to load jobs: ${err.message}`));
    }
  })();
  draw();
  return () => { for (const c of curves.values()) c.source.close(); };
}
