import { createHash } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, ERROR_CODES } from '../../../core/errors.js';
import type { Log } from '../../../core/log.js';
import type { ProduceRecord } from '../../../kafka-rest/types.js';
import { describeFound, readJsonPointer } from '../../fields.js';
import { toProblemResponse } from '../respond.js';
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

const EMPTY = new Uint8Array(0);

/** `s:` or `n:`, not counted against {@link MAX_IDEMPOTENCY_KEY_BYTES}. */
const TAG_BYTES = 2;

/**
 * A duplicate's sender should come back once the first delivery is likely finished (a produce takes well
 * under a second), not only when its claim would lapse a minute later.
 */
const MAX_IN_PROGRESS_RETRY_AFTER_SECONDS = 5;

/**
 * The id of this delivery per the route's `"idempotency"`, or undefined when the route has none. Call it
 * after verification: an unauthenticated caller must not be able to claim ids. The id is type-tagged so
 * that a JSON number and a string never name the same delivery: `s:<text>` for a string (a header value
 * is one) and `n:<source text>` for a number, exactly as the body wrote it (`n:9007199254740993`, never
 * rounded to a double). Throws `AppError` `ERR_PAYLOAD_INVALID` naming the source when the id is missing,
 * empty, not a string or number, or over {@link MAX_IDEMPOTENCY_KEY_BYTES}.
 */
export const resolveIdempotencyKey = (
  config: IdempotencyConfig | undefined,
  request: IdempotencySourceRequest,
): string | undefined => {
  if (config === undefined) return undefined;
  const [key, source] =
    config.from === 'header'
      ? [`s:${headerKey(request.headers, config.header)}`, `header ${config.header}`]
      : [pointerKey(request.body, config.pointer), `JSON pointer ${config.pointer}`];
  const bytes = Buffer.byteLength(key) - TAG_BYTES;
  if (bytes > MAX_IDEMPOTENCY_KEY_BYTES) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `the idempotency key at ${source} is ${bytes} bytes; at most ${MAX_IDEMPOTENCY_KEY_BYTES} are accepted`,
    );
  }
  return key;
};

/**
 * What makes two deliveries of one id the same payload: the record they become (key, value, partition),
 * as a SHA-256 hex digest. Signature and timestamp headers change between a sender's retries, so they
 * are not part of it.
 */
export const toPayloadHash = (record: ProduceRecord): string =>
  createHash('sha256')
    .update(
      // The lengths make the concatenation unambiguous; JSON.stringify writes no raw newline.
      `${JSON.stringify({
        key: record.key?.byteLength ?? null,
        partition: record.partition ?? null,
        value: record.value?.byteLength ?? null,
      })}\n`,
    )
    .update(record.key ?? EMPTY)
    .update(record.value ?? EMPTY)
    .digest('hex');

/**
 * Runs `produce` at most once per `key` on `route` within the window (at-least-once across crashes):
 * - first delivery: claim, `produce`, store its 202 for `windowSeconds`, return it;
 * - a repeat after completion: the stored answer with `Idempotent-Replayed: true`; `produce` is not called;
 * - a repeat while the first still runs: 409 `ERR_IDEMPOTENCY_IN_PROGRESS` + `Retry-After`;
 * - a repeat whose `payloadHash` differs from the first's: `ERR_IDEMPOTENCY_MISMATCH` (422), logged,
 *   neither produced nor replayed;
 * - `produce` throws or answers anything but 202: the claim is dropped (so a retry produces) and the
 *   error or answer passes through;
 * - storing the answer fails: the 202 is returned anyway (the record IS acknowledged) and a warning logged.
 *
 * Every store call ends by `deadlineMs`. Throws what `produce` throws, and the store's retriable errors
 * when the claim cannot be made (then nothing was produced: the webhook answers 503).
 */
