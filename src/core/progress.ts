/**
 * Progress is one discriminated union crossing the worker boundary. `progress` is 0..100 within the current
 * model; `overall` is 0..100 across the whole job. Both only move forward within a job. `stage`, when the sender
 * knows it, is 0..1 within the current stage (the job phase, or the "stage:" prefix of a model's step): the page's
 * stage bar and its ETA come from it.
 */
export type ProgressEvent =
  | { type: 'job'; phase: 'start' | 'ingest' | 'sfm' | 'export' | 'done'; overall: number; message: string; stage?: number }
  | { type: 'model'; model: string; progress: number; step: string; overall: number; stage?: number }
  | { type: 'warning'; message: string; file?: string }
  /** A fact worth a line that is not a problem (the page lists it without the warning style). */
  | { type: 'info'; message: string }
  | { type: 'vram'; liveBytes: number; peakBytes: number };

export type ProgressSink = (event: ProgressEvent) => void;

/**
 * Wraps a sink so that 'model' events are sent at most every `intervalMs` (the last one of a burst is kept and
 * flushed), while every other event goes through at once. Keeps Comlink traffic small in tight loops.
 */
export function throttleProgress(sink: ProgressSink, intervalMs = 50, now: () => number = () => performance.now()) {
  let last = -Infinity;
  let pending: ProgressEvent | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (pending) {
      const event = pending;
      pending = null;
      last = now();
      sink(event);
    }
  };
  const throttled: ProgressSink & { flush: () => void } = Object.assign(
    (event: ProgressEvent) => {
      if (event.type !== 'model') {
        if (pending) flush();
        sink(event);
        return;
      }
      const t = now();
      if (t - last >= intervalMs) {
        pending = null;
        last = t;
        sink(event);
      } else {
        pending = event;
        timer ??= setTimeout(flush, intervalMs - (t - last));
      }
    },
    {
      flush: () => {
        if (timer) clearTimeout(timer);
        flush();
      },
    },
  );
  return throttled;
}
