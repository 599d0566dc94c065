// Small SVG line and area charts drawn by hand: time on x, values on y, one line per
// series, a few round ticks on each axis. A chart is drawn for the pixels it has (again
// when they change), so its text keeps its size and stays readable at any width.

import { svg } from "./dom.js";

const MARGIN = { top: 8, right: 12, bottom: 22, left: 42 };
/** Steps of the time axis (seconds); the first that leaves ~70 px per label is used. */
const TIME_STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800];

/** A round step that splits `max` in about `count` parts (1, 2 or 5 times a power of 10). */
export function niceStep(max, count = 4, integer = false) {
  const raw = max > 0 ? max / count : 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/** The ticks of a value axis from 0 over `max`: `[0, step, ..., top]` with top >= max. */
export function valueTicks(max, integer = false) {
  const step = niceStep(max, 4, integer);
  const top = Math.max(step, Math.ceil((max > 0 ? max : 0) / step - 1e-9) * step);
  const ticks = [];
  for (let value = 0; value <= top + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

/** Ticks of a time axis over [start, end] (epoch seconds) for `width` pixels. */
export function timeStep(start, end, width) {
  const span = Math.max(1, end - start);
  const room = Math.max(1, Math.floor(width / 70));
  return TIME_STEPS.find((s) => span / s <= room) ?? TIME_STEPS.at(-1);
}

export function timeTicks(start, end, width) {
  const step = timeStep(start, end, width);
  const ticks = [];
  for (let at = Math.ceil(start / step) * step; at <= end; at += step) ticks.push(at);
  return ticks;
}

/** A value as an axis or a caption shows it: at most 3 significant digits, k above 10,000. */
export function formatValue(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Math.abs(value) >= 10000) return `${Number((value / 1000).toPrecision(3))}k`;
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(3)));
}

/** `HH:MM` (with `seconds`: `HH:MM:SS`) of a time in epoch seconds, local time. */
export function clockLabel(at, seconds = false) {
  const date = new Date(at * 1000);
  const parts = [date.getHours(), date.getMinutes(), ...(seconds ? [date.getSeconds()] : [])];
  return parts.map((n) => String(n).padStart(2, "0")).join(":");
}

/** Stacked series: each one's values added to those below it (null where none is known). */
export function stacked(series) {
  const length = Math.max(0, ...series.map((s) => s.values.length));
  const below = Array(length).fill(null);
  return series.map((one) => {
    const lower = [...below];
    one.values.forEach((value, i) => {
      if (value !== null && value !== undefined) below[i] = (below[i] ?? 0) + value;
    });
    return { ...one, lower, values: [...below] };
  });
}

/** The SVG path of a band between `lower` and `values` (a stacked series), run by run. */
function bandPath(times, lower, values, x, y) {
  let path = "";
  let run = [];
  const flush = () => {
    if (run.length) {
      const top = run.map((i) => `${x(times[i]).toFixed(1)},${y(values[i]).toFixed(1)}`);
      const bottom = run.reverse().map((i) => `${x(times[i]).toFixed(1)},${y(lower[i] ?? 0).toFixed(1)}`);
      path += `M${top.join("L")}L${bottom.join("L")}Z`;
    }
    run = [];
  };
  values.forEach((value, i) => (value === null || value === undefined ? flush() : run.push(i)));
  flush();
  return path;
}

