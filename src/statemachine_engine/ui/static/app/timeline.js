// One instance's timeline: its transitions (newest first) with their events and times,
// from /api/machines/{name} history, then live state_change events as they come; above
// them, what it waits for (its state's timeouts, delayed events sent to it) and until when.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { clock, dateTime, duration, prettyJson } from "./format.js";

/** Most rows shown. */
export const TIMELINE_ROWS = 300;

/** Live and recorded timestamps of one transition differ by a few milliseconds. */
const SAME_TRANSITION_SECONDS = 1.0;

/**
 * History (newest first, from the API) and live transitions (oldest first) as one list,
 * newest first, without the live ones the history already holds.
 */
export function mergeTimeline(history, live) {
  const rows = history.map((t) => ({
    from: t.from_state ?? null,
    to: t.to_state,
    event: t.event ?? null,
    timestamp: t.timestamp,
  }));
  const recorded = (t) =>
    rows.some(
      (r) =>
        r.to === t.to &&
        r.event === t.event &&
        (r.from ?? null) === (t.from ?? null) &&
        Math.abs(r.timestamp - t.timestamp) < SAME_TRANSITION_SECONDS,
    );
  const newest = rows.length ? rows[0].timestamp - SAME_TRANSITION_SECONDS : -Infinity;
  const fresh = live.filter((t) => t.timestamp > newest && !recorded(t));
  return [...fresh.reverse(), ...rows].slice(0, TIMELINE_ROWS);
}

export class TimelineView {
  constructor(container) {
    this.container = container;
    this.name = null;
    this.history = [];
    this.historyMore = false;
    this.context = null;
    this.waits = [];
    this.error = null;
    this.request = 0;
    /** "process dead since …" when the shown machine's process is gone (else null). */
    this.dead = null;
    /** The timestamp of the entry a link points at (highlighted, scrolled to once). */
    this.linked = null;
    this.scrolledTo = null;
    /** `onLink(timestamp)`: the operator chose an entry's link. */
    this.onLink = null;
  }

  /** Say the machine's process is dead (`text`) or alive (null); redraws on change. */
  setDead(text) {
    if (this.dead === text) return;
    this.dead = text;
    if (this.name) this.render(this.liveSource ? this.liveSource() : []);
  }

  /** Show `name`'s timeline (fetching its history) or nothing. */
  async show(name, live) {
    this.name = name;
    this.history = [];
    this.historyMore = false;
    this.context = null;
    this.waits = [];
    this.waitsAt = 0;
    this.error = null;
    this.render(live);
    if (!name) return;
    const request = ++this.request;
    try {
      const detail = await api.machine(name);
      if (request !== this.request) return;
      this.history = Array.isArray(detail.history) ? detail.history : [];
      this.historyMore = detail.history_more === true;
      this.context = detail.context ?? null;
      this.waits = Array.isArray(detail.waiting_for) ? detail.waiting_for : [];
      this.waitsAt = Date.now() / 1000;
    } catch (error) {
      if (request !== this.request) return;
      this.error = error.message;
    }
    this.render(this.liveSource ? this.liveSource() : live);
  }

  /** The machine moved since its waits were read: read them again (at most once a second). */
  refreshWaits() {
    if (this.waitsTimer) return;
    this.waitsTimer = setTimeout(async () => {
      const name = this.name;
      try {
        const detail = await api.machine(name);
        if (name !== this.name) return;
        this.waits = Array.isArray(detail.waiting_for) ? detail.waiting_for : [];
        this.waitsAt = Date.now() / 1000;
        this.render(this.liveSource ? this.liveSource() : []);
      } catch {
        // the next move tries again
      } finally {
        this.waitsTimer = null;
      }
    }, 1000);
  }

  /** Redraw with the current live transitions of the shown machine. */
  render(live) {
    if (!this.name) {
      replaceChildren(this.container, h("p", { class: "empty", text: "Choose an instance to see its timeline." }));
      return;
    }
    const rows = mergeTimeline(this.history, live ?? []);
    if (this.waitsAt && rows.length && rows[0].timestamp > this.waitsAt) this.refreshWaits();
    const list = h("ol", { class: "timeline", attrs: { "aria-label": `Transitions of ${this.name}` } });
    rows.forEach((row, i) => {
      const newer = i > 0 ? rows[i - 1] : null;
      const stayed = newer ? newer.timestamp - row.timestamp : null;
      list.append(
        h(
          "li",
          {
            class: [i === 0 ? "latest" : "", sameTime(row.timestamp, this.linked) ? "linked" : ""].join(" ").trim(),
            dataset: { to: row.to ?? "", at: String(row.timestamp) },
          },
          h(
            "a",
            {
              href: "#",
              class: "time-link",
              title: `${dateTime(row.timestamp)} (a link to this entry)`,
              on: {
                click: (e) => {
                  e.preventDefault();
                  this.linked = row.timestamp;
                  this.scrolledTo = row.timestamp;
                  this.onLink?.(row.timestamp);
                  this.render(this.liveSource ? this.liveSource() : live);
                },
              },
            },
            h("time", { text: clock(row.timestamp, { millis: true }) }),
          ),
          h(
            "span",
            { class: "move" },
            h("span", { class: "from", text: row.from ?? "∅" }),
            h("span", { class: "arrow", text: " → " }),
            h("span", { class: "to", text: row.to }),
          ),
          h("span", { class: "event-chip", text: row.event ?? "—" }),
          h("span", {
            class: "stayed",
            text: stayed === null ? (this.dead ? "dead" : "now") : duration(stayed),
            title: stayed === null ? (this.dead ?? `in ${row.to} now`) : `${duration(stayed)} in ${row.to}`,
          }),
        ),
      );
    });
    const header = h(
      "div",
      { class: "panel-note" },
      h("strong", { text: this.name }),
      this.historyMore
        ? ` · the latest ${rows.length} transitions (older ones: statemachine-db transition-history)`
        : ` · ${rows.length} transition${rows.length === 1 ? "" : "s"}`,
      this.dead ? h("span", { class: "dead-note", text: ` · ${this.dead}` }) : null,
      this.error ? h("span", { class: "error-text", text: ` · history unavailable: ${this.error}` }) : null,
    );
    const parts = [header];
    if (this.waits.length) {
      const waits = this.waits.map((w) =>
        h("li", {
          text:
            `${w.event}${w.event_id == null ? "" : ` (event ${w.event_id})`} at ${dateTime(w.due_at)}` +
            ` (${w.due_at > Date.now() / 1000 ? `in ${duration(w.due_at - Date.now() / 1000)}` : "due"})`,
        }),
      );
      parts.push(h("div", { class: "panel-note waits" }, "Waiting for: ", h("ul", {}, ...waits)));
    }
    parts.push(rows.length ? list : h("p", { class: "empty", text: "No transitions recorded yet." }));
    if (this.context && Object.keys(this.context).length) {
      parts.push(
        h(
          "details",
          { class: "context", open: this.contextOpen, on: { toggle: (e) => (this.contextOpen = e.target.open) } }, h("summary", { text: "Context" }), h("pre", { text: prettyJson(this.context) })),
      );
    }
    replaceChildren(this.container, ...parts);
    if (this.linked !== null && this.scrolledTo !== this.linked) {
      const row = list.querySelector("li.linked");
      if (row) {
        this.scrolledTo = this.linked;
        row.scrollIntoView({ block: "center" });
      }
    }
  }
}

/** Timestamps from the URL (text) and the rows (numbers) are the same entry within 1 ms. */
function sameTime(a, b) {
  return a !== null && b !== null && Math.abs(a - b) < 0.001;
}
