import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDb,
  type DynamoDbSource,
  type GetItemOutput,
  type Item,
  toDynamoDb,
} from '../../../aws/dynamodb.js';
import { sendByDeadline, toDynamoError } from '../../../aws/dynamodb-errors.js';
import { AppError, ERROR_CODES, isAppError } from '../../../core/errors.js';

/** The answer a completed delivery gave, replayed to its duplicates. Only 202s are stored. */
export interface StoredResponse {
  readonly statusCode: number;
  /** JSON text, at most {@link MAX_STORED_BODY_BYTES}. */
  readonly body: string;
}

/** One delivery of an id, as every store call needs it. */
export interface Delivery {
  readonly route: string;
  /** The type-tagged id (`s:…` or `n:…`, see `resolveIdempotencyKey`). */
  readonly key: string;
  /** What makes a repeat the same payload (`toPayloadHash`): stored with the claim and the answer. */
  readonly payloadHash: string;
  /** How long the id stays bound to this payload and, once completed, to its answer. */
  readonly windowSeconds: number;
  /** Epoch ms (the store's clock) by which each DynamoDB call of this delivery has ended. */
  readonly deadlineMs: number;
}

export type BeginResult =
  /** This delivery holds the claim: produce, then `complete` or `abandon` with `token`. */
  | { readonly state: 'new'; readonly token: string }
  /** An earlier delivery of this id had another payload: refuse this one, produce nothing. */
  | { readonly state: 'mismatch' }
  /** An earlier delivery completed within its window: answer with its response, produce nothing. */
  | { readonly state: 'done'; readonly response: StoredResponse }
  /** Another delivery of the same id holds a live claim: ask the sender to retry after `expiresAtMs`-ish. */
  | { readonly state: 'in-progress'; readonly expiresAtMs: number };

/**
 * Two-phase deduplication records, one item per `route#key`, each with the payload hash of its delivery:
 *
 * ```
 * begin ──put IN_PROGRESS (absent, expired, or a lapsed claim of the same payload)──▶ produce
 *   │ condition failed: read back ─ our token: ours (the put applied, its answer lost)      │ok    │fail
 *   │                             ─ other hash: mismatch; DONE: replay; else in progress   ▼      ▼
 *   │                         complete: DONE + answer, window expiry    abandon: delete (if still our claim)
 * crash between begin and complete: the claim lapses after inProgressTtlMs and a redelivery of the same
 * payload produces again, so a crash can duplicate a record but never lose one.
 * ```
 *
 * A claim binds the id to its payload for the whole window, not only while it is live: a claim whose
 * completion was never stored may still belong to an acknowledged record (the 202 goes out even when
 * storing it fails), so another payload under that id is refused until the window ends.
 */
export interface IdempotencyStore {
  /**
   * Claims the delivery's key on its route unless a live item holds it. Throws a retriable `UpstreamError`
   * (`ERR_UPSTREAM_STATUS` / `ERR_UPSTREAM_NETWORK`) when DynamoDB fails or cannot be reached, and
   * `ERR_DEADLINE` when it does not answer by the delivery's deadline.
   */
  begin(delivery: Delivery): Promise<BeginResult>;
  /**
   * Records the answer of a produced delivery, live for its `windowSeconds`. Unconditional: the record was
   * acknowledged, so this answer is right for every later duplicate even if our claim lapsed meanwhile
   * (and a retried put whose first answer was lost writes the same item again). Throws
   * `ERR_PAYLOAD_TOO_LARGE` for a body over {@link MAX_STORED_BODY_BYTES}, and store errors as `begin`.
   */
  complete(delivery: Delivery, response: StoredResponse): Promise<void>;
  /**
   * Drops our claim after a failed produce, so the sender's retry can produce. False when the claim was no
   * longer ours (it expired and another delivery took it, or one completed). Throws store errors as `begin`.
   */
  abandon(delivery: Delivery, token: string): Promise<boolean>;
}

