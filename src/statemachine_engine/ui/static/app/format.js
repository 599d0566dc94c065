// Pure formatting helpers: times, durations, JSON.

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** Local wall-clock time of an epoch-seconds timestamp, `HH:MM:SS.mmm` or `HH:MM:SS`. */
export function clock(seconds, { millis = false } = {}) {
  if (seconds === null || seconds === undefined) return "—";
  const d = new Date(seconds * 1000);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** Local date and time, for tooltips and job details. */
export function dateTime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(seconds, { millis: true })}`;
}

/** A short duration: `850 ms`, `12 s`, `4 m 05 s`, `3 h 02 m`, `2 d 4 h`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${pad(Math.floor(s % 60))} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} m`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** `duration` since `seconds`, as "… ago". */
export function ago(seconds, now = Date.now() / 1000) {
  if (seconds === null || seconds === undefined) return "—";
  return `${duration(now - seconds)} ago`;
}

/** Pretty JSON of an untrusted value (shown with textContent, never parsed as HTML). */
export function prettyJson(value) {
  try {
    return JSON.stringify(value, null, 2) ?? "null";
  } catch {
    return String(value);
  }
}

/** One-line JSON, cut to `limit` characters. */
export function compactJson(value, limit = 160) {
  let text;
  try {
    text = JSON.stringify(value) ?? "";
  } catch {
    text = String(value);
  }
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** "↻ 2 restarts" for a machine its system restarted, after `prefix`; "" otherwise. */
export function restartsText(machine, prefix = "") {
  const n = machine.restarts ?? 0;
  return n > 0 ? `${prefix}↻ ${n} restart${n === 1 ? "" : "s"}` : "";
}
