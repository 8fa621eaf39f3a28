import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type AppError, type ErrorCode, isAppError, isUpstreamError } from '../../core/errors.js';

/**
 * HTTP status for each error code a webhook can meet. The caller's mistakes are 4xx; a record the proxy
 * refuses for good is 422 (the client reports `ERR_RECORD_REJECTED` only for a code the server itself
 * defines as final: `isFinalRecordCode`), and so is an idempotency id reused for another payload; anything
 * that may succeed later is 503 so the sender retries; a proxy that refuses for reasons that are not the
 * caller's (a missing topic, a bad API key) is 502.
 */
const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_PAYLOAD_INVALID: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_RECORD_REJECTED: 422,
  ERR_UPSTREAM_STATUS: 502,
  ERR_UPSTREAM_TIMEOUT: 503,
  ERR_UPSTREAM_NETWORK: 503,
  ERR_UPSTREAM_PROTOCOL: 502,
  ERR_UPSTREAM_AUTH: 502,
  ERR_DEADLINE: 503,
  ERR_SECRET: 503,
  ERR_CONFIG: 500,
  ERR_OFFSET_OUT_OF_RANGE: 500,
  ERR_CHECKPOINT_CONFLICT: 500,
  ERR_LEASE_LOST: 500,
  ERR_SINK_REJECTED: 502,
  ERR_SINK_FAILED: 503,
  ERR_SPOOL_FAILED: 503,
  ERR_IDEMPOTENCY_MISMATCH: 422,
};

/** Retry-After for a 503 when the proxy did not say how long to wait. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** The caller's mistakes are explained; 5xx bodies carry no `detail` (middy's `expose`). */
const EXPOSE_DETAIL_BELOW = 500;

/**
 * The `type` of every problem. The bridge publishes no documentation at a stable URL, and RFC 9457 asks
 * that a locator `type` resolve to human-readable documentation, so an invented `https://` URI would be
 * a broken promise and an unregistered URN namespace no better; `about:blank` (RFC 9457 section 4.2.1)
 * says "the status says it all", with `title` the status phrase. What tells problems apart is `code`, the
 * stable identifier callers already switch on.
 */
const PROBLEM_TYPE = 'about:blank';
const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * RFC 9110's reason phrases for the statuses a webhook answers, written out rather than taken from
 * `node:http`: Node versions disagree (413 "Payload Too Large" before RFC 9110 renamed it), and the
 * function runs on another Node than the tests.
 */
const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** An RFC 9457 problem details object, with our `code` and `requestId` as extension members. */
interface Problem {
  readonly type: typeof PROBLEM_TYPE;
  readonly title: string;
  readonly status: number;
  /** Only below 500: what the caller can fix. A 5xx says nothing about the bridge's insides. */
  readonly detail?: string;
  readonly code: string;
  readonly requestId: string;
}

export interface Acknowledgement {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export const toAcceptedResponse = (ack: Acknowledgement): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 202,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ topic: ack.topic, partition: ack.partition, offset: ack.offset }),
});

/** Answers to a spooled record carry this header: it is kept, but not in Kafka yet. */
export const SPOOLED_HEADER = 'spooled';

export const toSpooledResponse = (spooled: {
  readonly receipt: string;
  readonly topic: string;
}): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 202,
  headers: { 'content-type': 'application/json', [SPOOLED_HEADER]: 'true' },
  body: JSON.stringify({ status: 'spooled', receipt: spooled.receipt, topic: spooled.topic }),
});

/**
 * Maps any failure to a response. Retriable failures become 503 + `Retry-After` whatever their code, so a
 * sender never gives up on a record that a later attempt would have delivered.
 */
export const toErrorResponse = (error: unknown, requestId: string): APIGatewayProxyStructuredResultV2 => {
  if (!isAppError(error)) return toProblemResponse({ status: 500, code: 'ERR_INTERNAL', requestId });
  const status = error.retriable && STATUS_BY_CODE[error.code] >= 500 ? 503 : STATUS_BY_CODE[error.code];
  const headers: Record<string, string> = {};
  if (status === 503) headers['retry-after'] = String(retryAfterSeconds(error));
  if (status === 405) headers.allow = 'POST';
  return toProblemResponse({ status, code: error.code, detail: error.message, requestId }, headers);
};

/**
 * An `application/problem+json` answer (RFC 9457). `detail` is dropped at 500 and above whatever the
 * caller passes, so no path can leak an internal message through a 5xx.
 */
export const toProblemResponse = (
  problem: {
    readonly status: number;
    readonly code: string;
    readonly detail?: string;
    readonly requestId: string;
  },
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyStructuredResultV2 => {
  const { status, code, detail, requestId } = problem;
  const body: Problem = {
    type: PROBLEM_TYPE,
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail === undefined || status >= EXPOSE_DETAIL_BELOW ? {} : { detail }),
    code,
    requestId,
  };
  return {
    statusCode: status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
    body: JSON.stringify(body),
  };
};

const retryAfterSeconds = (error: AppError): number =>
  isUpstreamError(error) && error.retryAfterMs !== undefined
    ? Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    : DEFAULT_RETRY_AFTER_SECONDS;
