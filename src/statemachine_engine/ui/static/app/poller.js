// The page's feed when the server has no WebSocket stream (`statemachine-ui
// --no-websocket`, for networks that block WebSockets): every few seconds it asks the
// HTTP API for the events recorded since the last one it saw, then for the machine list.
// It calls the same handlers as the WebSocket connection, so the page works the same,
// only less promptly.

import { api } from "./api.js";
import { Retries } from "./connection.js";

/** How often the API is asked for news, in milliseconds. */
export const POLL_INTERVAL_MS = 3000;
/** Events asked for at start (the newest) and per request afterwards. */
export const FIRST_EVENTS = 500;
export const EVENTS_PER_REQUEST = 1000;

/** The largest event id in `events` (null when none carries one). */
export function lastIdOf(events, previous = null) {
  let last = previous;
  for (const event of events) {
    if (Number.isInteger(event.id) && (last === null || event.id > last)) last = event.id;
  }
  return last;
}

/**
 * Polls the API. `handlers` as for Connection: snapshot(msg), event(event),
 * machines(list), status({status, attempts, retryAt}); the status is "polling" while the
 * server answers, "offline" (with the time of the next attempt) while it does not.
 */
export class Poller {
  constructor(handlers, { interval = POLL_INTERVAL_MS } = {}) {
    this.handlers = handlers;
    this.interval = interval;
    this.retries = new Retries(() => this.poll());
    this.busy = false;
    this.synced = false;
    this.lastId = null;
  }

  start() {
    this.poll();
  }

  /** Ask now (the "retry now" button), skipping the rest of the wait. */
  retryNow() {
    if (this.busy) return;
    this.retries.now();
  }

  async poll() {
    this.busy = true;
    try {
      if (this.synced) await this.update();
      else await this.snapshot();
      this.retries.count = 0;
      this.report("polling");
      this.retries.after(this.interval);
    } catch {
      // After an outage start over from a snapshot: the server may have restarted.
      this.synced = false;
      this.report("offline", this.retries.schedule());
    } finally {
      this.busy = false;
    }
  }

  async snapshot() {
    const [config, machines, events] = await Promise.all([
      api.config(),
      api.machines(),
      api.events({ limit: FIRST_EVENTS }),
    ]);
    this.lastId = lastIdOf(events) ?? 0;
    this.handlers.snapshot({ kind: "snapshot", machines, events, control: config.control });
    this.synced = true;
  }

  async update() {
    // Events first, then the list: the list is the server's latest word on each machine.
    for (;;) {
      const events = await api.events({ afterId: this.lastId, limit: EVENTS_PER_REQUEST });
      for (const event of events) this.handlers.event(event);
      this.lastId = lastIdOf(events, this.lastId);
      if (events.length < EVENTS_PER_REQUEST) break;
    }
    this.handlers.machines(await api.machines());
  }

  report(status, retryAt = null) {
    this.handlers.status({ status, attempts: this.retries.count, retryAt });
  }
}
