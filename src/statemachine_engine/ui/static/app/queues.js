// Job types with pending jobs and no running machine to take them, called out in the top
// bar ("render: 15 pending, no consumer"). Asked of /api/queues every few seconds and
// soon after a job event.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";

/** How often the unserved job types are asked for, in milliseconds. */
export const QUEUES_INTERVAL_MS = 5000;
/** A burst of job events asks once, this long after the first. */
const POKE_DELAY_MS = 1000;

export class QueuesView {
  constructor(host) {
    this.host = host;
    this.key = "";
    this.poked = null;
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), QUEUES_INTERVAL_MS);
  }

  /** A job changed: ask again soon. */
  poke() {
    if (this.poked) return;
    this.poked = setTimeout(() => {
      this.poked = null;
      this.refresh();
    }, POKE_DELAY_MS);
  }

  async refresh() {
    if (document.hidden) return;
    let rows;
    try {
      rows = (await api.queues()).unserved ?? [];
    } catch {
      return; // offline: the connection pill says so
    }
    const key = JSON.stringify(rows);
    if (key === this.key) return;
    this.key = key;
    this.host.hidden = rows.length === 0;
    replaceChildren(
      this.host,
      ...rows.map((row) =>
        h("span", {
          class: "badge unserved",
          dataset: { jobType: row.job_type },
          text: `${row.job_type}: ${row.pending} pending, no consumer`,
          title: `${row.pending} ${row.job_type} job${row.pending === 1 ? "" : "s"} wait and no running machine claims that type`,
        }),
      ),
    );
  }
}
