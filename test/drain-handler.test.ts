import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { makeHandler } from '../handlers/drain.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { isAppError } from '../lib/core/errors.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainConfig } from '../lib/drain/config.js';
import { toDrainCounts } from '../lib/drain/metrics.js';
import type { DrainRunReport } from '../lib/drain/run-drains.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createHttpSink } from '../lib/sinks/index.js';
import type { Sink } from '../lib/sinks/types.js';
import { createDrainDeps, type DrainHandlerDeps } from '../lib/wiring/drain.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import {
  drainConfig,
  records,
  type ScriptedSink,
  type SinkRequest,
  startScriptedSink,
} from './fixtures/drain.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';

const MARGIN_MS = 500;

describe('drain handler (makeHandler, real servers)', () => {
  let dynamo: LocalDynamo;
  let kafkaServer: KafkaRestServer;
  let kafka: KafkaRestClient;
  let sink: ScriptedSink;
  let sinks: Sink[];
  let store: CheckpointStore;
  let published: DrainRunReport[];
  let reject: (request: SinkRequest) => boolean;
  let n = 0;
  let ids: { orders: string; audit: string };

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    kafkaServer = await startKafkaRestServer({ topics: { orders: 2, audit: 1 } });
    kafka = createKafkaRest({ baseUrl: kafkaServer.url, allowHttp: true, auth: noAuth(), maxAttempts: 1 });
    reject = () => false;
    sink = await startScriptedSink((request) => (reject(request) ? { status: 400 } : {}));
    sinks = [];
    store = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: 60_000,
      now: Date.now,
    });
    published = [];
    n += 1;
    ids = { orders: `orders-out-${n}`, audit: `audit-out-${n}` };
  });
  afterEach(async () => {
    for (const created of sinks) await created.close?.();
    await sink.close();
    await kafka.close();
    await kafkaServer.close();
  });

  const handlerFor = (drains: DrainConfig[]) => {
    const log = createMemoryLog();
    const aws = createAwsClients({ ...FAKE_AWS });
    const bySink = new Map(
      drains.map((drain) => {
        const created = createHttpSink(drain.sink.type === 'http' ? drain.sink : (undefined as never), {
          aws,
          log,
          now: Date.now,
        });
        sinks.push(created);
        return [drain.id, created] as const;
      }),
    );
    const deps: DrainHandlerDeps = {
      kafka,
      checkpoints: store,
      drains,
      leaseMs: 60_000,
      maxConcurrentPartitions: 4,
      sinkFor: (drain) => bySink.get(drain.id) as Sink,
      deadLettersFor: () => undefined,
      deadlineMarginMs: MARGIN_MS,
      newOwnerId: (requestId) => `${requestId}/test`,
      metrics: { publish: (report) => published.push(report) },
      log,
      now: Date.now,
      sleep: (ms) => delay(ms),
      random: () => 0.5,
    };
    return makeHandler(() => deps);
  };
  const context = (remainingMs = 10_000) => ({
    getRemainingTimeInMillis: () => remainingMs,
    awsRequestId: 'req-1',
  });
  const drains = () => [
    drainConfig(sink.url, { id: ids.orders, topic: 'orders', partitions: 'all' }),
    drainConfig(sink.url, { id: ids.audit, topic: 'audit', partitions: [0] }),
  ];
  const seed = () => {
    kafkaServer.append('orders', 0, records(3, 'o0-'));
    kafkaServer.append('orders', 1, records(2, 'o1-'));
    kafkaServer.append('audit', 0, records(1, 'a0-'));
  };
  const received = (topic: string, partition: number) =>
    sink.requests
      .filter(
        (request) => request.topic === topic && request.partition === partition && request.status === 200,
      )
      .map((request) => request.value);
  const offsetOf = async (drainId: string, topic: string, partition: number) =>
    (await store.get({ drainId, topic, partition }))?.nextOffset;
  const errorOf = async (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  it('drains every drain and every discovered partition on the schedule event', async () => {
    seed();
    const handler = handlerFor(drains());

    const report = await handler(
      { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
      context(),
    );

    expect(received('orders', 0)).toEqual(['o0-0', 'o0-1', 'o0-2']);
    expect(received('orders', 1)).toEqual(['o1-0', 'o1-1']);
    expect(received('audit', 0)).toEqual(['a0-0']);
    expect(await offsetOf(ids.orders, 'orders', 0)).toBe(3);
    expect(await offsetOf(ids.orders, 'orders', 1)).toBe(2);
    expect(await offsetOf(ids.audit, 'audit', 0)).toBe(1);
    expect(report).toMatchObject({ owner: 'req-1/test', failed: false });
    expect(published).toHaveLength(1);
    expect(toDrainCounts(published[0] as DrainRunReport).get(ids.orders)).toMatchObject({
      delivered: 5,
      partitionsFailed: 0,
    });
  });

  it('drains only the drain and partitions an event names', async () => {
    seed();
    const handler = handlerFor(drains());

    const report = await handler({ drainId: ids.orders, partitions: [1] }, context());

    expect(sink.requests.map((request) => [request.topic, request.partition, request.value])).toEqual([
      ['orders', 1, 'o1-0'],
      ['orders', 1, 'o1-1'],
    ]);
    expect(await offsetOf(ids.orders, 'orders', 1)).toBe(2);
    expect(await offsetOf(ids.orders, 'orders', 0)).toBeUndefined();
    expect(report.drains.map((drain) => drain.drainId)).toEqual([ids.orders]);
  });

  it('rejects an event naming an unknown drain, delivering nothing', async () => {
    seed();
    const handler = handlerFor(drains());

    const error = await errorOf(handler({ drainId: 'nope' }, context()));

    expect(isAppError(error) && error.code).toBe('ERR_PAYLOAD_INVALID');
    expect(sink.requests).toEqual([]);
    expect(await offsetOf(ids.orders, 'orders', 0)).toBeUndefined();
  });

  it('throws for a stopped partition only after the other partitions drained and committed', async () => {
    seed();
    reject = (request) => request.topic === 'orders' && request.partition === 0 && request.value === 'o0-1';
    const handler = handlerFor(drains());

    const error = await errorOf(handler({}, context()));

    expect(isAppError(error) && error.code).toBe('ERR_SINK_REJECTED');
    expect((error as Error).message).toContain(
      `${ids.orders}/orders/0 stopped (ERR_SINK_REJECTED at offset 1)`,
    );
    expect(received('orders', 0)).toEqual(['o0-0']);
    expect(received('orders', 1)).toEqual(['o1-0', 'o1-1']);
    expect(received('audit', 0)).toEqual(['a0-0']);
    expect(await store.get({ drainId: ids.orders, topic: 'orders', partition: 0 })).toMatchObject({
      nextOffset: 1,
      lastError: { code: 'ERR_SINK_REJECTED', offset: 1 },
    });
    expect(await offsetOf(ids.orders, 'orders', 1)).toBe(2);
    expect(toDrainCounts(published[0] as DrainRunReport).get(ids.orders)).toMatchObject({
      partitionsStopped: 1,
      partitionsFailed: 1,
    });
  });

  it('throws when a drain cannot list its partitions, after the others drained', async () => {
    seed();
    const handler = handlerFor([
      ...drains(),
      drainConfig(sink.url, { id: `missing-${n}`, topic: 'missing' }),
    ]);

    const error = await errorOf(handler({}, context()));

    expect(isAppError(error) && error.code).toBe('ERR_UPSTREAM_STATUS');
    expect((error as Error).message).toContain(`missing-${n}: ERR_UPSTREAM_STATUS`);
    expect(received('orders', 0)).toEqual(['o0-0', 'o0-1', 'o0-2']);
    expect(await offsetOf(ids.audit, 'audit', 0)).toBe(1);
  });

  it('keeps the deadline margin: no time left after it means nothing is forwarded', async () => {
    seed();
    const handler = handlerFor([
      drainConfig(sink.url, { id: ids.orders, topic: 'orders', partitions: [0, 1] }),
      drainConfig(sink.url, { id: ids.audit, topic: 'audit', partitions: [0] }),
    ]);

    const report = await handler({}, context(MARGIN_MS));

    expect(sink.requests).toEqual([]);
    expect(report.drains.flatMap((drain) => drain.partitions.map((partition) => partition.outcome))).toEqual([
      'deadline',
      'deadline',
      'deadline',
    ]);
    // Not even a lease taken and given back: the partition is left as it was.
    expect(await store.get({ drainId: ids.orders, topic: 'orders', partition: 0 })).toBeUndefined();
  });

  it('wires the real deps from the environment (createDrainDeps)', async () => {
    seed();
    // The SDK's default credential chain reads these; a deployment gets the function role's instead.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    const config = loadConfig({
      KAFKA_REST_URL: kafkaServer.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
      LOG_LEVEL: 'ERROR',
      AWS_REGION: 'us-east-1',
      CHECKPOINT_TABLE: dynamo.tableName,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      DRAINS: JSON.stringify([
        {
          id: ids.orders,
          topic: 'orders',
          partitions: [1],
          sink: { type: 'http', url: sink.url, allowHttp: true },
        },
      ]),
    });
    const deps = {
      ...createDrainDeps(config),
      metrics: { publish: (report: DrainRunReport) => published.push(report) },
    };

    try {
      const report = await makeHandler(() => deps)({}, context());

      expect(report.failed).toBe(false);
      expect(received('orders', 1)).toEqual(['o1-0', 'o1-1']);
      expect(await offsetOf(ids.orders, 'orders', 1)).toBe(2);
    } finally {
      await deps.close?.();
      vi.unstubAllEnvs();
    }
  });
});
