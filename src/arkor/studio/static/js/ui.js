// Small DOM and formatting helpers shared by the pages (no framework).
import { TERMINAL_STATUSES } from "./protocol.js";

// h("div.card", {onclick}, child, ...) -> element. Strings become text nodes (never HTML).
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") el.className += (el.className ? " " : "") + value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function statusBadge(status) {
  return h(`span.badge.status-${status || "queued"}`, { dataset: { status: status || "queued" } }, status || "queued");
}

export function relativeTime(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const abs = Math.abs(seconds);
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      return seconds >= 0 ? `${n} ${unit}${n > 1 ? "s" : ""} ago` : `in ${n} ${unit}${n > 1 ? "s" : ""}`;
    }
  }
  return abs < 5 ? "just now" : `${abs} seconds ago`;
}

const pad2 = (n) => String(n).padStart(2, "0");

export function formatDateTime(iso, { seconds = false } = {}) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d)) return "—";
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}${seconds ? `:${pad2(d.getSeconds())}` : ""}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`;
}

// An event's own time: HH:MM:SS, with the date in front when it is not today. null for no/invalid time.
export function formatClock(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || isNaN(d)) return null;
  const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return d.toDateString() === new Date().toDateString() ? clock : `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${clock}`;
}

// What tells runs of the same name apart: the short id and when the run started (else was created).
export function jobTag(job) {
  return `${shortId(job.id)} · ${job.startedAt ? "started" : "created"} ${formatDateTime(job.startedAt || job.createdAt, { seconds: true })}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "N/A";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

const TERMINAL = new Set(TERMINAL_STATUSES);
export const isTerminal = (status) => TERMINAL.has(status);

// Duration of a job: running ones tick; terminal ones without completedAt read N/A.
export function jobDuration(job) {
  const start = job.startedAt || null;
  if (!start) return isTerminal(job.status) ? "N/A" : "—";
  if (job.completedAt) return formatDuration(new Date(job.completedAt) - new Date(start));
  return isTerminal(job.status) ? "N/A" : formatDuration(Date.now() - new Date(start));
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function shortId(id) {
  return id && id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

// Poll fn every `ms` without overlapping calls; returns a stop function.
export function poll(fn, ms) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    try { await fn(); } catch (err) { console.warn(err); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// Copy to the clipboard; without the async clipboard API (permission denied), a selected textarea.
export async function copyText(text, button) {
  let copied = false;
  try {
    // writeText can stay pending forever on a page without focus: give it a moment, then fall back.
    await Promise.race([
      navigator.clipboard.writeText(text),
      new Promise((_, reject) => setTimeout(() => reject(new Error("clipboard timed out")), 1500)),
    ]);
    copied = true;
  } catch {
    const area = h("textarea", { style: "position:fixed;opacity:0", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    try { copied = document.execCommand("copy"); } catch { copied = false; }
    area.remove();
  }
  if (!button) return copied;
  const old = button.dataset.label || button.textContent;
  button.dataset.label = old;
  button.textContent = copied ? "Copied" : "Copy failed";
  button.dataset.copyState = copied ? "copied" : "failed";  // outlives the label, for scripts and tests
  setTimeout(() => (button.textContent = old), 1200);
  return copied;
}
