// Wires the page: the stream feeds the model; the model's changes are drawn once per
// animation frame by the views (machines list, diagram or board, timeline, activity, jobs).

import { ActivityView } from "./activity.js";
import { api, useToken } from "./api.js";
import { BoardView } from "./board.js";
import { BottomPanel } from "./bottom_panel.js";
import { backoffDelay, Connection, streamUrl } from "./connection.js";
import { DiagramView, diagramData, groupOf } from "./diagram.js";
import { h, replaceChildren, setText } from "./dom.js";
import { clock } from "./format.js";
import { MachineHeader } from "./header.js";
import { deadText, healthCounts, pageTitle } from "./health.js";
import { JobsView } from "./jobs.js";
import { installShortcuts } from "./keys.js";
import { LogView } from "./log.js";
import { installCharts } from "./charts.js";
import { buildTabs, Model, tabKeyOf } from "./model.js";
import { costs, schedule, scheduleThrottled } from "./frame.js";
import { POLL_INTERVAL_MS, Poller } from "./poller.js";
import { QueuesView } from "./queues.js";
import { installRoutes } from "./routes.js";
import { Sidebar } from "./sidebar.js";
import { TimelineView } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get("token");
useToken(token);

const model = new Model();
model.groupOf = groupOf;
const ui = {
  tabs: [],
  tabKey: null,
  instance: null,
  viewOverride: new Map(), // tab key -> "board" | "diagram" (after K)
  panel: "timeline",
  shownView: null, // {tabKey, view} last drawn in the main area
  linkedAt: null, // the timeline entry a link points at (its timestamp)
  hashApplied: false, // the URL's links were followed (once machines are known)
  countsKey: null, // the top bar's counts last drawn
};

// -- views -----------------------------------------------------------------------------

let routes = null; // the job explorer's and the failures view's routes (installed below)

const sidebar = new Sidebar($("machines"), { onSelect: (key) => selectTab(key) });
const viewHost = $("view");
const diagramHost = h("div", { class: "diagram-host", attrs: { "aria-label": "State diagram" } });
const boardHost = h("div", { class: "board-host" });
const viewNotice = h("p", { class: "view-notice", attrs: { role: "status" }, hidden: true });
viewHost.replaceChildren(viewNotice, diagramHost, boardHost);
const diagram = new DiagramView(diagramHost);
const board = new BoardView(boardHost, {
  onSelect: (name) => selectInstance(name),
  toolsHost: document.querySelector(".view-bar"),
});
const timeline = new TimelineView($("timeline"));
timeline.liveSource = () => model.transitionsOf(ui.instance);
timeline.onLink = (at) => {
  ui.linkedAt = at;
  writeHash();
};
const activity = new ActivityView($("activity"), model);
const jobs = new JobsView($("jobs"), { control: () => model.control, notify });
const header = new MachineHeader($("machine-header"), { model, notify });
const queues = new QueuesView($("unserved"));
sidebar.onFilter = () => {
  writeHash();
  markCountFilter();
};
activity.onFilter = () => writeHash();
const log = new LogView($("log"));
const bottomPanel = new BottomPanel(document.querySelector("main.main"), $("panel-collapse"));
const charts = installCharts({ toggle: $("charts-toggle"), host: $("charts"), onClose: () => writeHash() });

// -- the stream (or, without one, polling) -------------------------------------------------

const feedHandlers = {
  snapshot: (message) => model.applySnapshot(message),
  event: (event) => model.applyEvent(event),
  machines: (list) => model.applyMachines(list),
  dropped: (count) => {
    notify(`The server dropped ${count} event${count === 1 ? "" : "s"} for this page (too slow); refreshing.`, "warning");
    api.machines().then((list) => model.applyMachines(list), () => {});
  },
  status: (status) => model.setConnection(status),
};
/** The WebSocket connection, or the poller when the server serves no stream. */
let feed = null;

