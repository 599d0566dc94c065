// The activity log: what machines say (log actions, errors, jobs, registrations, a bash
// command's output), newest first, levels coloured. Filters: machine or template (a
// searchable picker), level, text. Scrolled down to read, it pauses: what arrives waits
// behind an "N new" button. A filter also asks the store for older entries (pages of
// GET /api/activity), so a reload or a machine quiet for long still shows its lines.

import {
  filtering,
  identityOf,
  LEVEL_CHOICES,
  matches,
  matchesMachine,
  mergeNewestFirst,
  storeQuery,
} from "./activity_filter.js";
import { api } from "./api.js";
import { h, replaceChildren, setText } from "./dom.js";
import { clock, dateTime } from "./format.js";
import { MachinePicker } from "./machine_picker.js";
import { activityEntry, compareNames, templateOf } from "./model.js";

export { matchesMachine };

/** Most rows in the page (older ones stay in memory for a filter change). */
export const ACTIVITY_ROWS = 400;
/** Entries asked of the store per page. */
export const STORE_PAGE = 200;
/** Answers asked for at most at once while few entries match. */
const STORE_ROUNDS = 5;
/** Scrolled further than this from the top (px), the log pauses. */
const PAUSE_AT_PX = 24;
/** Most entries waiting behind "N new" (the count goes on). */
const HELD_KEPT = 2000;

export class ActivityView {
  constructor(root, model) {
    this.model = model;
    this.machineFilter = "";
    this.level = "";
    this.text = "";
    this.showTransitions = false;
    this.held = [];
    this.heldCount = 0;
    this.stored = []; // entries read back from the store for the current filter
    this.before = null; // where older entries go on in the store (null: no more)
    this.request = 0;
    this.picker = new MachinePicker({
      label: "Show activity of",
      choices: () => this.choices(),
      onChange: (value) => this.setMachine(value),
    });
    this.levelSelect = h(
      "select",
      {
        class: "level-filter",
        attrs: { "aria-label": "Level" },
        on: {
          change: () => {
            this.level = this.levelSelect.value;
            this.filterChanged();
          },
        },
      },
      ...LEVEL_CHOICES.map(([value, label]) => h("option", { value, text: label })),
    );
    let typing = null;
    this.search = h("input", {
      type: "search",
      class: "activity-search",
      placeholder: "Search…",
      attrs: { "aria-label": "Search the activity" },
      on: {
        input: () => {
          clearTimeout(typing);
          typing = setTimeout(() => {
            this.text = this.search.value.trim();
            this.filterChanged();
          }, 250);
        },
      },
    });
    this.transitions = h("input", {
      type: "checkbox",
      on: {
        change: () => {
          this.showTransitions = this.transitions.checked;
          this.filterChanged();
        },
      },
    });
    this.newButton = h("button", {
      type: "button",
      class: "new-entries",
      hidden: true,
      on: { click: () => this.resume() },
    });
    this.list = h("ol", { class: "activity", attrs: { "aria-live": "off", "aria-label": "Activity log" } });
    this.empty = h("p", { class: "empty", text: "No activity yet." });
    this.status = h("p", { class: "activity-status muted", attrs: { role: "status" } });
    this.older = h("button", {
      type: "button",
      class: "button older",
      text: "Load older entries",
      hidden: true,
      on: { click: () => this.fetchOlder() },
    });
    this.body = h("div", { class: "panel-body" }, this.newButton, this.list, this.empty, this.status, this.older);
    this.body.addEventListener("scroll", () => {
      if (!this.paused() && this.heldCount) this.resume();
    });
    root.replaceChildren(
      h(
        "div",
        { class: "panel-head activity-head" },
        h("h2", { text: "Activity" }),
        this.picker.root,
        h("label", { class: "toggle", title: "Also list state changes" }, this.transitions, " transitions"),
        h("div", { class: "activity-filters" }, this.levelSelect, this.search),
      ),
      this.body,
    );
  }

  get filter() {
    return { machine: this.machineFilter, level: this.level, text: this.text, transitions: this.showTransitions };
  }

  visible(entry) {
    return matches(entry, this.filter);
  }

  /** The picker's choices: everything, every template, every machine seen. */
  choices() {
    const names = new Set(this.model.machines.keys());
    for (const entry of this.model.activity) names.add(entry.machine);
    const templates = new Set([...names].map(templateOf).filter(Boolean));
    return [
      { value: "", label: "All machines" },
      ...[...templates].sort(compareNames).map((t) => ({ value: `t:${t}`, label: `${t}_* (all instances)` })),
      ...[...names].sort(compareNames).map((n) => ({ value: `m:${n}`, label: n })),
    ];
  }

