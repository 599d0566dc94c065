// Retry and cancel for one job, the same wherever a job is shown (the jobs panel, the
// explorer's details): the buttons its status allows, a cancel asked first in the app's
// dialog, and the outcome told to the operator.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { h } from "./dom.js";

const RETRYABLE = new Set(["failed", "dead", "cancelled"]);
const CANCELLABLE = new Set(["pending", "processing", "failed"]);

const VERBS = {
  retry: { label: "Retry", allowed: RETRYABLE, run: (job) => api.retryJob(job.job_id) },
  cancel: { label: "Cancel", allowed: CANCELLABLE, run: (job) => api.cancelJob(job.job_id), ask: askToCancel, kind: "danger" },
};

/**
 * The buttons `job`'s status allows. `notify(message, level)` tells the outcome; `after()`
 * runs once the server has answered, to show the job as it is now.
 */
export function jobActionButtons(job, { notify, after }) {
  return Object.entries(VERBS)
    .filter(([, verb]) => verb.allowed.has(job.status))
    .map(([name, verb]) => actionButton(job, name, verb, { notify, after }));
}

function actionButton(job, name, verb, { notify, after }) {
  return h("button", {
    type: "button",
    class: `button ${verb.kind ?? ""}`.trim(),
    text: verb.label,
    on: {
      click: async (event) => {
        const button = event.currentTarget;
        if (verb.ask && !(await verb.ask(job))) return; // the operator thought better of it
        button.disabled = true;
        try {
          await verb.run(job);
          notify(`Job ${job.job_id}: ${name} done`, "success");
        } catch (error) {
          notify(`Job ${job.job_id}: ${name} refused: ${error.message}`, "error");
        }
        after();
      },
    },
  });
}

function askToCancel(job) {
  return confirmAction({
    title: `Cancel job ${job.job_id}?`,
    message: `The ${job.status} job ${job.job_id} (${job.job_type}) will be cancelled: it will not run.`,
    action: "Cancel 1 job",
    keep: "Keep it",
    danger: true,
  });
}
