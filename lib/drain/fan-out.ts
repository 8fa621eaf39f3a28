import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { toDynamoError } from '../aws/dynamodb-errors.js';
import { type ErrorCode, isAppError } from '../core/errors.js';
import { describeError, type Log } from '../core/log.js';
import { createPowertoolsMetrics } from '../core/metrics.js';
import type { Checkpoint, PartitionKey } from './checkpoint.js';
import type { DrainConfig } from './config.js';
import type { DrainRequest } from './event.js';
import { type DrainRunDeps, type DrainRunReport, runDrains } from './run-drains.js';

/**
 * The drain's fan-out across invocations (design §9): the scheduled run lists every drain's partitions,
 * splits them into groups of `partitionsPerInvocation`, keeps the first group that has work for itself and
 * queues one asynchronous invocation of the drain function per other group, with the `{drainId,
 * partitions}` event the drain already accepts. Leases keep any overlap safe (two coordinators, a group
 * still held by a slow worker, Lambda's own retries of an event): this module only avoids waste.
 */

/** The event a worker gets: one drain and a group of its partitions (`parseDrainEvent` reads it). */
export interface GroupEvent {
  readonly drainId: string;
  readonly partitions: readonly number[];
}

export interface FanOutDeps {
  readonly partitionsPerInvocation: number;
  /** Queues one invocation of the drain function with `event`; resolves once queued. */
  invokeGroup(event: GroupEvent, options: { readonly deadlineMs: number }): Promise<void>;
  /** Counts of one coordinator run (EMF in Lambda). */
  readonly metrics: FanOutMetrics;
}

export interface CoordinatorDeps extends DrainRunDeps {
  readonly fanOut: FanOutDeps;
}

/**
 * - `kept`: drained by the coordinator's own run;
 * - `dispatched`: an invocation was queued for it;
 * - `skipped`: every partition of it is leased (unexpired) or paused, so a worker would find nothing to do;
 * - `failed`: the invoke failed; the group waits for the next schedule.
 */
export type GroupOutcome = 'kept' | 'dispatched' | 'skipped' | 'failed';

