// A modal question before a change that touches many jobs (or one that cannot be undone):
// it says what will happen to how many, and nothing happens unless the operator agrees.

import { h } from "./dom.js";

/**
 * Ask; resolves true when the operator chose `action`, false when they kept things as they
 * are (the `keep` button, Escape, or a click outside).
 */
export function confirmAction({ title, message, details = [], action, keep = "Keep them", danger = false }) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", attrs: { "aria-label": title } },
      h("h2", { text: title }),
      h("p", { class: "confirm-message", text: message }),
      details.length ? h("ul", { class: "confirm-details" }, ...details.map((line) => h("li", { text: line }))) : null,
      h(
        "form",
        { method: "dialog", class: "confirm-buttons" },
        h("button", { class: "button", value: "no", text: keep, autofocus: true }),
        h("button", { class: `button primary${danger ? " danger" : ""}`, value: "yes", text: action }),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close("no"); // the backdrop
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
