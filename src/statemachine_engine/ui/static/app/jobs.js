// The jobs table: counts per status (a click filters), the newest jobs, one job's
// details with its history, and retry / cancel when the server allows control.

import { api } from "./api.js";
import { h, replaceChildren, setClass } from "./dom.js";
import { ago, compactJson, dateTime, prettyJson } from "./format.js";
import { jobActionButtons } from "./job_actions.js";

export const JOB_STATUSES = ["pending", "processing", "completed", "failed", "dead", "cancelled"];
/** While the table is shown it refreshes this often (and after every job event). */
export const JOBS_REFRESH_MS = 5000;

export class JobsView {
  constructor(root, { control, notify }) {
    this.control = control; // () => bool
    this.notify = notify; // (message, level)
    this.status = "";
    this.selectedId = null;
    this.active = false;
    this.timer = null;
    this.loading = false;
    this.again = false;
    this.counts = h("div", { class: "job-counts", attrs: { role: "group", "aria-label": "Filter jobs by status" } });
    this.table = h("tbody");
    this.message = h("p", { class: "empty" });
    this.details = h("aside", { class: "job-details", attrs: { "aria-label": "Job details" } });
    root.replaceChildren(
      h(
        "div",
        { class: "jobs-main" },
        this.counts,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "jobs" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ...["Job", "Type", "Status", "Attempts", "Worker", "Updated", "Last error"].map((t) =>
                  h("th", { text: t, attrs: { scope: "col" } }),
                ),
              ),
            ),
            this.table,
          ),
          this.message,
        ),
      ),
      this.details,
    );
    this.details.hidden = true;
  }

  /** Start (or stop) refreshing while the table is visible. */
  setActive(active) {
    this.active = active;
    clearInterval(this.timer);
    this.timer = null;
    if (active) {
      this.refresh();
      this.timer = setInterval(() => this.refresh(), JOBS_REFRESH_MS);
    }
  }

  /** A job event arrived: refresh soon (coalesced). */
  poke() {
    if (!this.active || this.poked) return;
    this.poked = setTimeout(() => {
      this.poked = null;
      this.refresh();
    }, 300);
  }

  async refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const data = await api.jobs({ status: this.status, limit: 200 });
      this.renderCounts(data.counts ?? {});
      this.renderRows(data.jobs ?? []);
      if (this.selectedId !== null) await this.showDetails(this.selectedId, { quiet: true });
    } catch (error) {
      this.message.hidden = false;
      this.message.textContent = `Jobs unavailable: ${error.message}`;
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  }

  renderCounts(counts) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const chip = (status, label, n) =>
      h(
        "button",
        {
          type: "button",
          class: `count-chip status-${status || "all"}`,
          dataset: { status },
          attrs: { "aria-pressed": String(this.status === status) },
          on: {
            click: () => {
              this.status = this.status === status ? "" : status;
              this.refresh();
            },
          },
        },
        h("span", { class: "n", text: String(n) }),
        h("span", { class: "label", text: label }),
      );
    const statuses = [...JOB_STATUSES, ...Object.keys(counts).filter((s) => !JOB_STATUSES.includes(s))];
    const explore = h("a", {
      class: "explorer-link",
      href: this.status ? `#jobs?status=${encodeURIComponent(this.status)}` : "#jobs",
      text: "Search all jobs →",
      title: "The job explorer: search, filters, sorting, pages",
    });
    replaceChildren(this.counts, chip("", "all", total), ...statuses.map((s) => chip(s, s, counts[s] ?? 0)), explore);
  }

  renderRows(jobs) {
    const rows = jobs.map((job) =>
      h(
        "tr",
        {
          class: job.job_id === this.selectedId ? "selected" : "",
          tabIndex: 0,
          dataset: { job: String(job.job_id), status: job.status },
          on: {
            click: () => this.showDetails(job.job_id),
            keydown: (e) => {
              if (e.key === "Enter") this.showDetails(job.job_id);
            },
          },
        },
        h("td", { class: "mono", text: job.job_id }),
        h("td", { text: job.job_type ?? "" }),
        h("td", {}, h("span", { class: `status-pill status-${job.status}`, text: job.status })),
        h("td", { class: "num", text: `${job.attempts ?? 0}/${job.max_attempts ?? "?"}` }),
        h("td", { text: job.worker ?? "—" }),
        h("td", { text: ago(job.updated_at), title: dateTime(job.updated_at) }),
        h("td", { class: "error-cell", text: job.last_error ?? "", title: job.last_error ?? "" }),
      ),
    );
    replaceChildren(this.table, ...rows);
    this.message.hidden = rows.length > 0;
    this.message.textContent = this.status ? `No ${this.status} jobs.` : "No jobs.";
  }

  async showDetails(id, { quiet = false } = {}) {
    this.selectedId = id;
    for (const row of this.table.children) setClass(row, "selected", row.dataset.job === String(id));
    let job;
    try {
      job = await api.job(id);
    } catch (error) {
      if (!quiet) this.notify(`Job ${id}: ${error.message}`, "error");
      return;
    }
    if (this.selectedId !== id) return;
    this.details.hidden = false;
    const actions = this.control() ? jobActionButtons(job, { notify: this.notify, after: () => this.refresh() }) : [];
    const fields = [
      ["Type", job.job_type],
      ["Status", job.status],
      ["Priority", job.priority],
      ["Attempts", `${job.attempts ?? 0} of ${job.max_attempts ?? "?"}`],
      ["Worker", job.worker ?? "—"],
      ["Created", dateTime(job.created_at)],
      ["Updated", dateTime(job.updated_at)],
    ];
    const history = Array.isArray(job.history) ? job.history : [];
    replaceChildren(
      this.details,
      h(
        "header",
        {},
        h("h3", { text: `Job ${job.job_id}` }),
        h("button", {
          type: "button",
          class: "icon-button",
          text: "×",
          title: "Close (Esc)",
          attrs: { "aria-label": "Close job details" },
          on: { click: () => this.closeDetails() },
        }),
      ),
      actions.length ? h("div", { class: "job-actions" }, ...actions) : null,
      h("dl", {}, ...fields.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v ?? "—" })])),
      job.last_error ? h("div", { class: "job-error" }, h("h4", { text: "Last error" }), h("pre", { text: job.last_error })) : null,
      h("h4", { text: "Data" }),
      h("pre", { class: "json", text: prettyJson(job.data ?? null) }),
      history.length ? h("h4", { text: "History" }) : null,
      history.length
        ? h("ol", { class: "job-history" }, ...history.map((entry) => h("li", { text: historyText(entry) })))
        : null,
    );
  }

  closeDetails() {
    this.selectedId = null;
    this.details.hidden = true;
    for (const row of this.table.children) setClass(row, "selected", false);
  }
}

function historyText(entry) {
  if (!entry || typeof entry !== "object") return String(entry);
  const when = entry.timestamp ?? entry.at ?? entry.created_at;
  const what = entry.status ?? entry.event ?? entry.to_state ?? "";
  const rest = { ...entry };
  for (const key of ["timestamp", "at", "created_at", "status", "event", "to_state"]) delete rest[key];
  const extra = Object.keys(rest).length ? ` ${compactJson(rest, 200)}` : "";
  return `${when ? dateTime(when) : ""} ${what}${extra}`.trim();
}
