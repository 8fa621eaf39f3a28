/**
 * The one table that decides what is worth trying again at the HTTP level (the backoff between tries is
 * lib/http/retry.ts).
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
