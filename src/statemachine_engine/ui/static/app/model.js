// The page's state, fed by the WebSocket: machines, their recent transitions, the activity
// entries. Pure bookkeeping (no DOM); views subscribe and redraw on the next frame.

import { compactJson } from "./format.js";

/** Most activity entries kept in memory (the log shows the newest ones). */
export const ACTIVITY_LIMIT = 2000;
/** Most live transitions kept per machine for its timeline. */
export const TRANSITIONS_PER_MACHINE = 200;
/** Outcomes of sent events remembered (a reply may come after the event was taken). */
export const OUTCOMES_KEPT = 200;

const LEVELS = new Set(["debug", "info", "success", "warning", "error"]);

/** The tab a machine belongs to: one per template (and config), else one per machine. */
export function tabKeyOf(machine) {
  return machine.template ? `t:${machine.template}|${machine.config ?? ""}` : `m:${machine.name}`;
}

/**
 * Machines gathered into tabs: templated instances (`worker_001`, `worker_002`...) share
 * one tab, every other machine has its own. Sorted by label; members sorted by name.
 */
export function buildTabs(machines) {
  const tabs = new Map();
  for (const machine of machines) {
    const key = tabKeyOf(machine);
    let tab = tabs.get(key);
    if (!tab) {
      tab = {
        key,
        label: machine.template ?? machine.name,
        templated: Boolean(machine.template),
        config: machine.config ?? null,
        configName: machine.config_name ?? null,
        members: [],
      };
      tabs.set(key, tab);
    }
    tab.members.push(machine);
  }
  const list = [...tabs.values()];
  const labelCounts = new Map();
  for (const tab of list) labelCounts.set(tab.label, (labelCounts.get(tab.label) ?? 0) + 1);
  for (const tab of list) {
    tab.members.sort((a, b) => compareNames(a.name, b.name));
    if (labelCounts.get(tab.label) > 1 && tab.config) tab.label = `${tab.label} (${tab.config})`;
  }
  return list.sort((a, b) => compareNames(a.label, b.label));
}

/** Natural order: `worker_2` before `worker_10`. */
export function compareNames(a, b) {
  return collator.compare(a, b);
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** The activity-log entry for a realtime event, or null when it is not one. */
export function activityEntry(event) {
  const p = event.payload && typeof event.payload === "object" ? event.payload : {};
  const base = { machine: event.machine_name, timestamp: event.timestamp, type: event.type };
  const job = p.job_id !== undefined && p.job_id !== null ? `job ${p.job_id}` : "job";
  switch (event.type) {
    case "activity_log": {
      const level = LEVELS.has(p.level) ? p.level : "info";
      return { ...base, level, text: textOf(p.message) };
    }
    case "error":
      return { ...base, level: "error", text: textOf(p.message ?? p.error ?? compactJson(p)) };
    case "job_started":
      return { ...base, level: "info", text: `${job} started` };
    case "job_completed":
      return { ...base, level: "success", text: `${job} completed` };
    case "job_completion_refused":
      return { ...base, level: "warning", text: p.message ? textOf(p.message) : `${job}: completion refused` };
    case "job_failed": {
      const why = p.error ?? p.message ?? p.last_error;
      return { ...base, level: "error", text: why ? `${job} failed: ${textOf(why)}` : `${job} failed` };
    }
    case "event_held":
      return { ...base, level: "info", text: `holding ${textOf(p.event)} until ${textOf(p.state)}'s actions finish` };
    case "event_dropped":
      return { ...base, level: "warning", text: `dropped ${textOf(p.event)}: ${textOf(p.reason)}` };
    case "bash_output": {
      const lines = Array.isArray(p.lines) ? p.lines : [];
      const text = lines.map((l) => `${l?.stream === "stderr" ? "! " : ""}${textOf(l?.text)}`).join("\n");
      const skipped = Number.isInteger(p.skipped) && p.skipped > 0 ? `\n… ${p.skipped} more lines (see its log)` : "";
      return { ...base, level: "output", text: text + skipped };
    }
    case "action_finished":
      return null; // an action's duration, for /metrics: too many to list
    case "machine_registered":
      return { ...base, level: "info", text: "registered" };
    case "machine_terminated": {
      const why = p.reason ?? p.status;
      const final = p.final_state ? ` in ${textOf(p.final_state)}` : "";
      if (why === "final") return { ...base, level: "info", text: `finished${final}` };
      return { ...base, level: "warning", text: why ? `terminated${final} (${textOf(why)})` : `terminated${final}` };
    }
    case "state_change":
      return {
        ...base,
        level: "transition",
        text: `${textOf(p.from_state ?? "∅")} → ${textOf(p.to_state)}  (${textOf(p.event_trigger ?? "?")})`,
      };
    default:
      return { ...base, level: "info", text: `${event.type} ${compactJson(p)}` };
  }
}

function textOf(value) {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : compactJson(value);
}

/** A timeline row from a realtime state_change event. */
export function transitionOf(event) {
  const p = event.payload ?? {};
  return {
    from: p.from_state ?? null,
    to: p.to_state,
    event: p.event_trigger ?? null,
    timestamp: typeof p.timestamp === "number" ? p.timestamp : event.timestamp,
  };
}

/** Minimal event emitter. */
class Emitter {
  constructor() {
    this.listeners = new Map();
  }
  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(listener);
    return () => this.listeners.get(type).delete(listener);
  }
  emit(type, ...args) {
    for (const listener of this.listeners.get(type) ?? []) listener(...args);
  }
}

