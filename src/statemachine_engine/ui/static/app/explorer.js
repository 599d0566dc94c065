// The job explorer: every job of the store, searched by id and data text, filtered by type,
// status, worker and time, sorted and paged by the server (totals included), changed in
// bulk by filter after a confirmation that says how many, with one job's details beside.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { h, replaceChildren, setClass, setText } from "./dom.js";
import { ago, dateTime, duration } from "./format.js";
import { JOB_STATUSES } from "./jobs.js";
import { JobDetails } from "./job_details.js";
import { jobsHash } from "./routes.js";

export const PAGE_SIZES = [25, 50, 100, 200];
const DEFAULT_SIZE = 50;
/** Time windows offered, in seconds back from now. */
export const RANGES = { "15m": 900, "1h": 3600, "24h": 86400, "7d": 604800 };
const RANGE_LABELS = {
  "": "Any time",
  "15m": "Last 15 min",
  "1h": "Last hour",
  "24h": "Last 24 h",
  "7d": "Last 7 days",
  custom: "Custom range…",
};

/** `YYYY-MM-DDTHH:MM` (local time, as a datetime-local input shows it) of epoch seconds. */
export function localInput(seconds) {
  if (!seconds) return "";
  const d = new Date(Number(seconds) * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Epoch seconds of a datetime-local input's value ("" for none). */
export function fromLocalInput(value) {
  if (!value) return "";
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? String(Math.floor(ms / 1000)) : "";
}
/** [label, sort key or null] of each column. */
const COLUMNS = [
  ["Job", "job_id"],
  ["Type", "job_type"],
  ["Status", "status"],
  ["Attempts", "attempts"],
  ["Priority", "priority"],
  ["Worker", null],
  ["Created", "created_at"],
  ["Updated", "updated_at"],
  ["Duration", null],
  ["Last error", null],
];
const REFRESH_MS = 10_000;
const POKE_MS = 2_000;
const EVERY_JOB = "every job";

/** The GET /api/jobs parameters of an explorer state (the hash's keys). */
export function queryOf(state, now = Date.now() / 1000) {
  const size = Number(state.size) || DEFAULT_SIZE;
  const page = Math.max(1, Number(state.page) || 1);
  const query = { sort: state.sort || "-created_at", limit: String(size), offset: String((page - 1) * size) };
  for (const key of ["q", "status", "type", "worker", "until", "time"]) if (state[key]) query[key] = state[key];
  if (state.range && RANGES[state.range]) query.since = String(Math.floor(now - RANGES[state.range]));
  else if (state.since) query.since = state.since;
  return query;
}

/** The filter part of a query (what a bulk change applies to). */
function filterOf(query) {
  const { sort, limit, offset, ...filter } = query;
  return filter;
}

export class JobExplorer {
  constructor(root, { control, notify }) {
    this.root = root;
    this.control = control;
    this.notify = notify;
    this.state = {};
    this.active = false;
    this.timer = null;
    this.request = 0;
    this.last = null; // the last answer
    this.details = new JobDetails({ control, notify, onChange: () => this.refresh(), onClose: () => this.setJob(null) });
    this.build();
  }

  build() {
    this.search = h("input", {
      type: "search",
      class: "explorer-search",
      placeholder: "Search job id, data or error text…",
      attrs: { "aria-label": "Search jobs by id, data or error text", spellcheck: "false" },
    });
    let typing = null;
    this.search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.change({ q: this.search.value.trim() }), 350);
    });
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        clearTimeout(typing);
        this.change({ q: this.search.value.trim() });
      }
    });
    this.typeSelect = this.select("Job type", (value) => this.change({ type: value }));
    this.workerSelect = this.select("Worker", (value) => this.change({ worker: value }));
    this.rangeSelect = this.select("Time", (value) => this.change({ range: value, since: "", until: "" }));
    const edge = (label, key) =>
      h("input", {
        type: "datetime-local",
        class: "range-edge",
        title: label,
        attrs: { "aria-label": label },
        on: { change: (e) => this.change({ range: "custom", [key]: fromLocalInput(e.target.value) }) },
      });
    this.fromInput = edge("From", "since");
    this.toInput = edge("Until", "until");
    this.timeField = this.select("Time of", (value) => this.change({ time: value }));
    replaceChildren(this.timeField, h("option", { value: "", text: "by last change" }), h("option", { value: "created", text: "by creation" }));
    this.chips = h("div", { class: "job-counts", attrs: { role: "group", "aria-label": "Filter by status" } });
    this.summary = h("span", { class: "explorer-summary", attrs: { "aria-live": "polite" } });
    this.bulk = h(
      "div",
      { class: "explorer-bulk" },
      h("button", { type: "button", class: "button", text: "Retry matching…", dataset: { bulk: "retry" }, on: { click: () => this.bulkChange("retry") } }),
      h("button", { type: "button", class: "button danger", text: "Cancel matching…", dataset: { bulk: "cancel" }, on: { click: () => this.bulkChange("cancel") } }),
    );
    this.head = h("tr");
    this.body = h("tbody");
    this.message = h("p", { class: "empty" });
    this.pageText = h("span", { class: "page-text", attrs: { "aria-live": "polite" } });
    this.sizeSelect = this.select("Jobs per page", (value) => this.change({ size: value === String(DEFAULT_SIZE) ? "" : value }));
    replaceChildren(this.sizeSelect, ...PAGE_SIZES.map((n) => h("option", { value: String(n), text: `${n} per page` })));
    const pageButton = (label, title, to) =>
      h("button", { type: "button", class: "button", text: label, title, dataset: { page: to }, on: { click: () => this.goPage(to) } });
    this.pager = h(
      "div",
      { class: "pager" },
      this.pageText,
      h("span", { class: "spacer" }),
      this.sizeSelect,
      pageButton("«", "First page", "first"),
      pageButton("‹ Prev", "Previous page", "prev"),
      pageButton("Next ›", "Next page", "next"),
      pageButton("»", "Last page", "last"),
    );
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "explorer-main" },
        h(
          "header",
          { class: "route-head" },
          h("h1", { text: "Jobs" }),
          this.summary,
          h("span", { class: "spacer" }),
          this.bulk,
        ),
        h("div", { class: "explorer-filters" }, this.search, this.typeSelect, this.workerSelect, this.rangeSelect, this.fromInput, this.toInput, this.timeField),
        this.chips,
        h("div", { class: "table-wrap" }, h("table", { class: "jobs explorer-table" }, h("thead", {}, this.head), this.body), this.message),
        this.pager,
      ),
      this.details.root,
    );
  }

  select(label, onChange) {
    return h("select", { attrs: { "aria-label": label }, on: { change: (e) => onChange(e.target.value) } });
  }

  /** Shown (with the hash's state) or hidden. */
  setActive(active, state) {
    this.active = active;
    clearInterval(this.timer);
    this.timer = null;
    if (!active) return;
    this.state = { ...(state ?? {}) };
    this.search.value = this.state.q ?? "";
    this.refresh({ facets: true });
    this.timer = setInterval(() => {
      if (!document.hidden) this.refresh();
    }, REFRESH_MS);
    if (this.state.job) this.details.show(this.state.job);
    else this.details.close({ quiet: true });
  }

  /** The server has said what this page may do (its first snapshot comes after a linked
   * job's details may already show): show the controls it allows. */
  controlChanged() {
    if (!this.active) return;
    this.refresh();
    if (this.details.id !== null) this.details.show(this.details.id);
  }

  /** A job changed somewhere: refresh soon (at most every POKE_MS: a busy queue changes
   * jobs many times a second, and each refresh counts every matching job). */
  poke() {
    if (!this.active || this.poked) return;
    this.poked = setTimeout(() => {
      this.poked = null;
      if (!document.hidden) this.refresh();
    }, POKE_MS);
  }

  change(patch) {
    const next = { ...this.state, ...patch };
    if (!("page" in patch)) next.page = "";
    for (const key of Object.keys(next)) if (next[key] === "" || next[key] === null) delete next[key];
    this.state = next;
    this.writeHash();
    this.refresh();
  }

  writeHash() {
    const hash = jobsHash(this.state);
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  setJob(id) {
    if (id === null) delete this.state.job;
    else this.state.job = id;
    this.writeHash();
    for (const row of this.body.children) setClass(row, "selected", row.dataset.job === id);
  }

  closeDetails() {
    this.details.close();
  }

  goPage(to) {
    const total = this.last?.total ?? 0;
    const size = Number(this.state.size) || DEFAULT_SIZE;
    const pages = Math.max(1, Math.ceil(total / size));
    const current = Math.max(1, Number(this.state.page) || 1);
    const page = { first: 1, prev: current - 1, next: current + 1, last: pages }[to];
    const clamped = Math.min(pages, Math.max(1, page));
    this.change({ page: clamped === 1 ? "" : String(clamped) });
  }

  async refresh({ facets = false } = {}) {
    if (!this.active) return;
    const request = ++this.request;
    const query = queryOf(this.state);
    if (facets || !this.facets) query.facets = "1";
    let answer;
    try {
      answer = await api.searchJobs(query);
    } catch (error) {
      if (request !== this.request) return;
      this.message.hidden = false;
      this.message.textContent = `Jobs unavailable: ${error.message}`;
      return;
    }
    if (request !== this.request || !this.active) return;
    if (answer.types) this.facets = { types: answer.types, workers: answer.workers ?? [] };
    this.last = answer;
    this.render(answer, query);
  }

  render(answer, query) {
    this.renderFilters();
    this.renderChips(answer.by_status ?? {});
    this.renderHead(answer.sort);
    this.renderRows(answer.jobs ?? []);
    const size = answer.limit;
    const first = answer.total ? answer.offset + 1 : 0;
    const lastShown = answer.offset + (answer.jobs?.length ?? 0);
    const page = Math.floor(answer.offset / size) + 1;
    const pages = Math.max(1, Math.ceil(answer.total / size));
    setText(
      this.pageText,
      answer.total
        ? `${first.toLocaleString()}–${lastShown.toLocaleString()} of ${answer.total.toLocaleString()} jobs · page ${page} of ${pages.toLocaleString()}`
        : "0 jobs",
    );
    this.sizeSelect.value = String(size);
    for (const button of this.pager.querySelectorAll("button[data-page]")) {
      const back = button.dataset.page === "first" || button.dataset.page === "prev";
      button.disabled = back ? page <= 1 : page >= pages;
    }
    setText(this.summary, `${answer.total.toLocaleString()} match${describe(query)}`);
    this.bulk.hidden = !this.control();
  }

  renderFilters() {
    const types = this.facets?.types ?? {};
    const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
    fillSelect(
      this.typeSelect,
      [["", "All types"], ...Object.entries(types).map(([type, counts]) => [type, `${type} (${total(counts).toLocaleString()})`])],
      this.state.type ?? "",
    );
    fillSelect(this.workerSelect, [["", "Any worker"], ...(this.facets?.workers ?? []).map((w) => [w, w])], this.state.worker ?? "");
    const custom = this.state.range === "custom" || (!this.state.range && Boolean(this.state.since || this.state.until));
    fillSelect(this.rangeSelect, Object.entries(RANGE_LABELS), custom ? "custom" : (this.state.range ?? ""));
    this.fromInput.hidden = this.toInput.hidden = !custom;
    if (document.activeElement !== this.fromInput) this.fromInput.value = localInput(this.state.since);
    if (document.activeElement !== this.toInput) this.toInput.value = localInput(this.state.until);
    this.timeField.value = this.state.time ?? "";
  }

  renderChips(byStatus) {
    const selected = new Set((this.state.status ?? "").split(",").filter(Boolean));
    const all = Object.values(byStatus).reduce((a, b) => a + b, 0);
    const chip = (status, label, n) =>
      h(
        "button",
        {
          type: "button",
          class: `count-chip status-${status || "all"}`,
          dataset: { status },
          attrs: { "aria-pressed": String(status ? selected.has(status) : selected.size === 0) },
          on: {
            click: () => {
              if (!status) selected.clear();
              else if (selected.has(status)) selected.delete(status);
              else selected.add(status);
              this.change({ status: [...selected].join(",") });
            },
          },
        },
        h("span", { class: "n", text: n.toLocaleString() }),
        h("span", { class: "label", text: label }),
      );
    replaceChildren(this.chips, chip("", "any status", all), ...JOB_STATUSES.map((s) => chip(s, s, byStatus[s] ?? 0)));
  }

  renderHead(sort) {
    const key = (sort ?? "-created_at").replace(/^-/, "");
    const descending = (sort ?? "-created_at").startsWith("-");
    replaceChildren(
      this.head,
      ...COLUMNS.map(([label, column]) => {
        const cls = `col-${label.toLowerCase().replace(" ", "-")}`;
        if (!column) return h("th", { class: cls, text: label, attrs: { scope: "col" } });
        const active = column === key;
        const next = active && descending ? column : `-${column}`;
        return h(
          "th",
          { class: cls, attrs: { scope: "col", "aria-sort": active ? (descending ? "descending" : "ascending") : "none" } },
          h(
            "button",
            {
              type: "button",
              class: "sort",
              dataset: { sort: column },
              title: `Sort by ${label.toLowerCase()}`,
              on: { click: () => this.change({ sort: next === "-created_at" ? "" : next }) },
            },
            label,
            h("span", { class: "sort-mark", attrs: { "aria-hidden": "true" }, text: active ? (descending ? " ▼" : " ▲") : "" }),
          ),
        );
      }),
    );
  }

  renderRows(jobs) {
    const rows = jobs.map((job) =>
      h(
        "tr",
        {
          class: job.job_id === this.state.job ? "selected" : "",
          tabIndex: 0,
          dataset: { job: job.job_id, status: job.status },
          on: {
            click: () => this.openJob(job.job_id),
            keydown: (e) => {
              if (e.key === "Enter") this.openJob(job.job_id);
            },
          },
        },
        h("td", { class: "mono", text: job.job_id }),
        h("td", { text: job.job_type ?? "" }),
        h("td", {}, h("span", { class: `status-pill status-${job.status}`, text: job.status })),
        h("td", { class: "num", text: `${job.attempts ?? 0}/${job.max_attempts ?? "?"}` }),
        h("td", { class: "num col-priority", text: String(job.priority ?? 0) }),
        h("td", { class: "mono", text: job.worker ?? "—" }),
        h("td", { class: "col-created", text: ago(job.created_at), title: dateTime(job.created_at) }),
        h("td", { text: ago(job.updated_at), title: dateTime(job.updated_at) }),
        h("td", { class: "num col-duration", text: job.duration === null || job.duration === undefined ? "—" : duration(job.duration) }),
        h("td", { class: "error-cell", text: job.last_error ?? "", title: job.last_error ?? "" }),
      ),
    );
    replaceChildren(this.body, ...rows);
    this.message.hidden = rows.length > 0;
    this.message.textContent = "No jobs match these filters.";
  }

  openJob(id) {
    this.setJob(id);
    this.details.show(id);
  }

  async bulkChange(verb) {
    const filter = filterOf(queryOf(this.state));
    let matched;
    try {
      matched = (await api.bulkJobs(verb, filter, true)).matched;
    } catch (error) {
      this.notify(`Cannot ${verb}: ${error.message}`, "error");
      return;
    }
    const which = verb === "retry" ? "failed, dead or cancelled" : "pending, processing or failed";
    if (!matched) {
      this.notify(`No ${which} job matches these filters.`, "info");
      return;
    }
    const jobs = `${matched.toLocaleString()} job${matched === 1 ? "" : "s"}`;
    const agreed = await confirmAction({
      title: verb === "retry" ? `Retry ${jobs}?` : `Cancel ${jobs}?`,
      message:
        verb === "retry"
          ? `${jobs} (the ${which} ones among those matching) go back to the queue with fresh attempts.`
          : `${jobs} (the ${which} ones among those matching) will be cancelled; a worker running one is not stopped.`,
      details: filterLines(filter),
      action: verb === "retry" ? `Retry ${jobs}` : `Cancel ${jobs}`,
      danger: verb === "cancel",
    });
    if (!agreed) return;
    try {
      const { changed } = await api.bulkJobs(verb, filter);
      this.notify(`${changed.toLocaleString()} job${changed === 1 ? "" : "s"} ${verb === "retry" ? "back in the queue" : "cancelled"}.`, "success");
    } catch (error) {
      this.notify(`${verb} refused: ${error.message}`, "error");
    }
    this.refresh();
  }
}

