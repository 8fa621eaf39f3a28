import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FAILED_OUTCOMES } from './drain-partition.js';
import type { DrainRunReport } from './run-drains.js';

/** Where a run's counts go: CloudWatch EMF in Lambda, nothing (or a list) in tests. */
export interface DrainMetrics {
  publish(report: DrainRunReport): void;
}

/** Metric names, for the alarms in serverless.yml. */
export const DRAIN_METRICS = {
  delivered: 'RecordsDelivered',
  deadLettered: 'RecordsDeadLettered',
  skipped: 'RecordsSkipped',
  partitionsStopped: 'PartitionsStopped',
  partitionsFailed: 'PartitionsFailed',
  leasesLost: 'LeasesLost',
} as const;

/** Per-drain counts of one run. */
export const toDrainCounts = (
  report: DrainRunReport,
): Map<string, Record<keyof typeof DRAIN_METRICS, number>> => {
  const counts = new Map<string, Record<keyof typeof DRAIN_METRICS, number>>();
  for (const drain of report.drains) {
    const sum = {
      delivered: 0,
      deadLettered: 0,
      skipped: 0,
      partitionsStopped: 0,
      partitionsFailed: drain.error === undefined ? 0 : 1,
      leasesLost: 0,
    };
    for (const partition of drain.partitions) {
      sum.delivered += partition.delivered;
      sum.deadLettered += partition.deadLettered;
      sum.skipped += partition.skipped;
      if (partition.outcome === 'stopped') sum.partitionsStopped += 1;
      if (partition.outcome === 'lease-lost') sum.leasesLost += 1;
      if (FAILED_OUTCOMES.has(partition.outcome)) sum.partitionsFailed += 1;
    }
    counts.set(drain.drainId, sum);
  }
  return counts;
};

/**
 * EMF metrics through Powertools, one line per drain with a `drainId` dimension, so that a stopped
 * partition or skipped records raise an alarm (design §2: never skip silently).
 */
export const createDrainMetrics = (namespace = 'KafkaRestBridge'): DrainMetrics => {
  const metrics = new Metrics({ namespace, serviceName: 'kafka-rest-bridge' });
  return {
    publish: (report) => {
      for (const [drainId, sum] of toDrainCounts(report)) {
        metrics.addDimension('drainId', drainId);
        for (const [name, metric] of Object.entries(DRAIN_METRICS) as [
          keyof typeof DRAIN_METRICS,
          string,
        ][]) {
          metrics.addMetric(metric, MetricUnit.Count, sum[name]);
        }
        metrics.publishStoredMetrics();
      }
    },
  };
};
