import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type AppError, type ErrorCode, isAppError, isUpstreamError } from '../errors.js';

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
  ERR_IDEMPOTENCY_MISMATCH: 422,
};

/** Retry-After for a 503 when the proxy did not say how long to wait. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** The caller's mistakes are explained; 5xx bodies carry only the code and the request id (middy's `expose`). */
const EXPOSE_MESSAGE_BELOW = 500;

export interface Acknowledgement {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export const toAcceptedResponse = (ack: Acknowledgement): APIGatewayProxyStructuredResultV2 =>
  json(202, { topic: ack.topic, partition: ack.partition, offset: ack.offset });

/**
 * Maps any failure to a response. Retriable failures become 503 + `Retry-After` whatever their code, so a
 * sender never gives up on a record that a later attempt would have delivered.
 */
export const toErrorResponse = (error: unknown, requestId: string): APIGatewayProxyStructuredResultV2 => {
  if (!isAppError(error)) return json(500, { code: 'ERR_INTERNAL', requestId });
  const status = error.retriable && STATUS_BY_CODE[error.code] >= 500 ? 503 : STATUS_BY_CODE[error.code];
  const body =
    status < EXPOSE_MESSAGE_BELOW
      ? { code: error.code, message: error.message, requestId }
      : { code: error.code, requestId };
  const headers: Record<string, string> = {};
  if (status === 503) headers['retry-after'] = String(retryAfterSeconds(error));
  if (status === 405) headers.allow = 'POST';
  return json(status, body, headers);
};

const retryAfterSeconds = (error: AppError): number =>
  isUpstreamError(error) && error.retryAfterMs !== undefined
    ? Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    : DEFAULT_RETRY_AFTER_SECONDS;

const json = (
  statusCode: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
