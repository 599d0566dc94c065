// Zoom, pan, fit and full screen for the diagram: Mermaid's SVG is kept as rendered and
// moved with a CSS transform (the wheel zooms around the pointer, a drag pans, buttons
// zoom, fit and go full screen). Also the badges that count a template's instances in
// each state, drawn on the SVG's nodes.

import { h, svg } from "./dom.js";

const MIN_SCALE = 0.1;
const MAX_SCALE = 8;
const STEP = 1.25;

export class ZoomPan {
  /** Builds a toolbar and a viewport inside `host`; the viewport holds what is shown. */
  constructor(host) {
    this.host = host;
    this.svg = null;
    this.size = { width: 1, height: 1 };
    this.view = { x: 0, y: 0, k: 1 };
    this.fitted = true; // follow the viewport's size until zoomed or panned
    const button = (text, title, action) =>
      h("button", { type: "button", class: "zoom-button", text, title, attrs: { "aria-label": title }, on: { click: action } });
    this.level = h("span", { class: "zoom-level", attrs: { "aria-live": "off" } });
    this.toolbar = h(
      "div",
      { class: "zoom-tools", attrs: { role: "group", "aria-label": "Diagram zoom" } },
      button("−", "Zoom out", () => this.zoomBy(1 / STEP)),
      this.level,
      button("+", "Zoom in", () => this.zoomBy(STEP)),
      button("Fit", "Fit the diagram to the panel", () => this.fit()),
      button("", "Full screen", () => this.fullScreen()),
    );
    this.toolbar.lastChild.append(fullScreenIcon());
    this.viewport = h("div", { class: "diagram-viewport" });
    host.replaceChildren(this.toolbar, this.viewport);
    this.toolbar.hidden = true;
    this.viewport.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    this.viewport.addEventListener("pointerdown", (event) => this.drag(event));
    this.viewport.addEventListener("dblclick", () => this.fit());
    new ResizeObserver(() => {
      if (this.fitted) this.fit();
    }).observe(this.viewport);
    document.addEventListener("fullscreenchange", () => this.fit());
  }

  /** Show `node` (Mermaid's SVG) fitted to the viewport. */
  attach(node) {
    this.svg = node;
    const box = node.viewBox?.baseVal;
    this.size = box && box.width ? { width: box.width, height: box.height } : { width: 600, height: 400 };
    node.setAttribute("width", String(this.size.width));
    node.setAttribute("height", String(this.size.height));
    node.style.maxWidth = "none";
    this.viewport.replaceChildren(node);
    this.toolbar.hidden = false;
    this.fit();
  }

  /** Something else (a message) replaces the diagram. */
  detach() {
    this.svg = null;
    this.toolbar.hidden = true;
  }

  fit() {
    if (!this.svg) return;
    const { clientWidth: w, clientHeight: h2 } = this.viewport;
    if (!w || !h2) return;
    const k = clamp(Math.min(w / this.size.width, h2 / this.size.height) * 0.96);
    this.view = { k, x: (w - this.size.width * k) / 2, y: (h2 - this.size.height * k) / 2 };
    this.fitted = true;
    this.apply();
  }

  /** Zoom by `factor` around a point of the viewport (default: its centre). */
  zoomBy(factor, at = null) {
    if (!this.svg) return;
    const point = at ?? { x: this.viewport.clientWidth / 2, y: this.viewport.clientHeight / 2 };
    const k = clamp(this.view.k * factor);
    const ratio = k / this.view.k;
    this.view = { k, x: point.x - (point.x - this.view.x) * ratio, y: point.y - (point.y - this.view.y) * ratio };
    this.fitted = false;
    this.apply();
  }

  wheel(event) {
    if (!this.svg) return;
    event.preventDefault();
    const rect = this.viewport.getBoundingClientRect();
    this.zoomBy(Math.exp(-event.deltaY * 0.0015), { x: event.clientX - rect.left, y: event.clientY - rect.top });
  }

  drag(event) {
    if (!this.svg || event.button !== 0) return;
    const start = { x: event.clientX, y: event.clientY, vx: this.view.x, vy: this.view.y };
    this.viewport.setPointerCapture(event.pointerId);
    this.viewport.classList.add("panning");
    const move = (e) => {
      this.view = { ...this.view, x: start.vx + e.clientX - start.x, y: start.vy + e.clientY - start.y };
      this.fitted = false;
      this.apply();
    };
    const up = () => {
      this.viewport.classList.remove("panning");
      this.viewport.removeEventListener("pointermove", move);
      this.viewport.removeEventListener("pointerup", up);
      this.viewport.removeEventListener("pointercancel", up);
    };
    this.viewport.addEventListener("pointermove", move);
    this.viewport.addEventListener("pointerup", up);
    this.viewport.addEventListener("pointercancel", up);
  }

  fullScreen() {
    if (document.fullscreenElement) document.exitFullscreen?.();
    else this.host.requestFullscreen?.().catch(() => {});
  }

  apply() {
    const { x, y, k } = this.view;
    this.svg.style.transform = `translate(${x}px, ${y}px) scale(${k})`;
    this.level.textContent = `${Math.round(k * 100)}%`;
    this.svg.dataset.scale = k.toFixed(3);
    this.svg.style.setProperty("--badge-scale", String(Math.min(4, Math.max(1, 1 / k))));
  }
}

/** Four corners: the usual full screen sign (no font has to carry it). */
function fullScreenIcon() {
  const corners = "M1 5V1h4M11 1h4v4M15 11v4h-4M5 15H1v-4";
  return svg("svg", { viewBox: "0 0 16 16", width: 12, height: 12, "aria-hidden": "true" },
    svg("path", { d: corners, fill: "none", stroke: "currentColor", "stroke-width": 2 }));
}

function clamp(k) {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, k));
}

/** Show `count` instances on a state's node (a badge at its top right corner). */
export function countBadge(node, count) {
  let badge = node.querySelector(":scope > g.sm-count");
  if (!badge) {
    const shape = node.querySelector("rect, polygon, circle, path");
    const box = shape?.getBBox?.() ?? { x: 0, y: 0, width: 0, height: 0 };
    const x = box.x + box.width;
    const scaled = svg("g", {}, svg("rect", { rx: 9, ry: 9, height: 18, y: -9 }), svg("text", { "text-anchor": "middle", y: 4, x: 0 }));
    badge = svg("g", { class: "sm-count", transform: `translate(${x}, ${box.y})` }, scaled);
    node.append(badge);
  }
  const [rect, label] = badge.firstChild.children;
  const text = String(count);
  label.textContent = text;
  const width = 10 + 7 * text.length;
  rect.setAttribute("width", String(width));
  rect.setAttribute("x", String(-width / 2));
  badge.removeAttribute("display");
  return badge;
}
