import type { Checkpoint, PartitionKey } from '../lib/drain/checkpoint.js';
import type { CheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainConfig } from '../lib/drain/config.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { toAuditState, toNonNegativeInt } from './operator.js';

// The operator's writes to one partition (set-offset, pause, resume, forget), each checked and audited the
// same way whoever asks: `npm run checkpoints` and the local console both call `runPartitionAction`.

export interface PartitionActionDeps {
  /** The drain's own store: the operator goes through the same conditional writes as the drain. */
  readonly store: CheckpointStore;
  /** Configured drains (`DRAINS`): a drain's topic, partitions and policies. */
  readonly drains: readonly Pick<DrainConfig, 'id' | 'topic' | 'partitions' | 'startFrom'>[];
  /** The proxy, to check partitions and offsets against the log; absent without `KAFKA_REST_URL`. */
  readonly kafka?: Pick<KafkaRestClient, 'logBounds' | 'listPartitions'> | undefined;
  readonly now: () => number;
  /** Who runs the command, for the audit trail (the OS user, and the AWS access key in use if any). */
  readonly operator: string;
}

interface PartitionTarget {
  readonly drainId: string;
  readonly partition: number;
  /** The drain's topic, when neither a checkpoint row nor `DRAINS` names it. */
  readonly topic?: string | undefined;
  /** Act on what nothing knows, or without the proxy; forget a held partition. */
  readonly force?: boolean;
}

export type PartitionAction =
  | { readonly command: 'pause' }
  | { readonly command: 'resume' }
  | { readonly command: 'forget' }
  | {
      readonly command: 'set-offset';
      /** A number, `earliest` or `latest`, as the operator wrote it (the audit entry names it so). */
      readonly target: string;
      /** Clamp a number past the log end to the end instead of refusing it. */
      readonly toEnd?: boolean;
    };

export type PartitionRequest = PartitionTarget & PartitionAction;

/** What happened, in the lines an operator reads; `usage` when the request itself was malformed. */
export type PartitionOutcome =
  | { readonly ok: true; readonly lines: readonly string[] }
  | { readonly ok: false; readonly usage: boolean; readonly message: string };

/** Looking an offset up by time needs an API none of the dialects the bridge speaks has. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T|$)/;

const PROXY_CALL_MS = 15_000;
/** A proxy call's deadline, on the client's own clock (wall time; `deps.now` may be a test's). */
const proxyDeadline = (): { deadlineMs: number } => ({ deadlineMs: Date.now() + PROXY_CALL_MS });

const refused = (message: string, usage = false): PartitionOutcome => ({ ok: false, usage, message });

/**
 * Runs one write to a partition's checkpoint and, when it changed something, its audit entry. A refusal
 * (unknown drain or partition, a target outside the log, a held lease on forget) is an outcome, not a
 * throw; throws what the store or the proxy throws (`ERR_UPSTREAM_*`, `ERR_CHECKPOINT_CONFLICT`).
 */
