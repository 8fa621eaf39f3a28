import {
  type DynamoDbSource,
  type GetItemOutput,
  type Item,
  type ScanOutput,
  toDynamoDb,
  type WriteItemOutput,
} from '../aws/dynamodb.js';
import { sendByDeadline, toDynamoError } from '../aws/dynamodb-errors.js';
import { isAppError } from '../core/errors.js';
import type { PartitionKey } from './checkpoint.js';
import { AUDIT_PK_PREFIX, namesUsed, str, toItemKey } from './checkpoint-item.js';

/**
 * When a call must have ended (epoch ms of the store's clock): its DynamoDB call, retries and read-back
 * included, is cut there with `ERR_DEADLINE`. The drain always gives one; without it (operator tools) only
 * the client's own attempt timeouts bound a call.
 */
export interface StoreCallOptions {
  readonly deadlineMs?: number;
}

/** A conditional write's outcome; when its condition failed, the item as read back (if that read worked). */
export type UpdateResult =
  | { readonly written: true; readonly item: Item }
  | { readonly written: false; readonly current: Item | undefined };

export interface UpdateInput {
  readonly update: string;
  readonly condition?: string;
  readonly values: Item;
}

/** The DynamoDB calls of the checkpoint store, on items (`checkpoint-item.ts` gives their meaning). */
export interface CheckpointTable {
  /** Strongly consistent GetItem; throws what the call throws, unmapped. */
  read(key: PartitionKey, call: StoreCallOptions): Promise<Item | undefined>;
  /**
   * One UpdateItem (conditional when `condition` is given) that stores a fresh write token under `:token`
   * and answers the item as written. Throws `ERR_UPSTREAM_STATUS` / `ERR_UPSTREAM_NETWORK` as
   * `checkpoint table <operation>`.
   */
  update(
    operation: string,
    key: PartitionKey,
    input: UpdateInput,
    call?: StoreCallOptions,
  ): Promise<UpdateResult>;
  /**
   * The items of `keys` that exist (strongly consistent BatchGetItem, 100 keys a call, unprocessed keys
   * asked again), in no particular order. Throws as `checkpoint table get`.
   */
  readMany(keys: readonly PartitionKey[], call: StoreCallOptions): Promise<Item[]>;
  /** Every checkpoint item, or every audit item (of one drain when `drainId` is given), every page read. */
  scan(drainId: string | undefined, kind?: 'checkpoints' | 'audit'): Promise<Item[]>;
  /** PutItem of a new item (an audit entry, whose key is new each time). Throws as `checkpoint table audit`. */
  put(item: Item): Promise<void>;
  /**
   * DeleteItem (the operator's `forget`), refused when `condition` fails (`deleted: false`). `old`: the
   * item as it was, when there was one. Throws as `checkpoint table forget`.
   */
  remove(
    key: PartitionKey,
    condition?: { readonly expression: string; readonly values: Item },
  ): Promise<{ readonly deleted: boolean; readonly old?: Item }>;
}

export interface CheckpointTableOptions {
  readonly client: DynamoDbSource;
  readonly tableName: string;
  readonly now: () => number;
  readonly newWriteToken: () => string;
}

interface BatchGetOutput {
  readonly Responses?: Record<string, Item[]>;
  readonly UnprocessedKeys?: Record<string, { readonly Keys?: Item[] }>;
}

const isConditionFailure = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';

/**
 * Whether a failed write may have been applied all the same: its condition failed (possibly on itself,
 * after a retry), or no answer came (network) or a 5xx did. A 4xx other than the condition (throttled,
 * invalid) was refused before writing.
 */
