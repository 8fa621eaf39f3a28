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
  /** Whether the timer fired (rather than the parent aborting first, or nothing). */
  timedOut(): boolean;
  /** Stops the timer and the link to the parent; call it once the requests it covers are settled. */
  clear(): void;
}

/**
 * A signal that aborts with `reason` after `ms` (on an exact timer: undici's own run on a coarse clock,
 * up to ≈1 s late), or with the parent's reason as soon as `parent` aborts. The timer does not keep the
 * process alive.
 */
export const createTimedAbort = (ms: number, reason: unknown, parent?: AbortSignal): TimedAbort =>
  new ExactTimeout(ms, reason, parent);

/**
 * A class with a shared timer callback rather than closures: one is made per outbound request. The three
 * closures a request used to make showed in the HTTP sink's profile: an allocation each, and under tsx
 * (which runs the benchmarks and names every closure it creates) ≈3 µs of a 60 µs POST.
 */
class ExactTimeout implements TimedAbort {
  readonly signal = new AbortEmitter();
  private fired = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unlinkParent: (() => void) | undefined;

  constructor(
    ms: number,
    private readonly reason: unknown,
    parent: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(fire, Math.max(0, ms), this);
    this.timer.unref();
    this.unlinkParent = parent === undefined ? undefined : linkToParent(this.signal, parent);
  }

  /** The timer's callback. */
  fire(): void {
    if (this.signal.aborted) return;
    this.fired = true;
    this.signal.abort(this.reason);
  }

  timedOut(): boolean {
    return this.fired;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.unlinkParent?.();
  }
}

const fire = (timeout: ExactTimeout): void => timeout.fire();

/** Aborts `signal` when `parent` does (now, if it has); returns how to undo the link, if one was made. */
const linkToParent = (signal: AbortEmitter, parent: AbortSignal): (() => void) | undefined => {
  if (parent.aborted) {
    signal.abort(parent.reason);
    return undefined;
  }
  const onParentAbort = (): void => signal.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  return () => parent.removeEventListener('abort', onParentAbort);
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
