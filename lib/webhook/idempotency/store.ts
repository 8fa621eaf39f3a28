import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { toDynamoError } from '../../dynamodb-errors.js';
import { AppError, ERROR_CODES } from '../../errors.js';

/**
 * The SDK's command classes, imported when first used: a static import here would be hoisted to the top of
 * the webhook bundle (esbuild inlines `lazy.ts`'s dynamic import of this file) and load the DynamoDB SDK at
 * every cold start, also for functions whose routes never deduplicate.
 */
const dynamodb = () => import('@aws-sdk/client-dynamodb');

/** The answer a completed delivery gave, replayed to its duplicates. Only 202s are stored. */
export interface StoredResponse {
  readonly statusCode: number;
  /** JSON text, at most {@link MAX_STORED_BODY_BYTES}. */
  readonly body: string;
}

export type BeginResult =
  /** This delivery holds the claim: produce, then `complete` or `abandon` with `token`. */
  | { readonly state: 'new'; readonly token: string }
  /** An earlier delivery completed within its window: answer with its response, produce nothing. */
  | { readonly state: 'done'; readonly response: StoredResponse }
  /** Another delivery of the same id holds a live claim: ask the sender to retry after `expiresAtMs`-ish. */
  | { readonly state: 'in-progress'; readonly expiresAtMs: number };

/**
 * Two-phase deduplication records, one item per `route#key`:
 *
 * ```
 * begin ──put IN_PROGRESS (absent or expired only)──▶ produce ──ok──▶ complete: DONE + answer, window expiry
 *                                                         └─fail─▶ abandon: delete (if still our claim)
 * crash between begin and complete: the claim expires after inProgressTtlMs and a redelivery produces
 * again, so a crash can duplicate a record but never lose one.
 * ```
 */
export interface IdempotencyStore {
  /**
   * Claims `key` on `route` unless a live item holds it. Throws a retriable `UpstreamError`
   * (`ERR_UPSTREAM_STATUS` / `ERR_UPSTREAM_NETWORK`) when DynamoDB fails or cannot be reached.
   */
  begin(route: string, key: string): Promise<BeginResult>;
  /**
   * Records the answer of a produced delivery, live for `windowSeconds`. Unconditional: the record was
   * acknowledged, so this answer is right for every later duplicate even if our claim lapsed meanwhile.
   * Throws `ERR_PAYLOAD_TOO_LARGE` for a body over {@link MAX_STORED_BODY_BYTES}, and store errors as `begin`.
   */
  complete(route: string, key: string, response: StoredResponse, windowSeconds: number): Promise<void>;
  /**
   * Drops our claim after a failed produce, so the sender's retry can produce. False when the claim was no
   * longer ours (it expired and another delivery took it, or one completed). Throws store errors as `begin`.
   */
  abandon(route: string, key: string, token: string): Promise<boolean>;
}

export interface IdempotencyStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now: () => number;
  /** How long a claim lives without `complete`; at least the webhook function's timeout. */
  readonly inProgressTtlMs: number;
}

/** A 202 answer is `{topic, partition, offset}`: tens of bytes. The bound keeps items tiny whatever changes. */
export const MAX_STORED_BODY_BYTES = 4_096;

export const IDEMPOTENCY_STATES = { IN_PROGRESS: 'IN_PROGRESS', DONE: 'DONE' } as const;

/** The hash key. Route names cannot contain `#`, so `route#key` never collides across routes. */
export const toIdempotencyPk = (route: string, key: string): string => `${route}#${key}`;

const NAMES = {
  '#pk': 'pk',
  '#state': 'state',
  '#expiresAt': 'expiresAt',
  '#token': 'token',
} as const;

const str = (value: string): AttributeValue => ({ S: value });
const num = (value: number): AttributeValue => ({ N: String(value) });

// `expiresAt` is in epoch SECONDS because DynamoDB TTL reads it so. Rounded up when written and the clock
// rounded down when compared, so an item never counts as expired before its full lifetime.
const toExpiresAt = (atMs: number): number => Math.ceil(atMs / 1_000);
const nowSeconds = (nowMs: number): number => Math.floor(nowMs / 1_000);

const isConditionFailure = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';

/** A claim that vanishes between our failed put and our read (abandoned, expired) is claimed again, this often. */
const BEGIN_ATTEMPTS = 3;

