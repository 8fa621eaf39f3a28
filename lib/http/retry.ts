/**
 * When to try an HTTP request again and how long to wait first: full-jitter backoff, bounded by attempts
 * and the caller's deadline, with the server's own `Retry-After` taking precedence.
 */

/**
 * The retry knobs and clocks a client over this floor takes (each client states its own defaults), so
 * tests can run its retries on a fake clock.
 */
export interface RetryOptions {
  /** Attempts per request, the first one included. */
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface BackoffSettings {
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly random: () => number;
}

/**
 * Full-jitter exponential backoff (uniform in [0, min(max, base·2^(attempt-1))]): spreads the retries of
 * many concurrent Lambdas instead of synchronising them against a throttling server.
 */
export const backoffMs = (
  attempt: number,
  settings: Pick<BackoffSettings, 'backoffBaseMs' | 'backoffMaxMs' | 'random'>,
): number =>
  Math.floor(
    settings.random() *
      Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.max(0, attempt - 1)),
  );

export type RetryPlan =
  | { readonly retry: true; readonly waitMs: number }
  | { readonly retry: false; readonly reason: 'attempts' | 'deadline' };

/**
 * Decides whether attempt `attempt` (1-based, just failed) gets a successor, and after how long.
 * `Retry-After` wins over the backoff. Never sleeps past the deadline: a wait that would end at or after
 * `deadlineMs` stops here, so the caller can report the failure (with `retryAfterMs`) while there is time.
 */
export const planRetry = (
  attempt: number,
  retryAfterMs: number | undefined,
  deadlineMs: number,
  nowMs: number,
  settings: BackoffSettings,
): RetryPlan => {
  if (attempt >= settings.maxAttempts) return { retry: false, reason: 'attempts' };
  const waitMs = retryAfterMs ?? backoffMs(attempt, settings);
  if (nowMs + waitMs >= deadlineMs) return { retry: false, reason: 'deadline' };
  return { retry: true, waitMs };
};

/**
 * `Retry-After` as milliseconds from `nowMs`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent or unreadable, so the caller falls back to its own backoff.
 */
export const parseRetryAfterMs = (
  value: string | string[] | undefined,
  nowMs: number,
): number | undefined => {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};