const mayHaveBeenApplied = (error: unknown): boolean => {
  if (isConditionFailure(error)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
};

export const createCheckpointTable = (options: CheckpointTableOptions): CheckpointTable => {
  const { tableName, now, newWriteToken } = options;
  const dynamo = toDynamoDb(options.client);

  /** One DynamoDB call, cut at the deadline when one is given (operator tools run without). */
  const send = <T>(what: string, call: StoreCallOptions, operation: string, input: object): Promise<T> =>
    call.deadlineMs === undefined
      ? dynamo.call<T>(operation, input)
      : sendByDeadline(what, { deadlineMs: call.deadlineMs, now }, (abortSignal) =>
          dynamo.call<T>(operation, input, { abortSignal }),
        );

  const read = async (key: PartitionKey, call: StoreCallOptions): Promise<Item | undefined> => {
    const output = await send<GetItemOutput>('checkpoint table get', call, 'GetItem', {
      TableName: tableName,
      Key: toItemKey(key),
      ConsistentRead: true,
    });
    return output.Item;
  };

  return {
    read,

    update: async (operation, key, input, call = {}) => {
      const condition = input.condition === undefined ? [] : [input.condition];
      const token = newWriteToken();
      const what = `checkpoint table ${operation}`;
      try {
        const output = await send<WriteItemOutput>(what, call, 'UpdateItem', {
          TableName: tableName,
          Key: toItemKey(key),
          UpdateExpression: input.update,
          ...(input.condition === undefined ? {} : { ConditionExpression: input.condition }),
          ExpressionAttributeNames: namesUsed(input.update, ...condition),
          ExpressionAttributeValues: { ...input.values, ':token': str(token) },
          ReturnValues: 'ALL_NEW',
        });
        return { written: true, item: output.Attributes ?? {} };
      } catch (error) {
        if (isAppError(error)) throw error;
        const current = mayHaveBeenApplied(error) ? await read(key, call).catch(() => undefined) : undefined;
        // Only this write stores this token: finding it means the write happened and nothing came after.
        if (current !== undefined && current.writeToken?.S === token) return { written: true, item: current };
        if (isConditionFailure(error)) return { written: false, current };
        throw toDynamoError(what, error);
      }
    },

    readMany: async (keys, call) => {
      const items: Item[] = [];
      const BATCH_GET_MAX_KEYS = 100;
      let pending = keys.map(toItemKey);
      while (pending.length > 0) {
        const asked = pending.slice(0, BATCH_GET_MAX_KEYS);
        const output = await send<BatchGetOutput>('checkpoint table get', call, 'BatchGetItem', {
          RequestItems: { [tableName]: { Keys: asked, ConsistentRead: true } },
        }).catch((error: unknown) => {
          throw isAppError(error) ? error : toDynamoError('checkpoint table get', error);
        });
        for (const item of output.Responses?.[tableName] ?? []) items.push(item);
        // Keys DynamoDB left for later (throughput, 16 MB) go round again, ahead of the ones not yet asked.
        pending = [...(output.UnprocessedKeys?.[tableName]?.Keys ?? []), ...pending.slice(asked.length)];
      }
      return items;
    },

    scan: async (drainId, kind = 'checkpoints') => {
      const items: Item[] = [];
      let startKey: Item | undefined;
      const ofKind = kind === 'audit' ? 'begins_with(#pk, :audit)' : 'NOT begins_with(#pk, :audit)';
      const filter = drainId === undefined ? ofKind : `${ofKind} AND #drainId = :drainId`;
      try {
        do {
          const output = await dynamo.call<ScanOutput>('Scan', {
            TableName: tableName,
            ConsistentRead: true,
            FilterExpression: filter,
            ExpressionAttributeNames: namesUsed(filter),
            ExpressionAttributeValues: {
              ':audit': str(AUDIT_PK_PREFIX),
              ...(drainId === undefined ? {} : { ':drainId': str(drainId) }),
            },
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          });
          for (const item of output.Items ?? []) items.push(item);
          startKey = output.LastEvaluatedKey;
        } while (startKey !== undefined);
      } catch (error) {
        throw toDynamoError('checkpoint table list', error);
      }
      return items;
    },

    put: async (item) => {
      try {
        await dynamo.call<WriteItemOutput>('PutItem', { TableName: tableName, Item: item });
      } catch (error) {
        throw toDynamoError('checkpoint table audit', error);
      }
    },

    remove: async (key, condition) => {
      try {
        const output = await dynamo.call<WriteItemOutput>('DeleteItem', {
          TableName: tableName,
          Key: toItemKey(key),
          ReturnValues: 'ALL_OLD',
          ...(condition === undefined
            ? {}
            : {
                ConditionExpression: condition.expression,
                ExpressionAttributeNames: namesUsed(condition.expression),
                ExpressionAttributeValues: condition.values,
              }),
        });
        return output.Attributes === undefined
          ? { deleted: true }
          : { deleted: true, old: output.Attributes };
      } catch (error) {
        if (!isConditionFailure(error)) throw toDynamoError('checkpoint table forget', error);
        return { deleted: false };
      }
    },
  };
};
