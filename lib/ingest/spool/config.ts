/**
 * The webhook spool's table-wide settings (`SPOOL_*`, `UPSTREAM_BREAKER_*`), shared by every route whose
 * `onUpstreamFailure` is `spool`. Read by `lib/wiring/settings/webhook.ts` (the webhook) and
 * `lib/wiring/settings/spool.ts` (the backfill function).
 */
export interface SpoolSettings {
  /** `SPOOL_QUEUE_URL`: the FIFO spool queue; required once a route spools. */
  readonly queueUrl: string | undefined;
  /** `SPOOL_BUCKET`: where a body too large for one SQS message is kept; unset, such a body gets the 503. */
  readonly bucket: string | undefined;
  /** `SPOOL_KEYS_TABLE`: the DynamoDB table of keys with spooled records not yet produced. */
  readonly keysTable: string | undefined;
  /**
   * `SPOOL_PRODUCE_BUDGET_MS`: how long a spooling route tries the proxy before it spools instead. The rest
   * of the request's time is the spool's: a produce that used all of it would leave nothing to spool with.
   */
  readonly produceBudgetMs: number;
  /** `SPOOL_MAX_MESSAGE_BYTES`: the spool queue's `MaximumMessageSize` (SQS: 1,024–1,048,576; default 262,144). */
  readonly maxMessageBytes: number;
  /**
   * `SPOOL_RETENTION_SECONDS`: the spool queue's `MessageRetentionPeriod`. A key's order marker lives as
   * long as its message can: past it the message is gone (expired, or in the spool DLQ) and must not hold
   * the key's later requests in the spool.
   */
  readonly retentionSeconds: number;
  readonly sqsEndpoint: URL | undefined;
  readonly s3Endpoint: URL | undefined;
  readonly dynamodbEndpoint: URL | undefined;
}

/** When the webhook stops trying the proxy for a while (per function instance, every route alike). */
export interface BreakerSettings {
  /** `UPSTREAM_BREAKER_FAILURE_PERCENT`: upstream failures among the window's attempts that open it. */
  readonly failurePercent: number;
  /** `UPSTREAM_BREAKER_MIN_ATTEMPTS`: attempts in the window before it may open (one failure is no outage). */
  readonly minAttempts: number;
  /** `UPSTREAM_BREAKER_WINDOW_MS`: how far back attempts count. */
  readonly windowMs: number;
  /** `UPSTREAM_BREAKER_OPEN_MS`: how long it stays open before one request probes the proxy again. */
  readonly openMs: number;
}

export const SPOOL_DEFAULTS = {
  produceBudgetMs: 3_000,
  maxMessageBytes: 262_144,
  /** 14 days, SQS's most: longer than 1,000 receives × 360 s, so a record meets the DLQ before expiry. */
  retentionSeconds: 1_209_600,
} as const;

export const BREAKER_DEFAULTS: BreakerSettings = {
  failurePercent: 50,
  minAttempts: 5,
  windowMs: 10_000,
  openMs: 5_000,
};
