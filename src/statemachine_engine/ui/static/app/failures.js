// The failures view: dead and failed jobs and error events grouped by their message with
// its particulars (numbers, ids, paths, quoted values) taken out, the largest group first;
// each with its counts, when it was first and last seen, the job types and machines it
// touched, and "retry all" for its jobs after a confirmation that says how many.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { h, replaceChildren, setText } from "./dom.js";
import { ago, dateTime } from "./format.js";
import { RANGES } from "./explorer.js";
import { machineLink } from "./job_details.js";
import { failuresHash } from "./routes.js";

const RANGE_LABELS = { "": "Any time", "1h": "Last hour", "24h": "Last 24 h", "7d": "Last 7 days" };
const REFRESH_MS = 15_000;

export class FailuresView {
  constructor(root, { control, notify }) {
    this.root = root;
    this.control = control;
    this.notify = notify;
    this.range = "";
    this.active = false;
    this.timer = null;
    this.request = 0;
    this.open = new Set(); // keys of the groups whose jobs are listed
    this.rangeSelect = h("select", {
      attrs: { "aria-label": "Failures since" },
      on: {
        change: (e) => {
          this.range = e.target.value;
          history.replaceState(null, "", failuresHash(this.range));
          this.refresh();
        },
      },
    });
    replaceChildren(this.rangeSelect, ...Object.entries(RANGE_LABELS).map(([v, label]) => h("option", { value: v, text: label })));
    this.summary = h("span", { class: "explorer-summary", attrs: { "aria-live": "polite" } });
    this.body = h("tbody");
    this.message = h("p", { class: "empty" });
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "explorer-main" },
        h("header", { class: "route-head" }, h("h1", { text: "Failures" }), this.summary, h("span", { class: "spacer" }), this.rangeSelect),
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "jobs failures-table" },
            h(
              "thead",
              {},
              h("tr", {}, ...["Message", "Count", "Status", "Job types", "Machines", "First seen", "Last seen", ""].map((t) =>
                  h("th", { class: `col-${t.toLowerCase().replace(" ", "-") || "actions"}`, text: t, attrs: { scope: "col" } }),
                )),
            ),
            this.body,
          ),
          this.message,
        ),
      ),
    );
  }

  since() {
    return this.range && RANGES[this.range] ? Math.floor(Date.now() / 1000 - RANGES[this.range]) : null;
  }

  setActive(active, range) {
    this.active = active;
    clearInterval(this.timer);
    this.timer = null;
    if (!active) return;
    this.range = RANGE_LABELS[range] ? range : "";
    this.rangeSelect.value = this.range;
    this.refresh();
    this.timer = setInterval(() => {
      if (!document.hidden) this.refresh();
    }, REFRESH_MS);
  }

  poke() {
    if (!this.active || this.poked) return;
    this.poked = setTimeout(() => {
      this.poked = null;
      if (!document.hidden) this.refresh();
    }, 3000);
  }

  async refresh() {
    if (!this.active) return;
    const request = ++this.request;
    const since = this.since();
    let answer;
    try {
      answer = await api.failures(since);
    } catch (error) {
      if (request !== this.request) return;
      this.message.hidden = false;
      this.message.textContent = `Failures unavailable: ${error.message}`;
      return;
    }
    if (request !== this.request || !this.active) return;
    this.render(answer, since);
  }

  render(answer, since) {
    this.lastAnswer = answer;
    const groups = answer.groups ?? [];
    const jobs = groups.reduce((n, g) => n + g.jobs, 0);
    const events = groups.reduce((n, g) => n + g.events, 0);
    setText(
      this.summary,
      `${groups.length} group${groups.length === 1 ? "" : "s"} · ${jobs.toLocaleString()} failed or dead job${jobs === 1 ? "" : "s"} · ` +
        `${events.toLocaleString()} error event${events === 1 ? "" : "s"}${answer.capped ? " · the newest 10,000 of each read" : ""}`,
    );
    replaceChildren(this.body, ...groups.flatMap((group) => this.rows(group, since)));
    this.message.hidden = groups.length > 0;
    this.message.textContent = "No failures. Nothing failed or died, and no action raised an error.";
  }

  rows(group, since) {
    const statuses = Object.entries(group.statuses ?? {}).map(([s, n]) => `${n} ${s}`);
    const open = this.open.has(group.key);
    const toggle = h("button", {
      type: "button",
      class: "button small",
      text: open ? "Hide jobs" : "Show jobs",
      disabled: group.jobs === 0,
      attrs: { "aria-expanded": String(open) },
      on: {
        click: () => {
          if (open) this.open.delete(group.key);
          else this.open.add(group.key);
          this.render(this.lastAnswer, since);
        },
      },
    });
    const retry =
      this.control() && group.jobs > 0
        ? h("button", { type: "button", class: "button small", text: `Retry all ${group.jobs.toLocaleString()}…`, dataset: { retryGroup: group.key }, on: { click: () => this.retryAll(group, since) } })
        : null;
    const row = h(
      "tr",
      { class: "failure-group", dataset: { key: group.key } },
      h("td", { class: "failure-message" }, h("div", { class: "mono key", text: group.key }), group.example !== group.key ? h("div", { class: "muted example", text: `e.g. ${group.example}`, title: group.example }) : null),
      h("td", { class: "num count", text: group.count.toLocaleString() }),
      h("td", {
        class: "statuses",
        text: [statuses.join(", "), group.events ? `${group.events} error event${group.events === 1 ? "" : "s"}` : ""].filter(Boolean).join(" · "),
      }),
      h("td", { text: (group.job_types ?? []).join(", ") || "—" }),
      h("td", {}, ...(group.machines ?? []).flatMap((m, i) => [i ? ", " : null, machineLink(m)])),
      h("td", { class: "col-first-seen", text: ago(group.first_seen), title: dateTime(group.first_seen) }),
      h("td", { text: ago(group.last_seen), title: dateTime(group.last_seen) }),
      h("td", { class: "actions" }, toggle, retry),
    );
    if (!open) return [row];
    const more = group.jobs - (group.job_ids ?? []).length;
    const list = h(
      "tr",
      { class: "failure-jobs" },
      h(
        "td",
        { attrs: { colspan: "8" } },
        ...(group.job_ids ?? []).flatMap((id, i) => [i ? " " : null, h("a", { href: `#job/${encodeURIComponent(id)}`, class: "mono", text: id })]),
        more > 0 ? h("span", { class: "muted", text: ` and ${more.toLocaleString()} more` }) : null,
      ),
    );
    return [row, list];
  }

  async retryAll(group, since) {
    let matched;
    try {
      matched = (await api.retryFailures(group.key, since, true)).matched;
    } catch (error) {
      this.notify(`Cannot retry: ${error.message}`, "error");
      this.refresh();
      return;
    }
    const jobs = `${matched.toLocaleString()} job${matched === 1 ? "" : "s"}`;
    const agreed = await confirmAction({
      title: `Retry ${jobs}?`,
      message: `The failed and dead jobs whose error reads “${group.key}” go back to the queue with fresh attempts.`,
      details: [`types: ${(group.job_types ?? []).join(", ")}`, `e.g. ${group.example}`],
      action: `Retry ${jobs}`,
    });
    if (!agreed) return;
    try {
      const { changed } = await api.retryFailures(group.key, since);
      this.notify(`${changed.toLocaleString()} job${changed === 1 ? "" : "s"} back in the queue.`, "success");
    } catch (error) {
      this.notify(`Retry refused: ${error.message}`, "error");
    }
    this.refresh();
  }
}
