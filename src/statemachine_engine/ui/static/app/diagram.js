// The live state diagram: Mermaid renders each config's diagram once; events only
// re-style its nodes and edges (current state, previous state, last transition, states
// occupied by instances). Nothing is re-rendered per event.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { countBadge, ZoomPan } from "./diagram_zoom.js";
import { relationIndex, relations } from "./mermaid_source.js";

let renderCount = 0;
let mermaidReady = false;

function darkScheme() {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

let mermaidScript = null;

/** Load the vendored Mermaid (3.5 MB) the first time a diagram is drawn. */
function loadMermaid() {
  if (window.mermaid) return Promise.resolve(window.mermaid);
  if (!mermaidScript) {
    mermaidScript = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/vendor/mermaid.min.js";
      script.addEventListener("load", () => resolve(window.mermaid));
      script.addEventListener("error", () => {
        mermaidScript = null;
        reject(new Error("could not load Mermaid"));
      });
      document.head.append(script);
    });
  }
  return mermaidScript;
}

function initMermaid() {
  if (mermaidReady || !window.mermaid) return;
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: darkScheme() ? "dark" : "neutral",
    fontFamily: "inherit",
    state: { useMaxWidth: true },
  });
  mermaidReady = true;
}

const dataCache = new Map();
const groups = new Map(); // config -> Map state -> group, once its diagram data arrived

/** The group of `state` in `config`, when that config's diagram data is loaded. */
export function groupOf(config, state) {
  return groups.get(config)?.get(state) ?? null;
}

/** `/api/diagrams/{config}`, fetched once per config (again after a failure). */
export function diagramData(config) {
  if (!dataCache.has(config)) {
    const promise = api.diagram(config);
    promise.then(
      (data) => groups.set(config, new Map((data.metadata?.states ?? []).map((s) => [s.name, s.group ?? null]))),
      () => dataCache.delete(config),
    );
    dataCache.set(config, promise);
  }
  return dataCache.get(config);
}

/** Parse Mermaid's SVG text into a node, without scripts or inline handlers. */
function svgNode(text) {
  const doc = new DOMParser().parseFromString(text, "text/html");
  const svg = doc.querySelector("svg");
  if (!svg) throw new Error("Mermaid produced no SVG");
  for (const bad of svg.querySelectorAll("script")) bad.remove();
  for (const node of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...node.attributes]) {
      if (attr.name.toLowerCase().startsWith("on")) node.removeAttribute(attr.name);
    }
  }
  return document.importNode(svg, true);
}

/** One rendered config: its SVG and the lookups from state names to SVG elements. */
class RenderedDiagram {
  constructor(config, data, svg, renderId) {
    this.config = config;
    this.metadata = data.metadata ?? {};
    this.svg = svg;
    this.idByState = new Map();
    for (const state of this.metadata.states ?? []) this.idByState.set(state.name, state.id);
    this.nodes = new Map();
    const prefix = `${renderId}-state-`;
    for (const g of svg.querySelectorAll(`g[id^="${prefix}"]`)) {
      const rest = g.id.slice(prefix.length);
      const dash = rest.lastIndexOf("-");
      if (dash > 0 && /^\d+$/.test(rest.slice(dash + 1))) this.nodes.set(rest.slice(0, dash), g);
    }
    this.relations = relations(data.main ?? "");
    this.edges = [];
    this.labels = [];
    this.relations.forEach((_, i) => {
      this.edges.push(svg.querySelector(`[id="${renderId}-edge${i}"]`));
      this.labels.push(svg.querySelector(`.edgeLabel [data-id="edge${i}"]`)?.closest(".edgeLabel") ?? null);
    });
    this.marked = [];
    this.badges = new Map(); // node -> its count badge
  }

  node(stateName) {
    const id = this.idByState.get(stateName) ?? stateName;
    return this.nodes.get(id) ?? null;
  }

