import { setTimeout as delay } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoFaultProxy } from '../dev/dynamodb-fault-proxy.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { AppError, ERROR_CODES } from '../lib/core/errors.js';
import type { PartitionKey } from '../lib/drain/checkpoint.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainSettings } from '../lib/drain/config.js';
import { drainPartition, type PartitionReport } from '../lib/drain/drain-partition.js';
import { toDrainCounts } from '../lib/drain/metrics.js';
import type { PartitionDrainDeps } from '../lib/drain/partition-types.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRest, KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createHttpSink } from '../lib/sinks/index.js';
import {
  drainSettings,
  httpSinkConfig,
  records,
  type ScriptedSink,
  type SinkAnswer,
  type SinkRequest,
  startScriptedSink,
} from './fixtures/drain.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { type FaultyDynamo, type LocalDynamo, startDynalite, startFaultyDynamo } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';

const LEASE_MS = 60_000;

/**
 * What the drain promises whatever the proxy or the checkpoint table does: a partition is called caught up
 * only when a fetch positively answered the log end; a fetch that cannot succeed stops the partition where
 * the alarms see it; a DynamoDB write applied with its answer lost is not taken for a lost lease; a delayed
 * DynamoDB answer does not keep a run past its time. The local Kafka REST server (v1), the real client (or
 * a reader scripted over it), dynalite behind the DynamoDB fault proxy, and the real HTTP sink.
 */
