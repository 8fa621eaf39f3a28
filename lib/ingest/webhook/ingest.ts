import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describeError } from '../../core/log.js';
import { type TraceContext, toTraceContext } from '../../formats/trace-context.js';
import { headerValue } from '../fields.js';
import type { WebhookRoute } from './config.js';
import { type DeliveryDeps, deliverRecord } from './deliver.js';
import { toEnvelopedRecord } from './envelope.js';
import { type IdempotencyStore, resolveIdempotencyKey, withIdempotency } from './idempotency/index.js';
import { parseWebhookRequest, toRecord } from './parse.js';
import { toErrorResponse } from './respond.js';
import { verifyWebhook } from './verify/index.js';

export interface WebhookDeps extends DeliveryDeps {
  readonly routes: ReadonlyMap<string, WebhookRoute>;
  /** Signing secrets and tokens of the routes, by Secrets Manager id (cached); a read ends by `deadlineMs`. */
  readonly secrets: { get(secretId: string, options?: { readonly deadlineMs?: number }): Promise<string> };
  /** Remembers answered deliveries for routes with an idempotency source; undefined when none has one. */
  readonly idempotency?: IdempotencyStore | undefined;
}

/**
 * One webhook request → one record. Answers 202 only with the offset the proxy acknowledged, or on a
 * spooling route with the receipt of a durably spooled record; every other outcome is an error response
 * (4xx for the caller's mistakes, 503 + Retry-After for what may succeed later).
 */
export const ingestWebhook = async (
  deps: WebhookDeps,
  event: APIGatewayProxyEventV2,
  deadlineMs: number,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const requestId = event.requestContext.requestId;
  const headers = event.headers ?? {};
  // Read before anything can fail, so that a refusal's log line names the trace the sender knows.
  const trace = toTraceContext({
    traceparent: headerValue(headers, 'traceparent'),
    tracestate: headerValue(headers, 'tracestate'),
  });
  // Set once the caller is verified: from there on a refusal is a record for this topic that failed
  // (an unauthenticated caller's noise does not count against the topic).
  let countedTopic: string | undefined;
  try {
    const request = parseWebhookRequest(event, deps.routes);
    // Verified before anything else reads the body: an unauthenticated caller learns nothing about it.
    // A secret read that hangs must not hold the request past its deadline (ERR_DEADLINE → 503).
    const secrets = { get: (secretId: string) => deps.secrets.get(secretId, { deadlineMs }) };
    await verifyWebhook(request.route.verify, request, secrets, deps.now);
    const route = request.route;
    countedTopic = route.topic;
    // Both before claiming, so a bad body never creates a claim. A repeat is compared by `record`: the
    // envelope's time and (without a delivery id) event id differ between a sender's retries.
    const record = toRecord(request);
    const produced = toEnvelopedRecord(record, {
      route,
      headers: request.headers,
      body: request.body,
      deliveryId: resolveIdempotencyKey(route.idempotency, request)?.slice(2),
      requestId,
      receivedAtMs: deps.now(),
      trace,
      recordHeaders: deps.recordHeaders === true,
    });
    const idempotency = { idempotency: deps.idempotency, log: deps.log, now: deps.now };
    return await withIdempotency(idempotency, { request, record, requestId, deadlineMs }, () =>
      deliverRecord(deps, { route, record: produced, requestId, deadlineMs, trace: traceFields(trace) }),
    );
  } catch (error) {
    if (countedTopic !== undefined) deps.metrics?.record(countedTopic, false);
    const response = toErrorResponse(error, requestId);
    const level = (response.statusCode ?? 500) >= 500 ? 'error' : 'warn';
    deps.log[level]('webhook request not accepted', {
      requestId,
      path: event.rawPath,
      status: response.statusCode,
      error: describeError(error),
      ...traceFields(trace),
    });
    return response;
  }
};

/**
 * The trace as log fields: `traceId` is what X-Ray and OpenTelemetry backends search by; `traceparent` is
 * the whole header as it went on into the record.
 */
const traceFields = (trace: TraceContext): Record<string, unknown> => ({
  traceId: trace.traceId,
  traceparent: trace.traceparent,
  ...(trace.generated ? { traceGenerated: true } : {}),
});
