// The activity log: what machines say (log actions, errors, jobs, registrations), newest
// first, levels coloured, filtered by machine (or template) and level.

import { h, replaceChildren } from "./dom.js";
import { clock, dateTime } from "./format.js";
import { compareNames, templateOf } from "./model.js";

/** Most rows in the page (older ones stay in memory for a filter change). */
export const ACTIVITY_ROWS = 400;

/** Does `entry` pass the machine filter (`""`: all; `m:NAME`; `t:TEMPLATE`)? */
export function matchesMachine(entry, filter) {
  if (!filter) return true;
  if (filter.startsWith("m:")) return entry.machine === filter.slice(2);
  if (filter.startsWith("t:")) return templateOf(entry.machine) === filter.slice(2);
  return true;
}

export class ActivityView {
  constructor(root, model) {
    this.model = model;
    this.machineFilter = "";
    this.showTransitions = false;
    this.pending = [];
    this.select = h("select", {
      class: "machine-filter",
      attrs: { "aria-label": "Show activity of" },
      on: {
        change: () => {
          this.machineFilter = this.select.value;
          this.rebuild();
          this.onFilter?.(this.machineFilter); // the page keeps it in its URL
        },
      },
    });
    this.transitions = h("input", {
      type: "checkbox",
      on: {
        change: () => {
          this.showTransitions = this.transitions.checked;
          this.rebuild();
        },
      },
    });
    this.list = h("ol", { class: "activity", attrs: { "aria-live": "off", "aria-label": "Activity log" } });
    this.empty = h("p", { class: "empty", text: "No activity yet." });
    root.replaceChildren(
      h(
        "div",
        { class: "panel-head" },
        h("h2", { text: "Activity" }),
        this.select,
        h("label", { class: "toggle", title: "Also list state changes" }, this.transitions, " transitions"),
      ),
      h("div", { class: "panel-body" }, this.list, this.empty),
    );
    this.updateFilterOptions();
  }

  visible(entry) {
    if (entry.level === "transition" && !this.showTransitions) return false;
    return matchesMachine(entry, this.machineFilter);
  }

  /** The machine filter's options: every machine and every template seen. */
  updateFilterOptions() {
    const names = new Set(this.model.machines.keys());
    for (const entry of this.model.activity) names.add(entry.machine);
    const templates = new Set([...names].map(templateOf).filter(Boolean));
    const wanted = [
      ["", "All machines"],
      ...[...templates].sort(compareNames).map((t) => [`t:${t}`, `${t}_* (all instances)`]),
      ...[...names].sort(compareNames).map((n) => [`m:${n}`, n]),
    ];
    const current = [...this.select.options].map((o) => o.value);
    if (current.length === wanted.length && current.every((v, i) => v === wanted[i][0])) return;
    const value = this.select.value;
    this.select.replaceChildren(...wanted.map(([v, label]) => h("option", { value: v, text: label })));
    this.select.value = wanted.some(([v]) => v === value) ? value : "";
  }

  /** Choose the machine filter (from the page: "show this machine's activity"). */
  filterBy(value) {
    this.updateFilterOptions();
    this.select.value = value;
    this.machineFilter = this.select.value;
    this.rebuild();
  }

  rebuild() {
    const rows = [];
    for (let i = this.model.activity.length - 1; i >= 0 && rows.length < ACTIVITY_ROWS; i--) {
      const entry = this.model.activity[i];
      if (this.visible(entry)) rows.push(this.row(entry));
    }
    replaceChildren(this.list, ...rows);
    this.empty.hidden = rows.length > 0;
  }

  /** New entries (called once per frame with what arrived since the last one). */
  add(entries) {
    const rows = entries.filter((e) => this.visible(e)).map((e) => this.row(e));
    if (rows.length) {
      this.list.prepend(...rows.reverse());
      while (this.list.childElementCount > ACTIVITY_ROWS) this.list.lastElementChild.remove();
      this.empty.hidden = true;
    }
  }

  row(entry) {
    return h(
      "li",
      { class: `entry level-${entry.level}`, dataset: { machine: entry.machine, level: entry.level, type: entry.type } },
      h("time", { text: clock(entry.timestamp, { millis: true }), title: dateTime(entry.timestamp) }),
      h("span", { class: "level", text: entry.level === "transition" ? "state" : entry.level }),
      h("span", { class: "machine", text: entry.machine }),
      h("span", { class: "message", text: entry.text }),
    );
  }
}