export interface IdempotencyStoreOptions {
  /** Signed calls over a pool (`createDynamoDb`), or an SDK client whose endpoint and credentials it uses. */
  readonly client: DynamoDbSource;
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
  '#claimExpiresAt': 'claimExpiresAt',
  '#payloadHash': 'payloadHash',
  '#token': 'token',
} as const;

/** What a conditional write answers when its condition failed. */
const CONDITION_FAILED = Symbol('condition failed');

const isConditionFailure = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';

/**
 * One DynamoDB call that ends by `deadlineMs` (`sendByDeadline`), whatever the client's own timeouts and
 * retries would allow: its output, or {@link CONDITION_FAILED}. Throws `ERR_DEADLINE` when the time runs
 * out, and {@link toDynamoError} of anything else, named by `what` (never by the key: it may be payload).
 */
const sendBy = async <T>(
  dynamo: DynamoDb,
  what: string,
  { deadlineMs, now }: { readonly deadlineMs: number; readonly now: () => number },
  operation: string,
  input: object,
): Promise<T | typeof CONDITION_FAILED> => {
  try {
    return await sendByDeadline(what, { deadlineMs, now }, (abortSignal) =>
      dynamo.call<T>(operation, input, { abortSignal }),
    );
  } catch (error) {
    if (isConditionFailure(error)) return CONDITION_FAILED;
    throw isAppError(error) ? error : toDynamoError(what, error);
  }
};

const str = (value: string): AttributeValue => ({ S: value });
const num = (value: number): AttributeValue => ({ N: String(value) });

// `expiresAt` is in epoch SECONDS because DynamoDB TTL reads it so. Rounded up when written and the clock
// rounded down when compared, so an item never counts as expired before its full lifetime.
const toExpiresAt = (atMs: number): number => Math.ceil(atMs / 1_000);
const nowSeconds = (nowMs: number): number => Math.floor(nowMs / 1_000);

/** A claim that vanishes between our failed put and our read (abandoned, expired) is claimed again, this often. */
const BEGIN_ATTEMPTS = 3;

/**
 * The idempotency table through signed DynamoDB JSON calls (`lib/aws/`), five attributes mapped by hand. TTL deletes expired items eventually (within days), so every
 * read and condition also checks `expiresAt` itself: an expired item counts as absent.
 */
