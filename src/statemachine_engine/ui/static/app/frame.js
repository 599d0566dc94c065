// Batch DOM work per animation frame: many events in one frame cost one redraw.

const pending = new Set();
/** Milliseconds spent per drawing task (by function name), for profiling from the console. */
export const costs = new Map();
let requested = false;

/** Run `task` once before the next paint, however often it is scheduled until then. */
export function schedule(task) {
  pending.add(task);
  if (requested) return;
  requested = true;
  const run = () => {
    requested = false;
    const tasks = [...pending];
    pending.clear();
    for (const t of tasks) {
      const started = performance.now();
      try {
        t();
      } catch (error) {
        console.error(error);
      }
      const spent = performance.now() - started;
      costs.set(t.name, (costs.get(t.name) ?? 0) + spent);
    }
  };
  // A hidden tab gets no animation frames: fall back to a timer so state stays current.
  if (document.hidden) setTimeout(run, 250);
  else requestAnimationFrame(run);
}

const lastRun = new Map(); // task -> when it last ran (performance.now())
const waiting = new Set(); // tasks with a timer set to schedule them

/**
 * Like `schedule`, but `task` runs at most once per `minInterval()` ms: under a flood of
 * events a big view (the board of hundreds of instances) redraws a few times a second
 * rather than every frame, on an animation frame still.
 */
export function scheduleThrottled(task, minInterval) {
  if (waiting.has(task)) return;
  waiting.add(task);
  const run = () => {
    waiting.delete(task);
    lastRun.set(task, performance.now());
    task();
  };
  Object.defineProperty(run, "name", { value: task.name }); // its costs under its own name
  const wait = (lastRun.get(task) ?? -Infinity) + minInterval() - performance.now();
  if (wait <= 0) schedule(run);
  else setTimeout(() => schedule(run), wait);
}
