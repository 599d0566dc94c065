// What the UI needs to know about a Mermaid stateDiagram source: its transitions in
// source order. Mermaid numbers the edges it draws in that order (`<id>-edge0`, ...),
// so the n-th relation is the n-th edge.

const RELATION = /^\s*([^\s:]+)\s*-->\s*([^\s:]+)\s*(?::\s*(.*?))?\s*$/;

/** The relations (`A --> B : label`) of a stateDiagram source, in order. */
export function relations(source) {
  const found = [];
  for (const line of source.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("%%")) continue;
    const match = RELATION.exec(trimmed);
    if (match) found.push({ from: match[1], to: match[2], label: match[3] ?? "" });
  }
  return found;
}

/**
 * The index of the relation drawn for a transition `from -> to` on `event`, given the
 * Mermaid ids of the states; -1 when the diagram has no such edge. Best match first: same
 * ends and the event in the label; then the same target and the event (a wildcard drawn
 * from a node of its own); then the same ends. A label may list several events
 * (`a / b`) or decorate one (`timeout(5)`): the event must appear in it as a word.
 */
export function relationIndex(list, fromId, toId, event) {
  const ranks = [-1, -1, -1];
  list.forEach((r, i) => {
    if (r.to !== toId) return;
    const named = Boolean(event) && labelHasEvent(r.label, event);
    const rank = r.from === fromId ? (named ? 0 : 2) : named ? 1 : -1;
    if (rank >= 0 && ranks[rank] === -1) ranks[rank] = i;
  });
  return ranks.find((i) => i !== -1) ?? -1;
}

function labelHasEvent(label, event) {
  if (!label) return false;
  if (label === event) return true;
  const escaped = event.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w])${escaped}([^\\w]|$)`).test(label);
}
