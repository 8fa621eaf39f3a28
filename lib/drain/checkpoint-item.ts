import type { AttributeValue, Item } from '../aws/dynamodb.js';
import type { Checkpoint, CheckpointError, Lease, PartitionKey } from './checkpoint.js';

/** `pk` is the table's only key attribute (string, hash key). */
export const toCheckpointPk = (key: PartitionKey): string => `${key.drainId}#${key.topic}#${key.partition}`;

/** The item's key attribute, as every call names it. */
export const toItemKey = (key: PartitionKey): Item => ({ pk: str(toCheckpointPk(key)) });

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

export const namesUsed = (...expressions: string[]): Record<string, string> => {
  const text = expressions.join(' ');
  return Object.fromEntries(
    (Object.keys(NAMES) as Name[])
      .filter((name) => new RegExp(`${name}\\b`).test(text))
      .map((name) => [name, NAMES[name]]),
  );
};

export const num = (value: number): AttributeValue => ({ N: String(value) });
export const str = (value: string): AttributeValue => ({ S: value });

export const IDENTITY_SET =
  '#drainId = :drainId, #topic = :topic, #partition = :partition, ' +
  '#createdAt = if_not_exists(#createdAt, :now), #updatedAt = :now, ' +
  '#version = if_not_exists(#version, :zero) + :one, #writeToken = :token';

/** Every lease write also stores its token (see `CheckpointStore`). */
export const LEASE_SET = '#version = #version + :one, #updatedAt = :now, #writeToken = :token';

export const HOLDS_LEASE = '#leaseOwner = :owner AND #version = :version';

/** The values `IDENTITY_SET` names. */
export const identityValues = (key: PartitionKey, at: number): Item => ({
  ':drainId': str(key.drainId),
  ':topic': str(key.topic),
  ':partition': num(key.partition),
  ':now': num(at),
  ':zero': num(0),
  ':one': num(1),
});

/** The values `LEASE_SET` and `HOLDS_LEASE` name. */
export const leaseValues = (lease: Lease, at: number): Item => ({
  ':owner': str(lease.owner),
  ':version': num(lease.version),
  ':now': num(at),
  ':one': num(1),
});

export const toErrorAttribute = (error: CheckpointError): AttributeValue => ({
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

/**
 * Operator audit entries share the table: their `pk` starts with this, which no checkpoint's can (drain
 * ids are `[A-Za-z0-9._-]`), so scans tell the two apart.
 */
export const AUDIT_PK_PREFIX = 'audit#';

/** A partition as an operator command found it or left it; undefined: no checkpoint row. */
export interface AuditState {
  readonly nextOffset: number | undefined;
  readonly paused: boolean;
}

/** One operator command on one partition: who, when, what, the state before and after. */
export interface AuditEntry extends PartitionKey {
  readonly atMs: number;
  readonly who: string;
  /** The command and its argument, e.g. `set-offset 42`, `pause`, `forget --force`. */
  readonly action: string;
  readonly before: AuditState | undefined;
  readonly after: AuditState | undefined;
}

export const toAuditItem = (entry: AuditEntry, token: string): Item => ({
  pk: str(`${AUDIT_PK_PREFIX}${toCheckpointPk(entry)}#${entry.atMs}#${token}`),
  drainId: str(entry.drainId),
  topic: str(entry.topic),
  partition: num(entry.partition),
  atMs: num(entry.atMs),
  who: str(entry.who),
  action: str(entry.action),
  states: str(JSON.stringify({ before: entry.before ?? null, after: entry.after ?? null })),
});

export const toAuditEntry = (item: Item): AuditEntry => {
  const states = JSON.parse(item.states?.S ?? '{}') as {
    before?: AuditState | null;
    after?: AuditState | null;
  };
  return {
    drainId: item.drainId?.S ?? '',
    topic: item.topic?.S ?? '',
    partition: readNumber(item.partition) ?? -1,
    atMs: readNumber(item.atMs) ?? 0,
    who: item.who?.S ?? '',
    action: item.action?.S ?? '',
    before: states.before ?? undefined,
    after: states.after ?? undefined,
  };
};