export const runPartitionAction = async (
  deps: PartitionActionDeps,
  request: PartitionRequest,
): Promise<PartitionOutcome> => {
  const force = request.force === true;
  const found = await findPartition(deps, request.drainId, request.partition, request.topic, force);
  if ('refused' in found) return refused(found.refused);
  const { key, row, drain } = found;

  if (request.command === 'forget') {
    if (row === undefined)
      return { ok: true, lines: [`${describe(key)}: no checkpoint row: nothing to forget`] };
    const result = await deps.store.forget(key, { force });
    if (!result.forgotten) {
      return refused(
        `${describe(key)}: not forgotten${holderNote(result.current, deps.now())}; wait, or pass --force`,
      );
    }
    await recordAudit(deps, key, `forget${force ? ' --force' : ''}`, row, undefined);
    const startFrom = drain?.startFrom ?? 'earliest';
    return {
      ok: true,
      lines: [
        `${describe(key)}: forgotten (it was at ${row.nextOffset ?? '(none)'}); the next run starts it at the log ${startFrom === 'latest' ? 'end' : 'start'} (startFrom ${startFrom})${holderNote(row, deps.now())}`,
      ],
    };
  }

  if (request.command === 'pause' || request.command === 'resume') {
    const paused = request.command === 'pause';
    const after = await deps.store.setPaused(key, paused);
    await recordAudit(deps, key, request.command, row, after);
    return {
      ok: true,
      lines: [`${describe(key)}: ${paused ? 'paused' : 'resumed'}${holderNote(row, deps.now())}`],
    };
  }

  const { target, toEnd } = request;
  const offset = await resolveTarget(deps, key, target, toEnd === true, force);
  if ('refused' in offset) return refused(offset.refused, offset.usage === true);
  const after = await deps.store.setOffset(key, offset.next);
  await recordAudit(deps, key, `set-offset ${target}`, row, after);
  const was = row?.nextOffset;
  const verb =
    was === undefined ? 'set' : offset.next < was ? 'replay' : offset.next > was ? 'skip' : 'unchanged';
  return {
    ok: true,
    lines: [
      `${describe(key)}: next offset ${was ?? '(none)'} → ${after.nextOffset} (${verb}${offset.note})${holderNote(row, deps.now())}`,
      offset.nextRun,
    ],
  };
};

/**
 * After the write it records: no transaction spans the two, so a failed audit write fails the command
 * with the change itself made (the error says which write failed).
 */
const recordAudit = async (
  deps: PartitionActionDeps,
  key: PartitionKey,
  action: string,
  before: Checkpoint | undefined,
  after: Checkpoint | undefined,
): Promise<void> => {
  await deps.store.audit({
    ...key,
    atMs: deps.now(),
    who: deps.operator,
    action,
    before: toAuditState(before),
    after: toAuditState(after),
  });
};

interface Found {
  readonly key: PartitionKey;
  readonly row: Checkpoint | undefined;
  readonly drain: PartitionActionDeps['drains'][number] | undefined;
}

/**
 * The partition's row and topic: from its checkpoint row (the table already knows the topic), else the
 * drain's configuration, else `--topic`. A drain or partition nothing knows is refused unless `force`,
 * so a typo cannot create a row for good.
 */
const findPartition = async (
  deps: PartitionActionDeps,
  drainId: string,
  partition: number,
  topicFlag: string | undefined,
  force: boolean,
): Promise<Found | { refused: string }> => {
  const drain = deps.drains.find((configured) => configured.id === drainId);
  const drainRows = await deps.store.list({ drainId });
  const rows = drainRows.filter((row) => row.partition === partition);
  const topics = [...new Set(rows.map((row) => row.topic))];
  const topic = topicFlag ?? (topics.length === 1 ? topics[0] : undefined) ?? drain?.topic;
  if (topic === undefined) {
    if (topics.length > 1)
      return {
        refused: `drain ${drainId} partition ${partition} has rows for topics ${topics.join(', ')}: pass --topic <topic>`,
      };
    const known = drainRows.length > 0;
    return {
      refused: known
        ? `drain ${drainId} has no row for partition ${partition} and DRAINS here does not configure it: pass --topic <topic>`
        : `drain ${drainId} has no checkpoints and is not configured in DRAINS here: check the name (npm run checkpoints -- list), or pass --topic <topic> --force to create its row`,
    };
  }
  const key: PartitionKey = { drainId, topic, partition };
  const row = rows.find((candidate) => candidate.topic === topic);
  if (row !== undefined || force) return { key, row, drain };
  if (drain === undefined && topics.length === 0) {
    return {
      refused: `drain ${drainId} is not configured in DRAINS here and has no row for ${topic}/${partition}: check the name, or pass --force`,
    };
  }
  if (drain !== undefined && drain.partitions !== 'all' && !drain.partitions.includes(partition)) {
    return {
      refused: `drain ${drainId} drains partitions ${drain.partitions.join(', ')} of ${topic}, not ${partition}: pass --force if you mean it`,
    };
  }
  if (deps.kafka === undefined) {
    return {
      refused: `${describe(key)} has no checkpoint row, and without KAFKA_REST_URL the proxy cannot say whether the partition exists: set the drain's KAFKA_REST_* settings, or pass --force`,
    };
  }
  const partitions = await deps.kafka.listPartitions(topic, proxyDeadline());
  if (!partitions.some((info) => info.partition === partition)) {
    return {
      refused: `topic ${topic} has no partition ${partition} (it has ${partitions.length}): pass --force if you mean it`,
    };
  }
  return { key, row, drain };
};

