// Keyboard shortcuts (ignored while typing in a field). `?` lists them.

import { h } from "./dom.js";

export const SHORTCUTS = [
  ["K", "toggle diagram / board"],
  ["/", "filter machines"],
  ["↑ ↓", "move through machines (in the list)"],
  ["[ ]", "previous / next machine"],
  ["T", "timeline panel"],
  ["J", "jobs panel"],
  ["L", "log panel (a system's UI)"],
  ["C", "charts over time (again: back)"],
  ["R", "reconnect now"],
  ["Esc", "close details / this help"],
  ["?", "this help"],
];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function installShortcuts(actions) {
  const help = h(
    "dialog",
    { class: "help", attrs: { "aria-label": "Keyboard shortcuts" } },
    h("h2", { text: "Keyboard shortcuts" }),
    h("dl", {}, ...SHORTCUTS.flatMap(([key, what]) => [h("dt", {}, h("kbd", { text: key })), h("dd", { text: what })])),
    h("form", { method: "dialog" }, h("button", { class: "button", text: "Close" })),
  );
  document.body.append(help);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    switch (event.key) {
      case "k":
      case "K":
        actions.toggleView();
        break;
      case "/":
        actions.focusFilter();
        break;
      case "t":
      case "T":
        actions.showPanel("timeline");
        break;
      case "j":
      case "J":
        actions.showPanel("jobs");
        break;
      case "l":
      case "L":
        actions.showPanel("log");
        break;
      case "c":
      case "C":
        actions.toggleCharts?.();
        break;
      case "r":
      case "R":
        actions.retry();
        break;
      case "[":
        actions.step(-1);
        break;
      case "]":
        actions.step(1);
        break;
      case "?":
        if (help.open) help.close();
        else help.showModal();
        break;
      case "Escape":
        actions.closeDetails();
        return;
      default:
        return;
    }
    event.preventDefault();
  });
}
