import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { WebhookRoute } from '../config.js';
import type { KafkaRest } from '../kafka-rest/types.js';
import type { Log } from '../log.js';
import { type IdempotencyStore, withIdempotency } from './idempotency/index.js';
import { parseWebhookRequest, toRecord } from './parse.js';
import { toAcceptedResponse, toErrorResponse } from './respond.js';
import { verifyWebhook } from './verify/index.js';

export interface WebhookDeps {
  readonly kafka: KafkaRest;
  readonly routes: ReadonlyMap<string, WebhookRoute>;
  readonly log: Log;
  /** Signing secrets and tokens of the routes, by Secrets Manager id (cached). */
  readonly secrets: { get(secretId: string): Promise<string> };
  readonly now: () => number;
  /** Remembers answered deliveries for routes with an idempotency source; undefined when none has one. */
  readonly idempotency?: IdempotencyStore | undefined;
}

/**
 * One webhook request → one record. Answers 202 only with the offset the proxy acknowledged; every other
 * outcome is an error response (4xx for the caller's mistakes, 503 + Retry-After for what may succeed later).
 */
export const ingestWebhook = async (
  deps: WebhookDeps,
  event: APIGatewayProxyEventV2,
  deadlineMs: number,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const requestId = event.requestContext.requestId;
  try {
    const request = parseWebhookRequest(event, deps.routes);
    // Verified before anything else reads the body: an unauthenticated caller learns nothing about it.
    await verifyWebhook(request.route.verify, request, deps.secrets, deps.now);
    const route = request.route;
    const record = toRecord(request); // before claiming, so a bad body never creates a claim
    const idempotency = { idempotency: deps.idempotency, log: deps.log, now: deps.now };
    return await withIdempotency(idempotency, { request, requestId }, async () => {
      const [result] = await deps.kafka.produce(route.topic, [record], { deadlineMs });
      if (result === undefined) throw new Error('the Kafka REST client returned no result for the record');
      if (!result.ok) throw result.error;
      deps.log.info('webhook record produced', {
        requestId,
        route: route.name,
        topic: route.topic,
        partition: result.partition,
        offset: result.offset,
      });
      return toAcceptedResponse({ topic: route.topic, ...result });
    });
  } catch (error) {
    const response = toErrorResponse(error, requestId);
    const level = (response.statusCode ?? 500) >= 500 ? 'error' : 'warn';
    deps.log[level]('webhook request not accepted', {
      requestId,
      path: event.rawPath,
      status: response.statusCode,
      error: describe(error),
    });
    return response;
  }
};

const describe = (error: unknown): Record<string, unknown> =>
  error instanceof Error
    ? { name: error.name, code: (error as { code?: unknown }).code, message: error.message }
    : { value: String(error) };
