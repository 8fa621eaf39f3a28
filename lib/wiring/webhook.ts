import { createLog } from '../core/log.js';
import { createUpstreamBreaker } from '../ingest/spool/breaker.js';
import type { WebhookDeps } from '../ingest/webhook/ingest.js';
import { createLazyIdempotencyStore } from './idempotency-store.js';
import { createSourceDeps } from './ingest-source.js';
import { createSecretsCacheFromConfig } from './secrets.js';
import type { WebhookConfig } from './settings/webhook.js';
import { createWebhookSpool } from './spool.js';

export interface WebhookHandlerDeps extends WebhookDeps {
  readonly deadlineMarginMs: number;
}

export const createWebhookDeps = (config: WebhookConfig): WebhookHandlerDeps => {
  const log = createLog(config.logLevel);
  // One cache for the proxy credential and the routes' signing secrets: one fetch per secret per TTL.
  const secrets = createSecretsCacheFromConfig(config, { log });
  const { spool, breaker } = config.webhook;
  const webhookSpool = createWebhookSpool(spool, config.secrets.region, log, Date.now);
  return {
    ...createSourceDeps(config, log, secrets),
    breaker: createUpstreamBreaker(breaker, log),
    spool:
      webhookSpool === undefined
        ? undefined
        : { spool: webhookSpool, produceBudgetMs: spool.produceBudgetMs },
    routes: config.webhook.routes,
    secrets,
    idempotency:
      config.webhook.idempotency.tableName === undefined
        ? undefined
        : createLazyIdempotencyStore({
            tableName: config.webhook.idempotency.tableName,
            inProgressTtlMs: config.webhook.idempotency.inProgressTtlMs,
            endpoint: config.webhook.idempotency.dynamodbEndpoint,
            region: config.secrets.region,
            now: Date.now,
          }),
    now: Date.now,
  };
};
