import type { DynamoDb, Item } from '../../aws/dynamodb.js';
import { sendByDeadline, toDynamoError } from '../../aws/dynamodb-errors.js';
import { isAppError } from '../../core/errors.js';
import type { OrderMarker } from './message.js';

/**
 * The spool keys table: one item per spooled record whose key has an order to keep, from the moment it is
 * spooled until the backfill has produced it. While a key has one, the webhook spools the key's new
 * requests behind it instead of producing them, so a record produced straight to Kafka never overtakes an
 * earlier one of its key still in the spool.
 *
 * ```
 * webhook: held(k)? ─yes─▶ spool ─ hold(k, receipt) ─ SendMessage ─▶ 202 spooled
 *             └─no──▶ produce ─fails─▶ spool (as above)      SendMessage fails ─▶ release, 503
 * backfill: produce the message ─acknowledged─▶ release(marker) ─▶ the key is free once its last one is
 * ```
 *
 * Items: `k` (partition key: the route and key digest, `spoolOrderOf`), `m` (sort key: the expiry, seconds
 * zero-padded, then `#` and the receipt), `expiresAt` (epoch seconds, the table's TTL attribute). The
 * expiry is the spool queue's retention: a marker whose message expired or went to the spool DLQ stops
 * holding its key then; `held` reads past expired items without waiting for DynamoDB's TTL sweep, since
 * their `m` sorts below the present.
 */
export interface OrderMarkers {
  /** Whether a record of `orderKey` is spooled and not yet produced. */
  held(orderKey: string, deadlineMs: number): Promise<boolean>;
  /** Marks `receipt` as spooled until `expiresAtMs`; the returned marker goes in its spool message. */
  hold(orderKey: string, receipt: string, expiresAtMs: number, deadlineMs: number): Promise<OrderMarker>;
  /** Idempotent: a marker released twice (a redelivered message) costs one more delete. */
  release(marker: OrderMarker, deadlineMs: number): Promise<void>;
}

const EXPIRY_DIGITS = 12;
const sortPrefix = (epochSeconds: number): string => String(epochSeconds).padStart(EXPIRY_DIGITS, '0');

export const createOrderMarkers = (options: {
  readonly client: DynamoDb;
  readonly tableName: string;
  readonly now: () => number;
}): OrderMarkers => {
  const { client, tableName, now } = options;
  const call = async <T>(what: string, deadlineMs: number, operation: string, input: object): Promise<T> => {
    try {
      return await sendByDeadline(what, { deadlineMs, now }, (abortSignal) =>
        client.call<T>(operation, { TableName: tableName, ...input }, { abortSignal }),
      );
    } catch (error) {
      throw isAppError(error) ? error : toDynamoError(what, error);
    }
  };
  return {
    held: async (orderKey, deadlineMs) => {
      const answer = await call<{ Items?: Item[] }>('reading the spool keys table', deadlineMs, 'Query', {
        KeyConditionExpression: 'k = :k AND m > :now',
        ExpressionAttributeValues: {
          ':k': { S: orderKey },
          ':now': { S: sortPrefix(Math.floor(now() / 1000)) },
        },
        ProjectionExpression: 'k',
        ConsistentRead: true,
        Limit: 1,
      });
      return (answer.Items?.length ?? 0) > 0;
    },
    hold: async (orderKey, receipt, expiresAtMs, deadlineMs) => {
      const expiresAt = Math.ceil(expiresAtMs / 1000);
      const marker = { k: orderKey, m: `${sortPrefix(expiresAt)}#${receipt}` };
      await call('writing the spool keys table', deadlineMs, 'PutItem', {
        Item: { k: { S: marker.k }, m: { S: marker.m }, expiresAt: { N: String(expiresAt) } },
      });
      return marker;
    },
    release: async (marker, deadlineMs) => {
      await call('releasing a spool key', deadlineMs, 'DeleteItem', {
        Key: { k: { S: marker.k }, m: { S: marker.m } },
      });
    },
  };
};
