import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, ERROR_CODES } from '../../errors.js';
import type { Log } from '../../log.js';
import { resolvePointer } from '../parse.js';
import type { IdempotencyConfig } from './config.js';
import type { IdempotencyStore, StoredResponse } from './store.js';

type Response = APIGatewayProxyStructuredResultV2;

/** What the key is read from: the verified request's headers and exact body bytes. */
export interface IdempotencySourceRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

/** Named so that `WebhookDeps` can extend it and be passed as is. */
export interface IdempotencyDeps {
  /** Undefined when no route deduplicates (no table configured). */
  readonly idempotency: IdempotencyStore | undefined;
  readonly log: Log;
  readonly now: () => number;
}

/** The error code of the 409 a duplicate gets while the first delivery is still running. */
export const IDEMPOTENCY_IN_PROGRESS_CODE = 'ERR_IDEMPOTENCY_IN_PROGRESS';

/** Answers to a replay carry this header, so a sender (or an operator reading logs) can tell. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/** DynamoDB limits a partition key to 2048 bytes; ids that senders use are far shorter. */
export const MAX_IDEMPOTENCY_KEY_BYTES = 1_024;

/**
 * A duplicate's sender should come back once the first delivery is likely finished (a produce takes well
 * under a second), not only when its claim would lapse a minute later.
 */
const MAX_IN_PROGRESS_RETRY_AFTER_SECONDS = 5;

/**
 * The id of this delivery per the route's `"idempotency"`, or undefined when the route has none. Call it
 * after verification: an unauthenticated caller must not be able to claim ids. Throws `AppError`
 * `ERR_PAYLOAD_INVALID` naming the source when the id is missing, empty, not a string or number, or over
 * {@link MAX_IDEMPOTENCY_KEY_BYTES}.
 */
export const resolveIdempotencyKey = (
  config: IdempotencyConfig | undefined,
  request: IdempotencySourceRequest,
): string | undefined => {
  if (config === undefined) return undefined;
  const [key, source] =
    config.from === 'header'
      ? [headerKey(request.headers, config.header), `header ${config.header}`]
      : [pointerKey(request.body, config.pointer), `JSON pointer ${config.pointer}`];
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_IDEMPOTENCY_KEY_BYTES) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `the idempotency key at ${source} is ${bytes} bytes; at most ${MAX_IDEMPOTENCY_KEY_BYTES} are accepted`,
    );
  }
  return key;
};

/**
 * Runs `produce` at most once per `key` on `route` within the window (at-least-once across crashes):
 * - first delivery: claim, `produce`, store its 202 for `windowSeconds`, return it;
 * - a repeat after completion: the stored answer with `Idempotent-Replayed: true`; `produce` is not called;
 * - a repeat while the first still runs: 409 `ERR_IDEMPOTENCY_IN_PROGRESS` + `Retry-After`;
 * - `produce` throws or answers anything but 202: the claim is dropped (so a retry produces) and the
 *   error or answer passes through;
 * - storing the answer fails: the 202 is returned anyway (the record IS acknowledged) and a warning logged.
 *
 * Throws what `produce` throws, and the store's retriable `UpstreamError` when the claim cannot be made
 * (then nothing was produced: the webhook answers 503).
 */
export const runIdempotent = async (
  deps: IdempotencyDeps & { readonly idempotency: IdempotencyStore },
  request: {
    readonly route: string;
    readonly key: string;
    readonly windowSeconds: number;
    readonly requestId: string;
  },
  produce: () => Promise<Response>,
): Promise<Response> => {
  const { idempotency: store, log } = deps;
  const { route, key, requestId } = request;
  const begun = await store.begin(route, key);
  if (begun.state === 'done') {
    log.info('webhook delivery is a duplicate: replaying the first answer', { requestId, route });
    return toReplayedResponse(begun.response);
  }
  if (begun.state === 'in-progress') {
    log.info('webhook delivery is a duplicate of one in progress: asking to retry', { requestId, route });
    return toInProgressResponse(requestId, retryAfterSeconds(begun.expiresAtMs, deps.now()));
  }

  const abandon = async (): Promise<void> => {
    // Best effort: a claim we fail to drop still lapses after its short TTL, and then a retry produces.
    try {
      await store.abandon(route, key, begun.token);
    } catch (error) {
      log.warn('idempotency claim not released; retries get 409 until it expires', {
        requestId,
        route,
        error: describe(error),
      });
    }
  };

  let response: Response;
  try {
    response = await produce();
  } catch (error) {
    await abandon();
    throw error;
  }
  if (response.statusCode !== 202) {
    await abandon();
    return response;
  }
  try {
    await store.complete(route, key, toStoredResponse(response), request.windowSeconds);
  } catch (error) {
    log.warn('idempotency answer not stored; a redelivery after the claim expires may duplicate the record', {
      requestId,
      route,
      error: describe(error),
    });
  }
  return response;
};

