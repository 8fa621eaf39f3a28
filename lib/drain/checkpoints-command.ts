import { parseArgs } from 'node:util';
import type { Checkpoint, CheckpointStore, PartitionKey } from './checkpoint-store.js';
import type { DrainConfig } from './config.js';

export interface CheckpointsCommandDeps {
  /** The drain's own store: the operator goes through the same conditional writes as the drain. */
  readonly store: CheckpointStore;
  /** Configured drains, to find a drain's topic when `--topic` is not given. */
  readonly drains: readonly Pick<DrainConfig, 'id' | 'topic'>[];
  readonly now: () => number;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const CHECKPOINTS_USAGE = `Usage: npm run checkpoints -- <command> [options]

  list [--drain <id>] [--json]              checkpoints, leases, pause flags and last errors
  set-offset <drain> <partition> <offset>   replay (lower) or skip (higher): the next offset to deliver
  pause <drain> <partition>                 every run skips the partition until resumed
  resume <drain> <partition>

  --topic <topic>   the drain's topic, when DRAINS does not configure the drain here

A run holding the partition's lease fails its next commit and stops without forwarding more; the
partition is picked up again once that lease expires (DRAIN_LEASE_MS).
Environment: CHECKPOINT_TABLE, DYNAMODB_ENDPOINT (local), AWS_REGION, DRAINS.`;

/**
 * Runs one operator command and returns the process exit code (0 done, 1 failed, 2 usage). Never throws
 * for a usage problem; throws what the store throws (`ERR_UPSTREAM_*`) when DynamoDB fails.
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

  const expected = command === 'set-offset' ? 3 : 2;
  if (!['set-offset', 'pause', 'resume'].includes(command)) return usage(deps, `unknown command ${command}`);
  if (args.length !== expected) {
    return usage(
      deps,
      `${command} takes ${expected === 3 ? '<drain> <partition> <offset>' : '<drain> <partition>'}`,
    );
  }
  const [drainId = '', partitionText = '', offsetText = ''] = args;
  const partition = toNonNegativeInt(partitionText);
  if (partition === undefined) return usage(deps, `partition must be an integer ≥ 0, got ${partitionText}`);
  const offset = command === 'set-offset' ? toNonNegativeInt(offsetText) : 0;
  if (offset === undefined) return usage(deps, `offset must be an integer ≥ 0, got ${offsetText}`);
  const topic = values.topic ?? deps.drains.find((drain) => drain.id === drainId)?.topic;
  if (topic === undefined) {
    return usage(deps, `drain ${drainId} is not configured in DRAINS here: pass --topic <topic>`);
  }
  const key: PartitionKey = { drainId, topic, partition };
  const before = await deps.store.get(key);

  if (command === 'set-offset') {
    const after = await deps.store.setOffset(key, offset);
    const was = before?.nextOffset;
    const verb = was === undefined ? 'set' : offset < was ? 'replay' : offset > was ? 'skip' : 'unchanged';
    deps.out(
      `${describe(key)}: next offset ${was ?? '(none)'} → ${after.nextOffset} (${verb})${holderNote(before, deps.now())}`,
    );
    return 0;
  }

  const paused = command === 'pause';
  await deps.store.setPaused(key, paused);
  deps.out(`${describe(key)}: ${paused ? 'paused' : 'resumed'}${holderNote(before, deps.now())}`);
  return 0;
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
      help: { type: 'boolean', short: 'h' },
    },
  });

const usage = (deps: CheckpointsCommandDeps, problem: string): number => {
  deps.err(`${problem}\n\n${CHECKPOINTS_USAGE}`);
  return 2;
};

const toNonNegativeInt = (text: string): number | undefined =>
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
