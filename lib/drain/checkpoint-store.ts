import { randomUUID } from 'node:crypto';
import type { DynamoDbSource, Item } from '../aws/dynamodb.js';
import { toDynamoError } from '../aws/dynamodb-errors.js';
import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';
import {
  type Checkpoint,
  type CheckpointError,
  describeKey,
  type Lease,
  type PartitionKey,
} from './checkpoint.js';
import {
  type AuditEntry,
  HOLDS_LEASE,
  IDENTITY_SET,
  identityValues,
  LEASE_SET,
  leaseValues,
  num,
  str,
  toAuditEntry,
  toAuditItem,
  toCheckpoint,
  toErrorAttribute,
} from './checkpoint-item.js';
import { createCheckpointTable, type StoreCallOptions } from './checkpoint-table.js';

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
  /** Strongly consistent reads of many partitions at once; partitions never drained are absent. */
  getMany(keys: readonly PartitionKey[], options?: StoreCallOptions): Promise<Checkpoint[]>;
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
  /** Operator: writes one audit entry (who changed what, before and after) beside the checkpoints. */
  audit(entry: AuditEntry): Promise<void>;
  /** The audit entries of a drain (of one partition when given), oldest first. */
  history(filter: { readonly drainId: string; readonly partition?: number }): Promise<AuditEntry[]>;
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

/**
 * Checkpoints, leases and operator flags in DynamoDB, through signed JSON calls (`lib/aws/`): the SDK's
 * DynamoDB client was 85–88 % of the drain's import at cold start; the dozen attributes are mapped by hand.
 *
 * Each mutating method throws `ERR_LEASE_LOST` where documented, and `ERR_UPSTREAM_STATUS` /
 * `ERR_UPSTREAM_NETWORK` when DynamoDB fails or cannot be reached.
 */
export const createCheckpointStore = (options: CheckpointStoreOptions): CheckpointStore => {
  const { leaseMs, now } = options;
  const newWriteToken = options.newWriteToken ?? randomUUID;
  const table = createCheckpointTable({
    client: options.client,
    tableName: options.tableName,
    now,
    newWriteToken,
  });
  const { update } = table;

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
      const item = await table.read(key, call);
      return item === undefined ? undefined : toCheckpoint(item);
    } catch (error) {
      throw isAppError(error) ? error : toDynamoError('checkpoint table get', error);
    }
  };

  return {
    get,

    getMany: async (keys, call = {}) => (await table.readMany(keys, call)).map(toCheckpoint),

    list: async (filter = {}) => {
      const items = await table.scan(filter.drainId);
      return items
        .map(toCheckpoint)
        .sort(
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
      // Idempotent, so a retry after a lost answer is harmless: a gone row meets the condition.
      const removed = await table.remove(
        key,
        options.force === true
          ? undefined
          : {
              expression: 'attribute_not_exists(#leaseOwner) OR #leaseExpiresAt < :now',
              values: { ':now': num(now()) },
            },
      );
      if (removed.deleted) {
        return removed.old === undefined
          ? { forgotten: true }
          : { forgotten: true, current: toCheckpoint(removed.old) };
      }
      const current = await table.read(key, {});
      return current === undefined
        ? { forgotten: false }
        : { forgotten: false, current: toCheckpoint(current) };
    },

    audit: async (entry) => {
      await table.put(toAuditItem(entry, newWriteToken()));
    },

    history: async ({ drainId, partition }) =>
      (await table.scan(drainId, 'audit'))
        .map(toAuditEntry)
        .filter((entry) => partition === undefined || entry.partition === partition)
        .sort((a, b) => a.atMs - b.atMs),

    setPaused: async (key, paused) => {
      const result = await update('set-paused', key, {
        update: `SET ${IDENTITY_SET}, #paused = :paused`,
        values: { ...identityValues(key, now()), ':paused': { BOOL: paused } },
      });
      return toCheckpoint(result.written ? result.item : {});
    },
  };
};