  /** Re-style: `current` state, the `last` transition, `occupied` states (name -> count),
   *  the state a `dead` machine was last in. */
  mark({ current, last, occupied, dead = null }) {
    for (const [node, cls] of this.marked) node.classList.remove(cls);
    this.marked = [];
    const add = (node, cls) => {
      if (!node) return;
      node.classList.add(cls);
      this.marked.push([node, cls]);
    };
    const counted = new Set();
    for (const [state, count] of occupied ?? []) {
      const node = this.node(state);
      add(node, "sm-occupied");
      if (!node) continue;
      node.dataset.count = String(count);
      this.badges.set(node, countBadge(node, count));
      counted.add(node);
    }
    for (const [node, badge] of this.badges) if (!counted.has(node)) badge.setAttribute("display", "none");
    if (last && last.to === current) {
      if (last.from && last.from !== last.to) add(this.node(last.from), "sm-previous");
      const fromId = this.idByState.get(last.from) ?? last.from;
      const toId = this.idByState.get(last.to) ?? last.to;
      const index = relationIndex(this.relations, fromId, toId, last.event);
      if (index >= 0) {
        add(this.edges[index], "sm-last-edge");
        add(this.labels[index], "sm-last-label");
      }
    }
    add(this.node(current), "sm-current");
    add(this.node(dead), "sm-dead"); // its process is gone: the state it was last in
    this.svg.dataset.current = current ?? "";
  }
}

/** The diagram panel. `show(config, marks)` renders (once per config) and marks states. */
export class DiagramView {
  constructor(container) {
    this.zoom = new ZoomPan(container);
    this.container = this.zoom.viewport; // messages and the SVG go there
    this.cache = new Map(); // config -> Promise<RenderedDiagram>
    this.shown = null;
    this.wanted = null;
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", () => {
      // Mermaid bakes its theme's colours into the SVG: a scheme change needs new ones.
      mermaidReady = false;
      this.cache.clear();
      if (this.wanted) this.show(this.wanted.config, this.wanted.marks);
    });
  }

  load(config) {
    if (!this.cache.has(config)) {
      const promise = Promise.all([diagramData(config), loadMermaid()]).then(async ([data]) => {
        initMermaid();
        if (!window.mermaid) throw new Error("Mermaid is not loaded");
        const renderId = `smd${++renderCount}`;
        const { svg } = await window.mermaid.render(renderId, data.main);
        const node = svgNode(svg);
        node.classList.add("sm-diagram");
        node.removeAttribute("height");
        return new RenderedDiagram(config, data, node, renderId);
      });
      promise.catch(() => this.cache.delete(config));
      this.cache.set(config, promise);
    }
    return this.cache.get(config);
  }

  async show(config, marks) {
    this.wanted = { config, marks };
    if (!config) {
      this.shown = null;
      this.zoom.detach();
      replaceChildren(this.container, h("p", { class: "empty", text: "This machine has no known config, so no diagram." }));
      return;
    }
    if (this.shown?.config === config) {
      this.shown.mark(marks);
      return;
    }
    if (!this.container.querySelector(".sm-diagram")) {
      this.zoom.detach();
      replaceChildren(this.container, h("p", { class: "empty", text: "Drawing the diagram…" }));
    }
    let diagram;
    try {
      diagram = await this.load(config);
    } catch (error) {
      if (this.wanted?.config !== config) return;
      this.shown = null;
      this.zoom.detach();
      replaceChildren(
        this.container,
        h("p", { class: "empty error-text", text: `No diagram for ${config}: ${error.message}` }),
      );
      return;
    }
    if (this.wanted?.config !== config) return; // another tab was chosen meanwhile
    this.shown = diagram;
    this.zoom.attach(diagram.svg);
    diagram.mark(this.wanted.marks);
  }

  /** Re-mark the shown diagram (a state change of the shown machine). */
  mark(config, marks) {
    this.wanted = { config, marks };
    if (this.shown?.config === config) this.shown.mark(marks);
  }
}
