import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describeError } from '../lib/core/log.js';
import { ingestWebhook } from '../lib/ingest/webhook/ingest.js';
import { toErrorResponse } from '../lib/ingest/webhook/respond.js';
import { lazyDeps } from '../lib/wiring/lazy-deps.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';
import { createWebhookDeps, type WebhookHandlerDeps } from '../lib/wiring/webhook.js';

/** API Gateway gives up on an integration after 30 s; answering later would be answering no one. */
const API_GATEWAY_TIMEOUT_MS = 30_000;

/**
 * The request id a caller sees in an error body and every log line carries: API Gateway's, or Lambda's
 * where there is none. serverless-offline fills API Gateway's with one constant for every request.
 */
const requestIdOf = (event: APIGatewayProxyEventV2, context: Context): string => {
  const fromGateway = event.requestContext?.requestId;
  return fromGateway === undefined || fromGateway.startsWith('offlineContext_')
    ? context.awsRequestId
    : fromGateway;
};

export const makeHandler =
  (getDeps: () => WebhookHandlerDeps) =>
  async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = requestIdOf(event, context);
    let deps: WebhookHandlerDeps;
    try {
      deps = getDeps();
    } catch (error) {
      // A thrown error would reach the caller as the platform's own answer (a 200 with the error text
      // under serverless-offline): answer 500 with the code and request id only, and say why in the log.
      console.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'webhook function cannot start',
          requestId,
          error: describeError(error),
        }),
      );
      return toErrorResponse(error, requestId);
    }
    deps.log.startInvocation?.(context, requestId);
    try {
      const budgetMs =
        Math.min(context.getRemainingTimeInMillis(), API_GATEWAY_TIMEOUT_MS) - deps.deadlineMarginMs;
      return await ingestWebhook(
        deps,
        { ...event, requestContext: { ...event.requestContext, requestId } },
        deps.now() + budgetMs,
      );
    } catch (error) {
      deps.log.error('webhook request failed unexpectedly', { requestId, error: describeError(error) });
      return toErrorResponse(error, requestId);
    } finally {
      if (deps.breaker !== undefined && deps.breaker.state() !== 'closed') deps.metrics?.breakerOpen();
      deps.metrics?.flush();
    }
  };

export const handler = makeHandler(lazyDeps(loadWebhookConfig, createWebhookDeps));
