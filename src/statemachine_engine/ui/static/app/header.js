// The chosen machine's header: its facts, what is wrong with it, and the send-event form.
// Built once and updated in place, so what the operator types survives every update
// (a busy template redraws many times a second) and every error.

import { api } from "./api.js";
import { diagramData } from "./diagram.js";
import { h, setText } from "./dom.js";
import { ago, clock, dateTime, duration } from "./format.js";
import { deadText, eventsFor, healthOf } from "./health.js";

const FACTS = [
  ["state", "state"],
  ["group", "group"],
  ["config", "config"],
  ["status", "status"],
  ["pid", "pid"],
  ["restarts", "restarts"],
  ["last exit", "last-exit"],
  ["in state", "in-state"],
  ["last activity", "activity"],
];

/** What a sent event did, as the header says it (`outcome` from the model). */
export function outcomeText(outcome) {
  if (outcome.kind === "dropped") {
    return `dropped: no transition from ${outcome.state ?? "?"} on ${outcome.event}`;
  }
  if (outcome.kind === "held") {
    return `held: ${outcome.event} waits until ${outcome.state ?? "?"}'s actions finish (no transition from ${outcome.state ?? "?"} takes it now)`;
  }
  return `${outcome.event}: ${outcome.from ?? "∅"} → ${outcome.to}`;
}

/** The problem a machine has, in a few words, or "" when it has none. */
export function problemText(machine, now = Date.now() / 1000) {
  switch (healthOf(machine)) {
    case "dead":
      return `${deadText(machine)} · last state ${machine.state}`;
    case "stale":
      return `no heartbeat for a minute: its process lives, but its loop may be blocked or its store unreachable`;
    case "stuck":
      return `stuck: ${duration(now - machine.entered_at)} in ${machine.state}, past ${duration(machine.stuck_after)} (${machine.stuck_rule === "max_time" ? "its max_time" : "five times its usual stay, at least 30 s"})`;
    default:
      return "";
  }
}

export class MachineHeader {
  /** `model` gives control and outcomes; `notify(message, level)` shows a toast. */
  constructor(host, { model, notify }) {
    this.host = host;
    this.model = model;
    this.notify = notify;
    this.machine = null;
    this.pending = null; // {id, machine, event}: the last event sent, until its outcome
    this.dot = h("span", { class: "dot" });
    this.title = h("h1");
    this.count = h("span", { class: "tab-count big" });
    this.instance = h("span", { class: "instance", title: "Selected instance" });
    this.facts = new Map();
    const list = h("dl", { class: "facts" });
    for (const [label, key] of FACTS) {
      const dt = h("dt", { text: label });
      const dd = h("dd", { dataset: { fact: key } });
      const pair = h("div", { class: "fact" }, dt, dd); // a label never wraps away from its value
      list.append(pair);
      this.facts.set(key, { pair, dt, dd });
    }
    this.problem = h("p", { class: "problem", attrs: { role: "status" }, hidden: true });
    this.form = this.buildForm();
    this.host.replaceChildren(
      h("div", { class: "title-line" }, this.dot, this.title, this.count, this.instance),
      list,
      this.form,
      this.problem,
    );
  }

  buildForm() {
    this.eventInput = h("input", {
      type: "text",
      name: "event",
      placeholder: "event",
      required: true,
      attrs: { list: "known-events", "aria-label": "Event to send", autocomplete: "off", spellcheck: "false" },
    });
    this.payloadInput = h("input", {
      type: "text",
      name: "payload",
      placeholder: '{"payload": "json"}',
      attrs: { "aria-label": "Payload (JSON)", spellcheck: "false" },
      on: { input: () => this.payloadInput.setCustomValidity("") },
    });
    this.events = h("datalist", { id: "known-events" });
    this.outcome = h("output", { class: "outcome", attrs: { "aria-live": "polite" } });
    return h(
      "form",
      { class: "send-event", hidden: true, on: { submit: (e) => this.submit(e) } },
      this.eventInput,
      this.payloadInput,
      this.events,
      h("button", { type: "submit", class: "button", text: "Send event" }),
      this.outcome,
    );
  }

