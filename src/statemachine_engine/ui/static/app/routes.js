// The full-height views besides the machines: the job explorer (#jobs?status=dead&type=
// render, #job/<id>) and the failures view (#failures). The URL hash says which is shown,
// so each can be linked to and reloaded; #machine/<name> goes back to a machine's timeline.

import { h } from "./dom.js";
import { FailuresView } from "./failures.js";
import { JobExplorer } from "./explorer.js";

/** Filter keys of the explorer's hash, in the order they are written. */
const FILTER_KEYS = ["q", "status", "type", "worker", "range", "since", "until", "time", "sort", "page", "size", "job"];

/**
 * The route a hash names: `{name: "jobs", state}`, `{name: "failures", range}`,
 * `{name: "machine", machine}`, or null (the machines view).
 */
export function parseRoute(hash) {
  const text = (hash ?? "").replace(/^#/, "");
  if (text.startsWith("job/")) return { name: "jobs", state: { job: decodeURIComponent(text.slice(4)) } };
  if (text.startsWith("machine/")) return { name: "machine", machine: decodeURIComponent(text.slice(8)) };
  const [path, query = ""] = text.split("?", 2);
  const params = new URLSearchParams(query);
  if (path === "failures") return { name: "failures", range: params.get("range") ?? "" };
  if (path !== "jobs") return null;
  const state = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value !== null && value !== "") state[key] = value;
  }
  return { name: "jobs", state };
}

/** The hash of the explorer showing `state` (its filters, order, page and open job). */
export function jobsHash(state) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = state[key];
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const query = params.toString();
  return query ? `#jobs?${query}` : "#jobs";
}

/** The hash of the failures view over `range` ("" for all time). */
export function failuresHash(range) {
  return range ? `#failures?range=${encodeURIComponent(range)}` : "#failures";
}

/**
 * Show the route the hash names, and follow it as it changes. `showMachine(name)` selects a
 * machine in the machines view (false when it is not known); `left()` runs when the
 * machines view comes back.
 */
export function installRoutes({ host, control, notify, model, showMachine, left }) {
  const tabs = document.getElementById("route-tabs");
  const explorer = new JobExplorer(h("div", { class: "route-body", dataset: { route: "jobs" } }), { control, notify });
  const failures = new FailuresView(h("div", { class: "route-body", dataset: { route: "failures" } }), { control, notify });
  host.replaceChildren(explorer.root, failures.root);
  let shown = null;

  function show(route, initial = false) {
    const name = route?.name === "jobs" || route?.name === "failures" ? route.name : null;
    shown = name;
    host.hidden = name === null;
    document.body.dataset.route = name ?? "machines";
    for (const id of ["machines", "activity"]) document.getElementById(id)?.toggleAttribute("inert", name !== null);
    document.querySelector("main.main")?.toggleAttribute("inert", name !== null);
    for (const link of tabs?.querySelectorAll("[data-route]") ?? []) {
      link.setAttribute("aria-current", String(link.dataset.route === (name ?? "machines")));
    }
    explorer.root.hidden = name !== "jobs";
    failures.root.hidden = name !== "failures";
    explorer.setActive(name === "jobs", name === "jobs" ? route.state : null);
    failures.setActive(name === "failures", name === "failures" ? route.range : null);
    if (initial) return; // the machines view reads its own links from the hash
    if (route?.name === "machine") {
      if (!showMachine(route.machine)) notify(`No machine named ${route.machine} is known now.`, "warning");
      left();
    } else if (name === null) left();
  }

  window.addEventListener("hashchange", () => show(parseRoute(location.hash)));
  model.on("job", () => {
    if (shown === "jobs") explorer.poke();
    if (shown === "failures") failures.poke();
  });
  let allowed = model.control;
  model.on("reset", () => {
    if (model.control === allowed) return;
    allowed = model.control;
    explorer.controlChanged();
    failures.refresh();
  });
  document.addEventListener("keydown", (event) => {
    if (shown !== "jobs" || document.querySelector("dialog[open]")) return;
    if (event.key === "Escape") explorer.closeDetails();
    const typing = event.target instanceof HTMLElement && ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      explorer.search.focus(); // the machines' filter is under the explorer
    }
  });
  show(parseRoute(location.hash), true);
  return { shown: () => shown !== null };
}
