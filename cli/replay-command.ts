import { parseArgs } from 'node:util';
import { type DrainConfig, parseSinkFor } from '../lib/drain/config.js';
import { findOffsetAtTime } from '../lib/drain/offset-at-time.js';
import type { PartitionDrainDeps } from '../lib/drain/partition-types.js';
import {
  type ReplayRange,
  type ReplayReport,
  replayPartition,
  toReplayDrainId,
} from '../lib/drain/replay.js';
import {
  carriesRecordTimestamps,
  type KafkaRestDialect,
  type KafkaRestFlavor,
} from '../lib/kafka-rest/flavors.js';
import type { KafkaRest } from '../lib/kafka-rest/types.js';
import type { SinkConfig } from '../lib/sinks/config.js';
import type { Sink } from '../lib/sinks/types.js';
import { toAuditState, toNonNegativeInt } from './operator.js';

export interface ReplayCommandDeps extends PartitionDrainDeps {
  readonly kafka: Pick<KafkaRest, 'fetch' | 'logBounds' | 'exactLogBounds' | 'endFetch' | 'listPartitions'>;
  /** Configured drains (`DRAINS`): the replayed drain's topic, partitions, order and record ids. */
  readonly drains: readonly DrainConfig[];
  readonly leaseMs: number;
  /** The proxy's dialect and flavor (`KAFKA_REST_DIALECT`, `KAFKA_REST_FLAVOR`): whether records carry times. */
  readonly proxy: { readonly dialect: KafkaRestDialect; readonly flavor: KafkaRestFlavor };
  /** Builds the replay's target sink on the drain's clients and secrets. */
  sinkOf(config: SinkConfig): Sink;
  /** The lease holder's name for this run, unique per run. */
  newOwnerId(): string;
  /** Who runs the command, for the audit trail. */
  readonly operator: string;
  /** Aborted by Ctrl-C: the replay stops once the batch in hand is delivered and committed. */
  readonly stop: AbortSignal;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const REPLAY_USAGE = `Usage: npm run replay -- <drain> --partition <P> (--from <offset> | --from-time <ISO time>)
                        [--to <offset>] --sink '<sink json>'

Delivers the drain's records of partition P from --from (or the first record at or after --from-time)
up to --to (inclusive; absent: the log end) into the sink given, as DRAINS would configure one (http,
sqs, eventbridge), with the record ids the drain gave them. The replay keeps a checkpoint row of its own
(<drain>~replay~<hash of sink and range>): the drain's checkpoint never moves, and running the same
command again continues where the last run stopped. Ctrl-C stops after the batch in hand.

  --from-time   needs a proxy that hands out record timestamps (v2 on the Strimzi bridge)

Environment: as the drain function (KAFKA_REST_*, DRAINS, CHECKPOINT_TABLE, DYNAMODB_ENDPOINT, AWS_REGION).`;

/** Exit code of a replay stopped by Ctrl-C (128 + SIGINT), so a script can tell it from a failure. */
export const EXIT_INTERRUPTED = 130;
/** Each drain run's budget: the replay runs as many as the range takes, re-taking the row's lease. */
const RUN_BUDGET_MS = 5 * 60_000;
const CLEANUP_MS = 10_000;
const PROXY_CALL_MS = 15_000;
const PROGRESS_EVERY_MS = 1_000;

/**
 * Runs one replay and returns the exit code: 0 the range (or the log) was delivered, 1 refused or failed,
 * 2 usage, {@link EXIT_INTERRUPTED} stopped by Ctrl-C. Never throws for a usage problem; throws what the
 * store or the proxy throws (`ERR_UPSTREAM_*`).
 */
export const runReplayCommand = async (deps: ReplayCommandDeps, argv: readonly string[]): Promise<number> => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage(deps, (error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    deps.out(REPLAY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) return usage(deps, 'replay takes one drain id');
  const [drainId = ''] = positionals;
  const args = checkArguments(values);
  if ('problem' in args) return usage(deps, args.problem);

  const drain = deps.drains.find((configured) => configured.id === drainId);
  if (drain === undefined) {
    const known = deps.drains.map((configured) => configured.id).join(', ') || 'none';
    return refuse(deps, `drain ${drainId} is not configured in DRAINS here (configured: ${known})`);
  }
  const problems: string[] = [];
  const sinkConfig = parseSinkFor(drain, args.sink, '--sink', problems);
  if (sinkConfig === undefined) return usage(deps, problems.join('\n'));
  const { partition } = args;
  const where = `${drain.id} (${drain.topic}/${partition})`;
  if (drain.partitions !== 'all' && !drain.partitions.includes(partition)) {
    return refuse(
      deps,
      `drain ${drain.id} drains partitions ${drain.partitions.join(', ')} of ${drain.topic}, not ${partition}`,
    );
  }
  const partitions = await deps.kafka.listPartitions(drain.topic, proxyDeadline());
  if (!partitions.some((info) => info.partition === partition)) {
    return refuse(deps, `topic ${drain.topic} has no partition ${partition} (it has ${partitions.length})`);
  }

  let from: number;
  if (args.from.kind === 'time') {
    if (!carriesRecordTimestamps(deps.proxy)) {
      return usage(
        deps,
        `--from-time needs record timestamps, which KAFKA_REST_DIALECT=${deps.proxy.dialect} (KAFKA_REST_FLAVOR=${deps.proxy.flavor}) does not hand out: only v2 on the Strimzi bridge does; give --from <offset>`,
      );
    }
    const found = await findOffsetAtTime(
      deps.kafka,
      { topic: drain.topic, partition, atMs: args.from.atMs },
      proxyDeadline(),
    );
    if (found.offset >= found.bounds.end) {
      return refuse(
        deps,
        `${where}: no record at or after ${args.from.text} (the log ends at ${found.bounds.end}); searched in ${found.reads} reads`,
      );
    }
    deps.err(
      `${where}: the first record at or after ${args.from.text} is at offset ${found.offset} (binary search: ${found.reads} reads)`,
    );
    from = found.offset;
    if (args.to !== undefined && from > args.to) {
      return refuse(
        deps,
        `${where}: the first record at or after ${args.from.text} is at ${from}, past --to ${args.to}`,
      );
    }
  } else {
    from = args.from.offset;
  }
  const bounds = await deps.kafka.logBounds(drain.topic, partition, { ...proxyDeadline(), near: from });
  if (from < bounds.start) {
    return refuse(
      deps,
      `${where}: --from ${from} is below the log start ${bounds.start} (retention deleted it); the log holds ${bounds.start}..${bounds.end - 1}`,
    );
  }
  if (from > bounds.end) {
    return refuse(
      deps,
      `${where}: --from ${from} is past the log end ${bounds.end}; the log holds ${bounds.start}..${bounds.end - 1}`,
    );
  }

  const range: ReplayRange = { partition, fromArgument: args.from.text, from, to: args.to };
  const replayId = toReplayDrainId(drain.id, sinkConfig, range);
  const span = `${from}..${args.to ?? 'the log end'}`;
  deps.err(
    `${where}: replaying ${span} into the ${sinkConfig.type} sink given, under checkpoint ${replayId} (the drain's own checkpoint is not touched)`,
  );
  const startedMs = deps.now();
  // The first call's line at once (the replay is moving), then one a second at most.
  let lastLineMs = Number.NEGATIVE_INFINITY;
  const report = await replayPartition(deps, {
    drain,
    range,
    replayId,
    sink: deps.sinkOf(sinkConfig),
    owner: deps.newOwnerId(),
    leaseMs: deps.leaseMs,
    runBudgetMs: RUN_BUDGET_MS,
    cleanupMs: CLEANUP_MS,
    stop: deps.stop,
    onProgress: (progress) => {
      const nowMs = deps.now();
      if (nowMs - lastLineMs < PROGRESS_EVERY_MS) return;
      lastLineMs = nowMs;
      const rate = Math.round((progress.delivered * 1000) / Math.max(1, nowMs - startedMs));
      const next = (progress.lastOffset ?? from - 1) + 1;
      const left =
        args.to === undefined
          ? `about ${Math.max(0, bounds.end - next)} left to the log end ${bounds.end}`
          : `${Math.max(0, args.to + 1 - next)} left to --to ${args.to}`;
      deps.err(`${where}: ${progress.delivered} record(s), ${rate}/s, next offset ${next}, ${left}`);
    },
  });

  await deps.checkpoints.audit({
    drainId: drain.id,
    topic: drain.topic,
    partition,
    atMs: deps.now(),
    who: deps.operator,
    action: `replay ${span} into ${sinkConfig.type} as ${replayId}: ${report.result}, ${report.delivered} delivered`,
    before: toAuditState(report.before),
    after: toAuditState(report.after),
  });
  return summarize(deps, where, range, report);
};

const summarize = (
  deps: ReplayCommandDeps,
  where: string,
  range: ReplayRange,
  report: ReplayReport,
): number => {
  const next = report.after?.nextOffset;
  const resumed = report.before === undefined ? '' : ` (resumed at ${report.startedAt})`;
  const counted = `${report.delivered} record(s) delivered${resumed}`;
  switch (report.result) {
    case 'range-done':
      deps.out(
        report.delivered === 0 && report.before !== undefined
          ? `${where}: the range ${range.from}..${range.to} was already replayed in full (checkpoint ${report.key.drainId} at ${next})`
          : `${where}: range ${range.from}..${range.to} done: ${counted}`,
      );
      return 0;
    case 'log-end':
      deps.out(
        `${where}: caught up with the log end at ${next}: ${counted}${range.to === undefined ? '' : `; --to ${range.to} not reached yet: run the same command again once more is written`}`,
      );
      return 0;
    case 'interrupted':
      deps.out(
        `${where}: stopped at offset ${next}: ${counted}; run the same command again to continue from there`,
      );
      return EXIT_INTERRUPTED;
    case 'busy':
      deps.err(
        `${where}: another run of this replay holds checkpoint ${report.key.drainId}: wait for it to end (or its lease to expire)`,
      );
      return 1;
    default:
      deps.err(
        `${where}: replay ${report.result} at offset ${report.error?.offset ?? next}: ${report.error === undefined ? '' : `${report.error.code}: ${report.error.message}; `}${counted}; the error is on checkpoint ${report.key.drainId} (npm run checkpoints -- list --drain ${report.key.drainId})`,
      );
      return 1;
  }
};

type Arguments =
  | {
      readonly partition: number;
      readonly from:
        | { kind: 'offset'; offset: number; text: string }
        | { kind: 'time'; atMs: number; text: string };
      readonly to: number | undefined;
      readonly sink: unknown;
    }
  | { readonly problem: string };

/** Shape checks of the flags, before anything is asked of the table or the proxy. */
const checkArguments = (values: ReturnType<typeof parse>['values']): Arguments => {
  const partition = toNonNegativeInt(values.partition);
  if (partition === undefined)
    return { problem: `--partition must be an integer ≥ 0, got ${values.partition ?? '(none)'}` };
  if ((values.from === undefined) === (values['from-time'] === undefined)) {
    return { problem: 'give exactly one of --from <offset> and --from-time <ISO time>' };
  }
  let from: Extract<Arguments, { partition: number }>['from'];
  if (values.from !== undefined) {
    const offset = toNonNegativeInt(values.from);
    if (offset === undefined)
      return { problem: `--from must be an offset (an integer ≥ 0), got ${values.from}` };
    from = { kind: 'offset', offset, text: String(offset) };
  } else {
    const atMs = Date.parse(values['from-time'] ?? '');
    if (!ISO_TIME.test(values['from-time'] ?? '') || Number.isNaN(atMs)) {
      return {
        problem: `--from-time must be an ISO 8601 time such as 2026-12-03T09:00:00Z, got ${values['from-time']}`,
      };
    }
    from = { kind: 'time', atMs, text: `time:${new Date(atMs).toISOString()}` };
  }
  const to = values.to === undefined ? undefined : toNonNegativeInt(values.to);
  if (values.to !== undefined && to === undefined)
    return { problem: `--to must be an offset (an integer ≥ 0), got ${values.to}` };
  if (to !== undefined && from.kind === 'offset' && from.offset > to) {
    return {
      problem: `--from ${from.offset} is past --to ${to}: the range is empty (--to is the last offset replayed)`,
    };
  }
  if (values.sink === undefined)
    return { problem: "--sink '<sink json>' is required: the sink to replay into" };
  try {
    return { partition, from, to, sink: JSON.parse(values.sink) as unknown };
  } catch (error) {
    return { problem: `--sink is not JSON: ${(error as Error).message}` };
  }
};

/** A date, then a time, in ISO 8601's extended form; what `Date.parse` reads beyond that is not ISO. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** A proxy call's deadline, on the client's own clock (wall time; `deps.now` may be a test's). */
const proxyDeadline = (): { deadlineMs: number } => ({ deadlineMs: Date.now() + PROXY_CALL_MS });

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      partition: { type: 'string' },
      from: { type: 'string' },
      'from-time': { type: 'string' },
      to: { type: 'string' },
      sink: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });

const usage = (deps: ReplayCommandDeps, problem: string): number => {
  deps.err(`${problem}\n\n${REPLAY_USAGE}`);
  return 2;
};

const refuse = (deps: ReplayCommandDeps, problem: string): number => {
  deps.err(problem);
  return 1;
};
