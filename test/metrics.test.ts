import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../lib/core/errors.js';
import { METRICS_NAMESPACE } from '../lib/core/metrics.js';
import type { PartitionReport } from '../lib/drain/drain-partition.js';
import { createDrainMetrics, toCheckpointAges, toDrainLags } from '../lib/drain/metrics.js';
import type { DrainRunReport } from '../lib/drain/run-drains.js';
import { createIngestMetrics, NO_TOPIC, withProduceLatency } from '../lib/ingest/metrics.js';
import { bytes, deadlineIn, type KafkaRestFixture, startKafkaRestWithClient } from './helpers/kafka-rest.js';
import { captureOutput, type EmfLine, type OutputCapture } from './helpers/log.js';

/** The dimension sets and metric names (with units) an EMF line declares. */
const declared = (line: EmfLine | undefined) => {
  const directive = line?._aws.CloudWatchMetrics[0];
  return {
    namespace: directive?.Namespace,
    dimensions: directive?.Dimensions,
    metrics: Object.fromEntries((directive?.Metrics ?? []).map((metric) => [metric.Name, metric.Unit])),
  };
};

describe('createIngestMetrics (EMF through Powertools)', () => {
  let out: OutputCapture;
  beforeEach(() => {
    out = captureOutput();
  });
  afterEach(() => {
    out.restore();
  });

  it('writes one line per topic (service + topic) and one with service only, at flush', () => {
    // Prepare
    const metrics = createIngestMetrics();
    for (const ok of [true, true, false, true]) metrics.record('demo', ok);
    metrics.record('orders', true);
    metrics.produceLatency('demo', 5);
    metrics.produceLatency('demo', 7);
    metrics.sqsMessagesFailed(1);

    // Act
    const before = out.emf().length;
    metrics.flush();

    // Assess
    expect(before).toBe(0);
    const [demo, orders, unscoped, ...rest] = out.emf();
    expect(rest).toEqual([]);
    expect(declared(demo)).toEqual({
      namespace: METRICS_NAMESPACE,
      dimensions: [['service', 'topic']],
      metrics: { RecordsProduced: 'Count', RecordsFailed: 'Count', ProduceLatency: 'Milliseconds' },
    });
    expect(demo).toMatchObject({
      service: 'kafka-rest-bridge',
      topic: 'demo',
      RecordsProduced: 3,
      RecordsFailed: 1,
      ProduceLatency: [5, 7],
    });
    expect(orders).toMatchObject({ topic: 'orders', RecordsProduced: 1, RecordsFailed: 0 });
    expect(declared(orders).metrics).not.toHaveProperty('ProduceLatency');
    expect(declared(unscoped)).toEqual({
      namespace: 'KafkaRestBridge',
      dimensions: [['service']],
      metrics: { SqsMessagesFailed: 'Count' },
    });
    expect(unscoped).toMatchObject({ SqsMessagesFailed: 1 });
    expect(unscoped).not.toHaveProperty('topic');
  });

  it('forgets what it flushed: a flush with nothing recorded writes nothing', () => {
    const metrics = createIngestMetrics();
    metrics.record('demo', true);

    metrics.flush();
    metrics.flush();

    expect(out.emf()).toHaveLength(1);
    expect(out.text()).not.toContain('No application metrics');
  });

  it('counts spooled webhook records by topic, and the breaker only while it is open', () => {
    const metrics = createIngestMetrics();
    metrics.spooled('orders');
    metrics.spooled('orders');
    metrics.flush();
    metrics.breakerOpen();
    metrics.flush();

    const [spooled, breaker, ...rest] = out.emf();
    expect(spooled).toMatchObject({ topic: 'orders', Spooled: 2, RecordsProduced: 0, RecordsFailed: 0 });
    expect(declared(spooled).metrics).toMatchObject({ Spooled: 'Count' });
    expect(breaker).toMatchObject({ UpstreamBreakerOpen: 1 });
    expect(declared(breaker).dimensions).toEqual([['service']]);
    expect(rest).toEqual([]);
  });

  it('counts a record that named no topic under the (none) topic', () => {
    const metrics = createIngestMetrics();

    metrics.record(undefined, false);
    metrics.flush();

    expect(out.emf()[0]).toMatchObject({ topic: NO_TOPIC, RecordsProduced: 0, RecordsFailed: 1 });
  });

  it('splits more than 99 latencies of a topic over lines that all keep the topic dimension', () => {
    // Prepare
    const metrics = createIngestMetrics();
    metrics.record('demo', true);
    for (let ms = 0; ms < 150; ms += 1) metrics.produceLatency('demo', ms);

    // Act
    metrics.flush();

    // Assess
    const lines = out.emf();
    expect(lines.map((line) => [line.topic, declared(line).dimensions])).toEqual([
      ['demo', [['service', 'topic']]],
      ['demo', [['service', 'topic']]],
    ]);
    expect(lines.flatMap((line) => line.ProduceLatency as number[])).toEqual(
      Array.from({ length: 150 }, (_, ms) => ms),
    );
    expect(lines.map((line) => line.RecordsProduced)).toEqual([1, undefined]);
  });

  it("reports the growth of the client's possible duplicates per flush", () => {
    // Prepare: the client had already counted 2 before this container's metrics existed.
    const stats = { possibleDuplicates: 2 };
    const metrics = createIngestMetrics({ kafkaStats: () => stats });

    // Act
    stats.possibleDuplicates = 5;
    metrics.flush();
    metrics.flush();

    // Assess
    expect(out.emf()).toHaveLength(1);
    expect(out.emf()[0]).toMatchObject({ PossibleDuplicates: 3 });
    expect(declared(out.emf()[0]).dimensions).toEqual([['service']]);
  });

  it.each([
    { name: 'NaN', ms: Number.NaN },
    { name: 'negative (a clock stepped back)', ms: -3 },
  ])('keeps a $name latency out of the statistic', ({ ms }) => {
    const metrics = createIngestMetrics();
    metrics.record('demo', true);
    metrics.produceLatency('demo', ms);
    metrics.produceLatency('demo', 12);

    metrics.flush();

    expect(out.emf()[0]?.ProduceLatency).toEqual(ms < 0 ? [0, 12] : 12);
  });
});