function fillSelect(select, options, value) {
  const wanted = options.map(([v, label]) => `${v}\u0000${label}`).join("\u0001");
  if (select.dataset.options !== wanted) {
    select.dataset.options = wanted;
    const known = new Set(options.map(([v]) => v));
    if (value && !known.has(value)) options.push([value, value]);
    replaceChildren(select, ...options.map(([v, label]) => h("option", { value: v, text: label })));
  }
  select.value = value;
}

/** " · status dead · type render" for a summary line. */
function describe(query) {
  const lines = filterLines(filterOf(query)).filter((line) => line !== EVERY_JOB);
  return lines.length ? ` · ${lines.join(" · ")}` : "";
}

function filterLines(filter) {
  const lines = [];
  if (filter.q) lines.push(`text “${filter.q}”`);
  if (filter.status) lines.push(`status ${filter.status.replaceAll(",", " or ")}`);
  if (filter.type) lines.push(`type ${filter.type.replaceAll(",", " or ")}`);
  if (filter.worker) lines.push(`worker ${filter.worker}`);
  const field = filter.time === "created" ? "created" : "updated";
  if (filter.since) lines.push(`${field} since ${dateTime(Number(filter.since))}`);
  if (filter.until) lines.push(`${field} before ${dateTime(Number(filter.until))}`);
  if (!lines.length) lines.push(EVERY_JOB);
  return lines;
}
