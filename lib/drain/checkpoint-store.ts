import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDbSource,
  type GetItemOutput,
  type Item,
  type ScanOutput,
  toDynamoDb,
  type WriteItemOutput,
} from '../aws/dynamodb.js';
import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';
import { sendByDeadline, toDynamoError } from '../dynamodb-errors.js';

/** One checkpoint item per (drain, topic, partition). */
export interface PartitionKey {
  readonly drainId: string;
  readonly topic: string;
  readonly partition: number;
}

export interface CheckpointError {
  readonly code: string;
  readonly message: string;
  /** The record the partition stopped at, when the error is about one record. */
  readonly offset: number | undefined;
  readonly atMs: number;
}

export interface Checkpoint extends PartitionKey {
  /** Next offset to deliver; undefined until the first commit (the drain then starts per its policy). */
  readonly nextOffset: number | undefined;
  /** Bumped by every write, so that a stale writer's condition fails. */
  readonly version: number;
  readonly lease: { readonly owner: string; readonly expiresAtMs: number } | undefined;
  readonly paused: boolean;
  readonly lastError: CheckpointError | undefined;
  /** Records skipped so far by offset resets (retention, re-created topics): never silently. */
  readonly skippedRecords: number;
  /**
   * The topic's incarnation, part of every record id (0 until the drain first finds the topic re-created:
   * offsets start again at 0 then, and the ids must not repeat those of the earlier topic).
   */
  readonly epoch: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly committedAtMs: number | undefined;
}

/** Proof of holding a partition: owner + the version of the item as we last wrote it. */
export interface Lease {
  readonly key: PartitionKey;
  readonly owner: string;
  readonly version: number;
  readonly expiresAtMs: number;
}

export type AcquireResult =
  | { readonly acquired: true; readonly lease: Lease; readonly checkpoint: Checkpoint }
  | { readonly acquired: false; readonly holder: Checkpoint['lease'] };

export interface CommitChanges {
  readonly nextOffset: number;
  /** Recorded on the item (the partition stopped); absent clears a previous error. */
  readonly lastError?: Omit<CheckpointError, 'atMs'>;
  /** Records skipped by an offset reset, added to the item's running count. */
  readonly skippedRecords?: number;
  /** A new incarnation of the topic (see `Checkpoint.epoch`); absent keeps the stored one. */
  readonly epoch?: number;
}

/**
 * When a call must have ended (epoch ms of the store's clock): its DynamoDB call, retries and read-back
 * included, is cut there with `ERR_DEADLINE`. The drain always gives one; without it (operator tools) only
 * the client's own attempt timeouts bound a call.
 */
export interface StoreCallOptions {
  readonly deadlineMs?: number;
}

/**
 * The checkpoint table, in the drain's terms. Every write that a drain makes is one conditional
 * UpdateItem on owner + version, so two runs can never both move the same partition forward.
 *
 * A write whose answer was lost (the client then retries it, and the retry's condition fails on our own
 * write; or every attempt ends without an answer) is read back, and counts as done when the item is
 * exactly as that write left it: each write stores a token of its own (`writeToken`), so no other write,
 * ours or an operator's, can pass for it.
 */
