import {
  BREAKER_DEFAULTS,
  type BreakerSettings,
  SPOOL_DEFAULTS,
  type SpoolSettings,
} from '../../ingest/spool/config.js';
import { parseRoutes, type WebhookRoute } from '../../ingest/webhook/config.js';
import {
  DEFAULT_IN_PROGRESS_TTL_MS,
  type IdempotencySettings,
} from '../../ingest/webhook/idempotency/config.js';
import { type CoreConfig, loadSections } from './core.js';
import type { Env, EnvReader } from './env.js';

export interface WebhookSection {
  readonly webhook: {
    readonly routes: ReadonlyMap<string, WebhookRoute>;
    readonly idempotency: IdempotencySettings;
    readonly spool: SpoolSettings;
    readonly breaker: BreakerSettings;
  };
}

export type WebhookConfig = CoreConfig & WebhookSection;

/** `WEBHOOK_ROUTES` and the idempotency table the idempotent routes need. */
export const parseWebhookSection = (read: EnvReader, core: CoreConfig): WebhookSection => {
  const routes = parseRoutes(
    read.json('WEBHOOK_ROUTES'),
    'WEBHOOK_ROUTES',
    core.kafka.maxRecordBytes,
    read.problems,
  );
  const idempotentRoutes = [...routes.values()].filter((route) => route.idempotency !== undefined);
  const spoolingRoutes = [...routes.values()].filter((route) => route.onUpstreamFailure === 'spool');
  return {
    webhook: {
      routes,
      idempotency: parseIdempotencySettings(
        read,
        idempotentRoutes.map((route) => route.name),
      ),
      spool: parseSpoolSettings(
        read,
        spoolingRoutes.map((route) => route.name),
      ),
      breaker: parseBreakerSettings(read),
    },
  };
};

/**
 * Reads `SPOOL_*` (see {@link SpoolSettings}). `routesUsingIt` names the routes with `"onUpstreamFailure":
 * "spool"`: when there is any, the queue and the keys table are required. Problems go to `read.problems`.
 */
export const parseSpoolSettings = (read: EnvReader, routesUsingIt: readonly string[]): SpoolSettings => {
  const queueUrl = read.url('SPOOL_QUEUE_URL');
  const keysTable = read.string('SPOOL_KEYS_TABLE');
  if (routesUsingIt.length > 0) {
    const named = routesUsingIt.join(', ');
    if (queueUrl === undefined) {
      read.problems.push(
        `SPOOL_QUEUE_URL is required when a webhook route spools (${named}): the FIFO spool queue's URL`,
      );
    } else if (!queueUrl.pathname.endsWith('.fifo')) {
      read.problems.push(
        `SPOOL_QUEUE_URL must name a FIFO queue (its name ends in .fifo): per-key order depends on it`,
      );
    }
    if (keysTable === undefined) {
      read.problems.push(
        `SPOOL_KEYS_TABLE is required when a webhook route spools (${named}): the DynamoDB table name`,
      );
    }
  }
  return {
    queueUrl: queueUrl?.href,
    bucket: read.string('SPOOL_BUCKET'),
    keysTable,
    produceBudgetMs: read.int('SPOOL_PRODUCE_BUDGET_MS', SPOOL_DEFAULTS.produceBudgetMs, {
      min: 100,
      max: 25_000,
    }),
    maxMessageBytes: read.int('SPOOL_MAX_MESSAGE_BYTES', SPOOL_DEFAULTS.maxMessageBytes, {
      min: 1_024,
      max: 1_048_576,
    }),
    retentionSeconds: read.int('SPOOL_RETENTION_SECONDS', SPOOL_DEFAULTS.retentionSeconds, {
      min: 60,
      max: 1_209_600,
    }),
    sqsEndpoint: read.url('SQS_ENDPOINT'),
    s3Endpoint: read.url('S3_ENDPOINT'),
    dynamodbEndpoint: read.url('DYNAMODB_ENDPOINT'),
  };
};

/** Reads `UPSTREAM_BREAKER_*` (see {@link BreakerSettings}). */
export const parseBreakerSettings = (read: EnvReader): BreakerSettings => ({
  failurePercent: read.int('UPSTREAM_BREAKER_FAILURE_PERCENT', BREAKER_DEFAULTS.failurePercent, {
    min: 1,
    max: 100,
  }),
  minAttempts: read.int('UPSTREAM_BREAKER_MIN_ATTEMPTS', BREAKER_DEFAULTS.minAttempts, {
    min: 1,
    max: 1_000,
  }),
  windowMs: read.int('UPSTREAM_BREAKER_WINDOW_MS', BREAKER_DEFAULTS.windowMs, { min: 1_000, max: 600_000 }),
  openMs: read.int('UPSTREAM_BREAKER_OPEN_MS', BREAKER_DEFAULTS.openMs, { min: 100, max: 600_000 }),
});

/** The webhook function's settings (see `loadSections`). */
export const loadWebhookConfig = (env: Env): WebhookConfig => loadSections(env, parseWebhookSection);

/**
 * Reads `IDEMPOTENCY_TABLE`, `IDEMPOTENCY_IN_PROGRESS_TTL_MS` and `DYNAMODB_ENDPOINT`. `routesUsingIt` names
 * the routes that set `"idempotency"`: when there is any, the table is required. Problems go to
 * `read.problems`.
 */
export const parseIdempotencySettings = (
  read: EnvReader,
  routesUsingIt: readonly string[],
): IdempotencySettings => {
  const tableName = read.string('IDEMPOTENCY_TABLE');
  if (tableName === undefined && routesUsingIt.length > 0) {
    read.problems.push(
      `IDEMPOTENCY_TABLE is required when a webhook route sets "idempotency" (${routesUsingIt.join(', ')}): the DynamoDB table name`,
    );
  }
  return {
    tableName,
    inProgressTtlMs: read.int('IDEMPOTENCY_IN_PROGRESS_TTL_MS', DEFAULT_IN_PROGRESS_TTL_MS, {
      min: 1_000,
      max: 900_000,
    }),
    dynamodbEndpoint: read.url('DYNAMODB_ENDPOINT'),
  };
};
