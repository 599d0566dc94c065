// The bottom panel (timeline, jobs, log) folds away to give the diagram or board the
// height; the choice is remembered in this browser.

import { setText } from "./dom.js";

const KEY = "statemachine-ui:bottom-panel";

export class BottomPanel {
  /** `main`: the element whose class says folded; `button`: the fold/unfold button. */
  constructor(main, button) {
    this.main = main;
    this.button = button;
    button.addEventListener("click", () => this.set(!this.collapsed));
    let saved = null;
    try {
      saved = localStorage.getItem(KEY);
    } catch {
      saved = null; // storage refused (private mode): not remembered
    }
    this.set(saved === "collapsed", { save: false });
  }

  set(collapsed, { save = true } = {}) {
    this.collapsed = collapsed;
    this.main.classList.toggle("panel-collapsed", collapsed);
    this.button.setAttribute("aria-expanded", String(!collapsed));
    this.button.title = collapsed ? "Show the panel" : "Fold the panel away";
    setText(this.button, collapsed ? "▴ Show panel" : "▾ Hide");
    if (!save) return;
    try {
      localStorage.setItem(KEY, collapsed ? "collapsed" : "open");
    } catch {
      // not remembered
    }
  }
}