  /** Kept for the page: the picker lists machines when it opens, nothing to refresh. */
  updateFilterOptions() {
    if (!this.picker.box.hidden) this.picker.fill();
  }

  /** Choose the machine filter (from the page: its URL, "show this machine's activity"). */
  filterBy(value) {
    this.picker.set(value);
    this.machineFilter = value.startsWith("m:") || value.startsWith("t:") ? value : "";
    this.filterChanged({ quiet: true });
  }

  setMachine(value) {
    this.machineFilter = value;
    this.filterChanged();
  }

  filterChanged({ quiet = false } = {}) {
    this.stored = [];
    this.before = null;
    this.request += 1;
    this.rebuild();
    if (!quiet) this.onFilter?.(this.machineFilter); // the page keeps it in its URL
    if (filtering(this.filter)) this.fetchOlder();
  }

  /** What memory holds for the filter, newest first. */
  liveMatches() {
    const rows = [];
    for (let i = this.model.activity.length - 1; i >= 0 && rows.length < ACTIVITY_ROWS; i--) {
      const entry = this.model.activity[i];
      if (this.visible(entry)) rows.push(entry);
    }
    return rows;
  }

  rebuild() {
    this.held = [];
    this.heldCount = 0;
    this.newButton.hidden = true;
    const entries = this.stored.length ? mergeNewestFirst(this.liveMatches(), this.stored) : this.liveMatches();
    replaceChildren(this.list, ...entries.map((e) => this.row(e)));
    this.empty.hidden = entries.length > 0;
    setText(this.empty, filtering(this.filter) ? "Nothing matches (yet)." : "No activity yet.");
  }

  /** Scrolled down to read older lines: new ones wait. */
  paused() {
    return this.body.scrollTop > PAUSE_AT_PX;
  }

  /** New entries (called once per frame with what arrived since the last one). */
  add(entries) {
    const fresh = entries.filter((e) => this.visible(e));
    if (!fresh.length) return;
    if (this.paused()) {
      this.held.push(...fresh);
      if (this.held.length > HELD_KEPT) this.held.splice(0, this.held.length - HELD_KEPT);
      this.heldCount += fresh.length;
      this.newButton.hidden = false;
      setText(this.newButton, `↑ ${this.heldCount} new`);
      return;
    }
    this.list.prepend(...fresh.map((e) => this.row(e)).reverse());
    const keep = ACTIVITY_ROWS + this.stored.length;
    while (this.list.childElementCount > keep) this.list.lastElementChild.remove();
    this.empty.hidden = true;
  }

  /** Back to the newest: what waited is shown. */
  resume() {
    const held = this.held;
    this.held = [];
    this.heldCount = 0;
    this.newButton.hidden = true;
    this.body.scrollTop = 0;
    this.add(held);
  }

  /** Ask the store for entries older than those shown (for the filter chosen); a rare
   *  match far back takes a few answers (each scans a bounded part of the log). */
  async fetchOlder() {
    const request = this.request;
    setText(this.status, "Reading older entries from the store…");
    this.older.hidden = true;
    const found = [];
    for (let round = 0; round < STORE_ROUNDS && found.length < STORE_PAGE / 4; round++) {
      const query = { ...storeQuery(this.filter), limit: STORE_PAGE };
      if (this.before !== null) query.before_id = this.before;
      let answer;
      try {
        answer = await api.activity(query);
      } catch (error) {
        if (request === this.request) setText(this.status, `Could not read older entries: ${error.message}`);
        return;
      }
      if (request !== this.request) return;
      const known = new Set([...this.stored, ...found, ...this.liveMatches()].map(identityOf));
      found.push(...answer.events.map(activityEntry).filter((e) => e && !known.has(identityOf(e)) && this.visible(e)));
      this.before = answer.before;
      if (answer.before === null) break;
    }
    this.stored.push(...found);
    this.older.hidden = this.before === null;
    setText(this.status, this.before === null ? "The store holds nothing older." : "");
    if (found.length) {
      const atTop = !this.paused();
      const scroll = this.body.scrollTop;
      this.rebuild();
      if (!atTop) this.body.scrollTop = scroll;
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
