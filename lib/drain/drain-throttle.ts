/**
 * The pace of one drain's sink calls in one invocation, shared by all its partitions: a token bucket of
 * `maxRecordsPerSecond`, at most `maxConcurrentRequests` calls in flight, and a pause for everyone when the
 * sink says it is overloaded (`429`, `Retry-After`). Per invocation by design: a limit shared by concurrent
 * invocations would cost a conditional DynamoDB write per refill and put the checkpoint table on the
 * delivery path (the README's "Sink rate limits" says how to split a limit across a fan-out).
 */
export interface DrainThrottle {
  /**
   * Waits until a call of `records` records may start (a free slot, the tokens, no pause), starts `call`
   * and frees its slot once it settles. `call` starts in the synchronous step that takes the tokens: no
   * other work of the event loop runs between the admission and the start, so the calls started in any
   * second are what the bucket admitted (a backlog between the two once let 1,102 records start within a
   * second under a limit of 1,000, bench/drain-rate.ts). Undefined, nothing taken and `call` not run,
   * when `deadlineMs` would pass first.
   */
  run<T>(
    records: number,
    deadlineMs: number,
    call: () => Promise<T>,
  ): Promise<{ readonly value: T } | undefined>;
  /** The sink asked to slow down: no call of this drain starts before `untilMs`. */
  pauseUntil(untilMs: number): void;
  /**
   * The most records one call may carry: the bucket. A larger call would reach the receiver as one burst
   * (a `single` HTTP sink sends its records one after another, as fast as they are answered).
   */
  readonly maxCallRecords: number;
}

export interface DrainLimits {
  readonly maxRecordsPerSecond?: number | undefined;
  readonly maxConcurrentRequests?: number | undefined;
}

export interface ThrottleClock {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * A throttle for `limits`. The bucket holds a tenth of a second of records, and calls are cut to it: a
 * sink limited to R records/s sees at most R per second plus that burst.
 */
export const createDrainThrottle = (limits: DrainLimits, clock: ThrottleClock): DrainThrottle => {
  const rate = limits.maxRecordsPerSecond;
  const capacity = rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(rate / 10));
  const maxConcurrent = limits.maxConcurrentRequests ?? Number.POSITIVE_INFINITY;
  let tokens = capacity;
  let refilledAtMs = clock.now();
  let pausedUntilMs = 0;
  let inFlight = 0;
  // Callers waiting for a slot, first come first served, so one partition cannot starve the others.
  const waiting: (() => void)[] = [];

  const refill = (nowMs: number): void => {
    if (rate === undefined) return;
    tokens = Math.min(capacity, tokens + ((nowMs - refilledAtMs) * rate) / 1000);
    refilledAtMs = nowMs;
  };

  /** How long a call of `records` must still wait for its tokens and the pause (0: it may go now). */
  const waitFor = (records: number, nowMs: number): number => {
    refill(nowMs);
    const pauseMs = Math.max(0, pausedUntilMs - nowMs);
    if (rate === undefined) return pauseMs;
    const needed = Math.min(records, capacity);
    const tokenMs = tokens >= needed ? 0 : Math.ceil(((needed - tokens) * 1000) / rate);
    return Math.max(pauseMs, tokenMs);
  };

  const takeSlot = async (deadlineMs: number): Promise<boolean> => {
    while (inFlight >= maxConcurrent) {
      if (clock.now() >= deadlineMs) return false;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    inFlight += 1;
    return true;
  };

  const release = (): void => {
    inFlight -= 1;
    waiting.shift()?.();
  };

  return {
    run: async (records, deadlineMs, call) => {
      if (!(await takeSlot(deadlineMs))) return undefined;
      for (;;) {
        const nowMs = clock.now();
        const waitMs = waitFor(records, nowMs);
        if (waitMs === 0) break;
        if (nowMs + waitMs >= deadlineMs) {
          release();
          return undefined;
        }
        await clock.sleep(waitMs);
      }
      // From the check on, one synchronous step: the tokens taken, the call started.
      // Into debt for a call larger than the bucket (one cut to `maxCallRecords` never is).
      tokens -= records;
      try {
        return { value: await call() };
      } finally {
        release();
      }
    },
    pauseUntil: (untilMs) => {
      pausedUntilMs = Math.max(pausedUntilMs, untilMs);
    },
    maxCallRecords: capacity,
  };
};