/** Ask the server whether it streams (/api/config), then follow it the way it can. */
async function startFeed() {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const config = await api.config();
      $("log-tab").hidden = !config.system; // only a system's UI has its machines' logs
      feed = config.websocket === false ? new Poller(feedHandlers) : new Connection(streamUrl(location, token), feedHandlers);
      feed.start();
      return;
    } catch {
      const delay = backoffDelay(attempt);
      model.setConnection({ status: "offline", attempts: attempt, retryAt: Date.now() + delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

const dirty = new Set();
let pendingActivity = [];

model.on("reset", () => {
  dirty.clear();
  schedule(drawAll);
});
/** Least time between redraws of the machines (ms): a few a second with many of them. */
const machinesInterval = () => (model.machines.size > 50 ? 250 : 0);
model.on("machines", (names) => {
  for (const name of names) dirty.add(name);
  scheduleThrottled(drawMachines, machinesInterval);
});
model.on("transition", (name) => {
  if (name === ui.instance) schedule(drawTimeline);
});
model.on("activity", (entry) => {
  pendingActivity.push(entry);
  schedule(drawActivity);
});
model.on("job", () => {
  jobs.poke();
  queues.poke();
});
model.on("outcome", (outcome) => header.settle(outcome));
model.on("connection", () => schedule(drawConnection));

// -- drawing ---------------------------------------------------------------------------

function currentTab() {
  return ui.tabs.find((tab) => tab.key === ui.tabKey) ?? null;
}

function viewOf(tab) {
  return ui.viewOverride.get(tab.key) ?? (tab.templated ? "board" : "diagram");
}

function drawAll() {
  ui.tabs = buildTabs(model.machines.values());
  // Each config's metadata gives the groups of states the stream reports.
  for (const config of new Set(ui.tabs.map((t) => t.config).filter(Boolean))) diagramData(config).catch(() => {});
  sidebar.render(ui.tabs);
  if (!currentTab()) {
    const wanted = fromHash();
    const tab = ui.tabs.find((t) => t.key === wanted.tab) ?? ui.tabs[0] ?? null;
    ui.tabKey = tab?.key ?? null;
    if (ui.tabKey) sidebar.select(ui.tabKey); // ([ and ] step from it)
    ui.instance = wanted.instance && tab?.members.some((m) => m.name === wanted.instance) ? wanted.instance : null;
    if (ui.instance && wanted.at !== null) timeline.linked = ui.linkedAt = wanted.at;
  }
  ui.shownView = null;
  drawSelection({ fetchTimeline: true });
  activity.updateFilterOptions();
  if (!ui.hashApplied && ui.tabs.length) {
    ui.hashApplied = true;
    const wanted = fromHash();
    if (wanted.log) activity.filterBy(wanted.log);
    if (wanted.filter) sidebar.setFilter(wanted.filter);
    warnIfUnknown(wanted);
  }
  activity.rebuild();
  drawCounts();
  if (ui.panel === "jobs") jobs.refresh();
}

function drawMachines() {
  const names = new Set(dirty);
  dirty.clear();
  const before = ui.tabs.map((t) => `${t.key}:${t.members.length}`).join();
  ui.tabs = buildTabs(model.machines.values());
  sidebar.render(ui.tabs);
  const tab = currentTab();
  if (!tab) {
    if (ui.tabs.length) selectTab(ui.tabs[0].key);
    else drawSelection({ fetchTimeline: false });
  } else if (tab.members.some((m) => names.has(m.name)) || before !== ui.tabs.map((t) => `${t.key}:${t.members.length}`).join()) {
    drawSelection({ fetchTimeline: false, changed: names });
  }
  drawCounts();
  const after = ui.tabs.map((t) => `${t.key}:${t.members.length}`).join();
  if (before !== after) activity.updateFilterOptions();
}

function drawTimeline() {
  timeline.render(model.transitionsOf(ui.instance));
}

function drawActivity() {
  const entries = pendingActivity;
  pendingActivity = [];
  activity.add(entries);
}

/** The top bar's counts, worst first; each one filters the machines list by its word. */
function drawCounts() {
  const machines = [...model.machines.values()];
  const counts = healthCounts(machines);
  const key = counts.map(([health, n]) => `${health}:${n}`).join();
  if (key !== ui.countsKey) {
    ui.countsKey = key;
    const chips = counts.map(([health, n]) =>
      h(
        "button",
        {
          type: "button",
          class: "count-filter",
          dataset: { health },
          title: `Show only ${health} machines`,
          on: { click: () => sidebar.setFilter(sidebar.filter === health ? "" : health) },
        },
        h("span", { class: "dot", dataset: { status: health } }),
        `${n} ${health}`,
      ),
    );
    replaceChildren($("counts"), ...(chips.length ? chips : [h("span", { text: "no machines" })]));
    markCountFilter();
  }
  document.title = pageTitle(machines);
  $("control-badge").hidden = !model.control;
}

/** The count whose word filters the machines list shows pressed. */
function markCountFilter() {
  for (const chip of $("counts").querySelectorAll(".count-filter")) {
    chip.setAttribute("aria-pressed", String(sidebar.filter === chip.dataset.health));
  }
}

function drawConnection() {
  const { status, retryAt, attempts } = model.connection;
  const pill = $("connection");
  pill.dataset.status = status;
  const labels = {
    connecting: "Connecting…",
    live: "Live",
    polling: `Polling · every ${POLL_INTERVAL_MS / 1000} s`,
    reconnecting: "Reconnecting…",
    offline: "Offline",
  };
  let text = labels[status] ?? status;
  if (status === "offline" && retryAt) {
    text = `Offline · retry in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s`;
  }
  setText($("connection-text"), text);
  // Offline, what the page shows is old: say how old (the page greys it, see app.css).
  const stale = status === "offline" || status === "reconnecting";
  const asOf = $("as-of");
  asOf.hidden = !stale || !model.heardAt;
  if (model.heardAt) setText(asOf, `as of ${clock(model.heardAt / 1000)}`);
  pill.title =
    status === "live"
      ? "Receiving live events"
      : status === "polling"
        ? "The server streams no events (--no-websocket): asking it for news every few seconds. Press R to ask now."
        : `Not connected to the server${attempts ? ` (attempt ${attempts})` : ""}. Press R to retry now.`;
  document.body.dataset.connection = status;
}

/** Draw the chosen tab: its header, its diagram or board, its instance's timeline. */
function drawSelection({ fetchTimeline, changed = null }) {
  const tab = currentTab();
  if (!tab) {
    header.update(null, null);
    viewNotice.hidden = true;
    diagramHost.hidden = true;
    boardHost.hidden = false;
    board.setVisible(false);
    replaceChildren(boardHost, h("p", { class: "empty big", text: "Waiting for machines to report…" }));
    ui.shownView = null;
    if (fetchTimeline || ui.instance) {
      ui.instance = null;
      timeline.show(null, []);
      log.show(null);
    }
    return;
  }
  if (!tab.members.some((m) => m.name === ui.instance)) {
    ui.instance = tab.members[0].name;
    fetchTimeline = true;
  }
  const selected = model.machines.get(ui.instance);
  header.update(tab, selected);
  const dead = selected?.status === "dead" ? deadText(selected) : null;
  timeline.setDead(dead);
  const view = viewOf(tab);
  viewNotice.hidden = !dead || view !== "diagram";
  setText(viewNotice, dead ? `${selected.name}: ${dead} (last state ${selected.state})` : "");
  const fresh = ui.shownView?.tabKey !== tab.key || ui.shownView?.view !== view;
  ui.shownView = { tabKey: tab.key, view };
  diagramHost.hidden = view !== "diagram";
  boardHost.hidden = view !== "board";
  board.setVisible(view === "board");
  $("view-diagram").setAttribute("aria-pressed", String(view === "diagram"));
  $("view-board").setAttribute("aria-pressed", String(view === "board"));
  viewHost.dataset.view = view;
  if (view === "diagram") {
    const occupied = new Map();
    if (tab.templated) for (const m of tab.members) occupied.set(m.state, (occupied.get(m.state) ?? 0) + 1);
    const marks = {
      current: dead ? null : (selected?.state ?? null),
      dead: dead ? selected.state : null,
      last: model.lastTransitionOf(ui.instance),
      occupied,
    };
    if (fresh) diagram.show(tab.config, marks);
    else diagram.mark(tab.config, marks);
  } else if (fresh) {
    const key = tab.key;
    const build = (metadata) => {
      if (ui.tabKey !== key || viewOf(currentTab()) !== "board") return;
      board.show(currentTab(), metadata, currentTab().members, ui.instance);
    };
    build(null);
    if (tab.config) diagramData(tab.config).then((data) => build(data.metadata ?? null), () => {});
  } else {
    board.update(tab.members, changed);
    board.select(ui.instance);
  }
  if (fetchTimeline) timeline.show(ui.instance, model.transitionsOf(ui.instance));
  log.show(ui.instance);
  writeHash();
}

// -- selection -------------------------------------------------------------------------

function selectTab(key) {
  if (key === ui.tabKey) return;
  ui.linkedAt = timeline.linked = null;
  ui.tabKey = key;
  sidebar.select(key);
  const tab = currentTab();
  ui.instance = tab?.members[0]?.name ?? null;
  drawSelection({ fetchTimeline: true });
}

function selectInstance(name) {
  if (!model.machines.has(name)) return;
  const key = tabKeyOf(model.machines.get(name));
  if (key !== ui.tabKey) {
    ui.tabKey = key;
    sidebar.select(key);
  }
  if (name !== ui.instance) ui.linkedAt = timeline.linked = null;
  ui.instance = name;
  board.select(name);
  drawSelection({ fetchTimeline: true });
  if (ui.panel !== "log") showPanel("timeline", { unfold: false }); // the log follows the chosen instance
}

function toggleView() {
  const tab = currentTab();
  if (!tab) return;
  ui.viewOverride.set(tab.key, viewOf(tab) === "board" ? "diagram" : "board");
  drawSelection({ fetchTimeline: false });
}

function setView(view) {
  const tab = currentTab();
  if (!tab || viewOf(tab) === view) return;
  toggleView();
}

function showPanel(name, { unfold = true } = {}) {
  if (name === "log" && $("log-tab").hidden) return;
  if (unfold && bottomPanel.collapsed) bottomPanel.set(false);
  ui.panel = name;
  for (const button of document.querySelectorAll("[data-panel-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.panelTab === name));
  }
  $("timeline").hidden = name !== "timeline";
  $("jobs").hidden = name !== "jobs";
  $("log").hidden = name !== "log";
  jobs.setActive(name === "jobs");
  log.setActive(name === "log");
}

// -- the URL keeps the selection across reloads ------------------------------------------

/** `#tab=…&i=…` the selection, `&at=…` a timeline entry (its timestamp), `&log=m:NAME`
 *  the activity log's filter, `&filter=dead` the machines list's. */
function fromHash() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const at = Number.parseFloat(hash.get("at") ?? "");
  return {
    tab: hash.get("tab"),
    instance: hash.get("i"),
    at: Number.isFinite(at) ? at : null,
    log: hash.get("log"),
    filter: hash.get("filter"),
  };
}

/** Follow a `#tab=…&i=…` link typed or pasted into the open page (it read the hash once,
 *  at load): select what it names, or say that no such machine is known. */
function followHash() {
  const wanted = fromHash();
  if (ui.hashApplied && !warnIfUnknown(wanted)) {
    if (wanted.instance) selectInstance(wanted.instance);
    else if (wanted.tab) selectTab(wanted.tab);
  }
  writeHash();
}

/** Whether the link `wanted` (fromHash) names a machine or tab not known now; a notice
 *  says so, and the page stays on what it shows. */
function warnIfUnknown(wanted) {
  const unknown =
    (wanted.instance && !model.machines.has(wanted.instance)) ||
    (!wanted.instance && wanted.tab && !ui.tabs.some((tab) => tab.key === wanted.tab));
  const name = wanted.instance ?? wanted.tab?.replace(/^[a-z]:/, "").split("|")[0];
  if (unknown) notify(`No machine named ${name} is known now.`, "warning");
  return Boolean(unknown);
}

function writeHash() {
  if (!ui.hashApplied || charts.shown()) return; // the links in the URL are not read yet, or #charts
  if (routes?.shown()) return; // the hash names the job explorer or the failures view
  const hash = new URLSearchParams();
  if (ui.tabKey) hash.set("tab", ui.tabKey);
  if (ui.instance) hash.set("i", ui.instance);
  if (ui.instance && ui.linkedAt !== null && ui.linkedAt !== undefined) hash.set("at", String(ui.linkedAt));
  if (activity.machineFilter) hash.set("log", activity.machineFilter);
  if (sidebar.filter) hash.set("filter", sidebar.filter);
  const text = `#${hash}`;
  if (location.hash !== text) history.replaceState(null, "", text);
}

// -- notices ---------------------------------------------------------------------------

function notify(message, level = "info") {
  const toast = h("div", { class: `toast level-${level}`, attrs: { role: "status" }, text: message });
  $("toasts").append(toast);
  // Counted from the frame that shows it: a page busy for seconds (a large diagram drawn)
  // would otherwise take a notice away the moment it could first be seen.
  requestAnimationFrame(() => setTimeout(() => toast.remove(), level === "error" ? 8000 : 4000));
}

// -- start -----------------------------------------------------------------------------

$("view-diagram").addEventListener("click", () => setView("diagram"));
$("view-board").addEventListener("click", () => setView("board"));
for (const button of document.querySelectorAll("[data-panel-tab]")) {
  button.addEventListener("click", () => showPanel(button.dataset.panelTab));
}
$("connection").addEventListener("click", () => feed?.retryNow());
installShortcuts({
  toggleView,
  focusFilter: () => sidebar.focusFilter(),
  showPanel,
  retry: () => feed?.retryNow(),
  closeDetails: () => jobs.closeDetails(),
  step: (delta) => sidebar.step(delta),
  toggleCharts: () => charts.show(!charts.shown()),
});

setInterval(() => {
  drawConnection();
  const tab = currentTab();
  if (!tab || document.hidden) return;
  if (ui.shownView?.view === "board") board.tick(tab.members);
  header.tick();
}, 1000);

// The job explorer and the failures view (#jobs, #job/<id>, #failures), over the rest.
routes = installRoutes({
  host: $("explorer"),
  control: () => model.control,
  notify,
  model,
  showMachine: (name) => {
    if (!model.machines.has(name)) return false;
    selectInstance(name);
    showPanel("timeline");
    return true;
  },
  left: () => followHash(),
});

showPanel("timeline", { unfold: false });
drawConnection();
drawAll();
startFeed();
queues.start();
window.smUi = { model, ui, costs }; // for debugging from the console
