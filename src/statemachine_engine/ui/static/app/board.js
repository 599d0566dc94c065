// The Kanban board: one column per state group (a state without a group has a column of
// its own), one card per instance. Cards are kept and moved between columns, never
// rebuilt, so 200 instances moving at once cost little. Dead instances leave their work
// column for a lane of their own, first: they do no work, and they are what to look at.

import { h, setClass, setText } from "./dom.js";
import { ago, dateTime, restartsText } from "./format.js";
import { deadText, healthOf } from "./health.js";
import { compareNames, NOT_RUNNING } from "./model.js";

/**
 * The board's columns for a config's metadata: groups and ungrouped states in config
 * order. Returns {columns: [{key, label, states}], columnOf: Map state -> key}.
 */
export function boardColumns(metadata) {
  const columns = [];
  const columnOf = new Map();
  const byKey = new Map();
  for (const state of metadata?.states ?? []) {
    const key = state.group ? `g:${state.group}` : `s:${state.name}`;
    let column = byKey.get(key);
    if (!column) {
      column = { key, label: state.group ?? state.name, grouped: Boolean(state.group), states: [] };
      byKey.set(key, column);
      columns.push(column);
    }
    column.states.push(state.name);
    columnOf.set(state.name, key);
  }
  return { columns, columnOf };
}

export class BoardView {
  /** `onSelect(name)` is called when a card is chosen. */
  constructor(container, { onSelect }) {
    this.container = container;
    this.onSelect = onSelect;
    this.tabKey = null;
    this.layout = { columns: [], columnOf: new Map() };
    this.columns = new Map(); // key -> {root, list, count}
    this.cards = new Map(); // name -> {root, ...}
    this.selected = null;
    this.root = h("div", { class: "board", attrs: { role: "list", "aria-label": "Kanban board" } });
  }

  /** Build the columns of a tab (metadata may be null: columns then follow the machines). */
  show(tab, metadata, machines, selected) {
    this.tabKey = tab.key;
    this.layout = boardColumns(metadata);
    this.columns.clear();
    this.cards.clear();
    this.root.replaceChildren();
    for (const column of this.layout.columns) this.addColumn(column.key, column.label, column.states);
    if (!this.root.isConnected) this.container.replaceChildren(this.root);
    this.selected = selected;
    this.update(machines);
  }

  addColumn(key, label, states = []) {
    const count = h("span", { class: "count", text: "0" });
    const list = h("div", { class: "cards" });
    const title = states.length > 1 || (states.length === 1 && states[0] !== label) ? states.join(", ") : "";
    const root = h(
      "section",
      { class: "column", dataset: { column: label }, attrs: { role: "listitem", "aria-label": label } },
      h("header", { title }, h("span", { class: "column-title", text: label }), count),
      list,
    );
    const column = { root, list, count, label };
    this.columns.set(key, column);
    this.root.append(root);
    return column;
  }

  columnFor(machine) {
    if (machine.status === "dead") {
      const lane = this.columns.get("x:dead") ?? this.addColumn("x:dead", "dead");
      lane.root.classList.add("lane-dead");
      if (this.root.firstChild !== lane.root) this.root.prepend(lane.root);
      return lane;
    }
    // A machine its system should run but does not: a column of its own, on the right.
    if (machine.status === NOT_RUNNING) {
      return this.columns.get(`x:${NOT_RUNNING}`) ?? this.addColumn(`x:${NOT_RUNNING}`, NOT_RUNNING);
    }
    const key = this.layout.columnOf.get(machine.state);
    if (key) return this.columns.get(key);
    // Unknown to the metadata (or no metadata): the machine's group, else its state.
    const label = machine.group ?? machine.state ?? "?";
    const dynamicKey = machine.group ? `g:${label}` : `s:${label}`;
    return this.columns.get(dynamicKey) ?? this.addColumn(dynamicKey, label, [label]);
  }

  /**
   * Place and refresh the cards of `machines` (all of the tab's machines); when `changed`
   * (a Set of names) is given, only those cards are refreshed.
   */
  update(machines, changed = null) {
    const names = new Set();
    const touched = new Set();
    for (const machine of machines) {
      names.add(machine.name);
      let card = this.cards.get(machine.name);
      if (card && changed && !changed.has(machine.name)) continue;
      if (!card) {
        card = this.createCard(machine.name);
        this.cards.set(machine.name, card);
      }
      this.fillCard(card, machine);
      const column = this.columnFor(machine);
      if (card.column !== column) {
        if (card.column) touched.add(card.column);
        insertSorted(column.list, card.root);
        card.column = column;
        touched.add(column);
        flash(card.root);
      }
    }
    for (const [name, card] of this.cards) {
      if (!names.has(name)) {
        card.root.remove();
        touched.add(card.column);
        this.cards.delete(name);
      }
    }
    for (const column of touched) {
      if (!column) continue;
      setText(column.count, column.list.childElementCount);
      if (column.root.classList.contains("lane-dead")) column.root.hidden = column.list.childElementCount === 0;
    }
  }

  select(name) {
    this.selected = name;
    for (const [cardName, card] of this.cards) setClass(card.root, "selected", cardName === name);
  }

  /** Refresh the "time in state" of every card (once a second). */
  tick(machines) {
    for (const machine of machines) {
      const card = this.cards.get(machine.name);
      if (card && machine.last_activity) setText(card.since, sinceText(machine));
    }
  }

  createCard(name) {
    const dot = h("span", { class: "dot" });
    const state = h("span", { class: "state-chip" });
    const since = h("span", { class: "since" });
    const root = h(
      "button",
      {
        type: "button",
        class: "card",
        dataset: { machine: name },
        on: { click: () => this.onSelect(name) },
      },
      h("span", { class: "card-top" }, dot, h("span", { class: "card-name", text: name })),
      h("span", { class: "card-bottom" }, state, since),
    );
    setClass(root, "selected", name === this.selected);
    return { root, dot, state, since, column: null };
  }

  fillCard(card, machine) {
    card.root.dataset.status = machine.status;
    card.root.dataset.health = healthOf(machine);
    card.root.dataset.state = machine.state ?? "";
    card.root.title = `${machine.name}: ${machine.state} (${machine.status}) since ${dateTime(machine.last_activity)}${restartsText(machine, ", ")}`;
    setText(card.state, machine.state || machine.status);
    setText(card.since, machine.last_activity ? sinceText(machine) : restartsText(machine));
    setClass(card.root, "selected", machine.name === this.selected);
  }
}

/** A card's time: since when a dead one's process is gone, else its last activity. */
function sinceText(machine) {
  return machine.status === "dead" ? deadText(machine) : ago(machine.last_activity);
}

/** Briefly tint a card that just moved (no forced layout, unlike restarting a CSS animation). */
function flash(card) {
  if (!card.animate || window.matchMedia?.("(prefers-reduced-motion: reduce)").matches) return;
  card.animate([{ backgroundColor: "var(--accent-soft)" }, { backgroundColor: "var(--surface)" }], {
    duration: 800,
    easing: "ease-out",
  });
}

function insertSorted(list, card) {
  const name = card.dataset.machine;
  for (const other of list.children) {
    if (other !== card && compareNames(name, other.dataset.machine) < 0) {
      list.insertBefore(card, other);
      return;
    }
  }
  list.append(card);
}
