// A searchable machine picker: a button showing the choice; it opens a box where typing
// narrows the templates and machines (hundreds of them) to a short list.

import { h, replaceChildren, setText } from "./dom.js";

/** Most choices listed at once (type to narrow). */
export const PICKER_ROWS = 60;

/** The choices whose label holds every word of `query` (any case), templates first. */
export function pickMatches(choices, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return choices.filter((choice) => words.every((word) => choice.label.toLowerCase().includes(word)));
}

export class MachinePicker {
  /** `choices()` lists `{value, label}` (the first: everything); `onChange(value)`. */
  constructor({ choices, onChange, label }) {
    this.choices = choices;
    this.onChange = onChange;
    this.value = "";
    this.active = 0;
    this.shown = [];
    this.button = h("button", {
      type: "button",
      class: "picker-button",
      attrs: { "aria-haspopup": "listbox", "aria-expanded": "false", "aria-label": label },
      on: { click: () => (this.box.hidden ? this.open() : this.close()) },
    });
    this.input = h("input", {
      type: "search",
      class: "picker-search",
      placeholder: "Type a machine or template…",
      attrs: { "aria-label": "Search machines", role: "combobox", "aria-autocomplete": "list" },
      on: { input: () => this.fill(), keydown: (event) => this.key(event) },
    });
    this.list = h("ul", { class: "picker-list", attrs: { role: "listbox", "aria-label": "Machines" } });
    this.more = h("p", { class: "picker-more muted" });
    this.box = h("div", { class: "picker-box", hidden: true }, this.input, this.list, this.more);
    this.root = h("div", { class: "picker" }, this.button, this.box);
    document.addEventListener("pointerdown", (event) => {
      if (!this.box.hidden && !this.root.contains(event.target)) this.close();
    });
    this.set("");
  }

  /** Show `value` as chosen (without telling onChange); unknown values become "". */
  set(value) {
    const choice = this.choices().find((c) => c.value === value) ?? this.choices()[0];
    this.value = choice?.value ?? "";
    setText(this.button, choice?.label ?? "All machines");
    this.button.title = choice?.label ?? "";
    this.button.classList.toggle("chosen", this.value !== "");
  }

  open() {
    this.box.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.input.value = "";
    this.fill();
    this.input.focus();
  }

  close() {
    this.box.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  fill() {
    const found = pickMatches(this.choices(), this.input.value);
    this.shown = found.slice(0, PICKER_ROWS);
    this.active = Math.max(0, this.shown.findIndex((c) => c.value === this.value));
    replaceChildren(
      this.list,
      ...this.shown.map((choice, i) =>
        h("li", {
          role: "option",
          class: choice.value.startsWith("t:") ? "template" : "",
          text: choice.label,
          dataset: { value: choice.value },
          attrs: { "aria-selected": String(choice.value === this.value), id: `picker-${i}` },
          on: { click: () => this.pick(choice.value) },
        }),
      ),
    );
    this.more.hidden = found.length <= PICKER_ROWS;
    setText(this.more, `…and ${found.length - PICKER_ROWS} more: type to narrow`);
    if (!found.length) this.list.append(h("li", { class: "muted", text: "No machine matches." }));
    this.highlight();
  }

  highlight() {
    for (const [i, item] of [...this.list.children].entries()) item.classList.toggle("active", i === this.active);
    this.list.children[this.active]?.scrollIntoView?.({ block: "nearest" });
    this.input.setAttribute("aria-activedescendant", `picker-${this.active}`);
  }

  key(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = Math.min(this.shown.length - 1, Math.max(0, this.active + step));
      this.highlight();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (this.shown[this.active]) this.pick(this.shown[this.active].value);
    } else if (event.key === "Escape") {
      event.stopPropagation();
      this.close();
      this.button.focus();
    }
  }

  pick(value) {
    this.close();
    this.set(value);
    this.onChange(this.value);
  }
}