describe('drain guarantees (local Kafka REST server, dynalite behind the fault proxy, HTTP sink)', () => {
  let dynamo: LocalDynamo;
  let proxy: DynamoFaultProxy;
  let dynamoClient: DynamoDBClient;
  let faulty: FaultyDynamo;
  let kafkaServer: KafkaRestServer;
  let kafka: KafkaRestClient;
  let closers: (() => Promise<void>)[];
  let drain: DrainSettings;
  let key: PartitionKey;
  let n = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    closers = [];
    faulty = await startFaultyDynamo(dynamo);
    ({ proxy, client: dynamoClient } = faulty);
    kafkaServer = await startKafkaRestServer({ topics: { orders: 1 } });
    kafka = createKafkaRest({
      baseUrl: kafkaServer.url,
      allowHttp: true,
      auth: noAuth(),
      maxAttempts: 2,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
    });
    n += 1;
    drain = drainSettings({ id: `guarantees-${n}`, batchSize: 3 });
    key = { drainId: drain.id, topic: 'orders', partition: 0 };
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    await kafka.close();
    await kafkaServer.close();
    await faulty.close();
  });

  const append = (count: number) => kafkaServer.append('orders', 0, records(count));

  interface Harness {
    readonly sink: ScriptedSink;
    readonly store: CheckpointStore;
    readonly log: ReturnType<typeof createMemoryLog>;
    run(options?: {
      owner?: string;
      deadlineMs?: number;
      cleanupDeadlineMs?: number;
    }): Promise<PartitionReport>;
  }

  const harness = async (
    options: {
      respond?: (request: SinkRequest, index: number) => SinkAnswer | Promise<SinkAnswer>;
      fetch?: KafkaRest['fetch'];
    } = {},
  ): Promise<Harness> => {
    const sink = await startScriptedSink(options.respond);
    closers.push(() => sink.close());
    const log = createMemoryLog();
    const aws = createAwsClients({ ...FAKE_AWS });
    closers.push(async () => aws.destroy());
    const httpSink = createHttpSink(httpSinkConfig(sink.url), { aws, log, now: Date.now });
    closers.push(() => httpSink.close());
    const store = createCheckpointStore({
      client: dynamoClient,
      tableName: dynamo.tableName,
      leaseMs: LEASE_MS,
      now: Date.now,
    });
    const reader: PartitionDrainDeps['kafka'] = {
      fetch: options.fetch ?? ((...args) => kafka.fetch(...args)),
      logBounds: (...args) => kafka.logBounds(...args),
      endFetch: (...args) => kafka.endFetch(...args),
      exactLogBounds: kafka.exactLogBounds,
    };
    return {
      sink,
      store,
      log,
      run: (run = {}) => {
        const deadlineMs = run.deadlineMs ?? Date.now() + 15_000;
        return drainPartition(
          {
            kafka: reader,
            checkpoints: store,
            log,
            now: Date.now,
            sleep: (ms) => delay(ms),
            random: () => 0.5,
          },
          {
            drain,
            partition: 0,
            sink: httpSink,
            deadLetters: undefined,
            owner: run.owner ?? 'run-a',
            deadlineMs,
            cleanupDeadlineMs: run.cleanupDeadlineMs ?? deadlineMs + 2_000,
            leaseMs: LEASE_MS,
          },
        );
      },
    };
  };

  /** The PartitionsStopped / CaughtUp / PartitionsFailed counts a run with this one partition publishes. */
  const countsOf = (report: PartitionReport) =>
    toDrainCounts({
      owner: 'run-a',
      failed: true,
      drains: [{ drainId: drain.id, topic: 'orders', partitions: [report] }],
    }).get(drain.id);

  describe('a fetch that does not reach the log end is never "caught up"', () => {
    it.each([
      {
        name: 'a non-retriable fetch error (a v1 batch wider than any read reaches) stops the partition',
        retriable: false,
        outcome: 'stopped',
        stopped: 1,
      },
      { name: 'a transient fetch error fails the run', retriable: true, outcome: 'failed', stopped: 0 },
    ])('$name', async ({ retriable, outcome, stopped }) => {
      // Prepare: the first batch reads; from offset 3 on, the reader cannot serve the records.
      append(6);
      const failure = new AppError(ERROR_CODES.UPSTREAM_PROTOCOL, 'no read reaches offset 3', { retriable });
      const h = await harness({
        fetch: async (topic, partition, offset, options) => {
          if (offset >= 3) throw failure;
          return kafka.fetch(topic, partition, offset, options);
        },
      });

      // Act
      const report = await h.run();

      // Assess
      expect(h.sink.acceptedOffsets()).toEqual([0, 1, 2]);
      expect(report).toMatchObject({
        outcome,
        nextOffset: 3,
        delivered: 3,
        error: { code: 'ERR_UPSTREAM_PROTOCOL' },
      });
      expect(report.lag).not.toBe(0);
      expect(await h.store.get(key)).toMatchObject({
        nextOffset: 3,
        lease: undefined,
        lastError: { code: 'ERR_UPSTREAM_PROTOCOL', message: 'no read reaches offset 3' },
      });
      expect(countsOf(report)).toMatchObject({
        partitionsStopped: stopped,
        caughtUp: 0,
        partitionsFailed: 1,
      });
      expect(h.log.lines).toContainEqual(
        expect.objectContaining({
          level: 'error',
          message: retriable
            ? 'partition drain failed'
            : 'partition stopped: the proxy cannot serve the records at its checkpoint',
        }),
      );
    });

    it('ends behind ("deadline"), not failed nor caught up, when the budget runs out during a read', async () => {
      // Prepare: the read from offset 3 outlasts the run's budget, as a proxy holding the read open does.
      append(6);
      const h = await harness({
        fetch: async (topic, partition, offset, options) => {
          if (offset < 3) return kafka.fetch(topic, partition, offset, options);
          throw new AppError(ERROR_CODES.DEADLINE, 'fetch: no answer by the deadline');
        },
      });

      // Act
      const report = await h.run();

      // Assess
      expect(report).toMatchObject({ outcome: 'deadline', nextOffset: 3, delivered: 3 });
      expect(report.error).toBeUndefined();
      expect(report.lag).not.toBe(0);
      expect(await h.store.get(key)).toMatchObject({ nextOffset: 3, lease: undefined, lastError: undefined });
      expect(countsOf(report)).toMatchObject({ behind: 1, caughtUp: 0, partitionsFailed: 0 });
    });

    it('stops at an answer that holds only records below the offset (the head of a batch, cut short)', async () => {
      // Prepare: at offset 3 the "proxy" answers the batch's head again, as a v1 server over one compressed
      // batch does when `count` cuts it before the offset.
      append(6);
      const h = await harness({
        fetch: async (topic, partition, offset, options) => {
          const answer = await kafka.fetch(topic, partition, Math.min(offset, 0), options);
          return offset >= 3 ? answer.filter((record) => record.offset < 3) : answer;
        },
      });

      // Act
      const report = await h.run();

      // Assess
      expect(h.sink.acceptedOffsets()).toEqual([0, 1, 2]);
      expect(report).toMatchObject({
        outcome: 'stopped',
        nextOffset: 3,
        error: { code: 'ERR_UPSTREAM_PROTOCOL', offset: 3 },
      });
      expect(report.lag).not.toBe(0);
      expect(await h.store.get(key)).toMatchObject({
        nextOffset: 3,
        lastError: { code: 'ERR_UPSTREAM_PROTOCOL', offset: 3 },
      });
    });
  });

  describe('a v1 proxy that answers from the start of the compressed batch holding the offset', () => {
    /** One produce request, so one batch: every read of it starts at its offset 0, `count` from there. */
    const wholeBatches = async (count: number, valueBytes: number) => {
      const server = await startKafkaRestServer({ topics: { orders: 1 }, v1WholeBatches: true });
      closers.push(() => server.close());
      server.append(
        'orders',
        0,
        Array.from({ length: count }, (_, index) => ({
          value: Buffer.from(String(index).padEnd(valueBytes, '.')),
        })),
      );
      return server;
    };

    it('delivers every record of a batch many times wider than one fetch (no "caught up" at 16 × batchSize)', async () => {
      // Prepare: 300 records in one batch, read 10 at a time: every read comes back from offset 0.
      const server = await wholeBatches(300, 8);
      kafka = createKafkaRest({ baseUrl: server.url, allowHttp: true, auth: noAuth(), maxAttempts: 2 });
      drain = drainSettings({ id: drain.id, batchSize: 10 });
      const h = await harness();

      // Act
      const report = await h.run();

      // Assess
      expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 300, delivered: 300 });
      expect(h.sink.acceptedOffsets()).toEqual(Array.from({ length: 300 }, (_, offset) => offset));
    });

    it('stops the partition, never "caught up", once the widened read would pass the fetch budget', async () => {
      // Prepare: 300 records of 500 bytes in one batch (about 200 KB as JSON), against a 70 KB fetch budget.
      const server = await wholeBatches(300, 500);
      kafka = createKafkaRest({
        baseUrl: server.url,
        allowHttp: true,
        auth: noAuth(),
        maxAttempts: 2,
        fetchMaxBytes: 1_000,
        maxRecordBytes: 1_000,
        fetchBudgetBytes: 70_000,
      });
      drain = drainSettings({ id: drain.id, batchSize: 10 });
      const h = await harness();

      // Act
      const report = await h.run();

      // Assess
      const stoppedAt = report.nextOffset ?? Number.NaN;
      expect(report).toMatchObject({
        outcome: 'stopped',
        error: { code: 'ERR_UPSTREAM_PROTOCOL', offset: stoppedAt },
      });
      expect(stoppedAt).toBeGreaterThan(0);
      expect(stoppedAt).toBeLessThan(300);
      expect(h.sink.acceptedOffsets()).toEqual(Array.from({ length: stoppedAt }, (_, offset) => offset));
      expect(await h.store.get(key)).toMatchObject({
        nextOffset: stoppedAt,
        lastError: { code: 'ERR_UPSTREAM_PROTOCOL', offset: stoppedAt },
      });
      expect(countsOf(report)).toMatchObject({ partitionsStopped: 1, caughtUp: 0 });
    });
  });

  describe('DynamoDB faults', () => {
    it('drains through writes applied with their answers lost: no false busy, no false lease loss', async () => {
      // Prepare: the acquire, then the first commit (the next write once a record was delivered), are
      // applied and their answers lost, so the SDK's retries meet our own writes.
      append(10);
      proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });
      const h = await harness({
        respond: (_request, index) => {
          if (index === 0) proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });
          return {};
        },
      });

      // Act
      const report = await h.run();

      // Assess
      expect(proxy.stats().faults['lose-answer']).toBe(2);
      expect(report).toMatchObject({ outcome: 'caught-up', delivered: 10, nextOffset: 10 });
      expect(h.sink.acceptedOffsets()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await h.store.get(key)).toMatchObject({ nextOffset: 10, lease: undefined });
    });

    it('gives back the lease an acquire took after its deadline cut the call, so the next run need not wait', async () => {
      // Prepare: the acquire reaches the table after 100 ms, past the run's 50 ms budget; the release the
      // run then sends is applied later still (200 ms), once the acquire has landed.
      append(3);
      proxy.inject({ kind: 'delay', operation: 'UpdateItem', ms: 100 });
      proxy.inject({ kind: 'delay', operation: 'UpdateItem', ms: 200 });
      const h = await harness();
      const startedAt = Date.now();

      // Act
      const cut = await h.run({ deadlineMs: startedAt + 50, cleanupDeadlineMs: startedAt + 1_000 });
      const next = await h.run({ owner: 'run-b' });

      // Assess
      expect(cut).toMatchObject({ outcome: 'failed', error: { code: 'ERR_DEADLINE' } });
      expect(next).toMatchObject({ outcome: 'caught-up', nextOffset: 3 });
      expect(h.sink.acceptedOffsets()).toEqual([0, 1, 2]);
    });

    it('ends a run whose commit answer is delayed at its cleanup deadline, not when DynamoDB answers', async () => {
      // Prepare: once the first record is delivered, every checkpoint write answers after 3 s.
      append(3);
      const h = await harness({
        respond: (_request, index) => {
          if (index === 0) proxy.inject({ kind: 'delay', operation: 'UpdateItem', ms: 3_000, times: 5 });
          return {};
        },
      });
      // A budget the three deliveries meet on a loaded machine too (400 ms did not always).
      const startedAt = Date.now();
      const cleanupDeadlineMs = startedAt + 1_300;

      // Act
      const report = await h.run({ deadlineMs: startedAt + 1_000, cleanupDeadlineMs });

      // Assess
      const endedAt = Date.now();
      expect(report).toMatchObject({ outcome: 'failed', error: { code: 'ERR_DEADLINE' } });
      expect(endedAt).toBeLessThan(cleanupDeadlineMs + 300);
      expect(h.sink.acceptedOffsets()).toEqual([0, 1, 2]);
    });
  });
});
