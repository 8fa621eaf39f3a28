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
  return {
    webhook: {
      routes,
      idempotency: parseIdempotencySettings(
        read,
        idempotentRoutes.map((route) => route.name),
      ),
    },
  };
};

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
