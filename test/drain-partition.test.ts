import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import type { PartitionKey } from '../lib/drain/checkpoint.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainSettings } from '../lib/drain/config.js';
import { drainPartition, type PartitionReport } from '../lib/drain/drain-partition.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import type { DeadLetterBody } from '../lib/sinks/index.js';
import { createDeadLetterQueue, createHttpSink } from '../lib/sinks/index.js';
import type { DeadLetterQueue, Sink } from '../lib/sinks/types.js';
import {
  dlqConfig,
  drainSettings,
  httpSinkConfig,
  records,
  type ScriptedSink,
  type SinkAnswer,
  type SinkRequest,
  startScriptedSink,
} from './fixtures/drain.js';
import { FAKE_AWS, type FakeSqs, startFakeSqs } from './helpers/aws-fakes.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { clientOptionsFor, READ_DIALECTS } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

const LEASE_MS = 60_000;
const BUDGET_MS = 15_000;
const CLEANUP_MS = 2_000;

/**
 * The drain loop end to end, over real sockets: the local Kafka REST server and the real client, the
 * checkpoint table in dynalite, the real HTTP sink delivering to a scripted local endpoint, and the real
 * DLQ sender talking to a local SQS stand-in. Every test asserts what the sink received, in order, and
 * the checkpoint afterwards.
 */