export interface CheckpointStore {
  /** Strongly consistent read; undefined when the partition was never drained. */
  get(key: PartitionKey, options?: StoreCallOptions): Promise<Checkpoint | undefined>;
  /** Every checkpoint (of one drain when `drainId` is given), sorted by drain, topic, partition. */
  list(filter?: { readonly drainId?: string }): Promise<Checkpoint[]>;
  /** Takes the lease if nobody holds it or the holder's lease expired. Never throws for a held lease. */
  acquire(key: PartitionKey, owner: string, options?: StoreCallOptions): Promise<AcquireResult>;
  /**
   * Moves the checkpoint and renews the lease. Throws `ERR_LEASE_LOST` when another run or an operator
   * wrote the item since our last write: the caller must stop before forwarding anything more.
   */
  commit(lease: Lease, changes: CommitChanges, options?: StoreCallOptions): Promise<Lease>;
  /** Extends the lease without moving the offset. Throws `ERR_LEASE_LOST` like `commit`. */
  renew(lease: Lease, options?: StoreCallOptions): Promise<Lease>;
  /** Gives the lease up; false when it had already been lost (nothing to release). */
  release(lease: Lease, options?: StoreCallOptions): Promise<boolean>;
  /**
   * Gives up whatever lease `owner` holds on `key`, whatever its version: for a run whose acquire got no
   * answer in time (it may have been applied), so the partition need not idle until that lease expires.
   * Owner names are unique per run, so no other run's lease can match. False when `owner` holds none.
   */
  releaseOwned(key: PartitionKey, owner: string, options?: StoreCallOptions): Promise<boolean>;
  /** Operator: replay or skip. Any current holder fails its next commit and stops. Clears `lastError`. */
  setOffset(key: PartitionKey, nextOffset: number): Promise<Checkpoint>;
  /** Operator: a paused partition is skipped by every run until resumed. Any holder stops at its next commit. */
  setPaused(key: PartitionKey, paused: boolean): Promise<Checkpoint>;
  /**
   * Operator: removes the partition's checkpoint row, so the next run starts it afresh (`startFrom`).
   * Refused (`forgotten: false`, the row as it stands) while a run holds an unexpired lease, unless
   * `force`. Deleting a row that is already gone is not an error.
   */
  forget(
    key: PartitionKey,
    options?: { readonly force?: boolean },
  ): Promise<{ forgotten: boolean; current?: Checkpoint }>;
}

export interface CheckpointStoreOptions {
  /** Signed calls over a pool (`createDynamoDb`), or an SDK client whose endpoint and credentials it uses. */
  readonly client: DynamoDbSource;
  readonly tableName: string;
  /** How long a lease lasts after each acquire, commit or renew. */
  readonly leaseMs: number;
  readonly now: () => number;
  /** The token each write stores (see `CheckpointStore`); unique per call. */
  readonly newWriteToken?: () => string;
}

/** `pk` is the table's only key attribute (string, hash key). */
export const toCheckpointPk = (key: PartitionKey): string => `${key.drainId}#${key.topic}#${key.partition}`;

// Expression names for every attribute: several (partition, version, paused…) are, or may become,
// DynamoDB reserved words, and one rule for all is easier to read than a list of exceptions.
const NAMES = {
  '#pk': 'pk',
  '#drainId': 'drainId',
  '#topic': 'topic',
  '#partition': 'partition',
  '#nextOffset': 'nextOffset',
  '#version': 'version',
  '#leaseOwner': 'leaseOwner',
  '#leaseExpiresAt': 'leaseExpiresAt',
  '#paused': 'paused',
  '#lastError': 'lastError',
  '#skippedRecords': 'skippedRecords',
  '#epoch': 'epoch',
  '#writeToken': 'writeToken',
  '#createdAt': 'createdAt',
  '#updatedAt': 'updatedAt',
  '#committedAt': 'committedAt',
} as const;
type Name = keyof typeof NAMES;

const namesUsed = (...expressions: string[]): Record<string, string> => {
  const text = expressions.join(' ');
  return Object.fromEntries(
    (Object.keys(NAMES) as Name[])
      .filter((name) => new RegExp(`${name}\\b`).test(text))
      .map((name) => [name, NAMES[name]]),
  );
};

const num = (value: number): AttributeValue => ({ N: String(value) });
const str = (value: string): AttributeValue => ({ S: value });

const IDENTITY_SET =
  '#drainId = :drainId, #topic = :topic, #partition = :partition, ' +
  '#createdAt = if_not_exists(#createdAt, :now), #updatedAt = :now, ' +
  '#version = if_not_exists(#version, :zero) + :one, #writeToken = :token';

/** Every lease write also stores its token (see `CheckpointStore`). */
const LEASE_SET = '#version = #version + :one, #updatedAt = :now, #writeToken = :token';

const HOLDS_LEASE = '#leaseOwner = :owner AND #version = :version';

const isConditionFailure = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';

/** A conditional write's outcome; when its condition failed, the item as read back (if that read worked). */
type UpdateResult =
  | { readonly written: true; readonly item: Item }
  | { readonly written: false; readonly current: Item | undefined };

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

