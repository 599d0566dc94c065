// The machines list: one entry per tab (a unique machine, or a template's instances with
// their count), with state, group, config and liveness. Arrow keys move the selection.

import { h, setClass, setText } from "./dom.js";
import { ago, restartsText } from "./format.js";
import { NOT_RUNNING } from "./model.js";

const STATUS_ORDER = ["live", "stale", "dead", NOT_RUNNING, "finished"];

/** "3 live · 1 dead" for a template's instances. */
export function statusSummary(members) {
  const counts = new Map();
  for (const m of members) counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
  return STATUS_ORDER.filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s}`)
    .join(" · ");
}

/** The liveness shown for a template's dot: dead, else not running, else stale, else
 *  live, else finished. */
export function worstStatus(members) {
  for (const status of ["dead", NOT_RUNNING, "stale", "live"]) {
    if (members.some((m) => m.status === status)) return status;
  }
  return "finished";
}

/** Does the filter text appear in the tab's label, config, or a member's name or state? */
export function matchesFilter(tab, filter) {
  const haystack = `${tab.label} ${tab.configName ?? ""} ${tab.config ?? ""} ${tab.members.map((m) => `${m.name} ${m.state}`).join(" ")}`;
  return haystack.toLowerCase().includes(filter);
}

export class Sidebar {
  constructor(root, { onSelect }) {
    this.root = root;
    this.onSelect = onSelect;
    this.filter = "";
    this.items = new Map(); // tab key -> {root, ...}
    this.selected = null;
    this.list = h("ul", { class: "tabs", attrs: { role: "listbox", "aria-label": "Machines" } });
    this.input = h("input", {
      type: "search",
      class: "filter",
      placeholder: "Filter machines  /",
      attrs: { "aria-label": "Filter machines", autocomplete: "off", spellcheck: "false" },
      on: {
        input: () => {
          this.filter = this.input.value.trim().toLowerCase();
          this.render(this.tabs ?? []);
        },
        keydown: (e) => {
          if (e.key === "ArrowDown" || e.key === "Enter") {
            e.preventDefault();
            this.visibleItems()[0]?.root.focus();
          } else if (e.key === "Escape") {
            this.input.value = "";
            this.filter = "";
            this.render(this.tabs ?? []);
            this.input.blur();
          }
        },
      },
    });
    this.empty = h("p", { class: "empty", text: "No machines yet. Start one with `statemachine CONFIG.yaml`." });
    this.root.replaceChildren(this.input, this.list, this.empty);
    this.list.addEventListener("keydown", (e) => this.onKey(e));
  }

  focusFilter() {
    this.input.focus();
    this.input.select();
  }

  visibleItems() {
    return [...this.list.children].filter((li) => !li.hidden).map((li) => this.items.get(li.dataset.tab));
  }

  onKey(event) {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const items = this.visibleItems();
    if (!items.length) return;
    const index = items.findIndex((item) => item.root === document.activeElement);
    let next = index;
    if (event.key === "ArrowDown") next = Math.min(items.length - 1, index + 1);
    if (event.key === "ArrowUp") next = index <= 0 ? -1 : index - 1;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = items.length - 1;
    event.preventDefault();
    if (next === -1) {
      this.input.focus();
      return;
    }
    items[next].root.focus();
    this.onSelect(items[next].key);
  }

  /** Move the selection one tab up or down (keyboard shortcuts outside the list). */
  step(delta) {
    const items = this.visibleItems();
    if (!items.length) return;
    const index = items.findIndex((item) => item.key === this.selected);
    const next = items[Math.max(0, Math.min(items.length - 1, index + delta))];
    next.root.focus();
    this.onSelect(next.key);
  }

  /** Draw `tabs` (from buildTabs), reusing entries. */
  render(tabs) {
    this.tabs = tabs;
    const keys = new Set();
    let previous = null;
    for (const tab of tabs) {
      keys.add(tab.key);
      let item = this.items.get(tab.key);
      if (!item) {
        item = this.createItem(tab.key);
        this.items.set(tab.key, item);
      }
      this.fill(item, tab);
      const wanted = previous ? previous.nextSibling : this.list.firstChild;
      if (wanted !== item.li) this.list.insertBefore(item.li, wanted);
      previous = item.li;
      item.li.hidden = Boolean(this.filter) && !matchesFilter(tab, this.filter);
    }
    for (const [key, item] of this.items) {
      if (!keys.has(key)) {
        item.li.remove();
        this.items.delete(key);
      }
    }
    this.empty.hidden = tabs.length > 0;
  }

  select(key) {
    this.selected = key;
    for (const [itemKey, item] of this.items) {
      setClass(item.root, "selected", itemKey === key);
      item.root.setAttribute("aria-selected", String(itemKey === key));
      item.root.tabIndex = itemKey === key ? 0 : -1;
    }
  }

  createItem(key) {
    const dot = h("span", { class: "dot" });
    const label = h("span", { class: "tab-label" });
    const count = h("span", { class: "tab-count" });
    const state = h("span", { class: "tab-state" });
    const meta = h("span", { class: "tab-meta" });
    const root = h(
      "div",
      {
        class: "tab",
        tabIndex: -1,
        dataset: { tab: key },
        attrs: { role: "option", "aria-selected": "false" },
        on: {
          click: () => this.onSelect(key),
          keydown: (e) => {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault();
              this.onSelect(key);
            }
          },
        },
      },
      h("span", { class: "tab-line" }, dot, label, count),
      h("span", { class: "tab-line sub" }, state, meta),
    );
    const li = h("li", { dataset: { tab: key } }, root);
    return { key, li, root, dot, label, count, state, meta };
  }

  fill(item, tab) {
    const members = tab.members;
    setText(item.label, tab.label);
    item.root.dataset.templated = String(tab.templated);
    if (tab.templated) {
      setText(item.count, `×${members.length}`);
      item.count.title = `${members.length} instances`;
      setText(item.state, statusSummary(members));
      item.dot.dataset.status = worstStatus(members);
    } else {
      const m = members[0];
      setText(item.count, "");
      setText(item.state, m.status === NOT_RUNNING ? NOT_RUNNING : m.group ? `${m.state} · ${m.group}` : m.state);
      item.dot.dataset.status = m.status;
      item.dot.title = m.status;
    }
    item.root.dataset.status = item.dot.dataset.status;
    // Instances share their process, so its restarts: the most any of them shows.
    const restarts = restartsText({ restarts: Math.max(...members.map((m) => m.restarts ?? 0)) });
    setText(item.meta, [tab.configName ?? tab.config ?? "", restarts].filter(Boolean).join(" · "));
    const latest = Math.max(...members.map((m) => m.last_activity ?? 0));
    item.root.title = `${tab.label}\nconfig: ${tab.config ?? "?"}\nlast activity: ${latest ? ago(latest) : "—"}`;
  }
}