describe.each(READ_DIALECTS)('drainPartition (Kafka REST server + dynalite + HTTP sink), $name', (c) => {
  let dynamo: LocalDynamo;
  let kafkaServer: KafkaRestServer;
  let kafka: KafkaRestClient;
  let closers: (() => Promise<void>)[];
  let skewMs: number;
  let drainCount = 0;
  let drain: DrainSettings;
  let key: PartitionKey;

  /** The dialect reads the log end in one request (`…/offsets`), so a drain reports its lag. */
  const EXACT_BOUNDS = c.dialect === 'v2' && c.flavor !== 'redpanda';

  /** Real time plus a skew the test moves forward, so lease expiry needs no waiting. */
  const now = () => Date.now() + skewMs;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    skewMs = 0;
    closers = [];
    kafkaServer = await startKafkaRestServer({ topics: { orders: 1 }, flavor: c.flavor });
    kafka = createKafkaRest({
      baseUrl: kafkaServer.url,
      allowHttp: true,
      auth: noAuth(),
      maxAttempts: 2,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      ...clientOptionsFor(c),
    });
    // A fresh drain id per test: the checkpoint table is shared by the file.
    drainCount += 1;
    drain = drainSettings({ id: `drain-${drainCount}` });
    key = { drainId: drain.id, topic: 'orders', partition: 0 };
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    await kafka.close();
    await kafkaServer.close();
  });

  interface Harness {
    readonly sink: ScriptedSink;
    readonly httpSink: Sink;
    readonly store: CheckpointStore;
    readonly log: ReturnType<typeof createMemoryLog>;
    run(options?: {
      owner?: string;
      drain?: Partial<DrainSettings>;
      deadLetters?: DeadLetterQueue;
      deadlineMs?: number;
      /** The window after the deadline for cleanup (default CLEANUP_MS). */
      cleanupMs?: number;
      store?: CheckpointStore;
      now?: () => number;
      sleep?: (ms: number) => Promise<void>;
    }): Promise<PartitionReport>;
  }

  const harness = async (
    respond?: (request: SinkRequest, index: number) => SinkAnswer | Promise<SinkAnswer>,
    options: { sink?: Record<string, unknown>; now?: () => number } = {},
  ): Promise<Harness> => {
    const clock = options.now ?? now;
    const sink = await startScriptedSink(respond);
    closers.push(() => sink.close());
    const log = createMemoryLog();
    const aws = createAwsClients({ ...FAKE_AWS });
    closers.push(async () => aws.destroy());
    const httpSink = createHttpSink(httpSinkConfig(sink.url, options.sink), { aws, log, now: clock });
    closers.push(() => httpSink.close());
    const store = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: LEASE_MS,
      now: clock,
    });
    return {
      sink,
      httpSink,
      store,
      log,
      run: (run = {}) => {
        const runClock = run.now ?? clock;
        return drainPartition(
          {
            kafka,
            checkpoints: run.store ?? store,
            log,
            now: runClock,
            sleep: run.sleep ?? ((ms) => delay(ms)),
            random: () => 0.5,
          },
          {
            drain: { ...drain, ...run.drain },
            partition: 0,
            sink: httpSink,
            deadLetters: run.deadLetters,
            owner: run.owner ?? 'run-a',
            deadlineMs: run.deadlineMs ?? runClock() + BUDGET_MS,
            cleanupDeadlineMs: (run.deadlineMs ?? runClock() + BUDGET_MS) + (run.cleanupMs ?? CLEANUP_MS),
            leaseMs: LEASE_MS,
          },
        );
      },
    };
  };

  const values = (count: number, from = 0) =>
    records(count, 'v', from).map((record) => record.value.toString());
  const append = (count: number, from = 0) => kafkaServer.append('orders', 0, records(count, 'v', from));

  it('delivers every record in order in batches, commits, releases, and reports caught-up', async () => {
    append(10);
    const h = await harness();

    const report = await h.run();

    expect(h.sink.accepted()).toEqual(values(10));
    expect(h.sink.requests.map((request) => request.headers['idempotency-key'])).toEqual(
      // The record ids: the drain's namespace, topic, partition, the topic's epoch (0), offset.
      Array.from({ length: 10 }, (_, offset) => `test/orders/0/0/${offset}`),
    );
    expect(report).toMatchObject({
      outcome: 'caught-up',
      fromOffset: undefined,
      nextOffset: 10,
      delivered: 10,
      lag: 0,
    });
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 10, lease: undefined, lastError: undefined });
    if (c.dialect === 'v1') {
      const fetchOffsets = kafkaServer.requests
        .filter((request) => request.path.endsWith('/messages'))
        .map((request) => Number(request.query.offset));
      expect(fetchOffsets).toEqual([0, 4, 8, 10]);
    } else if (c.flavor === 'redpanda') {
      // Redpanda's simple consume is bounded by bytes: the first read brings the whole log, which the next
      // fetches take from; the last read, at the end, answers [].
      const readOffsets = kafkaServer.requests
        .filter((request) => request.path === '/topics/orders/partitions/0/records')
        .map((request) => Number(request.query.offset));
      expect(readOffsets).toEqual([0, 10]);
      expect(kafkaServer.requests.filter((request) => request.path.startsWith('/consumers'))).toEqual([]);
    } else {
      // v2 reads through a consumer instance (protocol doc §6): one seek, then each batch reads on from
      // where the last one ended, so there is no offset per fetch to check, only that it never seeks back.
      const seekOffsets = kafkaServer.requests
        .filter((request) => request.path.endsWith('/positions'))
        .map((request) => (JSON.parse(request.body) as { offsets: { offset: number }[] }).offsets[0]?.offset);
      expect(seekOffsets).toEqual([0]);
    }
  });

  it('is caught up on an empty partition, then delivers only what arrives later', async () => {
    const h = await harness();

    const first = await h.run();
    append(3);
    const second = await h.run();

    expect(first).toMatchObject({ outcome: 'caught-up', delivered: 0, nextOffset: 0 });
    expect(second).toMatchObject({ outcome: 'caught-up', fromOffset: 0, delivered: 3, nextOffset: 3 });
    expect(h.sink.accepted()).toEqual(values(3));
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 3, lease: undefined });
  });

  it('starts a new drain at the log start when retention already moved it (no reset, nothing counted)', async () => {
    append(6);
    kafkaServer.truncateBefore('orders', 0, 4);
    const h = await harness();

    const report = await h.run({ drain: { resetPolicy: 'fail' } });

    expect(h.sink.accepted()).toEqual(values(2, 4));
    expect(report).toMatchObject({ outcome: 'caught-up', skipped: 0, nextOffset: 6 });
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 6, skippedRecords: 0, lastError: undefined });
  });

  it('starts a new drain at the log end with startFrom latest, and persists that start', async () => {
    append(5);
    const h = await harness();

    const first = await h.run({ drain: { startFrom: 'latest' } });
    append(2, 5);
    const second = await h.run({ drain: { startFrom: 'latest' } });

    expect(first).toMatchObject({ outcome: 'caught-up', delivered: 0, nextOffset: 5 });
    expect(second).toMatchObject({ outcome: 'caught-up', delivered: 2, nextOffset: 7 });
    expect(h.sink.accepted()).toEqual(values(2, 5));
    expect((await h.store.get(key))?.nextOffset).toBe(7);
  });

  it('lets one of two racing runs drain the partition; no record is delivered twice', async () => {
    append(10);
    const h = await harness();

    const reports = await Promise.all([h.run({ owner: 'run-a' }), h.run({ owner: 'run-b' })]);

    expect(reports.map((report) => report.outcome).sort()).toEqual(['busy', 'caught-up']);
    expect(h.sink.accepted()).toEqual(values(10));
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 10, lease: undefined });
  });

  it('waits for a crashed holder’s lease to expire, then takes the partition over', async () => {
    append(6);
    const h = await harness();
    await h.store.setOffset(key, 2);
    const crashed = await h.store.acquire(key, 'crashed-run');

    const whileHeld = await h.run({ owner: 'run-b' });
    skewMs += LEASE_MS;
    const afterExpiry = await h.run({ owner: 'run-b' });

    expect(crashed.acquired).toBe(true);
    expect(whileHeld).toMatchObject({ outcome: 'busy', delivered: 0 });
    expect(afterExpiry).toMatchObject({ outcome: 'caught-up', fromOffset: 2, delivered: 4, nextOffset: 6 });
    expect(h.sink.accepted()).toEqual(values(4, 2));
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 6, lease: undefined });
  });

  it('stops a run that lost its lease mid-batch before it forwards anything more', async () => {
    append(10);
    let runB: Promise<PartitionReport> | undefined;
    const h = await harness(async (_request, index) => {
      if (index === 0) {
        // Run A is stuck on its first record past its lease; run B takes over and drains everything.
        skewMs += LEASE_MS + 1;
        runB = h.run({ owner: 'run-b' });
        await runB;
      }
      return {};
    });

    // A budget that outlasts the clock's jump, so A still tries its commit (and its condition fails).
    const a = await h.run({ owner: 'run-a', deadlineMs: now() + 2 * LEASE_MS });
    const b = await runB;

    expect(a).toMatchObject({ outcome: 'lease-lost', delivered: 1, nextOffset: undefined });
    expect(a.error?.code).toBe('ERR_LEASE_LOST');
    expect(b).toMatchObject({ outcome: 'caught-up', delivered: 10, nextOffset: 10 });
    // A's first record, then B's whole run: A forwarded nothing after losing the lease.
    expect(h.sink.accepted()).toEqual(['v0', ...values(10)]);
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 10, lease: undefined });
    // Both runs, the one that lost its lease included, deleted the consumer instances they made (v2).
    expect(kafkaServer.consumerInstances()).toBe(0);
  });

  it('retries sink 5xx and slow or timed-out answers in order, and commits everything', async () => {
    append(8);
    let slowedOnce = false;
    let answerLate = () => {};
    const late = new Promise<void>((resolve) => {
      answerLate = resolve;
    });
    const h = await harness(
      async (request, index) => {
        if (index === 1 || index === 2) return { status: 503, headers: { 'retry-after': '0' } };
        if (request.offset === 4 && !slowedOnce) {
          slowedOnce = true;
          await late; // answered only after the run: past the sink's timeout, so retried
        }
        if (request.offset === 6) await delay(20); // slow but in time
        return {};
      },
      // Wide enough for every answer that is meant to arrive, on a loaded machine too (100 ms was not).
      { sink: { timeoutMs: 1_000 } },
    );

    const report = await h.run();
    answerLate();

    expect(h.sink.requests.map((request) => [request.offset, request.status])).toEqual([
      [0, 200],
      [1, 503],
      [1, 503],
      [1, 200],
      [2, 200],
      [3, 200],
      [4, null], // arrived, but the client gave up waiting: the retry may duplicate it (at-least-once)
      [4, 200],
      [5, 200],
      [6, 200],
      [7, 200],
    ]);
    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 8 });
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 8, lastError: undefined });
  });

  it('waits between attempts by full-jitter backoff, or longer when the sink says Retry-After', async () => {
    append(3);
    const h = await harness((request, index) => {
      if (request.offset !== 1 || index > 3) return {};
      return index === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 503 };
    });
    const sleeps: number[] = [];

    const report = await h.run({
      drain: { retryBaseMs: 100, retryMaxMs: 150, maxAttempts: 5 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    // random() = 0.5: attempt 1 → max(Retry-After 1000, 0.5 × 100); 2 → 0.5 × 200 capped at 150.
    expect(sleeps).toEqual([1_000, 75, 75]);
    expect(h.sink.requests.map((request) => [request.offset, request.status])).toEqual([
      [0, 200],
      [1, 503],
      [1, 503],
      [1, 503],
      [1, 200],
      [2, 200],
    ]);
    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 3 });
    expect((await h.store.get(key))?.nextOffset).toBe(3);
  });

  describe('poison records', () => {
    let sqs: FakeSqs;
    let deadLetters: DeadLetterQueue;

    beforeEach(async () => {
      sqs = await startFakeSqs();
      const aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: sqs.endpoint });
      deadLetters = createDeadLetterQueue(dlqConfig(sqs.queueUrl('drain-dlq')), {
        aws,
        log: createMemoryLog(),
        now,
      });
      closers.push(async () => {
        aws.destroy();
        await sqs.close();
      });
    });

    const letters = () => sqs.messages.map((message) => JSON.parse(message.MessageBody) as DeadLetterBody);

    it('sends a permanently rejected record to the DLQ at once and moves the checkpoint past it', async () => {
      append(6);
      const h = await harness((request) => (request.offset === 2 ? { status: 400 } : {}));

      const report = await h.run({ deadLetters });

      expect(h.sink.requests.map((request) => [request.offset, request.status])).toEqual([
        [0, 200],
        [1, 200],
        [2, 400],
        [3, 200],
        [4, 200],
        [5, 200],
      ]);
      expect(letters()).toEqual([
        expect.objectContaining({
          drainId: drain.id,
          id: 'test/orders/0/0/2',
          topic: 'orders',
          partition: 0,
          offset: 2,
          key: Buffer.from('k2').toString('base64'),
          value: Buffer.from('v2').toString('base64'),
          attempts: 1,
          lastError: expect.objectContaining({ code: 'ERR_SINK_REJECTED' }),
        }),
      ]);
      expect(report).toMatchObject({ outcome: 'caught-up', delivered: 5, deadLettered: 1, nextOffset: 6 });
      expect(await h.store.get(key)).toMatchObject({ nextOffset: 6, lastError: undefined });
    });

    it('sends a record that failed maxAttempts times to the DLQ', async () => {
      append(4);
      const h = await harness((request) => (request.offset === 1 ? { status: 503 } : {}));

      const report = await h.run({ deadLetters });

      expect(h.sink.requests.map((request) => [request.offset, request.status])).toEqual([
        [0, 200],
        [1, 503],
        [1, 503],
        [1, 503],
        [2, 200],
        [3, 200],
      ]);
      expect(letters()).toEqual([expect.objectContaining({ offset: 1, attempts: 3 })]);
      expect(report).toMatchObject({ outcome: 'caught-up', deadLettered: 1, nextOffset: 4 });
      expect((await h.store.get(key))?.nextOffset).toBe(4);
    });

    it('keeps the checkpoint at the record when the DLQ itself fails', async () => {
      append(4);
      sqs.failEntries(() => ({ code: 'InternalError', senderFault: false }));
      const h = await harness((request) => (request.offset === 1 ? { status: 400 } : {}));

      const report = await h.run({ deadLetters });

      expect(h.sink.acceptedOffsets()).toEqual([0]);
      expect(report).toMatchObject({ outcome: 'failed', nextOffset: 1, error: { offset: 1 } });
      expect(await h.store.get(key)).toMatchObject({ nextOffset: 1, lastError: { offset: 1 } });
      expect(kafkaServer.consumerInstances()).toBe(0);
    });

    it('without a DLQ stops the partition at the record, records and logs the error, never skips', async () => {
      append(5);
      let rejecting = true;
      const h = await harness((request) => (rejecting && request.offset === 2 ? { status: 400 } : {}));

      const first = await h.run();
      const instancesAfterStop = kafkaServer.consumerInstances();
      const again = await h.run();
      const stoppedAt = await h.store.get(key);
      rejecting = false;
      const fixed = await h.run();

      expect(first).toMatchObject({
        outcome: 'stopped',
        nextOffset: 2,
        error: { code: 'ERR_SINK_REJECTED', offset: 2 },
      });
      expect(again).toMatchObject({ outcome: 'stopped', fromOffset: 2, nextOffset: 2, delivered: 0 });
      expect(stoppedAt).toMatchObject({ nextOffset: 2, lastError: { code: 'ERR_SINK_REJECTED', offset: 2 } });
      // A stopped run leaves no consumer instance behind on the proxy either (v2).
      expect(instancesAfterStop).toBe(0);
      expect(h.log.lines).toContainEqual(
        expect.objectContaining({ level: 'error', message: 'partition stopped at a poison record (no DLQ)' }),
      );
      expect(h.sink.requests.map((request) => [request.offset, request.status])).toEqual([
        [0, 200],
        [1, 200],
        [2, 400],
        [2, 400],
        [2, 200],
        [3, 200],
        [4, 200],
      ]);
      expect(fixed).toMatchObject({ outcome: 'caught-up', nextOffset: 5 });
      expect(await h.store.get(key)).toMatchObject({ nextOffset: 5, lastError: undefined });
    });
  });

  it('redelivers from the checkpoint after a crash between delivery and commit (duplicates, no loss)', async () => {
    append(6);
    const h = await harness();
    await h.store.setOffset(key, 0);
    // The process dies right after the sink acknowledged the first batch: no commit, no release.
    const crashing: CheckpointStore = {
      ...h.store,
      commit: async () => {
        throw new Error('process crashed');
      },
      release: async () => false,
    };

    const crashed = await h.run({ owner: 'run-a', store: crashing });
    skewMs += LEASE_MS;
    const recovered = await h.run({ owner: 'run-b' });

    expect(crashed.outcome).toBe('failed');
    expect(recovered).toMatchObject({ outcome: 'caught-up', fromOffset: 0, delivered: 6, nextOffset: 6 });
    expect(h.sink.accepted()).toEqual([...values(4), ...values(6)]);
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 6, lease: undefined });
  });

  describe.each([
    {
      policy: 'earliest',
      delivered: values(4, 6),
      nextOffset: 10,
      skipped: 3,
      range: [3, 6],
      outcome: 'caught-up',
    },
    { policy: 'latest', delivered: [], nextOffset: 10, skipped: 7, range: [3, 10], outcome: 'caught-up' },
    { policy: 'fail', delivered: [], nextOffset: 3, skipped: 0, range: undefined, outcome: 'failed' },
  ] as const)('checkpoint below the log start (retention), reset policy $policy', (row) => {
    it('applies the policy and logs the skipped range', async () => {
      append(10);
      kafkaServer.truncateBefore('orders', 0, 6);
      const h = await harness();
      await h.store.setOffset(key, 3);

      const report = await h.run({ drain: { resetPolicy: row.policy } });

      expect(h.sink.accepted()).toEqual(row.delivered);
      expect(report).toMatchObject({
        outcome: row.outcome,
        skipped: row.skipped,
        nextOffset: row.nextOffset,
      });
      const checkpoint = await h.store.get(key);
      expect(checkpoint).toMatchObject({ nextOffset: row.nextOffset, skippedRecords: row.skipped });
      expect(kafkaServer.consumerInstances()).toBe(0);
      if (row.range === undefined) {
        expect(checkpoint?.lastError).toMatchObject({ code: 'ERR_OFFSET_OUT_OF_RANGE' });
      } else {
        expect(h.log.lines).toContainEqual(
          expect.objectContaining({
            level: 'warn',
            message: 'checkpoint outside the log: offset reset',
            attributes: expect.objectContaining({ skipped: row.skipped, skippedRange: row.range }),
          }),
        );
      }
    });
  });

  it('reads a re-created topic from its start when the checkpoint is above the new log end (earliest)', async () => {
    append(10);
    kafkaServer.deleteTopic('orders');
    kafkaServer.createTopic('orders', 1);
    append(3, 100);
    const h = await harness();
    await h.store.setOffset(key, 10);

    const report = await h.run();

    expect(h.sink.accepted()).toEqual(values(3, 100));
    expect(h.sink.acceptedOffsets()).toEqual([0, 1, 2]);
    expect(report).toMatchObject({ outcome: 'caught-up', skipped: 0, nextOffset: 3 });
    // A new incarnation: epoch 1, stored with the reset, so the new offsets 0-2 get ids of their own.
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 3, skippedRecords: 0, epoch: 1 });
    expect(h.sink.requests.map((request) => request.headers['idempotency-key'])).toEqual([
      'test/orders/0/1/0',
      'test/orders/0/1/1',
      'test/orders/0/1/2',
    ]);
  });

  it('keeps the epoch when retention, not a re-created topic, moved the log start', async () => {
    append(6);
    kafkaServer.truncateBefore('orders', 0, 4);
    const h = await harness();
    await h.store.setOffset(key, 2);

    await h.run();

    expect(await h.store.get(key)).toMatchObject({ nextOffset: 6, epoch: 0 });
    expect(h.sink.requests.map((request) => request.headers['idempotency-key'])).toEqual([
      'test/orders/0/0/4',
      'test/orders/0/0/5',
    ]);
  });

  it('stops at the time budget, committing what was delivered', async () => {
    append(10);
    // A clock that moves only when the sink answers: one second per record, deterministic.
    let fakeNow = Date.now();
    const clock = () => fakeNow;
    const h = await harness(
      () => {
        fakeNow += 1_000;
        return {};
      },
      { now: clock },
    );

    const report = await h.run({ drain: { batchSize: 2 }, deadlineMs: fakeNow + 2_500 });

    expect(h.sink.accepted()).toEqual(values(3));
    expect(report).toMatchObject({ outcome: 'deadline', delivered: 3, nextOffset: 3 });
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 3, lease: undefined });
  });

  it('deletes its consumer instance before a lag lookup that hangs, and gives up on the figure alone', async () => {
    append(10);
    // Once the run has started, the proxy's log bounds answer only after the whole cleanup window. The
    // lag lookup gives up at half the window: the other half (2 s) is the release's, wide enough for a
    // loaded CI machine (1 s was not).
    const cleanupMs = 4_000;
    const h = await harness(async (_request, index) => {
      if (index === 0) {
        kafkaServer.inject({
          kind: 'delay',
          ms: 2 * cleanupMs,
          times: 10,
          match: { method: 'GET', path: '/topics/orders/partitions/0/offsets' },
        });
      }
      await delay(100);
      return {};
    });

    const report = await h.run({ drain: { batchSize: 2 }, deadlineMs: Date.now() + 600, cleanupMs });

    expect(report.outcome).toBe('deadline');
    expect(report.lag).toBeUndefined();
    expect(kafkaServer.consumerInstances()).toBe(0);
    expect(h.log.lines.map((line) => line.message)).not.toContain(
      'lease release failed; it expires on its own',
    );
    expect(await h.store.get(key)).toMatchObject({ nextOffset: report.nextOffset, lease: undefined });
    if (EXACT_BOUNDS) {
      expect(h.log.lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: 'partition lag unknown: the log bounds could not be read',
        }),
      );
    }
  });

  it('with commitIntervalMs commits at most that often, and always when the run ends', async () => {
    append(21);
    let fakeNow = Date.now();
    const clock = () => fakeNow;
    const h = await harness(
      () => {
        fakeNow += 100;
        return {};
      },
      { now: clock },
    );
    const committed: number[] = [];
    const counting: CheckpointStore = {
      ...h.store,
      commit: (lease, changes) => {
        committed.push(changes.nextOffset);
        return h.store.commit(lease, changes);
      },
    };

    const report = await h.run({ drain: { batchSize: 2, commitIntervalMs: 1_000 }, store: counting });

    // 100 ms per record: a commit once a second of deliveries (10 records), then the rest at the end.
    expect(committed).toEqual([10, 20, 21]);
    expect(h.sink.accepted()).toEqual(values(21));
    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 21 });
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 21, lease: undefined });
  });

  /** Resolves once the sink has received `offset`, or after 5 s (the test's assertions then fail). */
  const sinkReaches = (h: Harness, offset: number): Promise<unknown> =>
    Promise.race([
      (async () => {
        while (!h.sink.requests.some((request) => request.offset >= offset)) await delay(2);
      })(),
      delay(5_000),
    ]);

  it('writes each commit while the next batch is delivered, never naming a record the sink has not acknowledged', async () => {
    append(12);
    const h = await harness();
    const events: string[] = [];
    const pipelined: CheckpointStore = {
      ...h.store,
      commit: async (lease, changes) => {
        const delivered = h.sink.acceptedOffsets();
        events.push(`commit ${changes.nextOffset} after ${delivered.length} delivered`);
        // Held until the next batch is out: a commit that blocked delivery would wait the full 5 s.
        if (changes.nextOffset < 12) await sinkReaches(h, changes.nextOffset + 3);
        const renewed = await h.store.commit(lease, changes);
        events.push(`answered ${changes.nextOffset} with ${h.sink.acceptedOffsets().length} delivered`);
        return renewed;
      },
    };

    const report = await h.run({ drain: { batchSize: 4 }, store: pipelined });

    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 12, delivered: 12 });
    expect(h.sink.accepted()).toEqual(values(12));
    // Each commit named only delivered records (the count before it), and batch N+1 reached the sink
    // before commit N answered.
    expect(events).toEqual([
      'commit 4 after 4 delivered',
      'answered 4 with 8 delivered',
      'commit 8 after 8 delivered',
      'answered 8 with 12 delivered',
      'commit 12 after 12 delivered',
      'answered 12 with 12 delivered',
    ]);
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 12, lease: undefined });
  });

  it('stores a new partition once: the pipelined commit that carries its start is not written again at the log end', async () => {
    append(3);
    const h = await harness();
    const commits: number[] = [];
    const slowCommits: CheckpointStore = {
      ...h.store,
      commit: async (lease, changes) => {
        commits.push(changes.nextOffset);
        // Still on its way when the empty read says the log end was reached.
        await delay(100);
        return h.store.commit(lease, changes);
      },
    };

    const report = await h.run({ store: slowCommits });

    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 3, delivered: 3 });
    expect(commits).toEqual([3]);
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 3, lease: undefined });
  });

  it.each([
    { ordering: 'partition', maxInFlight: 1 },
    { ordering: 'key', maxInFlight: 2 },
  ] as const)(
    'stops before its next sink call once a pipelined commit lost the lease ($ordering order); what went out meanwhile is redelivered, not skipped',
    async ({ ordering, maxInFlight }) => {
      append(12);
      // Offset 5 fails once, so its retry comes after the refusal; slow answers keep other calls on their way.
      // By key, its lane waits out a Retry-After (the other lane's call ending wakes the loop before the
      // gated sleep below would).
      let failedOnce = false;
      const h = await harness(async (request) => {
        if (request.offset === 5 && !failedOnce) {
          failedOnce = true;
          return { status: 503, headers: ordering === 'key' ? { 'retry-after': '1' } : {} };
        }
        if (request.offset >= 6) await delay(50);
        return {};
      });
      let deliveredBeforeIt = 0;
      let sentWhenRefused = Number.NaN;
      let refuse = () => {};
      const refused = new Promise<void>((resolve) => {
        refuse = resolve;
      });
      const overtaken: CheckpointStore = {
        ...h.store,
        commit: async (lease, changes) => {
          if (changes.nextOffset === 4) {
            deliveredBeforeIt = h.sink.requests.length;
            await sinkReaches(h, 5);
            // An operator replays from offset 2 while this commit is on its way: its condition fails.
            await h.store.setOffset(key, 2);
          }
          try {
            return await h.store.commit(lease, changes);
          } catch (error) {
            sentWhenRefused = h.sink.requests.length;
            refuse();
            throw error;
          }
        },
      };

      const a = await h.run({
        drain: { batchSize: 4, ordering, maxInFlight },
        store: overtaken,
        // The retry's backoff ends only after the refusal, whatever the machine's pace.
        sleep: async (ms) => {
          await Promise.race([refused, delay(5_000)]);
          await delay(ms);
        },
      });

      expect(a).toMatchObject({ outcome: 'lease-lost' });
      expect(a.error?.code).toBe('ERR_LEASE_LOST');
      const sentMeanwhile = h.sink.requests.slice(deliveredBeforeIt).map((request) => request.offset);
      // All at or past the offset the losing commit named; in partition order, at most the next batch (by
      // key, lanes run on into later batches, so the calls started before the refusal).
      expect(sentMeanwhile.length).toBeGreaterThan(0);
      expect(sentMeanwhile.every((offset) => offset >= 4)).toBe(true);
      if (ordering === 'partition') expect(sentMeanwhile.every((offset) => offset < 8)).toBe(true);
      // After the refusal no call starts (the retry of 5 never goes); only calls already on their way end.
      const sentAfterRefusal = h.sink.requests.slice(sentWhenRefused).map((request) => request.offset);
      expect(sentAfterRefusal).not.toContain(5);
      if (ordering === 'partition') expect(sentAfterRefusal).toEqual([]);
      expect(await h.store.get(key)).toMatchObject({ nextOffset: 2 });

      // The operator's write left run A's lease to run out: the next run comes once it has.
      skewMs += LEASE_MS + 1;
      const b = await h.run({ owner: 'run-b', drain: { batchSize: 4 } });

      expect(b).toMatchObject({ outcome: 'caught-up', fromOffset: 2, nextOffset: 12 });
      expect(new Set(h.sink.acceptedOffsets())).toEqual(new Set(Array.from({ length: 12 }, (_, i) => i)));
    },
  );

  it('by key, lanes run on into later batches while one slow record holds its lane, and the checkpoint waits at it', async () => {
    append(12);
    let slowAnswered = false;
    const arrivedWhileSlow: number[] = [];
    const h = await harness(async (request) => {
      if (!slowAnswered) arrivedWhileSlow.push(request.offset);
      if (request.offset === 0) {
        // Held until every other record has arrived (a loaded machine may need more than a fixed 300 ms),
        // at most 1.5 s: below the sink's timeout, so lanes that never run on fail the test, not time out.
        const heldUntil = Date.now() + 1_500;
        while (arrivedWhileSlow.length < 12 && Date.now() < heldUntil) await delay(5);
        slowAnswered = true;
      }
      return {};
    });
    const committedWhileSlow: number[] = [];
    const watched: CheckpointStore = {
      ...h.store,
      commit: (lease, changes) => {
        if (!slowAnswered) committedWhileSlow.push(changes.nextOffset);
        return h.store.commit(lease, changes);
      },
    };

    const report = await h.run({ drain: { batchSize: 4, ordering: 'key', maxInFlight: 4 }, store: watched });

    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 12, delivered: 12 });
    // Every other record went out while offset 0 was still at the sink: three batches past the first.
    expect([...arrivedWhileSlow].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(committedWhileSlow.every((offset) => offset <= 0)).toBe(true);
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 12, lease: undefined });
  });

  it('skips a paused partition and leaves its checkpoint alone', async () => {
    append(3);
    const h = await harness();
    await h.store.setOffset(key, 1);
    await h.store.setPaused(key, true);

    const report = await h.run();

    expect(h.sink.requests).toEqual([]);
    expect(report).toMatchObject({ outcome: 'paused', delivered: 0, nextOffset: 1 });
    // How far the paused partition is behind, where the dialect reads the log end in one request.
    expect(report.lag).toBe(EXACT_BOUNDS ? 2 : undefined);
    expect(await h.store.get(key)).toMatchObject({ nextOffset: 1, paused: true, lease: undefined });
  });

  it('after the time budget on the real clock, reads the lag and deletes its consumer instance', async () => {
    append(30);
    // Each delivery takes 100 ms, so a 1 s budget stops the run some records in (a loaded machine still
    // delivers the first, which 250 ms did not always leave room for).
    const h = await harness(async () => {
      await delay(100);
      return {};
    });
    const deadlineMs = Date.now() + 1_000;

    const report = await h.run({ drain: { batchSize: 2 }, deadlineMs, cleanupMs: 4_000 });

    expect(report.outcome).toBe('deadline');
    const nextOffset = report.nextOffset ?? Number.NaN;
    expect(nextOffset).toBeGreaterThan(0);
    expect(nextOffset).toBeLessThan(30);
    // What was delivered, in order; plus, at most, the delivery the budget cut off: it reached the sink,
    // which took it after the drain had stopped waiting, so it is not counted and goes again next run
    // (at least once).
    const accepted = h.sink.acceptedOffsets();
    expect(accepted).toEqual(Array.from({ length: accepted.length }, (_, offset) => offset));
    expect(accepted.length - nextOffset).toBeGreaterThanOrEqual(0);
    expect(accepted.length - nextOffset).toBeLessThanOrEqual(1);
    // v2 reads the log end in one request; v1 and Redpanda would have to probe for it, so they do not say.
    expect(report.lag).toBe(EXACT_BOUNDS ? 30 - nextOffset : undefined);
    // The instance is deleted inside the cleanup window that follows the budget, not left to expire.
    expect(kafkaServer.consumerInstances()).toBe(0);
    // (The delivery cut off by the budget may warn that it timed out; nothing else may.)
    expect(
      h.log.lines.filter((line) => line.level === 'warn' && !line.message.startsWith('HTTP sink timed out')),
    ).toEqual([]);
    expect(await h.store.get(key)).toMatchObject({ nextOffset, lease: undefined });
  });
});
