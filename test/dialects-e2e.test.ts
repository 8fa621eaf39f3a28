import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { makeHandler as makeQueueHandler } from '../handlers/queue.js';
import { createDrainDeps } from '../lib/wiring/drain.js';
import { createQueueDeps } from '../lib/wiring/queue.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { lambdaContext } from './fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from './helpers/dynalite.js';
import { type DialectCase, LOCAL_CLUSTER_ID, PRODUCE_DIALECTS, READ_DIALECTS } from './helpers/kafka-rest.js';

const PARTITIONS = 2;
const MESSAGES = 24;

/** The functions' own settings for one dialect of the local server, as a deployment would set them. */
const envFor = (server: KafkaRestServer, c: DialectCase): Record<string, string> => ({
  KAFKA_REST_URL: server.url,
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  KAFKA_REST_DIALECT: c.dialect,
  KAFKA_REST_FLAVOR: c.flavor,
  ...(c.dialect === 'v3' ? { KAFKA_REST_CLUSTER_ID: LOCAL_CLUSTER_ID } : {}),
  AWS_REGION: 'us-east-1',
});

const messages = () =>
  Array.from({ length: MESSAGES }, (_, i) => sqsRecord(`message-${i}`, { attributes: { key: `k${i % 5}` } }));

describe('every dialect end to end, through the functions’ own deps factories', () => {
  let server: KafkaRestServer;

  afterEach(async () => {
    await server.close();
  });

  describe.each(PRODUCE_DIALECTS)('queue ingestion over $name', (c) => {
    beforeEach(async () => {
      server = await startKafkaRestServer({ topics: { orders: PARTITIONS }, flavor: c.flavor });
    });

    it('acknowledges every message, each exactly once in Kafka, keyed records together', async () => {
      const deps = createQueueDeps(
        loadConfig({ ...envFor(server, c), QUEUE_TOPIC: 'orders', QUEUE_KEY_ATTRIBUTE: 'key' }),
      );
      try {
        const response = await makeQueueHandler(() => deps)(sqsEvent(messages()), lambdaContext(10_000));

        expect(response.batchItemFailures).toEqual([]);
        const stored = Array.from({ length: PARTITIONS }, (_, p) => server.records('orders', p)).flat();
        expect(stored.map((r) => r.value?.toString()).sort()).toEqual(
          Array.from({ length: MESSAGES }, (_, i) => `message-${i}`).sort(),
        );
        for (let p = 0; p < PARTITIONS; p += 1) {
          const keys = new Set(server.records('orders', p).map((r) => r.key?.toString()));
          for (let other = 0; other < PARTITIONS; other += 1) {
            if (other === p) continue;
            for (const record of server.records('orders', other))
              expect(keys).not.toContain(record.key?.toString());
          }
        }
      } finally {
        await deps.kafka.close();
      }
    });
  });

  describe('drain', () => {
    let dynamo: LocalDynamo;
    let sink: HttpSink;

    beforeAll(async () => {
      dynamo = await startDynalite();
      // The drain's DynamoDB client takes its credentials from the environment, as in Lambda.
      vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_CREDENTIALS.accessKeyId);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_CREDENTIALS.secretAccessKey);
    });
    afterAll(async () => {
      vi.unstubAllEnvs();
      await dynamo.close();
    });
    beforeEach(async () => {
      sink = await startHttpSink();
    });
    afterEach(async () => {
      await sink.close();
    });

    describe.each(READ_DIALECTS)('over $name', (c) => {
      beforeEach(async () => {
        server = await startKafkaRestServer({ topics: { orders: PARTITIONS }, flavor: c.flavor });
      });

      it('delivers every record in offset order per partition, commits past them, and leaves no consumer behind', async () => {
        // Prepare
        for (let p = 0; p < PARTITIONS; p += 1) {
          server.append(
            'orders',
            p,
            Array.from({ length: 30 }, (_, i) => ({ key: null, value: Buffer.from(`p${p}-${i}`) })),
          );
        }
        const drainId = `orders-${c.name.replace(/\s/g, '-')}`;
        const deps = createDrainDeps(
          loadConfig({
            ...envFor(server, c),
            CHECKPOINT_TABLE: dynamo.tableName,
            DYNAMODB_ENDPOINT: dynamo.endpoint,
            DRAINS: JSON.stringify([
              {
                id: drainId,
                topic: 'orders',
                batchSize: 7,
                sink: { type: 'http', url: `${sink.url}/in`, allowHttp: true },
              },
            ]),
          }),
        );

        let checkpoints: Awaited<ReturnType<typeof deps.checkpoints.list>>;
        try {
          // Act
          const report = await makeDrainHandler(() => deps)({}, lambdaContext(20_000));
          // Read before the deps close their DynamoDB client.
          checkpoints = await deps.checkpoints.list({ drainId });
          // Assess: each run deletes its consumer instances itself, not only when the container goes away.
          expect(server.consumerInstances()).toBe(0);
          expect(report.drains[0]?.partitions.map((partition) => [partition.outcome, partition.lag])).toEqual(
            Array.from({ length: PARTITIONS }, () => ['caught-up', 0]),
          );
        } finally {
          await deps.close?.();
        }

        for (let p = 0; p < PARTITIONS; p += 1) {
          const delivered = sink.received
            .filter((request) => request.headers['kafka-partition'] === String(p))
            .map((request) => request.body.toString());
          expect(delivered).toEqual(Array.from({ length: 30 }, (_, i) => `p${p}-${i}`));
        }
        expect(checkpoints.map((checkpoint) => [checkpoint.partition, checkpoint.nextOffset]).sort()).toEqual(
          [
            [0, 30],
            [1, 30],
          ],
        );
      });
    });
  });
});