/** The SVG path of one series: a line through known values, broken where one is null. */
export function linePath(times, values, x, y) {
  let path = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null || value === undefined) {
      drawing = false;
      return;
    }
    path += `${drawing ? "L" : "M"}${x(times[index]).toFixed(1)},${y(value).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

/**
 * An SVG chart. `series`: `[{label, values, cls, area, bars}]`, values aligned with `times`
 * (epoch seconds; null: not known) or with the series' own `times`. A series of `bars`
 * draws each value as a bar over `[time, time + bars.seconds)`, the `bars.index`-th of
 * `bars.of` side by side. The x axis runs from `start` to `end`.
 */
export function lineChart({ width, height, times, series: given, start, end, integer = false, label, stack = false }) {
  const series = stack ? stacked(given) : given;
  const root = svg("svg", {
    class: "chart-svg",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
  });
  const inner = { w: Math.max(10, width - MARGIN.left - MARGIN.right), h: Math.max(10, height - MARGIN.top - MARGIN.bottom) };
  const known = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const ticks = valueTicks(known.length ? Math.max(...known) : 0, integer);
  const top = ticks.at(-1);
  const x = (at) => MARGIN.left + ((at - start) / Math.max(1, end - start)) * inner.w;
  const y = (value) => MARGIN.top + inner.h - (value / top) * inner.h;

  for (const tick of ticks) {
    const at = y(tick);
    root.append(
      svg("line", { class: "chart-grid", x1: MARGIN.left, x2: MARGIN.left + inner.w, y1: at, y2: at }),
      svg("text", { class: "chart-tick", x: MARGIN.left - 6, y: at + 4, "text-anchor": "end" }, formatValue(tick)),
    );
  }
  for (const at of timeTicks(start, end, inner.w)) {
    root.append(
      svg("line", { class: "chart-axis", x1: x(at), x2: x(at), y1: MARGIN.top + inner.h, y2: MARGIN.top + inner.h + 4 }),
      svg("text", { class: "chart-tick", x: x(at), y: height - 6, "text-anchor": "middle" }, clockLabel(at, timeStep(start, end, inner.w) < 60)),
    );
  }
  root.append(svg("line", { class: "chart-axis", x1: MARGIN.left, x2: MARGIN.left + inner.w, y1: y(0), y2: y(0) }));

  for (const one of series.filter((s) => s.bars)) {
    const at = one.times ?? times;
    const slot = (one.bars.seconds / Math.max(1, end - start)) * inner.w;
    const width = Math.max(1, (slot * 0.8) / one.bars.of);
    one.values.forEach((value, i) => {
      if (!value || at[i] + one.bars.seconds <= start || at[i] > end) return;
      // The minute now under way ends past the axis: its bars keep inside it.
      const right = MARGIN.left + inner.w - width * (one.bars.of - one.bars.index);
      const left = Math.max(MARGIN.left, Math.min(right, x(at[i]) + slot * 0.1 + width * one.bars.index));
      root.append(svg("rect", { class: `chart-bar ${one.cls}`, x: left.toFixed(1), y: y(value).toFixed(1), width: width.toFixed(1), height: (y(0) - y(value)).toFixed(1), "data-value": value }));
    });
  }
  const visible = (index) => times[index] >= start && times[index] <= end;
  for (const one of series.filter((s) => !s.bars)) {
    const values = one.values.map((v, i) => (visible(i) ? v : null));
    const path = linePath(times, values, x, y);
    if (!path) continue;
    if (one.lower) {
      root.append(svg("path", { class: `chart-area chart-band ${one.cls}`, d: bandPath(times, one.lower, values, x, y) }));
      continue; // a band is its own outline
    }
    if (one.area) {
      // Close each run of known values down to 0, so gaps stay gaps.
      const runs = path.split("M").filter(Boolean).map((run) => {
        const points = run.split("L");
        const first = points[0].split(",")[0];
        const last = points.at(-1).split(",")[0];
        return `M${first},${y(0)}L${run}L${last},${y(0)}Z`;
      });
      root.append(svg("path", { class: `chart-area ${one.cls}`, d: runs.join("") }));
    }
    root.append(svg("path", { class: `chart-line ${one.cls}`, d: path }));
    // A lone value (no neighbour to draw a line to) still shows, as a dot.
    values.forEach((value, i) => {
      const alone = value !== null && value !== undefined && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null;
      if (alone) root.append(svg("circle", { class: `chart-dot ${one.cls}`, cx: x(times[i]), cy: y(value), r: 2.5 }));
    });
  }
  return root;
}