/**
 * The idempotency table through `@aws-sdk/client-dynamodb` only (lib-dynamodb's marshalling costs cold
 * start for five attributes mapped by hand). TTL deletes expired items eventually (within days), so every
 * read and condition also checks `expiresAt` itself: an expired item counts as absent.
 */
export const createIdempotencyStore = (options: IdempotencyStoreOptions): IdempotencyStore => {
  const { client, tableName, now, inProgressTtlMs } = options;

  const claim = async (pk: string, token: string): Promise<boolean> => {
    const at = now();
    try {
      await client.send(
        new (await dynamodb()).PutItemCommand({
          TableName: tableName,
          Item: {
            pk: str(pk),
            state: str(IDEMPOTENCY_STATES.IN_PROGRESS),
            token: str(token),
            expiresAt: num(toExpiresAt(at + inProgressTtlMs)),
            startedAt: num(at),
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
          ExpressionAttributeNames: { '#pk': NAMES['#pk'], '#expiresAt': NAMES['#expiresAt'] },
          ExpressionAttributeValues: { ':now': num(nowSeconds(at)) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw toDynamoError('idempotency table begin', error);
    }
  };

  const read = async (pk: string): Promise<Record<string, AttributeValue> | undefined> => {
    try {
      const output = await client.send(
        new (await dynamodb()).GetItemCommand({
          TableName: tableName,
          Key: { pk: str(pk) },
          ConsistentRead: true,
        }),
      );
      return output.Item;
    } catch (error) {
      throw toDynamoError('idempotency table begin', error);
    }
  };

  return {
    begin: async (route, key) => {
      const pk = toIdempotencyPk(route, key);
      const token = randomUUID();
      let expiresAtMs = now() + 1_000;
      for (let attempt = 0; attempt < BEGIN_ATTEMPTS; attempt += 1) {
        if (await claim(pk, token)) return { state: 'new', token };
        // DynamoDB Local and dynalite lack ReturnValuesOnConditionCheckFailure, so the holder is read
        // back; consistent, so a claim or completion that beat our put is seen.
        const item = await read(pk);
        const expiresAt = readNumber(item?.expiresAt);
        if (item === undefined || expiresAt === undefined || expiresAt <= nowSeconds(now())) continue;
        if (item.state?.S === IDEMPOTENCY_STATES.DONE) {
          return {
            state: 'done',
            response: { statusCode: readNumber(item.statusCode) ?? 202, body: item.body?.S ?? '' },
          };
        }
        expiresAtMs = expiresAt * 1_000;
        return { state: 'in-progress', expiresAtMs };
      }
      // Claims keep appearing and vanishing under us: someone is working on this id right now.
      return { state: 'in-progress', expiresAtMs };
    },

    complete: async (route, key, response, windowSeconds) => {
      const bodyBytes = Buffer.byteLength(response.body);
      if (bodyBytes > MAX_STORED_BODY_BYTES) {
        throw new AppError(
          ERROR_CODES.PAYLOAD_TOO_LARGE,
          `an idempotent answer is stored only up to ${MAX_STORED_BODY_BYTES} bytes; this one is ${bodyBytes}`,
        );
      }
      const at = now();
      try {
        await client.send(
          new (await dynamodb()).PutItemCommand({
            TableName: tableName,
            Item: {
              pk: str(toIdempotencyPk(route, key)),
              state: str(IDEMPOTENCY_STATES.DONE),
              expiresAt: num(toExpiresAt(at + windowSeconds * 1_000)),
              completedAt: num(at),
              statusCode: num(response.statusCode),
              body: str(response.body),
            },
          }),
        );
      } catch (error) {
        throw toDynamoError('idempotency table complete', error);
      }
    },

    abandon: async (route, key, token) => {
      try {
        await client.send(
          new (await dynamodb()).DeleteItemCommand({
            TableName: tableName,
            Key: { pk: str(toIdempotencyPk(route, key)) },
            // Only our own claim: a stale delivery must not delete a newer claim or a completed answer.
            ConditionExpression: '#state = :inProgress AND #token = :token',
            ExpressionAttributeNames: { '#state': NAMES['#state'], '#token': NAMES['#token'] },
            ExpressionAttributeValues: {
              ':inProgress': str(IDEMPOTENCY_STATES.IN_PROGRESS),
              ':token': str(token),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw toDynamoError('idempotency table abandon', error);
      }
    },
  };
};

const readNumber = (value: AttributeValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);
