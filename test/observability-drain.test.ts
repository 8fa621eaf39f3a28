import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { makeHandler } from '../handlers/drain.js';
import { isAppError } from '../lib/core/errors.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { createDrainDeps, type DrainHandlerDeps } from '../lib/wiring/drain.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { records, type ScriptedSink, startScriptedSink } from './fixtures/drain.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { captureOutput, type EmfLine, type JsonLine, type OutputCapture } from './helpers/log.js';

// The drain handler with its real deps (Powertools Logger and Metrics, DynamoDB client against dynalite,
// the HTTP sink) against the local Kafka REST server; its output is read back as CloudWatch would get it.

const MARKER = 'DRAINED-PAYLOAD-93b2';

describe('observability of the drain handler (real deps, dynalite, local Kafka REST server)', () => {
  let dynamo: LocalDynamo;
  let kafkaServer: KafkaRestServer;
  let sink: ScriptedSink;
  let rejectOffset: number | undefined;
  let out: OutputCapture;
  let deps: DrainHandlerDeps | undefined;
  let n = 0;
  let drainId: string;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    kafkaServer = await startKafkaRestServer({ topics: { orders: 2 } });
    rejectOffset = undefined;
    sink = await startScriptedSink((request) =>
      request.partition === 0 && request.offset === rejectOffset ? { status: 400 } : {},
    );
    n += 1;
    drainId = `orders-out-${n}`;
    // The SDK's default credential chain reads these; a deployment gets the function role's instead.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    out = captureOutput();
  });
  afterEach(async () => {
    out.restore();
    vi.unstubAllEnvs();
    await deps?.close?.();
    deps = undefined;
    await sink.close();
    await kafkaServer.close();
  });

  const handler = () => {
    const config = loadConfig({
      KAFKA_REST_URL: kafkaServer.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
      LOG_LEVEL: 'INFO',
      AWS_REGION: 'us-east-1',
      CHECKPOINT_TABLE: dynamo.tableName,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      DRAINS: JSON.stringify([
        {
          id: drainId,
          topic: 'orders',
          partitions: [0, 1],
          sink: { type: 'http', url: sink.url, allowHttp: true },
        },
      ]),
    });
    const created = createDrainDeps(config);
    deps = created;
    return makeHandler(() => created);
  };
  const context = { getRemainingTimeInMillis: () => 10_000, awsRequestId: 'drain-req-1' };
  const seed = () => {
    kafkaServer.append('orders', 0, records(3, `${MARKER}-`));
    kafkaServer.append('orders', 1, records(2, `${MARKER}-`));
  };
  /** Another run holds partition 1's lease: this run finds it busy. */
  const holdPartition1 = async () => {
    const store = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: 60_000,
      now: Date.now,
    });
    const held = await store.acquire({ drainId, topic: 'orders', partition: 1 }, 'another-run');
    expect(held.acquired).toBe(true);
  };
  const drainLine = (): EmfLine | undefined => out.emf().find((line) => line.drainId === drainId);
  const partitionLines = (logs: readonly JsonLine[]) =>
    logs.filter(
      (line) => line.message === 'partition drained' || String(line.message).startsWith('partition busy'),
    );

  it('correlates every line by the run id, names the partition on partition lines, and counts per drain', async () => {
    // Prepare
    seed();
    await holdPartition1();

    // Act
    const report = await handler()({}, context);

    // Assess: the run
    expect(report.failed).toBe(false);
    expect(sink.accepted()).toEqual([`${MARKER}-0`, `${MARKER}-1`, `${MARKER}-2`]);
    // Assess: logs
    const logs = out.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) {
      expect(line).toMatchObject({
        level: expect.any(String),
        message: expect.any(String),
        service: 'kafka-rest-bridge',
        correlation_id: report.owner,
        function_request_id: 'drain-req-1',
      });
    }
    expect(report.owner).toMatch(/^drain-req-1\//);
    expect(
      partitionLines(logs).map((line) => [line.message, line.drainId, line.topic, line.partition]),
    ).toEqual([
      ['partition busy: another run holds its lease', drainId, 'orders', 1],
      ['partition drained', drainId, 'orders', 0],
    ]);
    expect(logs.find((line) => line.message === 'drain run finished')).toMatchObject({
      level: 'INFO',
      outcomes: { 'caught-up': 1, busy: 1 },
      delivered: 3,
    });
    expect(out.text()).not.toContain(MARKER);
    // Assess: metrics
    const line = drainLine();
    expect(line?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'KafkaRestBridge',
      Dimensions: [['service', 'drainId']],
    });
    expect(line).toMatchObject({
      service: 'kafka-rest-bridge',
      RecordsDelivered: 3,
      RecordsDeadLettered: 0,
      CaughtUp: 1,
      PartitionsBehind: 0,
      LeaseConflicts: 1,
      PartitionsFailed: 0,
    });
    // Partition 0 committed during this run; the busy partition's checkpoint was never read.
    expect(line?.CheckpointAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(line?.CheckpointAgeSeconds).toBeLessThan(60);
  });

  it('publishes the metrics of a failed run before throwing', async () => {
    // Prepare: the sink refuses offset 1 of partition 0 for good, and there is no DLQ: the partition stops.
    seed();
    rejectOffset = 1;

    // Act
    const error = await handler()({}, context).catch((thrown: unknown) => thrown);

    // Assess
    expect(isAppError(error) && error.code).toBe('ERR_SINK_REJECTED');
    expect(drainLine()).toMatchObject({
      RecordsDelivered: 3,
      PartitionsStopped: 1,
      PartitionsFailed: 1,
      CaughtUp: 1,
    });
    expect(
      out.logs().find((line) => line.message === 'partition stopped at a poison record (no DLQ)'),
    ).toMatchObject({
      level: 'ERROR',
      drainId,
      partition: 0,
      correlation_id: expect.stringMatching(/^drain-req-1\//),
    });
    expect(out.text()).not.toContain(MARKER);
  });
});