/**
 * The whole integration for one webhook request: without `route.idempotency`, just `produce()`; with it,
 * resolve the key from `request` and {@link runIdempotent}. Throws `ERR_PAYLOAD_INVALID` (key missing),
 * `ERR_CONFIG` (a deduplicating route but no store), the store's retriable errors, and what `produce` throws.
 */
export const withIdempotency = async (
  deps: IdempotencyDeps,
  input: {
    /** The verified request (a `WebhookRequest`): its route's `idempotency`, headers and body. */
    readonly request: IdempotencySourceRequest & {
      readonly route: { readonly name: string; readonly idempotency?: IdempotencyConfig | undefined };
    };
    readonly requestId: string;
  },
  produce: () => Promise<Response>,
): Promise<Response> => {
  const { route } = input.request;
  const config = route.idempotency;
  const key = resolveIdempotencyKey(config, input.request);
  if (config === undefined || key === undefined) return produce();
  const store = deps.idempotency;
  if (store === undefined) {
    throw new AppError(
      ERROR_CODES.CONFIG,
      `webhook route ${route.name} sets "idempotency" but no IDEMPOTENCY_TABLE is configured`,
    );
  }
  return runIdempotent(
    { idempotency: store, log: deps.log, now: deps.now },
    { route: route.name, key, windowSeconds: config.windowSeconds, requestId: input.requestId },
    produce,
  );
};

/** The stored answer, as the first delivery got it, marked as a replay. */
export const toReplayedResponse = (stored: StoredResponse): Response => ({
  statusCode: stored.statusCode,
  headers: { 'content-type': 'application/json', [REPLAYED_HEADER]: 'true' },
  body: stored.body,
});

export const toInProgressResponse = (requestId: string, retryAfter: number): Response => ({
  statusCode: 409,
  headers: { 'content-type': 'application/json', 'retry-after': String(retryAfter) },
  body: JSON.stringify({
    code: IDEMPOTENCY_IN_PROGRESS_CODE,
    message: 'a delivery with the same idempotency key is being processed; retry later',
    requestId,
  }),
});

const retryAfterSeconds = (expiresAtMs: number, nowMs: number): number =>
  Math.min(MAX_IN_PROGRESS_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil((expiresAtMs - nowMs) / 1_000)));

const toStoredResponse = (response: Response): StoredResponse => ({
  statusCode: response.statusCode ?? 202,
  body: response.body ?? '',
});

const headerKey = (headers: IdempotencySourceRequest['headers'], name: string): string => {
  // Payload v2 lower-cases header names, but Function URL tests and other senders may not.
  for (const [header, value] of Object.entries(headers)) {
    if (header.toLowerCase() === name && value !== undefined && value !== '') return value;
  }
  throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `the idempotency header ${name} is missing or empty`);
};

const pointerKey = (body: Buffer, pointer: string): string => {
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `request body is not valid JSON, and this route takes its idempotency key from JSON pointer ${pointer}`,
    );
  }
  const value = resolvePointer(document, pointer);
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const found =
    value === undefined
      ? 'nothing'
      : value === ''
        ? 'an empty string'
        : value === null
          ? 'null'
          : Array.isArray(value)
            ? 'an array'
            : typeof value === 'object'
              ? 'an object'
              : `a ${typeof value}`;
  throw new AppError(
    ERROR_CODES.PAYLOAD_INVALID,
    `the idempotency key at JSON pointer ${pointer} must be a non-empty string or a number; found ${found}`,
  );
};

const describe = (error: unknown): Record<string, unknown> =>
  error instanceof Error
    ? { name: error.name, code: (error as { code?: unknown }).code, message: error.message }
    : { value: String(error) };
