// What needs the operator first: each machine's health (dead, stale, stuck, running...),
// the order the sidebar groups them in, the counts of the top bar, the tab title. Pure.

import { clock } from "./format.js";
import { NOT_RUNNING } from "./model.js";

/** Health words, worst first: the sidebar's groups in this order. */
export const HEALTH_ORDER = ["dead", NOT_RUNNING, "stale", "stuck", "running", "finished"];

/** A machine's health: its status, except a running machine in a state too long is stuck. */
export function healthOf(machine) {
  if (machine.status === "running" && machine.stuck) return "stuck";
  return HEALTH_ORDER.includes(machine.status) ? machine.status : "finished";
}

/** The worst health among `machines` (a template's instances). */
export function worstHealth(machines) {
  let worst = HEALTH_ORDER.length - 1;
  for (const m of machines) worst = Math.min(worst, HEALTH_ORDER.indexOf(healthOf(m)));
  return HEALTH_ORDER[worst];
}

/** Counts by health, worst first: [[health, n], ...] (healths with none left out). */
export function healthCounts(machines) {
  const counts = new Map();
  for (const m of machines) {
    const health = healthOf(m);
    counts.set(health, (counts.get(health) ?? 0) + 1);
  }
  return HEALTH_ORDER.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)]);
}

/** "3 running · 1 dead"-style text, worst first. */
export function statusSummary(machines) {
  return healthCounts(machines)
    .map(([health, n]) => `${n} ${health}`)
    .join(" · ");
}

/** The page title: "(2 dead) statemachine monitor" when machines are dead. */
export function pageTitle(machines, base = "statemachine monitor") {
  const dead = machines.filter((m) => m.status === "dead").length;
  return dead ? `(${dead} dead) ${base}` : base;
}

/**
 * Does the filter text match the tab? A health word ("dead", "stuck", "running"...)
 * matches tabs with such a machine; other text is looked for in the label, config and
 * the members' names, states and statuses.
 */
export function matchesFilter(tab, filter) {
  const wanted = filter.trim().toLowerCase();
  if (!wanted) return true;
  if (HEALTH_ORDER.includes(wanted)) return tab.members.some((m) => healthOf(m) === wanted);
  const members = tab.members.map((m) => `${m.name} ${m.state} ${healthOf(m)}`).join(" ");
  return `${tab.label} ${tab.configName ?? ""} ${tab.config ?? ""} ${members}`.toLowerCase().includes(wanted);
}

/** Events `state` takes (its own transitions' and wildcards'), then the config's others. */
export function eventsFor(metadata, state) {
  const accepted = new Set();
  for (const t of metadata?.transitions ?? []) {
    if ((t.from === state || t.from === "*") && t.kind !== "timeout" && t.event) accepted.add(t.event);
  }
  const others = (metadata?.events ?? []).filter((e) => !accepted.has(e));
  return { accepted: [...accepted], others };
}

/** "process dead since 12:03:04" (what a dead machine's views say instead of its state). */
export function deadText(machine) {
  return `process dead since ${clock(machine.dead_since ?? machine.last_activity)}`;
}
