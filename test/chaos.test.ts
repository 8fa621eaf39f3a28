import { beforeAll, describe, expect, it } from 'vitest';
import { CHAOS_CONFIGURATION_NAMES, CHAOS_CONFIGURATIONS, expectedReadApi } from '../chaos/configurations.js';
import { type Observations, reconcile } from '../chaos/reconcile.js';
import { formatChaosReport, isChaosClean } from '../chaos/report.js';
import { type ChaosReport, FAULT_KINDS, PIPELINES, runChaos, SUITE_PRESET } from '../chaos/scenarios.js';
import { fromPutEvents } from '../chaos/sink-observations.js';
import { createFifoQueue, createStandardQueue, type QueuedMessage } from '../chaos/sqs-queues.js';
import { problemsOf } from './helpers/openapi.js';

/**
 * The fault-injection run at suite size (a few hundred events per configuration; `npm run chaos` runs
 * 10,000), once per configuration: every ingestion path and every sink under proxy, sink and DynamoDB
 * faults. The assertions are about correctness, never timing: nothing acknowledged is lost, no promised
 * order is broken (per FIFO group inside Kafka, per partition at each ordered sink), no idempotent delivery
 * is produced again after its 2xx, every partition is drained, and the run really met every fault and
 * scenario it claims.
 */
