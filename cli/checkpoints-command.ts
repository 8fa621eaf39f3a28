import { parseArgs } from 'node:util';
import type { Checkpoint } from '../lib/drain/checkpoint.js';
import type { AuditEntry, AuditState } from '../lib/drain/checkpoint-item.js';
import { toNonNegativeInt } from './operator.js';
import { type PartitionAction, type PartitionActionDeps, runPartitionAction } from './partition-actions.js';

export interface CheckpointsCommandDeps extends PartitionActionDeps {
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
  const action: PartitionAction =
    command === 'set-offset'
      ? { command, target, toEnd: values['to-end'] === true }
      : { command: command as 'pause' | 'resume' | 'forget' };
  const outcome = await runPartitionAction(deps, {
    ...action,
    drainId,
    partition,
    topic: values.topic,
    force: values.force === true,
  });
  if (!outcome.ok) {
    deps.err(outcome.message);
    return outcome.usage ? 2 : 1;
  }
  for (const line of outcome.lines) deps.out(line);
  return 0;
};

const showState = (state: AuditState | undefined): string =>
  state === undefined ? '(no row)' : `${state.nextOffset ?? '(none)'}${state.paused ? ' paused' : ''}`;

const toHistoryLine = (entry: AuditEntry): string =>
  `${new Date(entry.atMs).toISOString()}  ${entry.topic}/${entry.partition}  ${entry.action}  ${showState(entry.before)} → ${showState(entry.after)}  by ${entry.who}`;

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

/** A checkpoint's last error as `list` and the local console show it: code, offset, message. */
export const toLastErrorText = (lastError: NonNullable<Checkpoint['lastError']>): string =>
  `${lastError.code}${lastError.offset === undefined ? '' : ` at ${lastError.offset}`}: ${lastError.message}`;

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
    checkpoint.lastError === undefined ? '-' : toLastErrorText(checkpoint.lastError),
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