/** What a sent event did, from the event that says so (null: it says nothing of one). */
export function outcomeOf(event) {
  const p = event.payload ?? {};
  if (typeof p.event_id !== "number") return null;
  const base = { event_id: p.event_id, machine: event.machine_name, timestamp: event.timestamp };
  if (event.type === "event_dropped") return { ...base, kind: "dropped", event: p.event, state: p.state ?? null };
  if (event.type === "event_held") return { ...base, kind: "held", event: p.event, state: p.state ?? null };
  if (event.type === "state_change") {
    return { ...base, kind: "taken", event: p.event_trigger, from: p.from_state ?? null, to: p.to_state };
  }
  return null;
}

/**
 * Everything the page knows. Events:
 *  - "reset": a snapshot replaced everything;
 *  - "machines" (names: Set): these machines changed (state, liveness, new ones);
 *  - "transition" (name, transition): a machine moved;
 *  - "activity" (entry): a new activity entry;
 *  - "job" (event): a job event (the jobs table refreshes);
 *  - "outcome" (outcome): what an event sent with an id did (see outcomeOf);
 *  - "connection" (status): the stream's status.
 */
export class Model extends Emitter {
  constructor() {
    super();
    this.machines = new Map();
    this.transitions = new Map();
    this.activity = [];
    this.control = false;
    this.connection = { status: "connecting", retryAt: null, attempts: 0 };
    /** When the server was last heard from (ms since the epoch; null: never). */
    this.heardAt = null;
    this.outcomes = new Map(); // event id -> outcome
    /** `(config, state) -> group | null`, from the diagrams' metadata (set by the page). */
    this.groupOf = () => null;
  }

  setConnection(status) {
    this.connection = status;
    this.emit("connection", status);
  }

  /** Note that the server spoke (any message): the page is current as of now. */
  heard() {
    this.heardAt = Date.now();
  }

  /** What the sent event `id` did, if that is known yet. */
  outcomeOf(id) {
    return this.outcomes.get(id) ?? null;
  }

  applySnapshot(snapshot) {
    this.heard();
    this.control = Boolean(snapshot.control);
    this.machines = new Map((snapshot.machines ?? []).map((m) => [m.name, m]));
    this.transitions = new Map();
    this.activity = [];
    for (const event of snapshot.events ?? []) this.recordEvent(event, { quiet: true });
    this.emit("reset");
  }