export const createIdempotencyStore = (options: IdempotencyStoreOptions): IdempotencyStore => {
  const { tableName, now, inProgressTtlMs } = options;
  const dynamo = toDynamoDb(options.client);
  const by = (delivery: Delivery) => ({ deadlineMs: delivery.deadlineMs, now });

  const claim = async (delivery: Delivery, pk: string, token: string): Promise<boolean> => {
    const at = now();
    const output = await sendBy(dynamo, 'idempotency table begin', by(delivery), 'PutItem', {
      TableName: tableName,
      Item: {
        pk: str(pk),
        state: str(IDEMPOTENCY_STATES.IN_PROGRESS),
        token: str(token),
        payloadHash: str(delivery.payloadHash),
        claimExpiresAt: num(toExpiresAt(at + inProgressTtlMs)),
        expiresAt: num(toExpiresAt(at + Math.max(inProgressTtlMs, delivery.windowSeconds * 1_000))),
        startedAt: num(at),
      },
      ConditionExpression:
        'attribute_not_exists(#pk) OR #expiresAt <= :now OR ' +
        '(#state = :inProgress AND #claimExpiresAt <= :now AND #payloadHash = :payloadHash)',
      ExpressionAttributeNames: {
        '#pk': NAMES['#pk'],
        '#expiresAt': NAMES['#expiresAt'],
        '#state': NAMES['#state'],
        '#claimExpiresAt': NAMES['#claimExpiresAt'],
        '#payloadHash': NAMES['#payloadHash'],
      },
      ExpressionAttributeValues: {
        ':now': num(nowSeconds(at)),
        ':inProgress': str(IDEMPOTENCY_STATES.IN_PROGRESS),
        ':payloadHash': str(delivery.payloadHash),
      },
    });
    return output !== CONDITION_FAILED;
  };

  const read = async (delivery: Delivery, pk: string): Promise<Item | undefined> => {
    const output = await sendBy<GetItemOutput>(dynamo, 'idempotency table begin', by(delivery), 'GetItem', {
      TableName: tableName,
      Key: { pk: str(pk) },
      ConsistentRead: true,
    });
    return output === CONDITION_FAILED ? undefined : output.Item;
  };

  return {
    begin: async (delivery) => {
      const pk = toIdempotencyPk(delivery.route, delivery.key);
      const token = randomUUID();
      let expiresAtMs = now() + 1_000;
      for (let attempt = 0; attempt < BEGIN_ATTEMPTS; attempt += 1) {
        if (await claim(delivery, pk, token)) return { state: 'new', token };
        // DynamoDB Local and dynalite lack ReturnValuesOnConditionCheckFailure, so the holder is read
        // back; consistent, so a claim or completion that beat our put is seen.
        const item = await read(delivery, pk);
        // The client retried a put that had applied but whose answer was lost: its condition failed on our
        // own claim, which is ours to use (without this, the delivery that made it would get a 409).
        if (item?.token?.S === token) return { state: 'new', token };
        const expiresAt = readNumber(item?.expiresAt);
        const at = nowSeconds(now());
        if (item === undefined || expiresAt === undefined || expiresAt <= at) continue;
        if (item.payloadHash?.S !== delivery.payloadHash) return { state: 'mismatch' };
        if (item.state?.S === IDEMPOTENCY_STATES.DONE) {
          return {
            state: 'done',
            response: { statusCode: readNumber(item.statusCode) ?? 202, body: item.body?.S ?? '' },
          };
        }
        const claimExpiresAt = readNumber(item.claimExpiresAt) ?? expiresAt;
        if (claimExpiresAt <= at) continue; // a lapsed claim of this payload: ours to take over
        expiresAtMs = claimExpiresAt * 1_000;
        return { state: 'in-progress', expiresAtMs };
      }
      // Claims keep appearing and vanishing under us: someone is working on this id right now.
      return { state: 'in-progress', expiresAtMs };
    },

    complete: async (delivery, response) => {
      const bodyBytes = Buffer.byteLength(response.body);
      if (bodyBytes > MAX_STORED_BODY_BYTES) {
        throw new AppError(
          ERROR_CODES.PAYLOAD_TOO_LARGE,
          `an idempotent answer is stored only up to ${MAX_STORED_BODY_BYTES} bytes; this one is ${bodyBytes}`,
        );
      }
      const at = now();
      await sendBy(dynamo, 'idempotency table complete', by(delivery), 'PutItem', {
        TableName: tableName,
        Item: {
          pk: str(toIdempotencyPk(delivery.route, delivery.key)),
          state: str(IDEMPOTENCY_STATES.DONE),
          payloadHash: str(delivery.payloadHash),
          expiresAt: num(toExpiresAt(at + delivery.windowSeconds * 1_000)),
          completedAt: num(at),
          statusCode: num(response.statusCode),
          body: str(response.body),
        },
      });
    },

    abandon: async (delivery, token) => {
      const output = await sendBy(dynamo, 'idempotency table abandon', by(delivery), 'DeleteItem', {
        TableName: tableName,
        Key: { pk: str(toIdempotencyPk(delivery.route, delivery.key)) },
        // Only our own claim: a stale delivery must not delete a newer claim or a completed answer.
        ConditionExpression: '#state = :inProgress AND #token = :token',
        ExpressionAttributeNames: { '#state': NAMES['#state'], '#token': NAMES['#token'] },
        ExpressionAttributeValues: {
          ':inProgress': str(IDEMPOTENCY_STATES.IN_PROGRESS),
          ':token': str(token),
        },
      });
      return output !== CONDITION_FAILED;
    },
  };
};

const readNumber = (value: AttributeValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);
