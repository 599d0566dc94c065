// The machines list: one entry per tab (a unique machine, or a template's instances with
// their count), with state, group, config and liveness, grouped by health, worst first
// (dead, not running, stale, stuck, running; finished folded). Arrow keys move the selection.

import { h, setClass, setText } from "./dom.js";
import { ago, restartsText } from "./format.js";
import { HEALTH_ORDER, matchesFilter, statusSummary, worstHealth } from "./health.js";
import { NOT_RUNNING } from "./model.js";

const GROUP_LABELS = {
  dead: "Dead",
  [NOT_RUNNING]: "Not running",
  stale: "Stale",
  stuck: "Stuck",
  running: "Running",
  finished: "Finished",
};

export class Sidebar {
  constructor(root, { onSelect }) {
    this.root = root;
    this.onSelect = onSelect;
    this.filter = "";
    this.items = new Map(); // tab key -> {root, ...}
    this.selected = null;
    this.foldFinished = true;
    this.heads = new Map(); // health -> {li, button, count}
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
          this.onFilter?.(this.filter);
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

  /** Filter by `text` (a top-bar count chooses its health word). */
  setFilter(text) {
    this.input.value = text;
    this.filter = text.trim().toLowerCase();
    this.render(this.tabs ?? []);
    this.onFilter?.(this.filter);
  }

  focusFilter() {
    this.input.focus();
    this.input.select();
  }

  visibleItems() {
    return [...this.list.children].filter((li) => !li.hidden && li.dataset.tab).map((li) => this.items.get(li.dataset.tab));
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

  /** Draw `tabs` (from buildTabs) grouped by health, reusing entries. */
  render(tabs) {
    this.tabs = tabs;
    const keys = new Set();
    const byHealth = new Map(HEALTH_ORDER.map((health) => [health, []]));
    for (const tab of tabs) byHealth.get(worstHealth(tab.members)).push(tab);
    let previous = null;
    const place = (li) => {
      const wanted = previous ? previous.nextSibling : this.list.firstChild;
      if (wanted !== li) this.list.insertBefore(li, wanted);
      previous = li;
    };
    for (const [health, group] of byHealth) {
      const head = this.head(health);
      const shown = group.filter((tab) => !this.filter || matchesFilter(tab, this.filter));
      head.li.hidden = shown.length === 0;
      setText(head.count, shown.length);
      const folded = health === "finished" && this.foldFinished && !this.filter;
      head.button.setAttribute("aria-expanded", String(!folded));
      place(head.li);
      for (const tab of group) {
        keys.add(tab.key);
        let item = this.items.get(tab.key);
        if (!item) {
          item = this.createItem(tab.key);
          this.items.set(tab.key, item);
        }
        this.fill(item, tab);
        place(item.li);
        item.li.hidden = folded || !shown.includes(tab);
      }
    }
    for (const [key, item] of this.items) {
      if (!keys.has(key)) {
        item.li.remove();
        this.items.delete(key);
      }
    }
    this.empty.hidden = tabs.length > 0;
  }

  /** The heading of a health group (a button folds the finished ones). */
  head(health) {
    let head = this.heads.get(health);
    if (!head) {
      const count = h("span", { class: "group-count" });
      const button = h(
        "button",
        {
          type: "button",
          class: "group-head",
          dataset: { health },
          on: {
            click: () => {
              if (health !== "finished") return;
              this.foldFinished = !this.foldFinished;
              this.render(this.tabs ?? []);
            },
          },
        },
        h("span", { class: "dot", dataset: { status: health } }),
        h("span", { class: "group-label", text: GROUP_LABELS[health] }),
        count,
      );
      if (health !== "finished") button.disabled = true;
      head = { li: h("li", { class: "group", dataset: { group: health } }, button), button, count };
      this.heads.set(health, head);
    }
    return head;
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
      item.dot.dataset.status = worstHealth(members);
    } else {
      const m = members[0];
      setText(item.count, "");
      setText(item.state, m.status === NOT_RUNNING ? NOT_RUNNING : m.group ? `${m.state} · ${m.group}` : m.state);
      item.dot.dataset.status = worstHealth(members);
      item.dot.title = item.dot.dataset.status;
    }
    item.root.dataset.status = item.dot.dataset.status;
    // Instances share their process, so its restarts: the most any of them shows.
    const restarts = restartsText({ restarts: Math.max(...members.map((m) => m.restarts ?? 0)) });
    setText(item.meta, [tab.configName ?? tab.config ?? "", restarts].filter(Boolean).join(" · "));
    const latest = Math.max(...members.map((m) => m.last_activity ?? 0));
    // The summary and config are cut short in a narrow sidebar: the tooltip has them whole.
    item.root.title = [
      tab.label,
      `${tab.templated ? "instances" : "state"}: ${item.state.textContent}`,
      `config: ${tab.config ?? "?"}`,
      `last activity: ${latest ? ago(latest) : "—"}`,
    ].join("\n");
  }
}
