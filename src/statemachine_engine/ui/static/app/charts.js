// The Charts view (#charts): the server's time series (/api/series) over the last hour:
// events (transitions) per second, jobs completed and failed per minute, each job type's
// pending jobs beside its live consumers, and the instances per state of a config.
// Each chart says its numbers in its label and in a table under it.

import { api } from "./api.js";
import { clockLabel, formatValue, lineChart } from "./chart.js";
import { h, replaceChildren, setText } from "./dom.js";

/** Windows offered (seconds), those the server keeps. */
const WINDOWS = [
  [900, "15 min"],
  [3600, "1 h"],
  [6 * 3600, "6 h"],
];
const DEFAULT_WINDOW = 3600;
const CHART_HEIGHT = 170;
const QUEUE_HEIGHT = 120;
/** Job types and states drawn (all are in the tables). */
const MAX_QUEUES = 12;
const MAX_STATES = 8;
const MIN_REFRESH_MS = 2000;
/** The shortest time a gauge's chart spans (seconds). */
const MIN_GAUGE_SPAN = 120;

/** The numbers a series' table row gives: now (the last known value), highest, total. */
export function summary(values) {
  const known = values.filter((v) => v !== null && v !== undefined);
  return {
    now: known.length ? known.at(-1) : null,
    max: known.length ? Math.max(...known) : null,
  };
}

/** The time of the first sample with a known gauge (the server's first), or null. */
export function firstKnown(data) {
  const series = [...Object.values(data.states), ...Object.values(data.queues).flatMap((parts) => Object.values(parts))];
  let first = null;
  for (const values of series) {
    const index = values.findIndex((v) => v !== null && v !== undefined);
    if (index >= 0 && (first === null || data.times[index] < first)) first = data.times[index];
  }
  return first;
}

/** Job types, those with pending jobs and no consumer first, then by pending jobs. */
export function queueOrder(queues) {
  const rows = Object.entries(queues).map(([type, parts]) => ({
    type,
    pending: summary(parts.pending).now ?? 0,
    processing: summary(parts.processing).now ?? 0,
    consumers: summary(parts.consumers).now ?? 0,
    parts,
  }));
  const unserved = (row) => row.pending > 0 && row.consumers === 0;
  return rows.sort((a, b) => Number(unserved(b)) - Number(unserved(a)) || b.pending - a.pending || a.type.localeCompare(b.type));
}

function windowName(seconds) {
  const named = WINDOWS.find(([s]) => s === seconds)?.[1];
  if (named) return named;
  return seconds >= 7200 && seconds % 3600 === 0 ? `${seconds / 3600} h` : `${Math.round(seconds / 60)} min`;
}

function table(caption, head, rows) {
  return h(
    "details",
    { class: "chart-numbers" },
    h("summary", { text: "Numbers" }),
    h(
      "table",
      { class: "chart-table" },
      h("caption", { text: caption }),
      h("thead", {}, h("tr", {}, ...head.map((text) => h("th", { attrs: { scope: "col" }, text })))),
      h("tbody", {}, ...rows.map(([name, ...cells]) => h("tr", { dataset: { row: name } }, h("th", { attrs: { scope: "row" }, text: name }), ...cells.map((c) => h("td", { text: formatValue(c) }))))),
    ),
  );
}

function legend(items) {
  return h("div", { class: "chart-legend" }, ...items.map(([cls, text]) => h("span", { class: "legend-item" }, h("span", { class: `legend-swatch ${cls}` }), text)));
}

export class ChartsView {
  constructor(root) {
    this.root = root;
    this.data = null;
    this.error = null;
    this.active = false;
    this.window = DEFAULT_WINDOW;
    this.config = null; // the config chosen (null: the server's choice)
    this.timer = null;
    this.drawn = null;
    this.status = h("p", { class: "charts-status", attrs: { role: "status" } });
    this.windowSelect = h("select", { class: "charts-window", attrs: { "aria-label": "Time window" }, on: { change: () => this.setWindow(Number(this.windowSelect.value)) } });
    this.body = h("div", { class: "charts-grid" });
    replaceChildren(
      root,
      h("div", { class: "charts-bar" }, h("h2", { text: "Charts" }), this.windowSelect, this.status),
      this.body,
    );
    new ResizeObserver(() => {
      const width = this.body.clientWidth;
      if (this.active && width && width !== this.drawn) this.draw();
    }).observe(this.body);
  }