export const runIdempotent = async (
  deps: IdempotencyDeps & { readonly idempotency: IdempotencyStore },
  request: {
    readonly route: string;
    readonly key: string;
    readonly payloadHash: string;
    readonly windowSeconds: number;
    readonly requestId: string;
    readonly deadlineMs: number;
  },
  produce: () => Promise<Response>,
): Promise<Response> => {
  const { idempotency: store, log } = deps;
  const { route, requestId } = request;
  const delivery = {
    route,
    key: request.key,
    payloadHash: request.payloadHash,
    windowSeconds: request.windowSeconds,
    deadlineMs: request.deadlineMs,
  };
  const begun = await store.begin(delivery);
  if (begun.state === 'done') {
    log.info('webhook delivery is a duplicate: replaying the first answer', { requestId, route });
    return toReplayedResponse(begun.response);
  }
  if (begun.state === 'in-progress') {
    log.info('webhook delivery is a duplicate of one in progress: asking to retry', { requestId, route });
    return toInProgressResponse(requestId, retryAfterSeconds(begun.expiresAtMs, deps.now()));
  }
  if (begun.state === 'mismatch') {
    log.warn('webhook delivery reuses an idempotency id with a different payload: refused', {
      requestId,
      route,
    });
    throw new AppError(
      ERROR_CODES.IDEMPOTENCY_MISMATCH,
      'a delivery with this idempotency id but a different payload was received first; a new payload needs a new id',
    );
  }

  const abandon = async (): Promise<void> => {
    // Best effort: a claim we fail to drop still lapses after its short TTL, and then a retry produces.
    try {
      await store.abandon(delivery, begun.token);
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
    await store.complete(delivery, toStoredResponse(response));
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
 * resolve the key from `request`, hash `record`, and {@link runIdempotent}. Throws `ERR_PAYLOAD_INVALID`
 * (key missing), `ERR_CONFIG` (a deduplicating route but no store), `ERR_IDEMPOTENCY_MISMATCH`, the
 * store's retriable errors, and what `produce` throws.
 */
export const withIdempotency = async (
  deps: IdempotencyDeps,
  input: {
    /** The verified request (a `WebhookRequest`): its route's `idempotency`, headers and body. */
    readonly request: IdempotencySourceRequest & {
      readonly route: { readonly name: string; readonly idempotency?: IdempotencyConfig | undefined };
    };
    /** The record `produce` writes: what a repeat must match. */
    readonly record: ProduceRecord;
    readonly requestId: string;
    readonly deadlineMs: number;
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
    {
      route: route.name,
      key,
      payloadHash: toPayloadHash(input.record),
      windowSeconds: config.windowSeconds,
      requestId: input.requestId,
      deadlineMs: input.deadlineMs,
    },
    produce,
  );
};

/** The stored answer, as the first delivery got it, marked as a replay. */
export const toReplayedResponse = (stored: StoredResponse): Response => ({
  statusCode: stored.statusCode,
  headers: { 'content-type': 'application/json', [REPLAYED_HEADER]: 'true' },
  body: stored.body,
});

export const toInProgressResponse = (requestId: string, retryAfter: number): Response =>
  toProblemResponse(
    {
      status: 409,
      code: IDEMPOTENCY_IN_PROGRESS_CODE,
      detail: 'a delivery with the same idempotency key is being processed; retry later',
      requestId,
    },
    { 'retry-after': String(retryAfter) },
  );

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
  const found = readJsonPointer(body, pointer, 'idempotency key');
  if (found.type === 'string' && found.value !== '') return `s:${found.value}`;
  if (found.type === 'number') return `n:${found.text}`;
  throw new AppError(
    ERROR_CODES.PAYLOAD_INVALID,
    `the idempotency key at JSON pointer ${pointer} must be a non-empty string or a number; found ${describeFound(found)}`,
  );
};

const describe = (error: unknown): Record<string, unknown> =>
  error instanceof Error
    ? { name: error.name, code: (error as { code?: unknown }).code, message: error.message }
    : { value: String(error) };
