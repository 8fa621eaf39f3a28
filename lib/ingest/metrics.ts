import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describeError, type Log } from '../core/log.js';
import { createPowertoolsMetrics } from '../core/metrics.js';
import type { KafkaRest, KafkaRestStats } from '../kafka-rest/types.js';

/** Metric names of the ingest functions (webhook, queue, events), for the alarms in serverless.yml. */
export const INGEST_METRICS = {
  produced: 'RecordsProduced',
  failed: 'RecordsFailed',
  produceLatency: 'ProduceLatency',
  sqsMessagesFailed: 'SqsMessagesFailed',
  possibleDuplicates: 'PossibleDuplicates',
  spooled: 'Spooled',
  breakerOpen: 'UpstreamBreakerOpen',
} as const;

/** The `topic` dimension of a record that named none (an SQS message): no Kafka topic name has parentheses. */
export const NO_TOPIC = '(none)';

/**
 * What the ingest functions count during one invocation; `flush` at the end of the handler (also when it
 * throws) writes it as CloudWatch EMF lines.
 */
export interface IngestMetrics {
  /** One record meant for `topic` (undefined: it named none) was acknowledged (`ok`) or not. */
  record(topic: string | undefined, ok: boolean): void;
  /** One produce call's duration, client retries included: what the caller waited. */
  produceLatency(topic: string, ms: number): void;
  /** Messages of one SQS batch reported in `batchItemFailures`. */
  sqsMessagesFailed(count: number): void;
  /** One webhook record for `topic` was spooled rather than produced (neither produced nor failed yet). */
  spooled(topic: string): void;
  /**
   * The invocation ended with the upstream breaker open or probing: `UpstreamBreakerOpen` 1. Nothing is
   * written while it is closed, so the common case costs no metric line (missing data reads as closed).
   */
  breakerOpen(): void;
  /**
   * Writes what was recorded since the last flush, one EMF line per topic (dimensions `service`,
   * `topic`) and one with `service` only, then forgets it. Never throws: a metrics fault is logged, and
   * must not turn a produced record into a failed invocation.
   */
  flush(): void;
}

export interface IngestMetricsOptions {
  readonly namespace?: string;
  /** Where a metrics fault is reported. */
  readonly log?: Log;
  /** The Kafka REST client's counters: their growth per invocation becomes `PossibleDuplicates`. */
  readonly kafkaStats?: () => Pick<KafkaRestStats, 'possibleDuplicates'>;
}

// Powertools publishes by itself once a metric holds 100 values, and that clears the `topic` dimension
// mid-topic; staying below it keeps every line's dimensions ours.
const MAX_VALUES_PER_LINE = 99;

/**
 * EMF metrics of webhook, queue and events: `RecordsProduced`, `RecordsFailed`, `Spooled` (webhook) and
 * `ProduceLatency` (ms, one value per produce call) by `topic`; `SqsMessagesFailed`, `PossibleDuplicates`
 * and `UpstreamBreakerOpen` (webhook: 1 when an invocation ends with the breaker open) by `service` only.
 * Topics are few and fixed by configuration, so the `topic` dimension stays cheap.
 */
export const createIngestMetrics = (options: IngestMetricsOptions = {}): IngestMetrics => {
  const metrics = createPowertoolsMetrics(options.namespace);
  const byTopic = new Map<
    string,
    { produced: number; failed: number; spooled: number; latenciesMs: number[] }
  >();
  let sqsFailed: number | undefined;
  let breakerOpen = false;
  let duplicatesSeen = options.kafkaStats?.().possibleDuplicates ?? 0;

  const topicEntry = (topic: string) => {
    let entry = byTopic.get(topic);
    if (entry === undefined) {
      entry = { produced: 0, failed: 0, spooled: 0, latenciesMs: [] };
      byTopic.set(topic, entry);
    }
    return entry;
  };

  const publish = (): void => {
    for (const [topic, entry] of byTopic) {
      // At least one line per topic, so that a topic with counts but no latency is still published.
      for (let start = 0; start === 0 || start < entry.latenciesMs.length; start += MAX_VALUES_PER_LINE) {
        metrics.addDimension('topic', topic);
        if (start === 0) {
          metrics.addMetric(INGEST_METRICS.produced, MetricUnit.Count, entry.produced);
          metrics.addMetric(INGEST_METRICS.failed, MetricUnit.Count, entry.failed);
          if (entry.spooled > 0) metrics.addMetric(INGEST_METRICS.spooled, MetricUnit.Count, entry.spooled);
        }
        for (const ms of entry.latenciesMs.slice(start, start + MAX_VALUES_PER_LINE)) {
          metrics.addMetric(INGEST_METRICS.produceLatency, MetricUnit.Milliseconds, ms);
        }
        metrics.publishStoredMetrics();
      }
    }
    let unscoped = false;
    if (sqsFailed !== undefined) {
      metrics.addMetric(INGEST_METRICS.sqsMessagesFailed, MetricUnit.Count, sqsFailed);
      unscoped = true;
    }
    if (breakerOpen) {
      metrics.addMetric(INGEST_METRICS.breakerOpen, MetricUnit.Count, 1);
      unscoped = true;
    }
    if (options.kafkaStats !== undefined) {
      const total = options.kafkaStats().possibleDuplicates;
      if (total > duplicatesSeen) {
        metrics.addMetric(INGEST_METRICS.possibleDuplicates, MetricUnit.Count, total - duplicatesSeen);
        unscoped = true;
      }
      duplicatesSeen = total;
    }
    if (unscoped) metrics.publishStoredMetrics();
  };

  return {
    record: (topic, ok) => {
      const entry = topicEntry(topic ?? NO_TOPIC);
      if (ok) entry.produced += 1;
      else entry.failed += 1;
    },
    produceLatency: (topic, ms) => {
      // A clock that jumps (tests, NTP) must not put NaN or a negative duration in a statistic.
      if (Number.isFinite(ms)) topicEntry(topic).latenciesMs.push(Math.max(0, ms));
    },
    sqsMessagesFailed: (count) => {
      sqsFailed = (sqsFailed ?? 0) + count;
    },
    spooled: (topic) => {
      topicEntry(topic).spooled += 1;
    },
    breakerOpen: () => {
      breakerOpen = true;
    },
    flush: () => {
      try {
        publish();
      } catch (error) {
        options.log?.warn('metrics not published', describeError(error));
        metrics.clearMetrics();
        metrics.clearDimensions();
      } finally {
        byTopic.clear();
        sqsFailed = undefined;
        breakerOpen = false;
      }
    },
  };
};

/**
 * `kafka` with every produce call timed into `metrics.produceLatency`, whatever its outcome. The client's
 * own retries are inside one call, so the figure is what the function waited for Kafka.
 */
export const withProduceLatency = <K extends Pick<KafkaRest, 'produce'>>(
  kafka: K,
  metrics: Pick<IngestMetrics, 'produceLatency'>,
  now: () => number,
): K => ({
  ...kafka,
  produce: async (topic, records, callOptions) => {
    const startedAt = now();
    try {
      return await kafka.produce(topic, records, callOptions);
    } finally {
      metrics.produceLatency(topic, now() - startedAt);
    }
  },
});
