import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log } from '../core/log.js';
import { describeError } from '../core/log.js';
import { createPowertoolsMetrics } from '../core/metrics.js';
import type { PartitionReport } from './drain-partition.js';
import { FAILED_OUTCOMES } from './partition-types.js';
import type { DrainRunReport } from './run-drains.js';

/** Where a run's counts go: CloudWatch EMF in Lambda, nothing (or a list) in tests. */
export interface DrainMetrics {
  publish(report: DrainRunReport): void;
}

/** Metric names (all counts, per `drainId`), for the alarms in serverless.yml. */
export const DRAIN_METRICS = {
  delivered: 'RecordsDelivered',
  deadLettered: 'RecordsDeadLettered',
  skipped: 'RecordsSkipped',
  partitionsStopped: 'PartitionsStopped',
  partitionsFailed: 'PartitionsFailed',
  leasesLost: 'LeasesLost',
  // Lag by outcome, for every dialect: a partition either caught up (read `[]`) in this run or ran out
  // of time behind. `LAG_METRIC` counts the records where the dialect tells the log end.
  caughtUp: 'CaughtUp',
  behind: 'PartitionsBehind',
  leaseConflicts: 'LeaseConflicts',
} as const;

/** Seconds since the oldest checkpoint commit of a drain's partitions, as of the end of the run. */
export const CHECKPOINT_AGE_METRIC = 'CheckpointAgeSeconds';

/** Records between a drain's checkpoints and its log ends, summed over the partitions whose lag is known. */
export const LAG_METRIC = 'Lag';

export type DrainCounts = Record<keyof typeof DRAIN_METRICS, number>;

/** Per-drain counts of one run. */
export const toDrainCounts = (report: DrainRunReport): Map<string, DrainCounts> => {
  const counts = new Map<string, DrainCounts>();
  for (const drain of report.drains) {
    const sum: DrainCounts = {
      delivered: 0,
      deadLettered: 0,
      skipped: 0,
      partitionsStopped: 0,
      partitionsFailed: drain.error === undefined ? 0 : 1,
      leasesLost: 0,
      caughtUp: 0,
      behind: 0,
      leaseConflicts: 0,
    };
    for (const partition of drain.partitions) {
      sum.delivered += partition.delivered;
      sum.deadLettered += partition.deadLettered;
      sum.skipped += partition.skipped;
      if (partition.outcome === 'stopped') sum.partitionsStopped += 1;
      if (partition.outcome === 'lease-lost') sum.leasesLost += 1;
      if (partition.outcome === 'caught-up') sum.caughtUp += 1;
      if (partition.outcome === 'deadline') sum.behind += 1;
      if (partition.outcome === 'busy') sum.leaseConflicts += 1;
      if (FAILED_OUTCOMES.has(partition.outcome)) sum.partitionsFailed += 1;
    }
    counts.set(drain.drainId, sum);
  }
  return counts;
};

/** Per drain, `combine` over the partitions whose `figureOf` is defined; a drain with none is absent. */
const foldPartitions = (
  report: DrainRunReport,
  figureOf: (partition: PartitionReport) => number | undefined,
  combine: (a: number, b: number) => number,
): Map<string, number> => {
  const folded = new Map<string, number>();
  for (const drain of report.drains) {
    for (const partition of drain.partitions) {
      const value = figureOf(partition);
      if (value === undefined) continue;
      const sofar = folded.get(drain.drainId);
      folded.set(drain.drainId, sofar === undefined ? value : combine(sofar, value));
    }
  }
  return folded;
};

/**
 * Per drain, the age in seconds of its stalest checkpoint at `nowMs` (partitions whose checkpoint time
 * the run did not learn, e.g. `busy` ones, are left out; a drain with none is absent). A quiet topic's
 * checkpoint ages too: read it together with `CaughtUp`.
 */
export const toCheckpointAges = (report: DrainRunReport, nowMs: number): Map<string, number> =>
  foldPartitions(
    report,
    (partition) =>
      partition.committedAtMs === undefined
        ? undefined
        : Math.max(0, (nowMs - partition.committedAtMs) / 1000),
    Math.max,
  );

/** Per drain, the summed lag of the partitions whose lag the run learned (`PartitionReport.lag`). */
export const toDrainLags = (report: DrainRunReport): Map<string, number> =>
  foldPartitions(
    report,
    (partition) => partition.lag,
    (a, b) => a + b,
  );

export interface DrainMetricsOptions {
  readonly namespace?: string;
  /** Epoch ms, for checkpoint ages. */
  readonly now?: () => number;
  /** Where a metrics fault is reported. */
  readonly log?: Log;
}

/**
 * EMF metrics through Powertools, one line per drain with a `drainId` dimension (drains are few and
 * configured; partitions would multiply the cost), so that a stopped partition or skipped records raise
 * an alarm (design §2: never skip silently). Never throws: a metrics fault must not fail a run that
 * delivered and committed.
 */
export const createDrainMetrics = (options: DrainMetricsOptions = {}): DrainMetrics => {
  const metrics = createPowertoolsMetrics(options.namespace);
  const now = options.now ?? Date.now;
  return {
    publish: (report) => {
      try {
        const ages = toCheckpointAges(report, now());
        const lags = toDrainLags(report);
        for (const [drainId, sum] of toDrainCounts(report)) {
          metrics.addDimension('drainId', drainId);
          for (const [name, metric] of Object.entries(DRAIN_METRICS) as [
            keyof typeof DRAIN_METRICS,
            string,
          ][]) {
            metrics.addMetric(metric, MetricUnit.Count, sum[name]);
          }
          const age = ages.get(drainId);
          if (age !== undefined) metrics.addMetric(CHECKPOINT_AGE_METRIC, MetricUnit.Seconds, age);
          const lag = lags.get(drainId);
          if (lag !== undefined) metrics.addMetric(LAG_METRIC, MetricUnit.Count, lag);
          metrics.publishStoredMetrics();
        }
      } catch (error) {
        options.log?.warn('drain metrics not published', describeError(error));
        metrics.clearMetrics();
        metrics.clearDimensions();
      }
    },
  };
};
