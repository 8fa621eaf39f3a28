import { EventEmitter } from 'node:events';

/**
 * The `signal` of undici requests, as an EventEmitter: undici takes one as well as an `AbortSignal`
 * (`Dispatcher.request` options), and listens with `once('abort')`. An `AbortSignal` costs an EventTarget
 * listener added and removed per request, which took a third of the HTTP sink's throughput
 * (bench/drain.ts: 10.7k → 15.1k records/s without it); an emitter listener costs next to nothing.
 */
export class AbortEmitter extends EventEmitter {
  aborted = false;
  /** What undici rejects the request with (its `RequestAbortedError` when undefined). */
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

export interface TimedAbort {
  readonly signal: AbortEmitter;
  /** Stops the timer and the link to the parent; call it once the requests it covers are settled. */
  clear(): void;
}

/**
 * A signal that aborts with `reason` after `ms` (on an exact timer: undici's own run on a coarse clock,
 * up to ≈1 s late), or with the parent's reason as soon as `parent` aborts. The timer does not keep the
 * process alive.
 */
export const createTimedAbort = (ms: number, reason: unknown, parent?: AbortSignal): TimedAbort => {
  const signal = new AbortEmitter();
  const timeout = setTimeout(() => signal.abort(reason), Math.max(0, ms));
  timeout.unref();
  const onParentAbort = () => signal.abort(parent?.reason);
  if (parent?.aborted === true) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal,
    clear: () => {
      clearTimeout(timeout);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
};

/**
 * The value, or undefined when `deadlineMs` (epoch ms, `now`'s clock) passes first. The work itself goes
 * on (a shared read filling a cache, say): this only stops waiting for it. The timer does not keep the
 * process alive.
 */
export const beforeDeadline = async <T>(
  work: Promise<T>,
  deadlineMs: number,
  now: () => number = Date.now,
): Promise<T | undefined> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadlineMs - now()));
    timer.unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
};
