// One machine's log file, live: its last lines, then every line written since, asked for
// every second while the panel is shown (GET /api/machines/{name}/log, with the cursor of
// the last answer). Lines are shown as text, never as HTML.

import { api } from "./api.js";
import { h, replaceChildren, setText } from "./dom.js";

export const LOG_POLL_MS = 1000;
/** Lines asked for when a machine's log is first shown. */
export const LOG_FIRST_LINES = 200;
/** Lines kept on screen. */
export const LOG_KEEP_LINES = 2000;

export class LogView {
  constructor(container) {
    this.container = container;
    this.name = null;
    this.cursor = null;
    this.lines = [];
    this.request = 0;
    this.busy = false;
    this.missing = false; // the server has no log for this machine: stop asking
    this.timer = null;
    this.note = h("div", { class: "panel-note", text: "No machine selected." });
    this.text = h("pre", { class: "log-lines", attrs: { "aria-label": "Log lines" } });
    container.replaceChildren(this.note, this.text);
  }

  /** Ask for news every second while the panel is shown. */
  setActive(active) {
    clearInterval(this.timer);
    this.timer = null;
    if (!active) return;
    this.poll();
    this.timer = setInterval(() => this.poll(), LOG_POLL_MS);
  }

  /** Follow `name`'s log from its last lines (nothing when null). */
  show(name) {
    if (name === this.name) return;
    this.name = name;
    this.cursor = null;
    this.lines = [];
    this.missing = false;
    this.request += 1;
    this.text.textContent = "";
    setText(this.note, name ? `${name} · reading its log…` : "No machine selected.");
    if (this.timer !== null) this.poll();
  }

  async poll() {
    if (this.busy || this.missing || !this.name || document.hidden) return;
    this.busy = true;
    const request = this.request;
    const name = this.name;
    try {
      const log = await api.log(name, this.cursor, LOG_FIRST_LINES);
      if (request !== this.request) return;
      this.cursor = log.cursor;
      replaceChildren(this.note, h("strong", { text: name }), ` · ${log.file} · live`);
      this.append(Array.isArray(log.lines) ? log.lines : []);
    } catch (error) {
      if (request !== this.request) return;
      this.missing = error.status === 404;
      replaceChildren(this.note, h("strong", { text: name }), h("span", { class: "error-text", text: ` · ${error.message}` }));
    } finally {
      this.busy = false;
    }
  }

  append(lines) {
    if (!lines.length) return;
    const box = this.container;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    this.lines.push(...lines);
    if (this.lines.length > LOG_KEEP_LINES) {
      this.lines.splice(0, this.lines.length - LOG_KEEP_LINES);
      this.text.textContent = `${this.lines.join("\n")}\n`;
    } else {
      this.text.append(`${lines.join("\n")}\n`);
    }
    if (atEnd) box.scrollTop = box.scrollHeight;
  }
}
