import { beforeAll, describe, expect, it } from 'vitest';
import { type Observations, reconcile } from '../chaos/reconcile.js';
import { formatChaosReport, isChaosClean } from '../chaos/report.js';
import { type ChaosReport, FAULT_KINDS, runChaos, SUITE_PRESET } from '../chaos/scenarios.js';

/**
 * The fault-injection run at suite size (a few hundred events; `npm run chaos` runs thousands). The
 * assertions are about correctness, never timing: nothing acknowledged is lost, nothing is reordered,
 * and the run really met every fault and drain scenario it claims.
 */
describe('chaos run (webhook, queue, events, drain under injected faults)', () => {
  let report: ChaosReport;
  let table: string;

  beforeAll(async () => {
    report = await runChaos(SUITE_PRESET);
    table = formatChaosReport(report);
  }, 60_000);

  it('finds every acknowledged input in Kafka, at the offset it was acknowledged with', () => {
    const r = report.reconciliation;
    expect(r.lostAcknowledged, table).toEqual([]);
    expect(r.wrongAcknowledgements, table).toEqual([]);
    const acknowledged = Object.values(r.inputs).reduce((sum, source) => sum + source.acknowledged, 0);
    expect(acknowledged).toBeGreaterThan(0);
  });

  it('has every record below each checkpoint at the sink (same bytes) or in the DLQ, and drained all', () => {
    const r = report.reconciliation;
    expect(r.lostBelowCheckpoint, table).toEqual([]);
    expect(r.alteredAtSink, table).toEqual([]);
    expect(r.undrained, table).toBe(0);
    expect(r.delivered).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
  });

  it('keeps per-partition order at the sink', () => {
    expect(report.reconciliation.reorderedAt, table).toEqual([]);
    expect(isChaosClean(report)).toBe(true);
  });

  it('injected every fault kind and ran the kill, race and lease-expiry scenarios', () => {
    for (const kind of FAULT_KINDS) expect(report.faultsInjected[kind], kind).toBeGreaterThan(0);
    expect(report.scenarios.killedAfterDelivery).toBeGreaterThanOrEqual(1);
    expect(report.scenarios.racingRuns).toBeGreaterThanOrEqual(2);
    expect(report.scenarios.leaseExpiredMidRun).toBe(1);
  });

  it('felt the faults: the servers answered 429, 5xx and nothing, and the clients retried', () => {
    expect(report.proxyAnswers['429']).toBeGreaterThan(0);
    expect(report.proxyAnswers['5xx']).toBeGreaterThan(0);
    expect(report.proxyAnswers.none).toBeGreaterThan(0);
    expect(report.sinkAnswers['4xx']).toBeGreaterThan(0);
    expect(report.sinkAnswers['5xx']).toBeGreaterThan(0);
    expect(report.clientStats.retries).toBeGreaterThan(0);
    // Other runs met leases held by the killed run or by a racing run.
    expect(report.partitionOutcomes.busy).toBeGreaterThan(0);
    expect(Object.keys(report.proxyReads)).toEqual(['v1 messages']);
  });

  it('prints the table the CLI prints: events in, faults by kind, lost, duplicated, DLQd, reordered', () => {
    expect(table).toContain(`${report.eventsIn} events`);
    for (const kind of FAULT_KINDS) expect(table).toContain(kind);
    for (const label of ['lost', 'duplicated in Kafka', 'duplicated at the sink', "DLQ'd", 'reordered']) {
      expect(table).toMatch(new RegExp(`\\n {2}${label} +\\d`));
    }
  });
});

describe.each(['confluent', 'redpanda', 'karapace'] as const)('chaos run over v2 %s', (flavor) => {
  it('loses nothing and reorders nothing under the same faults, reading the way that server reads', async () => {
    // Act
    const report = await runChaos({ ...SUITE_PRESET, dialect: { dialect: 'v2', flavor } });

    // Assess
    const table = formatChaosReport(report);
    expect(isChaosClean(report), table).toBe(true);
    expect(report.reconciliation.undrained, table).toBe(0);
    expect(report.reconciliation.delivered).toBeGreaterThan(0);
    for (const kind of FAULT_KINDS) expect(report.faultsInjected[kind], kind).toBeGreaterThan(0);
    expect(report.proxyAnswers.none).toBeGreaterThan(0);
    // Redpanda through its stateless partition reads; the others through consumer instances; never v1.
    const api = flavor === 'redpanda' ? 'partition records' : 'v2 consumer records';
    expect(Object.keys(report.proxyReads), table).toEqual([api]);
    expect(table).toContain('proxy reads');
  }, 60_000);
});

