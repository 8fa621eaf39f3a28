import { parseArgs } from 'node:util';
import type { Checkpoint, PartitionKey } from '../lib/drain/checkpoint.js';
import type { AuditEntry, AuditState } from '../lib/drain/checkpoint-item.js';
import type { CheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainConfig } from '../lib/drain/config.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';

export interface CheckpointsCommandDeps {
  /** The drain's own store: the operator goes through the same conditional writes as the drain. */
  readonly store: CheckpointStore;
  /** Configured drains (`DRAINS`): a drain's topic, partitions and policies. */
  readonly drains: readonly Pick<DrainConfig, 'id' | 'topic' | 'partitions' | 'startFrom'>[];
  /** The proxy, to check partitions and offsets against the log; absent without `KAFKA_REST_URL`. */
  readonly kafka?: Pick<KafkaRestClient, 'logBounds' | 'listPartitions'> | undefined;
  readonly now: () => number;
  /** Who runs the command, for the audit trail (the OS user, and the AWS access key in use if any). */
  readonly operator: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const CHECKPOINTS_USAGE = `Usage: npm run checkpoints -- <command> [options]

  list [--drain <id>] [--json]              checkpoints, leases, pause flags and last errors
  set-offset <drain> <partition> <target>   the next offset to deliver: a number, earliest or latest
                                            (checked against the log; --to-end clamps a number past
                                            the log end to the end)
  pause <drain> <partition>                 every run skips the partition until resumed
  resume <drain> <partition>
  forget <drain> <partition>                removes the partition's row: the next run starts it afresh
                                            (refused while a run holds its lease, unless --force)
  history <drain> [<partition>] [--json]    who ran which of the commands above, when, before and after

  --topic <topic>   the drain's topic, when neither a checkpoint row nor DRAINS names it
  --force           act on a drain or partition that neither the table, DRAINS nor the proxy knows,
                    or without the proxy (KAFKA_REST_URL unset); forget a held partition

A run holding the partition's lease fails its next commit and stops without forwarding more; the
partition is picked up again once that lease expires (DRAIN_LEASE_MS).
Environment: CHECKPOINT_TABLE, DYNAMODB_ENDPOINT (local), AWS_REGION, DRAINS, and the drain's KAFKA_REST_*
settings to check partitions and offsets against the log.`;

/** Looking an offset up by time needs an API none of the dialects the bridge speaks has. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T|$)/;

const PROXY_CALL_MS = 15_000;
/** A proxy call's deadline, on the client's own clock (wall time; `deps.now` may be a test's). */
const proxyDeadline = (): { deadlineMs: number } => ({ deadlineMs: Date.now() + PROXY_CALL_MS });

/**
 * Runs one operator command and returns the process exit code (0 done, 1 failed or refused, 2 usage).
 * Never throws for a usage problem; throws what the store or the proxy throws (`ERR_UPSTREAM_*`).
 */
export const runCheckpointsCommand = async (
  deps: CheckpointsCommandDeps,
  argv: readonly string[],
): Promise<number> => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    deps.err(`${(error as Error).message}\n\n${CHECKPOINTS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    deps.out(CHECKPOINTS_USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }

  if (command === 'list') {
    if (args.length > 0) return usage(deps, 'list takes no positional arguments');
    const checkpoints = await deps.store.list(values.drain === undefined ? {} : { drainId: values.drain });
    if (values.json === true) deps.out(JSON.stringify(checkpoints, null, 2));
    else deps.out(toTable(checkpoints, deps.now()));
    return 0;
  }

  if (command === 'history') {
    if (args.length < 1 || args.length > 2) return usage(deps, 'history takes <drain> [<partition>]');
    const [drainId = '', partitionText] = args;
    const partition = partitionText === undefined ? undefined : toNonNegativeInt(partitionText);
    if (partitionText !== undefined && partition === undefined)
      return usage(deps, `partition must be an integer ≥ 0, got ${partitionText}`);
    const entries = await deps.store.history({ drainId, ...(partition === undefined ? {} : { partition }) });
    if (values.json === true) deps.out(JSON.stringify(entries, null, 2));
    else if (entries.length === 0) deps.out(`drain ${drainId}: no operator command recorded`);
    else for (const entry of entries) deps.out(toHistoryLine(entry));
    return 0;
  }

  if (!['set-offset', 'pause', 'resume', 'forget'].includes(command))
    return usage(deps, `unknown command ${command}`);
  const expected = command === 'set-offset' ? 3 : 2;
  if (args.length !== expected) {
    return usage(
      deps,
      `${command} takes ${expected === 3 ? '<drain> <partition> <target>' : '<drain> <partition>'}`,
    );
  }
  const [drainId = '', partitionText = '', target = ''] = args;
  const partition = toNonNegativeInt(partitionText);
  if (partition === undefined) return usage(deps, `partition must be an integer ≥ 0, got ${partitionText}`);
  const force = values.force === true;

  const found = await findPartition(deps, drainId, partition, values.topic, force);
  if ('refused' in found) {
    deps.err(found.refused);
    return 1;
  }
  const { key, row, drain } = found;

  if (command === 'forget') {
    if (row === undefined) {
      deps.out(`${describe(key)}: no checkpoint row: nothing to forget`);
      return 0;
    }
    const result = await deps.store.forget(key, { force });
    if (!result.forgotten) {
      deps.err(
        `${describe(key)}: not forgotten${holderNote(result.current, deps.now())}; wait, or pass --force`,
      );
      return 1;
    }
    await recordAudit(deps, key, `forget${force ? ' --force' : ''}`, row, undefined);
    const startFrom = drain?.startFrom ?? 'earliest';
    deps.out(
      `${describe(key)}: forgotten (it was at ${row.nextOffset ?? '(none)'}); the next run starts it at the log ${startFrom === 'latest' ? 'end' : 'start'} (startFrom ${startFrom})${holderNote(row, deps.now())}`,
    );
    return 0;
  }

  if (command === 'pause' || command === 'resume') {
    const paused = command === 'pause';
    const after = await deps.store.setPaused(key, paused);
    await recordAudit(deps, key, command, row, after);
    deps.out(`${describe(key)}: ${paused ? 'paused' : 'resumed'}${holderNote(row, deps.now())}`);
    return 0;
  }

  const offset = await resolveTarget(deps, key, target, values['to-end'] === true, force);
  if ('refused' in offset) {
    deps.err(offset.refused);
    return typeof offset.usage === 'boolean' && offset.usage ? 2 : 1;
  }
  const after = await deps.store.setOffset(key, offset.next);
  await recordAudit(deps, key, `set-offset ${target}`, row, after);
  const was = row?.nextOffset;
  const verb =
    was === undefined ? 'set' : offset.next < was ? 'replay' : offset.next > was ? 'skip' : 'unchanged';
  deps.out(
    `${describe(key)}: next offset ${was ?? '(none)'} → ${after.nextOffset} (${verb}${offset.note})${holderNote(row, deps.now())}`,
  );
  deps.out(offset.nextRun);
  return 0;
};

/** A checkpoint as the audit trail records it. */
export const stateOf = (checkpoint: Checkpoint | undefined): AuditState | undefined =>
  checkpoint === undefined ? undefined : { nextOffset: checkpoint.nextOffset, paused: checkpoint.paused };

/**
 * After the write it records: no transaction spans the two, so a failed audit write fails the command
 * with the change itself made (the error says which write failed).
 */
const recordAudit = async (
  deps: CheckpointsCommandDeps,
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
    before: stateOf(before),
    after: stateOf(after),
  });
};

const showState = (state: AuditState | undefined): string =>
  state === undefined ? '(no row)' : `${state.nextOffset ?? '(none)'}${state.paused ? ' paused' : ''}`;

const toHistoryLine = (entry: AuditEntry): string =>
  `${new Date(entry.atMs).toISOString()}  ${entry.topic}/${entry.partition}  ${entry.action}  ${showState(entry.before)} → ${showState(entry.after)}  by ${entry.who}`;

interface Found {
  readonly key: PartitionKey;
  readonly row: Checkpoint | undefined;
  readonly drain: CheckpointsCommandDeps['drains'][number] | undefined;
}

/**
 * The partition's row and topic: from its checkpoint row (the table already knows the topic), else the
 * drain's configuration, else `--topic`. A drain or partition nothing knows is refused unless `force`,
 * so a typo cannot create a row for good.
 */
const findPartition = async (
  deps: CheckpointsCommandDeps,
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
  deps: CheckpointsCommandDeps,
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

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      drain: { type: 'string' },
      topic: { type: 'string' },
      json: { type: 'boolean' },
      force: { type: 'boolean' },
      'to-end': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });

const usage = (deps: CheckpointsCommandDeps, problem: string): number => {
  deps.err(`${problem}\n\n${CHECKPOINTS_USAGE}`);
  return 2;
};

/** A partition or offset argument: digits only, a safe integer. */
export const toNonNegativeInt = (text: string): number | undefined =>
  /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;

const describe = (key: PartitionKey): string => `${key.drainId}/${key.topic}/${key.partition}`;

const holderNote = (before: Checkpoint | undefined, nowMs: number): string =>
  before?.lease !== undefined && before.lease.expiresAtMs > nowMs
    ? `; run ${before.lease.owner} holds the lease: it stops at its next commit, the partition resumes after ${Math.ceil(
        (before.lease.expiresAtMs - nowMs) / 1000,
      )} s`
    : '';

/** A fixed-width table for terminals. */
export const toTable = (checkpoints: readonly Checkpoint[], nowMs: number): string => {
  if (checkpoints.length === 0) return 'no checkpoints';
  const header = [
    'drain',
    'topic',
    'partition',
    'next offset',
    'epoch',
    'paused',
    'lease',
    'skipped',
    'last error',
  ];
  const rows = checkpoints.map((checkpoint) => [
    checkpoint.drainId,
    checkpoint.topic,
    String(checkpoint.partition),
    checkpoint.nextOffset === undefined ? '-' : String(checkpoint.nextOffset),
    String(checkpoint.epoch),
    checkpoint.paused ? 'yes' : 'no',
    checkpoint.lease === undefined
      ? '-'
      : checkpoint.lease.expiresAtMs > nowMs
        ? `${checkpoint.lease.owner} (${Math.ceil((checkpoint.lease.expiresAtMs - nowMs) / 1000)} s left)`
        : `${checkpoint.lease.owner} (expired)`,
    String(checkpoint.skippedRecords),
    checkpoint.lastError === undefined
      ? '-'
      : `${checkpoint.lastError.code}${checkpoint.lastError.offset === undefined ? '' : ` at ${checkpoint.lastError.offset}`}: ${checkpoint.lastError.message}`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
};
