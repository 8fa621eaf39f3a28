/**
 * The server's timers and its closing state. After `close()` no timer fires, so a sleeping handler never
 * resumes to touch a closed store; reads waiting for records are woken and see `isClosing()`.
 */
export interface Lifecycle {
  readonly sleep: (ms: number) => Promise<void>;
  /** Resolves when records are appended anywhere (`recordsAppended`), or after `ms`. */
  readonly waitForRecords: (ms: number) => Promise<void>;
  /** Wakes every read waiting for records (long poll). */
  readonly recordsAppended: () => void;
  /** Calls `tick` every `intervalMs` until the returned stop is called or the server closes. */
  readonly every: (intervalMs: number, tick: () => void) => () => void;
  readonly isClosing: () => boolean;
  /** Idempotent: the first call clears the timers, wakes the waiting reads and runs `stop`. */
  readonly close: (stop: () => Promise<void>) => Promise<void>;
}

export const createLifecycle = (): Lifecycle => {
  const timers = new Set<NodeJS.Timeout>();
  const appendWaiters = new Set<() => void>();
  let closing: Promise<void> | undefined;

  const recordsAppended = (): void => {
    for (const wake of [...appendWaiters]) wake();
  };

  return {
    sleep: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.add(timer);
      }),
    waitForRecords: (ms) =>
      new Promise((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          timers.delete(timer);
          appendWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        timers.add(timer);
        appendWaiters.add(wake);
      }),
    recordsAppended,
    every: (intervalMs, tick) => {
      const timer = setInterval(tick, intervalMs);
      timers.add(timer);
      return () => {
        clearInterval(timer);
        timers.delete(timer);
      };
    },
    isClosing: () => closing !== undefined,
    close: (stop) => {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        // Waiting reads resume, see `isClosing()` and return without answering.
        recordsAppended();
        await stop();
      })();
      return closing;
    },
  };
};
