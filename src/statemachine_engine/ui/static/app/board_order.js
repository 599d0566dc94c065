// The board's scale tools: how cards are ordered (by name, or longest in its state
// first), a compact grid for hundreds of instances, the count of each state in a column.
// Pure, apart from the small toolbar it builds.

import { h } from "./dom.js";
import { compareNames } from "./model.js";

/** A tab with more instances than this opens in the compact grid. */
export const COMPACT_FROM = 60;

/** The sort orders: [value, label]. */
export const SORTS = [
  ["name", "Name"],
  ["time", "Time in state"],
];

/** How two cards (`{name, at}`: since when in its state) compare under `sort`. */
export function compareCards(sort, a, b) {
  if (sort === "time") {
    const byTime = (a.at ?? Infinity) - (b.at ?? Infinity);
    if (byTime) return byTime;
  }
  return compareNames(a.name, b.name);
}

/** The short label of an instance in the compact grid: its number (`crawler_017` -> `017`). */
export function shortName(name) {
  const match = /[_-](\d+)$/.exec(name);
  return match ? match[1] : name;
}

/** "fetching 12 · parsing 3": the states of a column's cards, most first. */
export function stateCounts(states) {
  const counts = new Map();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || compareNames(a[0], b[0]));
}

/** The toolbar above the board: a compact-grid switch and the sort order. */
export function boardToolbar({ onCompact, onSort }) {
  const compact = h("input", { type: "checkbox", on: { change: () => onCompact(compact.checked) } });
  const sort = h(
    "select",
    { attrs: { "aria-label": "Sort cards by" }, on: { change: () => onSort(sort.value) } },
    ...SORTS.map(([value, label]) => h("option", { value, text: label })),
  );
  const root = h(
    "div",
    { class: "board-tools" },
    h("label", { class: "toggle", title: "Small tiles: hundreds of instances at a glance" }, compact, " compact grid"),
    h("label", { class: "toggle" }, "sort ", sort),
  );
  return { root, compact, sort };
}
