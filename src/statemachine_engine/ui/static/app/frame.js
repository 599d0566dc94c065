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