describe.each(CHAOS_CONFIGURATION_NAMES)('chaos run, configuration %s', (configuration) => {
  let report: ChaosReport;
  let table: string;
  // Every answer the webhook gave under faults, checked against docs/openapi.yaml as it came.
  const undocumented: string[] = [];

  beforeAll(async () => {
    report = await runChaos({
      ...SUITE_PRESET,
      configuration,
      onWebhookAnswer: (method, answer) => {
        const problems = problemsOf(method, answer);
        if (problems.length > 0) undocumented.push(`${answer.statusCode}: ${problems.join('; ')}`);
      },
    });
    table = formatChaosReport(report);
  }, 60_000);

  it('answers every webhook delivery, under every fault, as docs/openapi.yaml describes', () => {
    expect([...new Set(undocumented)]).toEqual([]);
  });

  it('finds every acknowledged input in Kafka, at the offset it was acknowledged with, on every path', () => {
    const r = report.reconciliation;
    expect(r.lostAcknowledged, table).toEqual([]);
    expect(r.wrongAcknowledgements, table).toEqual([]);
    for (const source of Object.values(r.inputs)) expect(source.acknowledged, table).toBeGreaterThan(0);
  });

  it('has every record below each checkpoint at its sink (same bytes) or in the DLQ, and drained all', () => {
    const r = report.reconciliation;
    expect(r.lostBelowCheckpoint, table).toEqual([]);
    expect(r.alteredAtSink, table).toEqual([]);
    expect(r.undrained, table).toBe(0);
    for (const pipeline of PIPELINES) {
      expect(r.byTopic[pipeline.topic]?.delivered, pipeline.name).toBeGreaterThan(0);
    }
    expect(r.lost).toBe(0);
  });

  const byKey = CHAOS_CONFIGURATIONS[configuration].drainOrdering === 'key';
  it(`keeps FIFO group order inside Kafka and per-${byKey ? 'key' : 'partition'} order at every sink that promises it`, () => {
    expect(report.reconciliation.reorderedInKafkaAt, table).toEqual([]);
    expect(report.reconciliation.reorderedAt, table).toEqual([]);
    // By key the sink calls overlap, so records of other keys do pass each other; in partition order never.
    if (byKey) expect(report.reconciliation.overtakenAcrossKeys, table).toBeGreaterThan(0);
  });

  it('never produces an idempotent delivery again after its first 2xx, and replays its answer', () => {
    expect(report.reconciliation.idempotencyViolations, table).toEqual([]);
    expect(report.scenarios.resentAfterAck).toBeGreaterThan(0);
    expect(report.scenarios.sentTwiceAtOnce).toBeGreaterThan(0);
    expect(report.idempotentAnswers['202 replayed'], table).toBeGreaterThan(0);
  });

  it('is clean: the verdict the CLI exits with', () => {
    expect(isChaosClean(report), table).toBe(true);
  });

  it('injected every fault kind and ran the kill, race and lease-expiry scenarios', () => {
    for (const kind of FAULT_KINDS) expect(report.faultsInjected[kind], kind).toBeGreaterThan(0);
    expect(report.scenarios.killedAfterDelivery).toBeGreaterThanOrEqual(1);
    expect(report.scenarios.racingRuns).toBeGreaterThanOrEqual(2);
    expect(report.scenarios.leaseExpiredMidRun).toBe(1);
    if (CHAOS_CONFIGURATIONS[configuration].drainFanOut)
      expect(report.scenarios.fanOutGroups).toBeGreaterThan(0);
    else expect(report.scenarios.fanOutGroups).toBe(0);
  });

  it('felt the faults: the servers answered 429, 5xx and nothing, the clients retried, reads took its API', () => {
    expect(report.proxyAnswers['429']).toBeGreaterThan(0);
    expect(report.proxyAnswers['5xx']).toBeGreaterThan(0);
    expect(report.proxyAnswers.none).toBeGreaterThan(0);
    expect(report.sinkAnswers['4xx']).toBeGreaterThan(0);
    expect(report.sinkAnswers['5xx']).toBeGreaterThan(0);
    expect(report.awsSinkAnswers['5xx']).toBeGreaterThan(0);
    expect(report.awsSinkAnswers.none).toBeGreaterThan(0);
    expect(report.clientStats.retries).toBeGreaterThan(0);
    // Other runs met leases held by the killed run or by a racing run.
    expect(report.partitionOutcomes.busy).toBeGreaterThan(0);
    expect(Object.keys(report.proxyReads), table).toEqual([expectedReadApi(configuration)]);
  });

  it('prints a row per path and sink, and the totals: lost, duplicated, DLQd, reordered', () => {
    expect(table).toContain(`configuration ${configuration}`);
    expect(table).toContain(`${report.eventsIn} events`);
    for (const pipeline of PIPELINES) expect(table).toMatch(new RegExp(`\\n {2}${pipeline.name} +\\d`));
    for (const kind of FAULT_KINDS) expect(table).toContain(kind);
    for (const label of ['lost', 'duplicated in Kafka', 'duplicated at the sink', "DLQ'd", 'reordered']) {
      expect(table).toMatch(new RegExp(`\\n {2}${label} +\\d`));
    }
  });
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
      { topic: 't', partition: 0, offset: 0, status: 200, body: value('w-0'), ordered: true },
      { topic: 't', partition: 0, offset: 1, status: 200, body: value('q-0'), ordered: true },
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

  it('checks order per key when the drains order by key: other keys may pass, one key may not', () => {
    const o = base();
    const keyed = (keys: readonly (string | null)[]): Observations['kafka'] => [
      {
        topic: 't',
        partition: 0,
        records: (o.kafka[0]?.records ?? []).map((record, index) => ({
          ...record,
          key: keys[index] === null ? null : Buffer.from(keys[index] ?? ''),
        })),
      },
    ];
    const reversed = [...o.sink].reverse();

    const otherKeys = reconcile({ ...o, kafka: keyed(['a', 'b']), sink: reversed, drainOrdering: 'key' });
    expect(otherKeys).toMatchObject({ reordered: 0, overtakenAcrossKeys: 1, lost: 0 });
    const keyLess = reconcile({ ...o, kafka: keyed([null, null]), sink: reversed, drainOrdering: 'key' });
    expect(keyLess).toMatchObject({ reordered: 0, overtakenAcrossKeys: 1 });
    const sameKey = reconcile({ ...o, kafka: keyed(['a', 'a']), sink: reversed, drainOrdering: 'key' });
    expect(sameKey.reorderedAt).toEqual(['t/0/0 after 1']);
    expect(sameKey.overtakenAcrossKeys).toBe(0);
  });

  it('holds a dead-lettered record to no order at a sink that keeps no record of its refusals (a queue)', () => {
    const o = base();
    const queued = [...o.sink].reverse().map((seen) => ({ ...seen, sinkKeepsRefusals: false }));
    const deadLetters = [{ topic: 't', partition: 0, offset: 0 }];

    expect(reconcile({ ...o, sink: queued, deadLetters })).toMatchObject({ reordered: 0, lost: 0 });
    expect(reconcile({ ...o, sink: queued }).reorderedAt).toEqual(['t/0/0 after 1']);
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

describe('reconcile: group order in Kafka, unordered sinks, idempotent resends', () => {
  const value = (id: string) => Buffer.from(JSON.stringify({ id }));
  const fifo = (order: readonly string[]): Observations => ({
    inputs: ['f-0', 'f-1', 'f-2'].map((id, seq) => ({
      id,
      source: 'queue-fifo',
      topic: 'fifo',
      acknowledged: true,
      attempts: 1,
      group: { id: 'g', seq },
    })),
    kafka: [
      { topic: 'fifo', partition: 0, records: order.map((id, offset) => ({ offset, value: value(id) })) },
    ],
    sink: [],
    deadLetters: [],
    checkpoints: [],
  });

  it('counts a group message whose first copy follows a later one, and not a later copy of an earlier one', () => {
    // Prepare: f-1 resent alone after f-2 was written (first copies 0, 2, 1), then a harmless repeat of f-0.
    const broken = fifo(['f-0', 'f-2', 'f-1', 'f-0']);
    const kept = fifo(['f-0', 'f-1', 'f-2', 'f-1', 'f-2']);

    // Act
    const r = reconcile(broken);

    // Assess
    expect(r.reorderedInKafkaAt).toEqual(['f-1 (group g #1) after #2']);
    expect(r.reordered).toBe(1);
    expect(r.byTopic.fifo).toMatchObject({ reorderedInKafka: 1, duplicatedInKafka: 1 });
    expect(reconcile(kept).reordered).toBe(0);
  });

  it('counts reorders at a sink that promises no order apart, as no failure', () => {
    const o = fifo(['f-0', 'f-1', 'f-2']);
    const at = (offset: number) => ({
      topic: 'fifo',
      partition: 0,
      offset,
      status: 200,
      body: value(`f-${offset}`),
      ordered: false,
    });
    const r = reconcile({
      ...o,
      sink: [at(1), at(0), at(2)],
      checkpoints: [{ topic: 'fifo', partition: 0, nextOffset: 3 }],
    });
    expect(r).toMatchObject({ reordered: 0, reorderedUnpromised: 1, lost: 0, delivered: 3 });
    expect(r.byTopic.fifo?.reorderedUnpromised).toBe(1);
  });

  it.each([
    {
      name: 'a copy produced after the first 2xx',
      copies: 2,
      answer: { status: 202, replayed: true },
      broken: 1,
    },
    {
      name: 'a resend answered as a new record',
      copies: 1,
      answer: { status: 202, replayed: false },
      broken: 1,
    },
    {
      name: 'a replay naming another offset',
      copies: 1,
      answer: { status: 202, replayed: true, ack: { partition: 0, offset: 5 } },
      broken: 1,
    },
    { name: 'a faithful replay', copies: 1, answer: { status: 202, replayed: true }, broken: 0 },
    { name: 'a resend refused with 503', copies: 1, answer: { status: 503, replayed: false }, broken: 0 },
  ])('idempotent resends: $name', ({ copies, answer, broken }) => {
    const ack = { partition: 0, offset: 0 };
    const r = reconcile({
      inputs: [
        {
          id: 'wi-0',
          source: 'webhook-idempotent',
          topic: 'idem',
          acknowledged: true,
          ack,
          attempts: 1,
          resent: { copiesBefore: 1, answers: [{ ack, ...answer }] },
        },
      ],
      kafka: [
        {
          topic: 'idem',
          partition: 0,
          records: Array.from({ length: copies }, (_, offset) => ({ offset, value: value('wi-0') })),
        },
      ],
      sink: [],
      deadLetters: [],
      checkpoints: [],
    });
    expect(r.idempotencyViolations).toHaveLength(broken);
    expect(r.byTopic.idem?.idempotencyBroken).toBe(broken);
  });
});

describe('simulated SQS queues (what comes back after batchItemFailures)', () => {
  const messages = (groups: number, each: number): QueuedMessage[] =>
    Array.from({ length: groups * each }, (_, n) => ({
      id: `m-${n}`,
      group: { id: `g-${n % groups}`, seq: Math.floor(n / groups) },
      receives: 0,
    }));

  it('FIFO: a group is locked while in flight, and its failed messages come back first, in order', () => {
    // Prepare
    const queue = createFifoQueue(messages(1, 6), 5);

    // Act
    const first = queue.take(10);
    const whileLocked = queue.take(10);
    queue.settle(first, new Set(['m-1', 'm-2', 'm-3']));
    const second = queue.take(10);

    // Assess
    expect(first.map((m) => m.id)).toEqual(['m-0', 'm-1', 'm-2', 'm-3']);
    expect(whileLocked).toEqual([]);
    expect(second.map((m) => m.id)).toEqual(['m-1', 'm-2', 'm-3', 'm-4']);
    expect(second.map((m) => m.receives)).toEqual([2, 2, 2, 1]);
    expect(queue.outstanding()).toBe(5);
  });

  it('FIFO: an unreported message is deleted even after a failed one of its group, as SQS does', () => {
    const queue = createFifoQueue(messages(1, 3), 5);
    const batch = queue.take(10);
    const left = queue.settle(batch, new Set(['m-0']));
    expect(left.map(({ message, acknowledged }) => [message.id, acknowledged])).toEqual([
      ['m-1', true],
      ['m-2', true],
    ]);
    expect(queue.take(10).map((m) => m.id)).toEqual(['m-0']);
  });

  it('FIFO: batches mix groups; after maxReceives a message leaves unacknowledged', () => {
    const queue = createFifoQueue(messages(3, 2), 1);
    const batch = queue.take(10);
    expect(new Set(batch.map((m) => m.group?.id))).toEqual(new Set(['g-0', 'g-1', 'g-2']));
    const left = queue.settle(batch, new Set(['m-0']));
    expect(left.find(({ message }) => message.id === 'm-0')?.acknowledged).toBe(false);
    expect(queue.outstanding()).toBe(0);
  });

  it('standard: a failed message comes back behind the others', () => {
    const queue = createStandardQueue(messages(1, 3), 5);
    queue.settle(queue.take(1), new Set(['m-0']));
    expect(queue.take(10).map((m) => m.id)).toEqual(['m-1', 'm-2', 'm-0']);
  });
});

describe('sink observations', () => {
  it('reads an EventBridge record value back as the exact bytes embedded in Detail', () => {
    // Big numbers would be rounded by a JSON round trip: the bytes must come back as they were.
    const text = '{"id":"e-1","n":9007199254740993}';
    const [observed] = fromPutEvents([
      {
        eventId: 'x',
        Detail: `{"topic":"events","partition":1,"offset":7,"key":null,"value":${text}}`,
      },
    ]);
    expect(observed).toMatchObject({ topic: 'events', partition: 1, offset: 7, ordered: false });
    expect(observed?.body.toString('utf8')).toBe(text);
  });
});
