// One job in full beside the explorer: every field `statemachine-db details` shows, its
// duration and next retry, each attempt with its worker (a link to that machine's
// timeline) and the errors the worker recorded while it ran, and its status history.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { ago, clock, dateTime, duration, prettyJson } from "./format.js";
import { jobActionButtons } from "./job_actions.js";


/** `#machine/<name>`: the machines view, that machine's timeline. */
export function machineLink(name) {
  const machine = machineOfWorker(name);
  return h("a", { href: `#machine/${encodeURIComponent(machine)}`, class: "mono machine-link", text: name, title: `Timeline of ${machine}` });
}

/** The machine behind a worker id, as the server says it: `render@web1` -> `render`. */
export function machineOfWorker(worker) {
  const at = worker.lastIndexOf("@");
  return at > 0 ? worker.slice(0, at) : worker;
}

function jobLink(id) {
  return h("a", { href: `#job/${encodeURIComponent(id)}`, class: "mono", text: id });
}

/** "in 42 s" / "3 m 05 s ago". */
function relative(seconds, now = Date.now() / 1000) {
  return seconds > now ? `in ${duration(seconds - now)}` : ago(seconds, now);
}

export class JobDetails {
  constructor({ control, notify, onChange, onClose }) {
    this.control = control;
    this.notify = notify;
    this.onChange = onChange;
    this.onClose = onClose;
    this.id = null;
    this.root = h("aside", { class: "job-details explorer-details", attrs: { "aria-label": "Job details" } });
    this.root.hidden = true;
  }

  async show(id) {
    this.id = id;
    let job;
    try {
      job = await api.job(id);
    } catch (error) {
      if (this.id !== id) return;
      this.root.hidden = false;
      replaceChildren(this.root, this.header(id), h("p", { class: "empty error-text", text: `Job ${id}: ${error.message}` }));
      return;
    }
    if (this.id !== id) return;
    this.root.hidden = false;
    this.render(job);
  }

  close({ quiet = false } = {}) {
    const was = this.id;
    this.id = null;
    this.root.hidden = true;
    if (was !== null && !quiet) this.onClose();
  }

  header(id) {
    return h(
      "header",
      {},
      h("h3", { text: `Job ${id}` }),
      h("a", { href: `#job/${encodeURIComponent(id)}`, class: "permalink", text: "link", title: "A link to this job" }),
      h("button", {
        type: "button",
        class: "icon-button",
        text: "×",
        title: "Close (Esc)",
        attrs: { "aria-label": "Close job details" },
        on: { click: () => this.close() },
      }),
    );
  }

