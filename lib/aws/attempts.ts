import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs } from '../http/retry.js';
import { isRetriable, isThrottling } from './errors.js';

/** How often a signed AWS call is tried, and how long it waits between attempts. */
export interface AttemptPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  /** The base after a throttling answer: a throttled service needs longer than a dropped connection. */
  readonly throttlingBaseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Runs `attempt` until it succeeds, throws what is not retriable (`isRetriable`), or uses up the policy's
 * attempts; full-jitter backoff between attempts, cut short by `signal` (the call then rejects with the
 * signal's reason). One loop for every signed client (the JSON protocols, Lambda's Invoke, S3 objects),
 * so they all retry alike.
 */
export const withAttempts = async <T>(
  policy: AttemptPolicy,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> => {
  const aborted = (): boolean => signal?.aborted === true;
  for (let retry = 0; ; retry += 1) {
    if (aborted()) throw signal?.reason;
    try {
      return await attempt();
    } catch (error) {
      if (aborted() || retry + 1 >= policy.maxAttempts || !isRetriable(error)) throw error;
      const waitMs = backoffMs(retry + 1, {
        backoffBaseMs: isThrottling(error) ? policy.throttlingBaseDelayMs : policy.baseDelayMs,
        backoffMaxMs: policy.maxDelayMs,
        random: Math.random,
      });
      await delay(waitMs, undefined, signal === undefined ? {} : { signal }).catch(() => {
        throw signal?.reason ?? error;
      });
    }
  }
};
