import { AppError, ERROR_CODES, type ErrorCode, toAppError } from '../core/errors.js';
import type { KafkaRest } from '../kafka-rest/types.js';
import type { DeadLetterQueue, Sink } from '../sinks/types.js';
import type { DrainConfig } from './config.js';
import { drainPartition, type PartitionReport } from './drain-partition.js';
import { createDrainThrottle, type DrainThrottle } from './drain-throttle.js';
import type { DrainRequest } from './event.js';
import { FAILED_OUTCOMES, type PartitionDrainDeps, type PartitionDrainRequest } from './partition-types.js';

export interface DrainRunDeps extends PartitionDrainDeps {
  readonly kafka: Pick<KafkaRest, 'fetch' | 'logBounds' | 'exactLogBounds' | 'endFetch' | 'listPartitions'>;
  readonly drains: readonly DrainConfig[];
  readonly leaseMs: number;
  readonly maxConcurrentPartitions: number;
  /** The sink of a drain, built once per container. */
  sinkFor(drain: DrainConfig): Sink;
  /** The DLQ of a drain; undefined when none is configured. */
  deadLettersFor(drain: DrainConfig): DeadLetterQueue | undefined;
}

export interface DrainReport {
  readonly drainId: string;
  readonly topic: string;
  readonly partitions: readonly PartitionReport[];
  /** Set when the drain could not start at all (partition discovery failed). */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

export interface DrainRunReport {
  readonly owner: string;
  readonly drains: readonly DrainReport[];
  /** True when any drain or partition ended in a failed outcome (see `FAILED_OUTCOMES`). */
  readonly failed: boolean;
}

/**
 * Drains every requested partition of every requested drain, at most `maxConcurrentPartitions` at once,
 * each under its own lease owned by `owner`. Never throws: one partition's (or drain's) failure is in the
 * report, and the others still drain and commit.
 */
export const runDrains = async (
  deps: DrainRunDeps,
  request: DrainRequest,
  options: Pick<PartitionDrainRequest, 'owner' | 'deadlineMs' | 'cleanupDeadlineMs'>,
): Promise<DrainRunReport> => {
  const drains = deps.drains.filter((drain) => request.drainId === undefined || drain.id === request.drainId);
  const planned = await Promise.all(
    drains.map(async (drain) => {
      try {
        return { drain, partitions: await partitionsOf(deps, drain, request, options.deadlineMs) };
      } catch (error) {
        const appError = toAppError(error, ERROR_CODES.UPSTREAM_NETWORK, 'partition discovery failed');
        // `reason`, not `message`: Powertools drops attributes named like its own fields.
        deps.log.error('drain could not list its partitions', {
          drainId: drain.id,
          topic: drain.topic,
          code: appError.code,
          reason: appError.message,
        });
        return {
          drain,
          partitions: [] as number[],
          error: { code: appError.code, message: appError.message },
        };
      }
    }),
  );

  const tasks = planned.flatMap(({ drain, partitions }) => {
    // One per drain and invocation, so the drain's limits hold across all its partitions here.
    const throttle = throttleOf(deps, drain);
    return partitions.map(
      (partition) => () =>
        drainPartition(deps, {
          drain,
          partition,
          sink: deps.sinkFor(drain),
          deadLetters: deps.deadLettersFor(drain),
          owner: options.owner,
          deadlineMs: options.deadlineMs,
          cleanupDeadlineMs: options.cleanupDeadlineMs,
          leaseMs: deps.leaseMs,
          throttle,
        }),
    );
  });
  const results = await runBounded(tasks, deps.maxConcurrentPartitions);

  const reports: DrainReport[] = planned.map(({ drain, error }) => ({
    drainId: drain.id,
    topic: drain.topic,
    partitions: results.filter((result) => result.drainId === drain.id),
    ...(error === undefined ? {} : { error }),
  }));
  const failed = reports.some(
    (report) =>
      report.error !== undefined ||
      report.partitions.some((partition) => FAILED_OUTCOMES.has(partition.outcome)),
  );
  logRun(deps.log, reports, failed);
  return { owner: options.owner, drains: reports, failed };
};

/** One line per run with the outcome of every partition counted, for Logs Insights (the run id is the correlation id). */
const logRun = (log: DrainRunDeps['log'], reports: readonly DrainReport[], failed: boolean): void => {
  const outcomes: Partial<Record<PartitionReport['outcome'], number>> = {};
  let delivered = 0;
  let deadLettered = 0;
  for (const report of reports) {
    for (const partition of report.partitions) {
      outcomes[partition.outcome] = (outcomes[partition.outcome] ?? 0) + 1;
      delivered += partition.delivered;
      deadLettered += partition.deadLettered;
    }
  }
  const attributes = {
    drains: reports.map((report) => report.drainId),
    outcomes,
    delivered,
    deadLettered,
    failed,
  };
  if (failed) log.warn('drain run finished', attributes);
  else log.info('drain run finished', attributes);
};

const throttleOf = (deps: DrainRunDeps, drain: DrainConfig): DrainThrottle | undefined =>
  drain.maxRecordsPerSecond === undefined && drain.maxConcurrentRequests === undefined
    ? undefined
    : createDrainThrottle(drain, deps);

const partitionsOf = async (
  deps: DrainRunDeps,
  drain: DrainConfig,
  request: DrainRequest,
  deadlineMs: number,
): Promise<readonly number[]> => {
  if (request.partitions !== undefined) return request.partitions;
  if (drain.partitions !== 'all') return drain.partitions;
  // Discovered at each run, so partitions added to the topic are picked up without a redeploy.
  const infos = await deps.kafka.listPartitions(drain.topic, { deadlineMs });
  return infos.map((info) => info.partition);
};

/** Runs thunks with at most `limit` in flight; results in input order. */
const runBounded = async <T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> => {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next;
      next += 1;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), tasks.length) }, worker));
  return results;
};

/**
 * The error a failed run throws, so the schedule's retries and alarms see it: names each failed drain
 * and partition with its outcome and code (never payloads or secrets). Undefined when nothing failed.
 */
export const toRunError = (report: DrainRunReport): AppError | undefined => {
  const failures: { code: ErrorCode; text: string }[] = [];
  for (const drain of report.drains) {
    if (drain.error !== undefined) {
      failures.push({ code: drain.error.code, text: `${drain.drainId}: ${drain.error.code}` });
    }
    for (const partition of drain.partitions) {
      if (!FAILED_OUTCOMES.has(partition.outcome)) continue;
      const code = partition.error?.code ?? ERROR_CODES.SINK_FAILED;
      failures.push({
        code,
        text: `${partition.drainId}/${partition.topic}/${partition.partition} ${partition.outcome} (${code}${
          partition.error?.offset === undefined ? '' : ` at offset ${partition.error.offset}`
        })`,
      });
    }
  }
  const first = failures[0];
  if (first === undefined) return undefined;
  return new AppError(first.code, `drain run failed: ${failures.map((failure) => failure.text).join('; ')}`, {
    retriable: true,
  });
};