  /** Show `machine` of `tab` (or nothing); only text and attributes change. */
  update(tab, machine) {
    const previous = this.machine;
    this.machine = machine;
    if (!tab || !machine) {
      setText(this.title, "No machine selected");
      this.dot.hidden = this.count.hidden = this.instance.hidden = true;
      for (const { pair } of this.facts.values()) pair.hidden = true;
      this.form.hidden = this.problem.hidden = true;
      return;
    }
    const health = healthOf(machine);
    this.dot.hidden = false;
    this.dot.dataset.status = health;
    setText(this.title, tab.label);
    this.count.hidden = this.instance.hidden = !tab.templated;
    setText(this.count, `×${tab.members.length}`);
    setText(this.instance, machine.name);
    const status = machine.process_state === "gave-up" ? `${machine.status} (given up)` : health;
    this.fact("state", machine.state);
    this.fact("group", machine.group ?? "—");
    this.fact("config", tab.configName ? `${tab.configName} (${tab.config})` : (tab.config ?? "—"));
    this.fact("status", status);
    this.fact("pid", machine.host ? `${machine.pid ?? "—"} on ${machine.host}` : (machine.pid ?? "—"));
    this.fact("restarts", machine.expected ? String(machine.restarts ?? "—") : null);
    this.fact("last-exit", machine.last_exit ?? null);
    this.tick();
    this.host.dataset.health = health;
    this.form.hidden = !this.model.control;
    if (!previous || previous.name !== machine.name || previous.config !== machine.config || previous.state !== machine.state) {
      this.suggest(machine);
    }
  }

  /** Refresh the times (once a second). */
  tick() {
    const m = this.machine;
    if (!m) return;
    const now = Date.now() / 1000;
    this.fact("activity", m.last_activity ? `${clock(m.last_activity)} · ${ago(m.last_activity)}` : "—", dateTime(m.last_activity));
    const inState = m.status === "running" && m.entered_at ? duration(now - m.entered_at) : null;
    this.fact("in-state", inState);
    const problem = problemText(m, now);
    this.problem.hidden = !problem;
    setText(this.problem, problem);
  }

  fact(key, value, title = "") {
    const { pair, dd } = this.facts.get(key);
    pair.hidden = value === null || value === undefined;
    setText(dd, value);
    dd.title = title;
  }

  /** Fill the suggestions: the events the current state takes first. */
  suggest(machine) {
    if (!machine.config) {
      this.events.replaceChildren();
      return;
    }
    const { name, state } = machine;
    diagramData(machine.config).then(
      (data) => {
        if (this.machine?.name !== name) return;
        const { accepted, others } = eventsFor(data.metadata, state);
        this.events.replaceChildren(
          ...accepted.map((e) => h("option", { value: e, label: `${e} · taken in ${state}` })),
          ...others.map((e) => h("option", { value: e, label: `${e} · not taken in ${state}` })),
        );
        this.events.dataset.state = state;
      },
      () => {},
    );
  }

  async submit(event) {
    event.preventDefault();
    const machine = this.machine;
    if (!machine) return;
    const type = this.eventInput.value.trim();
    if (!type) {
      this.showOutcome("error", "no event name: nothing sent");
      return;
    }
    let payload = {};
    try {
      payload = this.payloadInput.value.trim() ? JSON.parse(this.payloadInput.value) : {};
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new Error("not an object");
    } catch {
      // Say so beside the field and keep both fields as typed.
      this.payloadInput.setCustomValidity("The payload must be a JSON object.");
      this.payloadInput.reportValidity();
      this.showOutcome("error", "the payload is not a JSON object: nothing sent");
      return;
    }
    try {
      const sent = await api.sendEvent(machine.name, type, payload);
      this.pending = { id: sent?.id ?? null, machine: machine.name, event: type };
      this.showOutcome("pending", `sent ${type} to ${machine.name}; waiting for it to be taken…`);
      if (sent?.warning) this.notify(`Sent ${type}, but ${sent.warning}`, "warning");
      const known = sent?.id != null ? this.model.outcomeOf(sent.id) : null;
      if (known) this.settle(known);
    } catch (error) {
      this.showOutcome("error", `sending to ${machine.name} failed: ${error.message}`);
    }
  }

  /** The model saw what an event did: show it if it is the one sent. */
  settle(outcome) {
    if (!this.pending || this.pending.id !== outcome.event_id) return;
    if (outcome.kind === "held") {
      // Not over yet: it may still be taken or dropped.
      this.showOutcome("held", `${outcome.machine}: ${outcomeText(outcome)}`);
      return;
    }
    this.pending = null;
    const dropped = outcome.kind === "dropped";
    this.showOutcome(dropped ? "dropped" : "taken", `${outcome.machine}: ${outcomeText(outcome)}`);
    this.notify(`${outcome.machine}: ${outcomeText(outcome)}`, dropped ? "warning" : "success");
  }

  showOutcome(kind, text) {
    this.outcome.dataset.kind = kind;
    setText(this.outcome, text);
    this.outcome.title = text;
  }
}
