// What the activity log shows: the pure rules of its filters (machine or template, level,
// text) and how entries from memory and from the store are merged.

import { templateOf } from "./model.js";

/** The level filter's choices: [value, label, levels it shows (null: all)]. */
export const LEVEL_CHOICES = [
  ["", "All levels", null],
  ["problems", "Warnings and errors", ["warning", "error"]],
  ["error", "Errors", ["error"]],
  ["warning", "Warnings", ["warning"]],
  ["success", "Success", ["success"]],
  ["info", "Info", ["info"]],
  ["debug", "Debug", ["debug"]],
  ["output", "Command output", ["output"]],
];
/** Every level but state changes (shown only when asked for). */
const ALL_LEVELS = ["debug", "info", "success", "warning", "error", "output"];

/** Does `entry` pass the machine filter (`""`: all; `m:NAME`; `t:TEMPLATE`)? */
export function matchesMachine(entry, filter) {
  if (!filter) return true;
  if (filter.startsWith("m:")) return entry.machine === filter.slice(2);
  if (filter.startsWith("t:")) return templateOf(entry.machine) === filter.slice(2);
  return true;
}

/** The levels a filter shows (`transitions`: state changes too). */
export function levelsOf(level, transitions) {
  const chosen = LEVEL_CHOICES.find(([value]) => value === level)?.[2] ?? null;
  if (chosen) return chosen;
  return transitions ? [...ALL_LEVELS, "transition"] : ALL_LEVELS;
}

/** Does `entry` pass every filter (`{machine, level, text, transitions}`)? */
export function matches(entry, filter) {
  if (!levelsOf(filter.level, filter.transitions).includes(entry.level)) return false;
  if (!matchesMachine(entry, filter.machine)) return false;
  if (!filter.text) return true;
  const needle = filter.text.toLowerCase();
  return entry.text.toLowerCase().includes(needle) || entry.machine.toLowerCase().includes(needle);
}

/** Is any filter chosen (then older entries are asked of the store)? */
export function filtering(filter) {
  return Boolean(filter.machine || filter.level || filter.text);
}

/** `GET /api/activity`'s query for a filter. */
export function storeQuery(filter) {
  const query = { level: levelsOf(filter.level, filter.transitions).join(",") };
  if (filter.machine.startsWith("m:")) query.machine = filter.machine.slice(2);
  if (filter.machine.startsWith("t:")) query.template = filter.machine.slice(2);
  if (filter.text) query.text = filter.text;
  return query;
}

/** One entry however it arrived (live, in the snapshot, read back from the store). */
export function identityOf(entry) {
  return `${entry.machine}\u0000${entry.type}\u0000${entry.timestamp}`;
}

/** `live` and `stored` entries (each newest first) as one list, newest first, each once. */
export function mergeNewestFirst(live, stored) {
  const seen = new Set();
  const all = [];
  for (const entry of [...live, ...stored]) {
    const key = identityOf(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    all.push(entry);
  }
  return all.sort((a, b) => b.timestamp - a.timestamp);
}
