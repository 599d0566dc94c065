// Batch DOM work per animation frame: many events in one frame cost one redraw.

const pending = new Set();
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
      try {
        t();
      } catch (error) {
        console.error(error);
      }
    }
  };
  // A hidden tab gets no animation frames: fall back to a timer so state stays current.
  if (document.hidden) setTimeout(run, 250);
  else requestAnimationFrame(run);
}
