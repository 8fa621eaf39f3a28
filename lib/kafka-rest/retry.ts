/**
 * The one table that decides what is worth trying again at the HTTP level, and the backoff between tries.
 * Every dialect and call goes through it (protocol doc §3 and §4). Per-record produce codes depend on who
 * sends them: `FLAVOR_TRAITS` (flavors.ts) for v1/v2, `isRetriableV3Code` (v3.ts) for v3.
 */
export const RETRY_TABLE = {
  /** HTTP statuses retried for any call: the request was not processed, or the proxy asks us to slow down. */
  statuses: new Set<number>([408, 429, 502, 503, 504]),
  /** Kafka REST codes that are retriable although sent with HTTP 500 (50301: consumer pool exhausted). */
  kafkaCodes: new Set<number>([50003, 50301]),
  /** The credential was refused: refresh it once (key rotation), then give up. */
  authStatuses: new Set<number>([401, 403]),
} as const;

/** What to do with a non-2xx answer. */
export type StatusVerdict = 'retry' | 'auth' | 'fail';

/**
 * Classifies a non-2xx answer. `idempotent` calls (reads) may also retry any other 5xx; a produce may not,
 * because a plain 500 can come after some records were written (protocol doc §2.3).
 */
export const toStatusVerdict = (
  status: number,
  kafkaErrorCode: number | null,
  idempotent: boolean,
): StatusVerdict => {
  if (RETRY_TABLE.authStatuses.has(status)) return 'auth';
  if (RETRY_TABLE.statuses.has(status)) return 'retry';
  if (kafkaErrorCode !== null && RETRY_TABLE.kafkaCodes.has(kafkaErrorCode)) return 'retry';
  if (idempotent && status >= 500 && status !== 501 && kafkaErrorCode !== 50002) return 'retry';
  return 'fail';
};

export interface BackoffSettings {
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly random: () => number;
}

/**
 * Full-jitter exponential backoff (uniform in [0, min(max, base·2^(attempt-1))]): spreads the retries of
 * many concurrent Lambdas instead of synchronising them against a throttling proxy.
 */
export const backoffMs = (attempt: number, settings: BackoffSettings): number =>
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
 * `Retry-After` as milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when absent
 * or unreadable, so the caller falls back to its own backoff.
 */
export const parseRetryAfterMs = (
  value: string | string[] | undefined,
  nowMs: number,
): number | undefined => {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};
