// Talking to the Studio server: every call carries the per-launch token from the page's meta tag.
const tokenMeta = document.querySelector('meta[name="arkor-studio-token"]');
export const studioToken = tokenMeta ? tokenMeta.getAttribute("content") : "";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function errorOf(response) {
  let message = `HTTP ${response.status}`;
  try {
    const text = await response.text();
    try { message = JSON.parse(text).error || text || message; } catch { message = text || message; }
  } catch { /* keep the status */ }
  return new ApiError(response.status, message);
}

export async function apiFetch(path, options = {}) {
  const headers = { "X-Arkor-Studio-Token": studioToken, ...(options.headers || {}) };
  if (options.body !== undefined && typeof options.body !== "string") {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.body) };
  }
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function apiJson(path, options) {
  const response = await apiFetch(path, options);
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

// Read a streamed text body chunk by chunk.
export async function readText(response, onText) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onText(decoder.decode(value, { stream: true }));
  }
  onText(decoder.decode());
}

// Parse an SSE body (chat replies): calls onData(dataString, eventName) per frame.
export async function readSse(response, onData) {
  let buffer = "";
  await readText(response, (text) => {
    buffer += text.replace(/\r\n?/g, "\n");
    let index;
    while ((index = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onData(data.join("\n"), event);
    }
  });
}

export function eventSourceUrl(jobId) {
  return `/api/jobs/${encodeURIComponent(jobId)}/events?studioToken=${encodeURIComponent(studioToken)}`;
}

// Download a file through fetch (links cannot carry the token header).
export async function download(path, filename) {
  const response = await apiFetch(path);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