describe('reconcile (the checker itself can fail)', () => {
  const value = (id: string) => Buffer.from(JSON.stringify({ id }));
  const base = (): Observations => ({
    inputs: [
      {
        id: 'w-0',
        source: 'webhook',
        topic: 't',
        acknowledged: true,
        ack: { partition: 0, offset: 0 },
        attempts: 1,
      },
      { id: 'q-0', source: 'queue', topic: 't', acknowledged: true, attempts: 1 },
    ],
    kafka: [
      {
        topic: 't',
        partition: 0,
        records: [
          { offset: 0, value: value('w-0') },
          { offset: 1, value: value('q-0') },
        ],
      },
    ],
    sink: [
      { topic: 't', partition: 0, offset: 0, status: 200, body: value('w-0') },
      { topic: 't', partition: 0, offset: 1, status: 200, body: value('q-0') },
    ],
    deadLetters: [],
    checkpoints: [{ topic: 't', partition: 0, nextOffset: 2 }],
  });

  it('passes a clean run', () => {
    const r = reconcile(base());
    expect(r).toMatchObject({ lost: 0, reordered: 0, delivered: 2, duplicatedAtSink: 0, undrained: 0 });
    expect(r.inputs.webhook).toEqual({ sent: 1, acknowledged: 1 });
  });

  it.each([
    {
      name: 'an acknowledged input missing from Kafka',
      change: (o: Observations): Observations => ({
        ...o,
        kafka: [{ topic: 't', partition: 0, records: [{ offset: 0, value: value('w-0') }] }],
        checkpoints: [{ topic: 't', partition: 0, nextOffset: 1 }],
        sink: o.sink.slice(0, 1),
      }),
      field: 'lostAcknowledged',
    },
    {
      name: 'an acknowledgement naming another record',
      change: (o: Observations): Observations => ({
        ...o,
        inputs: [{ ...(o.inputs[0] as Observations['inputs'][number]), ack: { partition: 0, offset: 1 } }],
      }),
      field: 'wrongAcknowledgements',
    },
    {
      name: 'a record below the checkpoint neither at the sink nor in the DLQ',
      change: (o: Observations): Observations => ({ ...o, sink: o.sink.slice(0, 1) }),
      field: 'lostBelowCheckpoint',
    },
    {
      name: 'a record refused by the sink and not dead-lettered',
      change: (o: Observations): Observations => ({
        ...o,
        sink: [
          o.sink[0] as Observations['sink'][number],
          { ...(o.sink[1] as Observations['sink'][number]), status: 503 },
        ],
      }),
      field: 'lostBelowCheckpoint',
    },
    {
      name: 'a record the sink got with other bytes',
      change: (o: Observations): Observations => ({
        ...o,
        sink: [
          o.sink[0] as Observations['sink'][number],
          { ...(o.sink[1] as Observations['sink'][number]), body: value('x') },
        ],
      }),
      field: 'alteredAtSink',
    },
  ] as const)('counts as lost: $name', ({ change, field }) => {
    const r = reconcile(change(base()));
    expect(r[field]).toHaveLength(1);
    expect(r.lost).toBe(1);
  });

  it('counts a record first seen after a higher offset as reordered', () => {
    const o = base();
    const r = reconcile({ ...o, sink: [...o.sink].reverse() });
    expect(r.reorderedAt).toEqual(['t/0/0 after 1']);
    expect(r.lost).toBe(0);
  });

  it('does not count a dead-lettered record accepted later from an older checkpoint as reordered', () => {
    const o = base();
    const [first, second] = o.sink as [Observations['sink'][number], Observations['sink'][number]];
    const r = reconcile({
      ...o,
      sink: [{ ...first, status: 400 }, second, first, second],
      deadLetters: [{ topic: 't', partition: 0, offset: 0 }],
    });
    expect(r).toMatchObject({ reordered: 0, lost: 0, deadLettered: 1, deliveredAndDeadLettered: 1 });
    expect(r.duplicatedAtSink).toBe(1);
  });

  it('counts duplicates in Kafka and at the sink, and records not yet drained', () => {
    const o = base();
    const r = reconcile({
      ...o,
      kafka: [
        {
          topic: 't',
          partition: 0,
          records: [
            { offset: 0, value: value('w-0') },
            { offset: 1, value: value('q-0') },
            { offset: 2, value: value('q-0') },
          ],
        },
      ],
      sink: [...o.sink, o.sink[1] as Observations['sink'][number]],
    });
    expect(r).toMatchObject({ duplicatedInKafka: 1, duplicatedAtSink: 1, undrained: 1, lost: 0 });
  });
});