  /** A liveness refresh: the server's current list. Machines absent from it are gone. */
  applyMachines(list) {
    this.heard();
    const changed = new Set();
    const seen = new Set();
    for (const machine of list) {
      seen.add(machine.name);
      const old = this.machines.get(machine.name);
      if (!old || !sameMachine(old, machine)) {
        this.machines.set(machine.name, machine);
        changed.add(machine.name);
      }
    }
    for (const name of [...this.machines.keys()]) {
      if (!seen.has(name)) {
        this.machines.delete(name);
        changed.add(name);
      }
    }
    if (changed.size) this.emit("machines", changed);
  }

  applyEvent(event) {
    this.heard();
    this.recordEvent(event, { quiet: false });
  }

  recordEvent(event, { quiet }) {
    const name = event.machine_name;
    if (typeof name !== "string") return;
    if (event.type === "state_change") {
      const transition = transitionOf(event);
      let list = this.transitions.get(name);
      if (!list) this.transitions.set(name, (list = []));
      list.push(transition);
      if (list.length > TRANSITIONS_PER_MACHINE) list.splice(0, list.length - TRANSITIONS_PER_MACHINE);
      if (!quiet) {
        const machine = this.machines.get(name);
        // The server applies the change to its own list too; until its next refresh, do it here.
        if (machine && transition.to) {
          this.machines.set(name, {
            ...machine,
            state: transition.to,
            group: this.groupOf(machine.config, transition.to),
            status: "running",
            stuck: false,
            dead_since: null,
            entered_at: transition.timestamp,
            last_activity: transition.timestamp,
          });
        }
        this.emit("transition", name, transition);
        this.emit("machines", new Set([name]));
      }
    } else if (!quiet && (event.type === "machine_registered" || event.type === "machine_terminated")) {
      if (!this.machines.has(name) && event.type === "machine_registered") {
        this.machines.set(name, placeholderMachine(event));
      }
      const machine = this.machines.get(name);
      if (machine && event.type === "machine_terminated") {
        this.machines.set(name, { ...machine, status: "finished" });
      }
      this.emit("machines", new Set([name]));
    }
    if (!quiet && event.type.startsWith("job_")) this.emit("job", event);
    const outcome = outcomeOf(event);
    if (outcome) {
      this.outcomes.set(outcome.event_id, outcome);
      if (this.outcomes.size > OUTCOMES_KEPT) this.outcomes.delete(this.outcomes.keys().next().value);
      if (!quiet) this.emit("outcome", outcome);
    }
    const entry = activityEntry(event);
    if (entry) {
      this.activity.push(entry);
      if (this.activity.length > ACTIVITY_LIMIT) this.activity.splice(0, this.activity.length - ACTIVITY_LIMIT);
      if (!quiet) this.emit("activity", entry);
    }
  }

  /** Live transitions of one machine, oldest first. */
  transitionsOf(name) {
    return this.transitions.get(name) ?? [];
  }

  /** The machine's last transition, if one was seen. */
  lastTransitionOf(name) {
    const list = this.transitions.get(name);
    return list && list.length ? list[list.length - 1] : null;
  }
}

function sameMachine(a, b) {
  return (
    a.state === b.state &&
    a.status === b.status &&
    a.restarts === b.restarts &&
    a.process_state === b.process_state &&
    a.group === b.group &&
    a.config === b.config &&
    a.pid === b.pid &&
    a.host === b.host &&
    a.stuck === b.stuck &&
    a.dead_since === b.dead_since &&
    a.entered_at === b.entered_at &&
    a.last_activity === b.last_activity
  );
}

/** The status of a machine its system's manifest starts that is not running. */
export const NOT_RUNNING = "not running";

/** The server's rule: a trailing `_<digits>` or `-<digits>` marks a templated instance. */
export function templateOf(name) {
  const match = /^(.+?)[_-]\d+$/.exec(name);
  return match ? match[1] : null;
}

function placeholderMachine(event) {
  const p = event.payload ?? {};
  return {
    name: event.machine_name,
    state: p.initial_state ?? p.state ?? "…",
    status: "running",
    config: p.config_type ?? p.config ?? null,
    config_name: p.config_name ?? null,
    group: null,
    template: templateOf(event.machine_name),
    pid: p.pid ?? null,
    last_activity: event.timestamp,
    started_at: event.timestamp,
    entered_at: event.timestamp,
    stuck: false,
  };
}
