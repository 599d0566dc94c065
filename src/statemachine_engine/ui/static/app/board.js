// The Kanban board: one column per state group (a state without a group has a column of
// its own), one card per instance. Cards are kept and moved between columns, never
// rebuilt, so 200 instances moving at once cost little. Dead instances leave their work
// column for a lane of their own, first: they do no work, and they are what to look at.

import { boardToolbar, COMPACT_FROM, compareCards, shortName, stateCounts } from "./board_order.js";
import { h, replaceChildren, setClass, setText } from "./dom.js";
import { ago, dateTime, restartsText } from "./format.js";
import { deadText, healthOf } from "./health.js";
import { NOT_RUNNING } from "./model.js";

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
  constructor(container, { onSelect, toolsHost = null }) {
    this.container = container;
    this.onSelect = onSelect;
    this.tabKey = null;
    this.layout = { columns: [], columnOf: new Map() };
    this.columns = new Map(); // key -> {root, list, count}
    this.cards = new Map(); // name -> {root, ...}
    this.selected = null;
    this.root = h("div", { class: "board", attrs: { role: "list", "aria-label": "Kanban board" } });
    this.sort = "name";
    this.compactChoice = new Map(); // tab key -> the operator's choice (else by size)
    this.toolsHost = toolsHost; // where the compact and sort controls go (default: above)
    this.tools = boardToolbar({
      onCompact: (on) => {
        this.compactChoice.set(this.tabKey, on);
        setClass(this.root, "compact", on);
      },
      onSort: (sort) => {
        this.sort = sort;
        this.resort();
      },
    });
  }

  /** Build the columns of a tab (metadata may be null: columns then follow the machines). */
  show(tab, metadata, machines, selected) {
    this.tabKey = tab.key;
    this.layout = boardColumns(metadata);
    this.columns.clear();
    this.cards.clear();
    this.root.replaceChildren();
    for (const column of this.layout.columns) this.addColumn(column.key, column.label, column.states);
    if (!this.root.isConnected) {
      this.container.replaceChildren(this.root);
      (this.toolsHost ?? this.container).prepend(this.tools.root);
    }
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
      states.length > 1 ? h("div", { class: "column-states" }) : null,
      list,
    );
    const column = { root, list, count, label, states: root.querySelector(".column-states") };
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
      const before = card.root.dataset.state;
      this.fillCard(card, machine);
      const column = this.columnFor(machine);
      if (column === card.column && column.states && before !== card.root.dataset.state) touched.add(column);
      if (card.column !== column) {
        if (card.column) touched.add(card.column);
        insertSorted(column.list, card, this.sort);
        card.column = column;
        touched.add(column);
        if (this.cards.size <= COMPACT_FROM) flash(card.root); // hundreds flashing: all paint
      }
    }
    for (const [name, card] of this.cards) {
      if (!names.has(name)) {
        card.root.remove();
        touched.add(card.column);
        this.cards.delete(name);
      }
    }
    // Unless the operator chose, the grid turns compact as instances grow many.
    const compact = this.compactChoice.get(this.tabKey) ?? this.cards.size > COMPACT_FROM;
    if (this.tools.compact.checked !== compact) this.tools.compact.checked = compact;
    setClass(this.root, "compact", compact);
    for (const column of touched) {
      if (!column) continue;
      setText(column.count, column.list.childElementCount);
      if (column.states) this.countStates(column);
      if (column.root.classList.contains("lane-dead")) column.root.hidden = column.list.childElementCount === 0;
    }
  }

  /** Show or hide the board's controls with the board. */
  setVisible(visible) {
    this.tools.root.hidden = !visible;
  }

  select(name) {
    this.selected = name;
    for (const [cardName, card] of this.cards) setClass(card.root, "selected", cardName === name);
  }

  /** Refresh the "time in state" of every card (once a second), and its order by it. */
  tick(machines) {
    for (const machine of machines) {
      const card = this.cards.get(machine.name);
      if (card && machine.last_activity) setText(card.since, sinceText(machine));
    }
    if (this.sort === "time") this.resort();
  }

  /** Put each column's cards in the order chosen (moving only those out of place). */
  resort() {
    for (const column of this.columns.values()) {
      const cards = [...column.list.children].map((root) => this.cards.get(root.dataset.machine)).filter(Boolean);
      const sorted = [...cards].sort((a, b) => compareCards(this.sort, a, b));
      if (sorted.every((card, i) => card === cards[i])) continue;
      column.list.append(...sorted.map((card) => card.root));
    }
  }

  /** A column of several states: how many cards are in each. */
  countStates(column) {
    const counts = stateCounts([...column.list.children].map((card) => card.dataset.state));
    replaceChildren(
      column.states,
      ...counts.map(([state, n]) => h("span", { class: "state-count", dataset: { state } }, `${state} `, h("b", { text: n }))),
    );
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
      h("span", { class: "card-top" }, dot, h("span", { class: "card-name", text: name, dataset: { short: shortName(name) } })),
      h("span", { class: "card-bottom" }, state, since),
    );
    setClass(root, "selected", name === this.selected);
    return { root, dot, state, since, column: null, name, at: null };
  }

  fillCard(card, machine) {
    card.at = machine.last_activity ?? null;
    card.root.dataset.at = String(card.at ?? "");
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

function insertSorted(list, card, sort) {
  // Most cards move into a column as the newest in their state: with the time order,
  // from the end.
  const children = list.children;
  if (sort === "time") {
    let at = children.length;
    while (at > 0 && compareCards(sort, card, cardOf(children[at - 1])) < 0) at -= 1;
    list.insertBefore(card.root, children[at] ?? null);
    return;
  }
  for (const other of children) {
    if (other !== card.root && compareCards(sort, card, cardOf(other)) < 0) {
      list.insertBefore(card.root, other);
      return;
    }
  }
  list.append(card.root);
}

/** What the order needs of a card already placed (its element keeps it). */
function cardOf(root) {
  return { name: root.dataset.machine, at: Number.parseFloat(root.dataset.at) || null };
}