describe('withProduceLatency (against the local Kafka REST server)', () => {
  let kit: KafkaRestFixture;
  beforeEach(async () => {
    kit = await startKafkaRestWithClient({ server: { topics: { demo: 2 } } });
  });
  afterEach(async () => {
    await kit.close();
  });

  /** A clock that moves 40 ms per reading, so the recorded latency is exact. */
  const steppingClock = () => {
    let t = 1_000;
    return () => {
      t += 40;
      return t;
    };
  };

  it('times each produce call and passes its results through', async () => {
    // Prepare
    const latencies: [string, number][] = [];
    const kafka = withProduceLatency(
      kit.client,
      { produceLatency: (topic, ms) => latencies.push([topic, ms]) },
      steppingClock(),
    );

    // Act
    const results = await kafka.produce('demo', [{ value: bytes('a') }, { value: bytes('b') }], deadlineIn());

    // Assess
    expect(results.map((result) => result.ok)).toEqual([true, true]);
    expect(latencies).toEqual([['demo', 40]]);
    expect(kafka.stats().requests).toBe(1);
  });

  it('times a call that throws too, and rethrows it', async () => {
    const latencies: number[] = [];
    const kafka = withProduceLatency(
      kit.client,
      { produceLatency: (_topic, ms) => latencies.push(ms) },
      steppingClock(),
    );

    const error = await kafka.produce('demo', [], deadlineIn()).catch((thrown: unknown) => thrown);

    expect(isAppError(error) && error.code).toBe('ERR_PAYLOAD_INVALID');
    expect(latencies).toEqual([40]);
  });
});

describe('createDrainMetrics', () => {
  let out: OutputCapture;
  beforeEach(() => {
    out = captureOutput();
  });
  afterEach(() => {
    out.restore();
  });

  const NOW_MS = 1_800_000_000_000;
  const partition = (
    drainId: string,
    number: number,
    outcome: PartitionReport['outcome'],
    extra: Partial<PartitionReport> = {},
  ): PartitionReport => ({
    drainId,
    topic: 'orders',
    partition: number,
    outcome,
    fromOffset: 0,
    nextOffset: 0,
    delivered: 0,
    deadLettered: 0,
    skipped: 0,
    ...extra,
  });
  const report: DrainRunReport = {
    owner: 'run-1',
    failed: false,
    drains: [
      {
        drainId: 'orders-out',
        topic: 'orders',
        partitions: [
          partition('orders-out', 0, 'caught-up', { delivered: 3, committedAtMs: NOW_MS - 2_000, lag: 0 }),
          partition('orders-out', 1, 'deadline', {
            delivered: 5,
            deadLettered: 1,
            committedAtMs: NOW_MS - 90_000,
            lag: 1_200,
          }),
          partition('orders-out', 3, 'paused', { lag: 40 }),
          partition('orders-out', 2, 'busy'),
        ],
      },
      { drainId: 'audit-out', topic: 'audit', partitions: [partition('audit-out', 0, 'busy')] },
    ],
  };

  it('writes one line per drain (service + drainId) with counts, lag by outcome and checkpoint age', () => {
    // Act
    createDrainMetrics({ now: () => NOW_MS }).publish(report);

    // Assess
    const [orders, audit, ...rest] = out.emf();
    expect(rest).toEqual([]);
    expect(declared(orders)).toEqual({
      namespace: 'KafkaRestBridge',
      dimensions: [['service', 'drainId']],
      metrics: {
        RecordsDelivered: 'Count',
        RecordsDeadLettered: 'Count',
        RecordsSkipped: 'Count',
        PartitionsStopped: 'Count',
        PartitionsFailed: 'Count',
        LeasesLost: 'Count',
        CaughtUp: 'Count',
        PartitionsBehind: 'Count',
        LeaseConflicts: 'Count',
        CheckpointAgeSeconds: 'Seconds',
        Lag: 'Count',
      },
    });
    expect(orders).toMatchObject({
      drainId: 'orders-out',
      RecordsDelivered: 8,
      RecordsDeadLettered: 1,
      CaughtUp: 1,
      PartitionsBehind: 1,
      LeaseConflicts: 1,
      PartitionsFailed: 0,
      CheckpointAgeSeconds: 90,
      Lag: 1_240,
    });
    // Every partition busy: no checkpoint was read, so no age is claimed.
    expect(audit).toMatchObject({ drainId: 'audit-out', LeaseConflicts: 1, CaughtUp: 0 });
    expect(audit).not.toHaveProperty('CheckpointAgeSeconds');
    // No partition's lag is known (v1 behind, or busy): no figure is claimed, not even 0.
    expect(audit).not.toHaveProperty('Lag');
  });

  it('takes the stalest checkpoint of each drain', () => {
    expect([...toCheckpointAges(report, NOW_MS)]).toEqual([['orders-out', 90]]);
  });

  it('sums the known lags of each drain', () => {
    expect([...toDrainLags(report)]).toEqual([['orders-out', 1_240]]);
  });
});
