// HTTP calls to the monitoring server (same origin). Errors become Error with the
// server's `detail` message.

let token = null;

/** Send `Authorization: Bearer <token>` with every call (when the page was opened with one). */
export function useToken(value) {
  token = value || null;
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : response.statusText;
    const error = new Error(`${response.status} ${detail}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  config: () => call("GET", "/api/config"),
  machines: () => call("GET", "/api/machines"),
  machine: (name) => call("GET", `/api/machines/${enc(name)}`),
  diagram: (config) => call("GET", `/api/diagrams/${enc(config)}`),
  /** A system's machine's log: its last `lines` lines, or with `cursor` those since. */
  log: (name, cursor, lines) => {
    const query = new URLSearchParams(cursor ? { cursor } : { limit: String(lines) });
    return call("GET", `/api/machines/${enc(name)}/log?${query}`);
  },
  /** The newest events, or with `afterId` the recorded ones after that id (oldest first). */
  events: ({ machine = "", limit = 100, afterId = null } = {}) => {
    const query = new URLSearchParams();
    if (machine) query.set("machine", machine);
    if (afterId !== null) query.set("after_id", String(afterId));
    query.set("limit", String(limit));
    return call("GET", `/api/events?${query}`);
  },
  /** The activity log read back from the store: `{events, before}` (newest first). */
  activity: (query) => call("GET", `/api/activity?${new URLSearchParams(query)}`),
  jobs: ({ status = "", type = "", limit = 200 } = {}) => {
    const query = new URLSearchParams();
    if (status) query.set("status", status);
    if (type) query.set("type", type);
    query.set("limit", String(limit));
    return call("GET", `/api/jobs?${query}`);
  },
  /** Job types with pending jobs and no running machine that claims them. */
  queues: () => call("GET", "/api/queues"),
  /** The charts' time series (the last `window` seconds; `config`: its instances per state). */
  series: ({ window = null, config = null } = {}) => {
    const query = new URLSearchParams();
    if (window) query.set("window", String(window));
    if (config) query.set("config", config);
    return call("GET", `/api/series?${query}`);
  },
  job: (id) => call("GET", `/api/jobs/${enc(id)}`),
  retryJob: (id) => call("POST", `/api/jobs/${enc(id)}/retry`),
  cancelJob: (id) => call("POST", `/api/jobs/${enc(id)}/cancel`),
  sendEvent: (name, type, payload) => call("POST", `/api/machines/${enc(name)}/events`, { type, payload }),
  /** The job explorer: a page of jobs by `filter` (query parameters of GET /api/jobs). */
  searchJobs: (filter) => call("GET", `/api/jobs?${new URLSearchParams(filter)}`),
  /** Retry or cancel every job `filter` matches; `dryRun` only counts them. */
  bulkJobs: (verb, filter, dryRun = false) => call("POST", `/api/jobs/bulk/${verb}`, { ...filter, dry_run: dryRun }),
  failures: (since) => call("GET", `/api/failures${since ? `?since=${since}` : ""}`),
  retryFailures: (key, since, dryRun = false) => call("POST", "/api/failures/retry", { key, since, dry_run: dryRun }),
};