export interface GroupReport extends GroupEvent {
  readonly outcome: GroupOutcome;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

export interface CoordinatorReport extends DrainRunReport {
  /** Every group of every drain whose partitions could be listed, in drain then partition order. */
  readonly groups: readonly GroupReport[];
}

/** Consecutive runs of `size` partitions, in partition order, so a group is the same from run to run. */
export const splitIntoGroups = (partitions: readonly number[], size: number): number[][] => {
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const groups: number[][] = [];
  for (let start = 0; start < sorted.length; start += size) groups.push(sorted.slice(start, start + size));
  return groups;
};

/** True when no worker could do anything with the partition now: an unexpired lease, or paused. */
const isUnavailable = (checkpoint: Checkpoint | undefined, nowMs: number): boolean =>
  checkpoint !== undefined &&
  (checkpoint.paused || (checkpoint.lease !== undefined && checkpoint.lease.expiresAtMs > nowMs));

interface Planned {
  readonly drain: DrainConfig;
  readonly groups: readonly number[][];
  /** The partitions could not be listed: the coordinator then runs that drain itself, as without fan-out. */
  readonly undiscovered?: true;
}

const listGroups = async (
  deps: CoordinatorDeps,
  drain: DrainConfig,
  deadlineMs: number,
): Promise<Planned> => {
  try {
    const partitions =
      drain.partitions === 'all'
        ? (await deps.kafka.listPartitions(drain.topic, { deadlineMs })).map((info) => info.partition)
        : drain.partitions;
    return { drain, groups: splitIntoGroups(partitions, deps.fanOut.partitionsPerInvocation) };
  } catch {
    return { drain, groups: [], undiscovered: true };
  }
};

/**
 * One batch read of every partition's checkpoint. A failed read is no reason to hold work back: every
 * group is then taken as available (the leases still decide who drains what).
 */
const readCheckpoints = async (
  deps: CoordinatorDeps,
  planned: readonly Planned[],
  deadlineMs: number,
): Promise<Map<string, Checkpoint>> => {
  const keys: PartitionKey[] = planned.flatMap(({ drain, groups }) =>
    groups.flat().map((partition) => ({ drainId: drain.id, topic: drain.topic, partition })),
  );
  const byKey = new Map<string, Checkpoint>();
  if (keys.length === 0) return byKey;
  try {
    for (const checkpoint of await deps.checkpoints.getMany(keys, { deadlineMs })) {
      byKey.set(`${checkpoint.drainId}#${checkpoint.partition}`, checkpoint);
    }
  } catch (error) {
    deps.log.warn('fan-out could not read the checkpoints: every group is dispatched', describeError(error));
  }
  return byKey;
};

/**
 * The scheduled run with fan-out: plans the groups, queues the invocations (all at once, before its own
 * work, so the workers start while it drains), drains the group it kept, and reports every group. A
 * failed invoke is logged, counted and reported, and does not fail the run: the group's checkpoints are
 * where they were, and the next schedule dispatches it again. Never throws.
 */
export const coordinateDrains = async (
  deps: CoordinatorDeps,
  options: { readonly owner: string; readonly deadlineMs: number; readonly cleanupDeadlineMs: number },
): Promise<CoordinatorReport> => {
  const planned = await Promise.all(deps.drains.map((drain) => listGroups(deps, drain, options.deadlineMs)));
  const checkpoints = await readCheckpoints(deps, planned, options.deadlineMs);
  const nowMs = deps.now();

  // Decided before each group's first await, so in group order: the first available group is kept.
  let kept: GroupEvent | undefined;
  const groups = await Promise.all(
    planned.flatMap(({ drain, groups: partitionGroups }) =>
      partitionGroups.map(async (partitions): Promise<GroupReport> => {
        const event: GroupEvent = { drainId: drain.id, partitions };
        if (
          partitions.every((partition) => isUnavailable(checkpoints.get(`${drain.id}#${partition}`), nowMs))
        ) {
          return { ...event, outcome: 'skipped' };
        }
        // The coordinator's own invocation drains one group: one invocation fewer per schedule, and its
        // time budget would otherwise go unused after a few hundred milliseconds of dispatching.
        if (kept === undefined) {
          kept = event;
          return { ...event, outcome: 'kept' };
        }
        try {
          await deps.fanOut.invokeGroup(event, { deadlineMs: options.deadlineMs });
          return { ...event, outcome: 'dispatched' };
        } catch (error) {
          // The AWS error shape DynamoDB's mapping reads is every signed client's (`lib/aws/errors.ts`).
          const appError = isAppError(error) ? error : toDynamoError('lambda Invoke', error);
          deps.log.warn('fan-out invoke failed: the group waits for the next schedule', {
            drainId: drain.id,
            partitions,
            code: appError.code,
            reason: appError.message,
          });
          return { ...event, outcome: 'failed', error: { code: appError.code, message: appError.message } };
        }
      }),
    ),
  );

  // A drain whose partitions could not be listed is run as without fan-out: that run lists them again,
  // and when that fails too it logs and reports the failure, and the run fails, as it always has.
  const requests: DrainRequest[] = [
    ...(kept === undefined ? [] : [kept]),
    ...planned.filter((plan) => plan.undiscovered).map((plan) => ({ drainId: plan.drain.id })),
  ];
  const own = await Promise.all(requests.map((request) => runDrains(deps, request, options)));
  const report: CoordinatorReport = {
    owner: options.owner,
    drains: own.flatMap((run) => run.drains),
    failed: own.some((run) => run.failed),
    groups,
  };
  logFanOut(deps.log, groups);
  deps.fanOut.metrics.publish(groups);
  return report;
};

const logFanOut = (log: Log, groups: readonly GroupReport[]): void => {
  const count = (outcome: GroupOutcome) => groups.filter((group) => group.outcome === outcome).length;
  log.info('fan-out finished', {
    groups: groups.length,
    kept: count('kept'),
    dispatched: count('dispatched'),
    skipped: count('skipped'),
    failed: count('failed'),
    skippedGroups: groups
      .filter((group) => group.outcome === 'skipped')
      .map((group) => `${group.drainId}:${group.partitions.join(',')}`),
  });
};

/** Metric names (counts of groups, per `drainId`). */
export const FAN_OUT_METRICS = {
  dispatched: 'FanOutGroupsDispatched',
  skipped: 'FanOutGroupsSkipped',
  failed: 'FanOutInvokeFailures',
} as const;

export interface FanOutMetrics {
  publish(groups: readonly GroupReport[]): void;
}

/** EMF through Powertools, one line per drain; never throws (a metrics fault must not fail the run). */
export const createFanOutMetrics = (options: { readonly log?: Log } = {}): FanOutMetrics => {
  const metrics = createPowertoolsMetrics();
  return {
    publish: (groups) => {
      try {
        for (const drainId of new Set(groups.map((group) => group.drainId))) {
          const ofDrain = groups.filter((group) => group.drainId === drainId);
          metrics.addDimension('drainId', drainId);
          for (const [outcome, name] of Object.entries(FAN_OUT_METRICS)) {
            const n = ofDrain.filter((group) => group.outcome === outcome).length;
            metrics.addMetric(name, MetricUnit.Count, n);
          }
          metrics.publishStoredMetrics();
        }
      } catch (error) {
        options.log?.warn('fan-out metrics not published', describeError(error));
        metrics.clearMetrics();
        metrics.clearDimensions();
      }
    },
  };
};