  render(job) {
    const after = () => {
      this.onChange();
      this.show(job.job_id);
    };
    const actions = this.control() ? jobActionButtons(job, { notify: this.notify, after }) : [];
    const now = Date.now() / 1000;
    const when = (t) => (t === null || t === undefined ? "—" : `${dateTime(t)} (${relative(t, now)})`);
    const fields = [
      ["Type", job.job_type],
      ["Machine type", job.machine_type ?? "—"],
      ["Status", h("span", { class: `status-pill status-${job.status}`, text: job.status })],
      ["Priority", String(job.priority ?? 0)],
      ["Attempts", `${job.attempts ?? 0} of ${job.max_attempts ?? "?"}`],
      ["Worker", job.worker ? machineLink(job.worker) : "—"],
      ["Duration", job.duration === null || job.duration === undefined ? "—" : duration(job.duration)],
      ["Next retry", job.next_retry ? when(job.next_retry) : "—"],
      ["Run after", when(job.run_after)],
      ["Lease expires", when(job.lease_expires)],
      ["Source job", job.source_job_id ? jobLink(job.source_job_id) : "—"],
      ["Created", when(job.created_at)],
      ["Started", when(job.started_at)],
      ["Completed", when(job.completed_at)],
      ["Updated", when(job.updated_at)],
    ];
    replaceChildren(
      this.root,
      this.header(job.job_id),
      actions.length ? h("div", { class: "job-actions" }, ...actions) : null,
      h("dl", { class: "job-fields" }, ...fields.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { dataset: { field: k.toLowerCase().replaceAll(" ", "-") } }, v ?? "—")])),
      job.last_error ? h("div", { class: "job-error" }, h("h4", { text: "Last error" }), h("pre", { text: job.last_error })) : null,
      this.attemptList(Array.isArray(job.runs) ? job.runs : []),
      h("h4", { text: "Result" }),
      h("pre", { class: "json result", text: job.result === null || job.result === undefined ? "—" : prettyJson(job.result) }),
      h("h4", { text: "Data" }),
      h("pre", { class: "json", text: prettyJson(job.data ?? null) }),
      this.historyTable(Array.isArray(job.history) ? job.history : []),
    );
  }

  attemptList(attempts) {
    if (!attempts.length) return h("p", { class: "muted", text: "Not run yet." });
    return h(
      "section",
      { class: "attempts" },
      h("h4", { text: `Attempts (${attempts.length})` }),
      h(
        "ol",
        { class: "attempt-list" },
        ...attempts.map((a, index) =>
          h(
            "li",
            { class: `attempt outcome-${a.outcome ?? "running"}`, dataset: { attempt: String(a.attempt ?? ""), outcome: a.outcome ?? "running" } },
            h(
              "div",
              { class: "attempt-line" },
              h("strong", { text: `#${a.attempt ?? "?"}` }),
              a.worker ? machineLink(a.worker) : h("span", { class: "muted", text: "no worker" }),
              h("span", { class: "muted", text: `${clock(a.started_at)}${a.ended_at ? ` → ${clock(a.ended_at)}` : ""}`, title: dateTime(a.started_at) }),
              a.seconds !== null && a.seconds !== undefined ? h("span", { class: "muted", text: duration(a.seconds) }) : null,
              h("span", { class: `status-pill status-${a.outcome ?? "processing"}`, text: a.outcome ?? "running" }),
            ),
            a.message ? h("pre", { class: "attempt-message", text: a.message }) : null,
            a.output ? outputBlock(a.output, index === attempts.length - 1) : null,
            ...(a.errors ?? []).map((e) =>
              h(
                "pre",
                { class: "attempt-error", title: dateTime(e.at) },
                `${clock(e.at)} ${[e.action, e.state ? `in ${e.state}` : null].filter(Boolean).join(" ")}: ${e.message ?? ""}`,
              ),
            ),
          ),
        ),
      ),
    );
  }

  historyTable(history) {
    if (!history.length) return null;
    return h(
      "section",
      {},
      h("h4", { text: "History" }),
      h(
        "table",
        { class: "job-history-table" },
        h("thead", {}, h("tr", {}, ...["Time", "Status", "Try", "Worker", "Message"].map((t) => h("th", { text: t, attrs: { scope: "col" } })))),
        h(
          "tbody",
          {},
          ...history.map((row) =>
            h(
              "tr",
              {},
              h("td", { text: clock(row.at), title: dateTime(row.at) }),
              h("td", {}, h("span", { class: `status-pill status-${row.status}`, text: row.status })),
              h("td", { class: "num", text: String(row.attempt ?? "") }),
              h("td", {}, row.worker ? machineLink(row.worker) : "—"),
              h("td", { class: "history-message", text: row.message ?? "" }),
            ),
          ),
        ),
      ),
    );
  }
}

/** What a failed attempt's command printed (the ends of stderr and stdout), folded
 * except for the newest attempt. */
function outputBlock(output, open) {
  const streams = ["stderr", "stdout"].filter((name) => typeof output[name] === "string" && output[name]);
  return h(
    "details",
    { class: "attempt-output", attrs: open ? { open: "" } : {} },
    h("summary", { text: `Output (exit status ${output.exit_code ?? "?"})` }),
    ...(streams.length
      ? streams.map((name) => h("div", { class: `output-${name}` }, h("span", { class: "muted", text: name }), h("pre", { text: output[name] })))
      : [h("p", { class: "muted", text: "It printed nothing." })]),
  );
}