type Target = { next: number; note: string; nextRun: string } | { refused: string; usage?: boolean };

/**
 * The offset a `set-offset` target means, checked against the log: beyond the end it would be taken for
 * out of range and reset by the drain's policy (`earliest` would replay the whole partition), below the
 * start it would be reset too.
 */
const resolveTarget = async (
  deps: PartitionActionDeps,
  key: PartitionKey,
  target: string,
  toEnd: boolean,
  force: boolean,
): Promise<Target> => {
  if (TIMESTAMP.test(target)) {
    return {
      refused: `${target}: none of the Kafka REST dialects the bridge speaks can look an offset up by time; give a number, earliest or latest`,
      usage: true,
    };
  }
  const number = toNonNegativeInt(target);
  if (number === undefined && target !== 'earliest' && target !== 'latest') {
    return {
      refused: `target must be an offset (an integer ≥ 0), earliest or latest, got ${target}`,
      usage: true,
    };
  }
  if (deps.kafka === undefined) {
    if (force && number !== undefined) {
      return {
        next: number,
        note: ', unchecked: no proxy configured',
        nextRun:
          'the next run reads from there; a target outside the log is reset by the drain’s resetPolicy',
      };
    }
    return {
      refused: `${describe(key)}: without KAFKA_REST_URL the target cannot be checked against the log (an offset past its end would be reset by the drain's policy and may replay the whole partition): set the drain's KAFKA_REST_* settings${number === undefined ? '' : ', or pass --force to set it unchecked'}`,
    };
  }
  const { start, end } = await deps.kafka.logBounds(key.topic, key.partition, {
    ...proxyDeadline(),
    ...(number === undefined ? {} : { near: number }),
  });
  let next = target === 'earliest' ? start : target === 'latest' ? end : (number as number);
  let note =
    target === 'earliest' || target === 'latest'
      ? `, the log ${target === 'earliest' ? 'start' : 'end'}`
      : '';
  if (next > end) {
    if (!toEnd) {
      return {
        refused: `${describe(key)}: ${next} is past the log end ${end} (the log holds ${start}..${end - 1}); the next run would take it for out of range and reset it by the drain's resetPolicy. Pass latest, or --to-end to clamp it to ${end}`,
      };
    }
    note = `, clamped to the log end ${end}`;
    next = end;
  }
  if (next < start) {
    return {
      refused: `${describe(key)}: ${next} is below the log start ${start} (retention deleted it); the next run would reset it by the drain's resetPolicy. Pass earliest to start at ${start}`,
    };
  }
  const nextRun =
    next === end
      ? `the next run delivers nothing until new records arrive (the log ends at ${end})`
      : `the next run delivers from offset ${next}: ${end - next} record(s) up to the log end ${end}`;
  return { next, note, nextRun };
};

const describe = (key: PartitionKey): string => `${key.drainId}/${key.topic}/${key.partition}`;

const holderNote = (before: Checkpoint | undefined, nowMs: number): string =>
  before?.lease !== undefined && before.lease.expiresAtMs > nowMs
    ? `; run ${before.lease.owner} holds the lease: it stops at its next commit, the partition resumes after ${Math.ceil(
        (before.lease.expiresAtMs - nowMs) / 1000,
      )} s`
    : '';