/**
 * Checkpoints, leases and operator flags in DynamoDB, through signed JSON calls (`lib/aws/`): the SDK's
 * DynamoDB client was 85–88 % of the drain's import at cold start; the dozen attributes are mapped by hand.
 *
 * Each mutating method throws `ERR_LEASE_LOST` where documented, and `ERR_UPSTREAM_STATUS` /
 * `ERR_UPSTREAM_NETWORK` when DynamoDB fails or cannot be reached.
 */
export const createCheckpointStore = (options: CheckpointStoreOptions): CheckpointStore => {
  const { tableName, leaseMs, now } = options;
  const dynamo = toDynamoDb(options.client);
  const newWriteToken = options.newWriteToken ?? randomUUID;

  /** One DynamoDB call, cut at the deadline when one is given (operator tools run without). */
  const send = <T>(what: string, call: StoreCallOptions, operation: string, input: object): Promise<T> =>
    call.deadlineMs === undefined
      ? dynamo.call<T>(operation, input)
      : sendByDeadline(what, { deadlineMs: call.deadlineMs, now }, (abortSignal) =>
          dynamo.call<T>(operation, input, { abortSignal }),
        );

  const readItem = async (key: PartitionKey, call: StoreCallOptions): Promise<Item | undefined> => {
    const output = await send<GetItemOutput>('checkpoint table get', call, 'GetItem', {
      TableName: tableName,
      Key: { pk: str(toCheckpointPk(key)) },
      ConsistentRead: true,
    });
    return output.Item;
  };

  const update = async (
    operation: string,
    key: PartitionKey,
    input: {
      update: string;
      condition?: string;
      values: Item;
    },
    options: StoreCallOptions = {},
  ): Promise<UpdateResult> => {
    const condition = input.condition === undefined ? [] : [input.condition];
    const token = newWriteToken();
    const what = `checkpoint table ${operation}`;
    try {
      const output = await send<WriteItemOutput>(what, options, 'UpdateItem', {
        TableName: tableName,
        Key: { pk: str(toCheckpointPk(key)) },
        UpdateExpression: input.update,
        ...(input.condition === undefined ? {} : { ConditionExpression: input.condition }),
        ExpressionAttributeNames: namesUsed(input.update, ...condition),
        ExpressionAttributeValues: { ...input.values, ':token': str(token) },
        ReturnValues: 'ALL_NEW',
      });
      return { written: true, item: output.Attributes ?? {} };
    } catch (error) {
      if (isAppError(error)) throw error;
      const current = mayHaveBeenApplied(error)
        ? await readItem(key, options).catch(() => undefined)
        : undefined;
      // Only this write stores this token: finding it means the write happened and nothing came after.
      if (current !== undefined && current.writeToken?.S === token) return { written: true, item: current };
      if (isConditionFailure(error)) return { written: false, current };
      throw toDynamoError(what, error);
    }
  };

  const identityValues = (key: PartitionKey, at: number): Item => ({
    ':drainId': str(key.drainId),
    ':topic': str(key.topic),
    ':partition': num(key.partition),
    ':now': num(at),
    ':zero': num(0),
    ':one': num(1),
  });

  const leaseValues = (lease: Lease, at: number): Item => ({
    ':owner': str(lease.owner),
    ':version': num(lease.version),
    ':now': num(at),
    ':one': num(1),
  });

  const leaseLost = (lease: Lease, operation: string): AppError =>
    new AppError(
      ERROR_CODES.LEASE_LOST,
      `lease on ${describeKey(lease.key)} lost at ${operation}: another run or an operator wrote the checkpoint since version ${lease.version}`,
    );

  const renewed = (lease: Lease, item: Item): Lease => {
    const checkpoint = toCheckpoint(item);
    return { ...lease, version: checkpoint.version, expiresAtMs: checkpoint.lease?.expiresAtMs ?? 0 };
  };

  const get = async (key: PartitionKey, call: StoreCallOptions = {}): Promise<Checkpoint | undefined> => {
    try {
      const item = await readItem(key, call);
      return item === undefined ? undefined : toCheckpoint(item);
    } catch (error) {
      throw isAppError(error) ? error : toDynamoError('checkpoint table get', error);
    }
  };

  return {
    get,

    list: async (filter = {}) => {
      const items: Checkpoint[] = [];
      let startKey: Item | undefined;
      try {
        do {
          const output = await dynamo.call<ScanOutput>('Scan', {
            TableName: tableName,
            ConsistentRead: true,
            ...(filter.drainId === undefined
              ? {}
              : {
                  FilterExpression: '#drainId = :drainId',
                  ExpressionAttributeNames: { '#drainId': 'drainId' },
                  ExpressionAttributeValues: { ':drainId': str(filter.drainId) },
                }),
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          });
          for (const item of output.Items ?? []) items.push(toCheckpoint(item));
          startKey = output.LastEvaluatedKey;
        } while (startKey !== undefined);
      } catch (error) {
        throw toDynamoError('checkpoint table list', error);
      }
      return items.sort(
        (a, b) =>
          a.drainId.localeCompare(b.drainId) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
      );
    },

    acquire: async (key, owner, call) => {
      const at = now();
      const expiresAtMs = at + leaseMs;
      // Timeline of a takeover: run A holds until T; B at T' > T sees the expiry in the condition and
      // bumps the version, so A's next commit (conditional on A's version) fails and A stops.
      const result = await update(
        'acquire',
        key,
        {
          update: `SET ${IDENTITY_SET}, #leaseOwner = :owner, #leaseExpiresAt = :expires`,
          condition:
            'attribute_not_exists(#pk) OR attribute_not_exists(#leaseOwner) OR #leaseExpiresAt <= :now',
          values: { ...identityValues(key, at), ':owner': str(owner), ':expires': num(expiresAtMs) },
        },
        call,
      );
      // The holder is only diagnostic: an item that could not be read back leaves it unknown, still "busy".
      if (!result.written) {
        return { acquired: false, holder: result.current && toCheckpoint(result.current).lease };
      }
      const checkpoint = toCheckpoint(result.item);
      return { acquired: true, checkpoint, lease: { key, owner, version: checkpoint.version, expiresAtMs } };
    },

    commit: async (lease, changes, call) => {
      const at = now();
      const sets = ['#nextOffset = :offset', LEASE_SET, '#leaseExpiresAt = :expires', '#committedAt = :now'];
      const values: Item = {
        ...leaseValues(lease, at),
        ':offset': num(changes.nextOffset),
        ':expires': num(at + leaseMs),
      };
      if (changes.lastError !== undefined) {
        sets.push('#lastError = :lastError');
        values[':lastError'] = toErrorAttribute({ ...changes.lastError, atMs: at });
      }
      if (changes.skippedRecords !== undefined && changes.skippedRecords > 0) {
        sets.push('#skippedRecords = if_not_exists(#skippedRecords, :zero) + :skipped');
        values[':skipped'] = num(changes.skippedRecords);
        values[':zero'] = num(0);
      }
      if (changes.epoch !== undefined) {
        sets.push('#epoch = :epoch');
        values[':epoch'] = num(changes.epoch);
      }
      const remove = changes.lastError === undefined ? ' REMOVE #lastError' : '';
      const result = await update(
        'commit',
        lease.key,
        {
          update: `SET ${sets.join(', ')}${remove}`,
          condition: HOLDS_LEASE,
          values,
        },
        call,
      );
      if (!result.written) throw leaseLost(lease, 'commit');
      return renewed(lease, result.item);
    },

    renew: async (lease, call) => {
      const at = now();
      const result = await update(
        'renew',
        lease.key,
        {
          update: `SET ${LEASE_SET}, #leaseExpiresAt = :expires`,
          condition: HOLDS_LEASE,
          values: { ...leaseValues(lease, at), ':expires': num(at + leaseMs) },
        },
        call,
      );
      if (!result.written) throw leaseLost(lease, 'renew');
      return renewed(lease, result.item);
    },

    release: async (lease, call) => {
      const result = await update(
        'release',
        lease.key,
        {
          update: `SET ${LEASE_SET} REMOVE #leaseOwner, #leaseExpiresAt`,
          condition: HOLDS_LEASE,
          values: leaseValues(lease, now()),
        },
        call,
      );
      return result.written;
    },

    releaseOwned: async (key, owner, call) => {
      const result = await update(
        'release',
        key,
        {
          update: `SET ${LEASE_SET} REMOVE #leaseOwner, #leaseExpiresAt`,
          condition: '#leaseOwner = :owner',
          values: { ':owner': str(owner), ':now': num(now()), ':one': num(1) },
        },
        call,
      );
      return result.written;
    },

    setOffset: async (key, nextOffset) => {
      const result = await update('set-offset', key, {
        update: `SET ${IDENTITY_SET}, #nextOffset = :offset REMOVE #lastError`,
        values: { ...identityValues(key, now()), ':offset': num(nextOffset) },
      });
      return toCheckpoint(result.written ? result.item : {});
    },

    forget: async (key, options = {}) => {
      const condition = 'attribute_not_exists(#leaseOwner) OR #leaseExpiresAt < :now';
      try {
        // Idempotent, so a retry after a lost answer is harmless: a gone row meets the condition.
        const output = await dynamo.call<WriteItemOutput>('DeleteItem', {
          TableName: tableName,
          Key: { pk: str(toCheckpointPk(key)) },
          ReturnValues: 'ALL_OLD',
          ...(options.force === true
            ? {}
            : {
                ConditionExpression: condition,
                ExpressionAttributeNames: namesUsed(condition),
                ExpressionAttributeValues: { ':now': num(now()) },
              }),
        });
        return output.Attributes === undefined
          ? { forgotten: true }
          : { forgotten: true, current: toCheckpoint(output.Attributes) };
      } catch (error) {
        if (!isConditionFailure(error)) throw toDynamoError('checkpoint table forget', error);
        const current = await readItem(key, {});
        return current === undefined
          ? { forgotten: false }
          : { forgotten: false, current: toCheckpoint(current) };
      }
    },

    setPaused: async (key, paused) => {
      const result = await update('set-paused', key, {
        update: `SET ${IDENTITY_SET}, #paused = :paused`,
        values: { ...identityValues(key, now()), ':paused': { BOOL: paused } },
      });
      return toCheckpoint(result.written ? result.item : {});
    },
  };
};

