// The WebSocket to /ws/events, reconnected with exponential backoff when it drops
// (a server restart, a network blip). The model learns the connection's status.

/** First retry delay, in milliseconds; doubles per failed attempt up to BACKOFF_MAX_MS. */
export const BACKOFF_START_MS = 500;
/** The longest wait between attempts: a restarted server is found within 5 s. */
export const BACKOFF_MAX_MS = 5000;

/** Delay before reconnect attempt `attempt` (1-based), with ±20 % jitter (so many pages
 *  do not all come back at once), never over BACKOFF_MAX_MS. */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, attempt - 1));
  return Math.min(BACKOFF_MAX_MS, Math.round(base * (0.8 + 0.4 * random())));
}

/**
 * The retries of a feed that failed: a timer that runs `attempt` again after the
 * backoff, and the number of failed attempts since the last success (`count`).
 */
export class Retries {
  constructor(attempt) {
    this.attempt = attempt;
    this.count = 0;
    this.timer = null;
  }

  /** One more failure: attempt again after the backoff; returns when (ms since the epoch). */
  schedule() {
    this.count += 1;
    const delay = backoffDelay(this.count);
    this.after(delay);
    return Date.now() + delay;
  }

  after(delay) {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.attempt();
    }, delay);
  }

  /** Attempt now, skipping the rest of the wait. */
  now() {
    clearTimeout(this.timer);
    this.timer = null;
    this.attempt();
  }
}

/**
 * The stream's URL beside the page (same host; `wss:` under https). The page asks for
 * batches: under a heavy stream one frame carries many events instead of one each.
 */
export function streamUrl(location, token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = token ? `?batch=1&token=${encodeURIComponent(token)}` : "?batch=1";
  return `${scheme}//${location.host}/ws/events${query}`;
}

/**
 * Keeps one WebSocket open. `handlers`: snapshot(msg), event(event), machines(list),
 * dropped(count), status({status, attempts, retryAt}).
 */
export class Connection {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.retries = new Retries(() => this.open());
    this.socket = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  /** Reconnect now (the "retry now" button), skipping the rest of the wait. */
  retryNow() {
    if (this.socket) return;
    this.retries.now();
  }

  open() {
    this.report(this.retries.count ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.stopped) this.scheduleRetry();
    });
    // "error" is always followed by "close": retrying is handled there.
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.kind === "batch") {
      for (const inner of message.messages ?? []) this.dispatch(inner);
    } else {
      this.dispatch(message);
    }
  }

  dispatch(message) {
    switch (message.kind) {
      case "snapshot":
        this.retries.count = 0;
        this.handlers.snapshot(message);
        this.report("live");
        break;
      case "event":
        if (message.event) this.handlers.event(message.event);
        break;
      case "machines":
        this.handlers.machines(message.machines ?? []);
        break;
      case "dropped":
        this.handlers.dropped(message.count ?? 0);
        break;
      default:
        break;
    }
  }

  scheduleRetry() {
    this.report("offline", this.retries.schedule());
  }

  report(status, retryAt = null) {
    this.handlers.status({ status, attempts: this.retries.count, retryAt });
  }
}
