import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lazyDeps } from '../lib/deps.js';
import { createKafkaRestProducerFromConfig } from '../lib/kafka-rest/producer.js';
import { createLog } from '../lib/log.js';
import { createIngestMetrics } from '../lib/metrics.js';
import { createSecretsCacheFromConfig } from '../lib/secrets.js';
import { loadWebhookConfig, type WebhookConfig } from '../lib/webhook/config.js';
import { createLazyIdempotencyStore } from '../lib/webhook/idempotency/index.js';
import { ingestWebhook, type WebhookDeps } from '../lib/webhook/ingest.js';

/** API Gateway gives up on an integration after 30 s; answering later would be answering no one. */
const API_GATEWAY_TIMEOUT_MS = 30_000;

export interface WebhookHandlerDeps extends WebhookDeps {
  readonly deadlineMarginMs: number;
}

export const createWebhookDeps = (config: WebhookConfig): WebhookHandlerDeps => {
  const log = createLog(config.logLevel);
  // One cache for the proxy credential and the routes' signing secrets: one fetch per secret per TTL.
  const secrets = createSecretsCacheFromConfig(config, { log });
  const kafka = createKafkaRestProducerFromConfig(config, { log, secrets });
  return {
    kafka,
    proxy: { dialect: config.kafka.dialect, flavor: config.kafka.flavor },
    metrics: createIngestMetrics({ log, kafkaStats: kafka.stats }),
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
    log,
    deadlineMarginMs: config.deadlineMarginMs,
    now: Date.now,
  };
};

export const makeHandler =
  (getDeps: () => WebhookHandlerDeps) =>
  async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const deps = getDeps();
    // The API Gateway request id is what a caller sees in a 5xx body: it finds every line of the request.
    deps.log.startInvocation?.(context, event.requestContext?.requestId ?? context.awsRequestId);
    try {
      const budgetMs =
        Math.min(context.getRemainingTimeInMillis(), API_GATEWAY_TIMEOUT_MS) - deps.deadlineMarginMs;
      return await ingestWebhook(deps, event, deps.now() + budgetMs);
    } finally {
      deps.metrics?.flush();
    }
  };

export const handler = makeHandler(lazyDeps(loadWebhookConfig, createWebhookDeps));