  setActive(on) {
    this.active = on;
    clearTimeout(this.timer);
    if (on) this.refresh();
  }

  setWindow(seconds) {
    this.window = seconds;
    this.refresh(true);
  }

  /** Ask for the series and draw them (unless someone is choosing, or `chosen` they did). */
  async refresh(chosen = false) {
    clearTimeout(this.timer);
    if (!this.active) return;
    try {
      this.data = await api.series({ window: this.window, config: this.config });
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    if (!this.active) return;
    if (chosen || !this.busy()) this.draw();
    const every = Math.max(MIN_REFRESH_MS, (this.data?.interval ?? 10) * 1000);
    this.timer = setTimeout(() => this.refresh(), document.hidden ? every * 3 : every);
  }

  draw() {
    const data = this.data;
    this.drawn = this.body.clientWidth;
    const kept = data?.window ?? DEFAULT_WINDOW;
    const offered = WINDOWS.filter(([s]) => s < kept);
    if (!offered.some(([s]) => s === kept)) offered.push([kept, windowName(kept)]);
    const key = offered.map(([s]) => s).join();
    if (this.windowSelect.dataset.offered !== key) {
      this.windowSelect.dataset.offered = key;
      replaceChildren(this.windowSelect, ...offered.map(([s, name]) => h("option", { value: String(s), text: `Last ${name}` })));
    }
    this.windowSelect.value = String(Math.min(this.window, kept));
    if (this.error) setText(this.status, `Could not read the series: ${this.error}`);
    else if (!data) setText(this.status, "Loading…");
    else if (!data.times.length) setText(this.status, "Collecting the first sample…");
    else setText(this.status, `A sample every ${formatValue(data.interval)} s${data.backfilled ? "; counts before the server started come from history" : ""}.`);
    if (!data) return;
    const end = data.now;
    const start = end - Math.min(this.window, kept);
    const frame = { times: data.times, start, end };
    // Gauges have no history: their charts begin at the first sample that knows them.
    const first = firstKnown(data);
    const gaugeFrame = { ...frame, first, start: Math.min(end - MIN_GAUGE_SPAN, Math.max(start, first ?? start)) };
    const span = windowName(Math.min(this.window, kept));
    // Tables someone opened stay open through the redraw.
    const open = new Set([...this.body.querySelectorAll("[data-chart]:has(> details[open])")].map((card) => card.dataset.chart));
    this.body.style.gridTemplateColumns = `repeat(${this.columns()}, minmax(0, 1fr))`;
    replaceChildren(this.body, this.events(data, frame, span), this.jobs(data, frame, span), this.states(data, gaugeFrame), this.queues(data, gaugeFrame));
    for (const card of this.body.querySelectorAll("[data-chart]")) {
      if (open.has(card.dataset.chart)) card.querySelector(":scope > details")?.setAttribute("open", "");
    }
  }

  /** Whether someone is choosing in the charts (a redraw now would close their list). */
  busy() {
    return this.body.contains(document.activeElement) && document.activeElement.tagName === "SELECT";
  }

  /** "since HH:MM" when a gauge chart starts after the window does. */
  since(frame) {
    if (frame.first === null || frame.first <= frame.end - Math.min(this.window, this.data?.window ?? DEFAULT_WINDOW) + 1) return null;
    return h("p", { class: "muted chart-since", text: `Since ${clockLabel(frame.first)}: counted from the server's start, no history before.` });
  }

  card(title, id, ...children) {
    return h("section", { class: "chart-card", dataset: { chart: id }, attrs: { "aria-label": title } }, h("h3", { text: title }), ...children);
  }

  /** Cards side by side: three from 960 px, two from 620 px. */
  columns() {
    const width = this.body.clientWidth;
    return width >= 960 ? 3 : width >= 620 ? 2 : 1;
  }

  /** Pixels a chart has: in a card of one column, or of the whole row. */
  width(whole = false) {
    const columns = whole ? 1 : this.columns();
    return Math.max(240, Math.floor((this.body.clientWidth - (columns - 1) * 12) / columns) - 30);
  }

  events(data, frame, span) {
    const values = data.events_per_second;
    const { now, max } = summary(values);
    const total = data.totals.transitions;
    const label = `Events per second: ${formatValue(now)} now, ${formatValue(max)} at most, ${total} transitions in the last ${span}`;
    return this.card(
      "Events per second",
      "events",
      h("p", { class: "chart-caption", text: `${formatValue(now)}/s now · ${total} transitions in the last ${span}` }),
      lineChart({ ...frame, width: this.width(), height: CHART_HEIGHT, label, series: [{ label: "transitions/s", values, cls: "c-events", area: true }] }),
      table(`Transitions per second, last ${span}`, ["", "now", "max", "total"], [["transitions", now, max, total]]),
    );
  }

  jobs(data, frame, span) {
    const { minutes, completed, failed } = data.jobs_per_minute;
    const done = summary(completed);
    const broke = summary(failed);
    const label = `Jobs per minute: ${data.totals.completed} completed and ${data.totals.failed} failed in the last ${span}; at most ${formatValue(done.max)} completed and ${formatValue(broke.max)} failed in a minute`;
    return this.card(
      "Jobs per minute",
      "jobs",
      h(
        "p",
        { class: "chart-caption" },
        h("span", { class: data.totals.completed ? "ok-text" : "", text: `${data.totals.completed} completed` }),
        " · ",
        h("span", { class: data.totals.failed ? "error-text" : "", text: `${data.totals.failed} failed` }),
        ` in the last ${span}`,
      ),
      lineChart({
        ...frame,
        width: this.width(),
        height: CHART_HEIGHT,
        integer: true,
        label,
        series: [
          { label: "completed", values: completed, times: minutes, cls: "c-completed", bars: { seconds: 60, index: 0, of: 2 } },
          { label: "failed", values: failed, times: minutes, cls: "c-failed", bars: { seconds: 60, index: 1, of: 2 } },
        ],
      }),
      legend([
        ["c-completed", "completed"],
        ["c-failed", "failed (retried or dead)"],
      ]),
      table(`Job attempts per minute, last ${span}`, ["", "this minute", "max /min", "total"], [
        ["completed", done.now, done.max, data.totals.completed],
        ["failed", broke.now, broke.max, data.totals.failed],
      ]),
    );
  }

  queues(data, frame) {
    const rows = queueOrder(data.queues);
    const shown = rows.slice(0, MAX_QUEUES);
    const perRow = Math.min(shown.length || 1, this.body.clientWidth >= 900 ? 3 : this.body.clientWidth >= 560 ? 2 : 1);
    const items = shown.map((row) => {
      const unserved = row.pending > 0 && row.consumers === 0;
      const text = `${row.type}: ${row.pending} pending, ${row.consumers} consumer${row.consumers === 1 ? "" : "s"}`;
      const counts = ` ${row.pending} pending · ${row.processing} running · ${row.consumers} consumer${row.consumers === 1 ? "" : "s"}${unserved ? " — nobody takes them" : ""}`;
      return h(
        "div",
        { class: "queue-chart", dataset: { jobType: row.type, unserved: String(unserved) } },
        h(
          "h4",
          { title: `${row.type}:${counts}` }, // cut short when three charts share a row
          h("span", { class: "mono", text: row.type }),
          h("span", { class: unserved ? "queue-alert" : "muted", text: counts }),
        ),
        lineChart({
          ...frame,
          width: Math.max(200, Math.floor((this.width(true) - (perRow - 1) * 12) / perRow)),
          height: QUEUE_HEIGHT,
          integer: true,
          label: text,
          series: [
            { label: "pending", values: row.parts.pending, cls: "c-pending", area: true },
            { label: "consumers", values: row.parts.consumers, cls: "c-consumers" },
          ],
        }),
      );
    });
    return this.card(
      "Queue depth and live consumers",
      "queues",
      rows.length ? this.since(frame) : null,
      rows.length ? h("div", { class: "queue-charts", attrs: { style: `grid-template-columns: repeat(${perRow}, minmax(0, 1fr))` } }, ...items) : h("p", { class: "empty", text: "No job type has jobs waiting, running or a live consumer." }),
      rows.length > shown.length ? h("p", { class: "muted", text: `${rows.length - shown.length} more job types in the table.` }) : null,
      rows.length ? legend([["c-pending", "pending jobs"], ["c-consumers", "live consumers"]]) : null,
      rows.length ? table("Jobs per type now", ["job type", "pending", "running", "consumers"], rows.map((r) => [r.type, r.pending, r.processing, r.consumers])) : null,
    );
  }

  states(data, frame) {
    const select = h("select", {
      class: "charts-config",
      attrs: { "aria-label": "Config" },
      on: {
        change: () => {
          this.config = select.value || null;
          this.refresh(true);
        },
      },
    });
    replaceChildren(select, ...data.configs.map((name) => h("option", { value: name, text: name })));
    if (data.config) select.value = data.config;
    const states = Object.entries(data.states).map(([state, values]) => ({ state, values, ...summary(values) }));
    states.sort((a, b) => a.state.localeCompare(b.state));
    // The busiest states are drawn, by name: each keeps its colour from one refresh to the next.
    const busiest = new Set([...states].sort((a, b) => (b.max ?? 0) - (a.max ?? 0)).slice(0, MAX_STATES));
    const drawn = states.filter((s) => busiest.has(s));
    const label = `Instances of ${data.config ?? "no config"} per state now: ${states.map((s) => `${s.state} ${formatValue(s.now)}`).join(", ") || "none"}`;
    return this.card(
      "Instances per state",
      "states",
      h("div", { class: "chart-caption" }, data.configs.length ? h("label", {}, "Config ", select) : null),
      states.length ? this.since(frame) : null,
      states.length
        ? lineChart({
            ...frame,
            width: this.width(),
            height: CHART_HEIGHT,
            integer: true,
            stack: true,
            label,
            series: drawn.map((s, i) => ({ label: s.state, values: s.values, cls: `c-state-${i}` })),
          })
        : h("p", { class: "empty", text: "No running instances to count." }),
      states.length ? legend(drawn.map((s, i) => [`c-state-${i}`, `${s.state} (${formatValue(s.now)})`])) : null,
      states.length ? table(`Instances of ${data.config} per state`, ["state", "now", "max"], states.map((s) => [s.state, s.now, s.max])) : null,
    );
  }
}

/**
 * The Charts view behind `toggle` (a button) and the `#charts` link. `onClose` runs when
 * the view closes (the machines view's hash comes back).
 */
export function installCharts({ toggle, host, onClose }) {
  const view = new ChartsView(host);
  let shown = false;
  function show(on) {
    if (on === shown) return;
    shown = on;
    host.hidden = !on;
    document.body.dataset.charts = on ? "open" : "closed";
    toggle.setAttribute("aria-pressed", String(on));
    for (const node of document.querySelectorAll("main.main, #activity")) node.toggleAttribute("inert", on);
    view.setActive(on);
    if (on && location.hash !== "#charts") history.replaceState(null, "", "#charts");
    if (!on && location.hash === "#charts") history.replaceState(null, "", location.pathname + location.search);
    if (!on) onClose();
  }
  toggle.addEventListener("click", () => show(!shown));
  // A machine chosen in the list is shown: the charts give way.
  document.getElementById("machines")?.addEventListener("click", (event) => {
    if (event.target.closest?.(".tab")) show(false);
  });
  window.addEventListener("hashchange", () => show(location.hash === "#charts"));
  show(location.hash === "#charts");
  return { shown: () => shown, show };
}