export const describeKey = (key: PartitionKey): string => `${key.drainId}/${key.topic}/${key.partition}`;

const toErrorAttribute = (error: CheckpointError): AttributeValue => ({
  M: {
    code: str(error.code),
    // Bounded: the item limit is 400 KB and the message is for operators, not a dump.
    message: str(error.message.slice(0, 1_000)),
    ...(error.offset === undefined ? {} : { offset: num(error.offset) }),
    atMs: num(error.atMs),
  },
});

const readNumber = (value: AttributeValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);

/** Maps a stored item to a checkpoint; tolerant of missing attributes (items written by older versions). */
export const toCheckpoint = (item: Item): Checkpoint => {
  const owner = item.leaseOwner?.S;
  const expiresAtMs = readNumber(item.leaseExpiresAt);
  const error = item.lastError?.M;
  return {
    drainId: item.drainId?.S ?? '',
    topic: item.topic?.S ?? '',
    partition: readNumber(item.partition) ?? -1,
    nextOffset: readNumber(item.nextOffset),
    version: readNumber(item.version) ?? 0,
    lease: owner === undefined || expiresAtMs === undefined ? undefined : { owner, expiresAtMs },
    paused: item.paused?.BOOL === true,
    lastError:
      error === undefined
        ? undefined
        : {
            code: error.code?.S ?? '',
            message: error.message?.S ?? '',
            offset: readNumber(error.offset),
            atMs: readNumber(error.atMs) ?? 0,
          },
    skippedRecords: readNumber(item.skippedRecords) ?? 0,
    epoch: readNumber(item.epoch) ?? 0,
    createdAtMs: readNumber(item.createdAt) ?? 0,
    updatedAtMs: readNumber(item.updatedAt) ?? 0,
    committedAtMs: readNumber(item.committedAt),
  };
};
