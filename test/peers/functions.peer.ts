import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type HttpSink, startHttpSink } from '../../dev/http-sink.js';
import { makeHandler as makeDrainHandler } from '../../handlers/drain.js';
import { makeHandler as makeQueueHandler } from '../../handlers/queue.js';
import { makeHandler as makeWebhookHandler } from '../../handlers/webhook.js';
import type { KafkaRestClient } from '../../lib/kafka-rest/types.js';
import { createDrainDeps } from '../../lib/wiring/drain.js';
import { createQueueDeps } from '../../lib/wiring/queue.js';
import { loadConfig } from '../../lib/wiring/settings/all.js';
import { loadWebhookConfig } from '../../lib/wiring/settings/webhook.js';
import { createWebhookDeps } from '../../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from '../fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from '../fixtures/sqs.js';
import { startFakeSqs } from '../helpers/aws-fakes.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from '../helpers/dynalite.js';
import {
  bridgeClient,
  createTopic,
  deadline,
  functionEnv,
  loadPeers,
  type Peers,
  readAll,
  uniqueTopic,
} from './peers.js';

const PARTITIONS = 2;

describe('the functions through their own deps factories, against the real bridge', () => {
  let peers: Peers;
  let reader: KafkaRestClient;

  beforeAll(() => {
    peers = loadPeers();
    reader = bridgeClient(peers, { fetchWaitMs: 300 });
  });
  afterAll(async () => {
    await reader.close();
  });

  /** What Kafka holds of `topic`, per partition, as text, read back through the bridge. */
  const stored = async (topic: string, counts: readonly number[]) =>
    Promise.all(
      counts.map(async (count, p) =>
        (await readAll(reader, topic, p, 0, count)).map((r) => ({
          key: r.key?.toString() ?? null,
          value: r.value?.toString() ?? '',
        })),
      ),
    );

  const runQueue = async (env: Record<string, string>, messages: SQSRecord[]) => {
    const deps = createQueueDeps(loadConfig({ ...functionEnv(peers), ...env }));
    try {
      return await makeQueueHandler(() => deps)(sqsEvent(messages), lambdaContext(30_000));
    } finally {
      await deps.kafka.close();
    }
  };

  describe('queue', () => {
    let topic: string;
    beforeEach(async () => {
      topic = uniqueTopic('queue');
      await createTopic(peers, topic, PARTITIONS);
    });

    it('standard: acknowledges every message, each once in Kafka, records of one key in one partition', async () => {
      const messages = Array.from({ length: 24 }, (_, i) =>
        sqsRecord(`message-${i}`, { attributes: { key: `k${i % 5}` } }),
      );

      const response = await runQueue({ QUEUE_TOPIC: topic, QUEUE_KEY_ATTRIBUTE: 'key' }, messages);
      const partitions = await Promise.all(
        Array.from(
          { length: PARTITIONS },
          async (_, p) => (await reader.logBounds(topic, p, deadline())).end,
        ),
      );
      const records = await stored(topic, partitions);

      expect(response.batchItemFailures).toEqual([]);
      expect(
        records
          .flat()
          .map((r) => r.value)
          .sort(),
      ).toEqual(messages.map((m) => m.body).sort());
      const partitionsOfKey = new Map<string | null, Set<number>>();
      records.forEach((inPartition, p) => {
        for (const r of inPartition)
          partitionsOfKey.set(r.key, (partitionsOfKey.get(r.key) ?? new Set()).add(p));
      });
      expect([...partitionsOfKey.values()].every((set) => set.size === 1)).toBe(true);
    });

    /** A1 B1 A2 B2 …: two groups interleaved. */
    const interleaved = (
      count: number,
      extra: (group: string, n: number) => Partial<{ topic: string }> = () => ({}),
    ) =>
      Array.from({ length: count * 2 }, (_, n) => {
        const group = n % 2 === 0 ? 'A' : 'B';
        const place = Math.floor(n / 2) + 1;
        const attributes = extra(group, place).topic;
        return sqsRecord(`${group}${place}`, {
          groupId: group,
          ...(attributes === undefined ? {} : { attributes: { topic: attributes } }),
        });
      });

    it('FIFO: writes each group in order, into one partition', async () => {
      const messages = interleaved(6);

      const response = await runQueue({ QUEUE_TOPIC: topic }, messages);
      const ends = await Promise.all(
        Array.from(
          { length: PARTITIONS },
          async (_, p) => (await reader.logBounds(topic, p, deadline())).end,
        ),
      );
      const records = await stored(topic, ends);

      expect(response.batchItemFailures).toEqual([]);
      for (const group of ['A', 'B']) {
        const holding = records.filter((inPartition) => inPartition.some((r) => r.value.startsWith(group)));
        expect(holding).toHaveLength(1);
        expect(holding[0]?.filter((r) => r.value.startsWith(group)).map((r) => r.value)).toEqual(
          Array.from({ length: 6 }, (_, i) => `${group}${i + 1}`),
        );
      }
    });

    it('FIFO: a message the bridge fails (unknown topic, 404 per record) fails with every later one of its group only', async () => {
      const unknown = uniqueTopic('missing');
      const messages = interleaved(4, (group, place) =>
        group === 'A' && place === 2 ? { topic: unknown } : {},
      );

      const response = await runQueue(
        { QUEUE_TOPIC: topic, QUEUE_ALLOWED_TOPICS: `${topic},${unknown}` },
        messages,
      );
      const ends = await Promise.all(
        Array.from(
          { length: PARTITIONS },
          async (_, p) => (await reader.logBounds(topic, p, deadline())).end,
        ),
      );
      const values = (await stored(topic, ends)).flat().map((r) => r.value);

      const failedBodies = response.batchItemFailures.map(
        (f) => messages.find((m) => m.messageId === f.itemIdentifier)?.body,
      );
      expect(failedBodies).toEqual(['A2', 'A3', 'A4']);
      expect(values.filter((v) => v.startsWith('A'))).toEqual(['A1']);
      expect(values.filter((v) => v.startsWith('B'))).toEqual(['B1', 'B2', 'B3', 'B4']);
    });
  });

  describe('webhook', () => {
    it('answers 202 with the offset the bridge acknowledged, the record keyed by its header; an unknown topic is a 503 to retry', async () => {
      const topic = uniqueTopic('hooks');
      await createTopic(peers, topic, PARTITIONS);
      const deps = createWebhookDeps(
        loadWebhookConfig({
          ...functionEnv(peers),
          WEBHOOK_ROUTES: JSON.stringify({
            orders: { topic, verify: { scheme: 'none' }, key: { header: 'X-Order-Id' } },
            missing: { topic: uniqueTopic('missing'), verify: { scheme: 'none' } },
          }),
        }),
      );
      const handler = makeWebhookHandler(() => deps);

      try {
        const accepted = await handler(
          httpApiEvent('/hooks/orders', '{"order":1}', { headers: { 'x-order-id': 'o-1' } }),
          lambdaContext(30_000),
        );
        const refused = await handler(httpApiEvent('/hooks/missing', '{}'), lambdaContext(30_000));

        expect(accepted.statusCode).toBe(202);
        const answer = JSON.parse(accepted.body ?? '') as { partition: number; offset: number };
        const [record] = await readAll(reader, topic, answer.partition, answer.offset, 1);
        expect([record?.key?.toString(), record?.value?.toString()]).toEqual(['o-1', '{"order":1}']);
        // The bridge's per-record 404 is not final: the sender must retry, never drop the event.
        expect(refused.statusCode).toBe(503);
        expect(refused.headers?.['retry-after']).toMatch(/^\d+$/);
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

    /** A new topic of PARTITIONS partitions holding p0-0 … p0-39 in partition 0, and so on. */
    const filledTopic = async (): Promise<string> => {
      const topic = uniqueTopic('drain');
      await createTopic(peers, topic, PARTITIONS);
      for (let p = 0; p < PARTITIONS; p += 1) {
        const results = await reader.produce(
          topic,
          Array.from({ length: 40 }, (_, i) => ({ value: Buffer.from(`p${p}-${i}`), partition: p })),
          deadline(),
        );
        expect(results.every((r) => r.ok)).toBe(true);
      }
      return topic;
    };

    /** The drain's deps for one drain of `topic` to `sinkConfig`, its checkpoints in dynalite. */
    const drainDeps = (
      topic: string,
      drainId: string,
      sinkConfig: object,
      env: Record<string, string> = {},
    ) =>
      createDrainDeps(
        loadConfig({
          ...functionEnv(peers),
          ...env,
          KAFKA_REST_CONSUMER_GROUP: uniqueTopic('drain-group'),
          CHECKPOINT_TABLE: dynamo.tableName,
          DYNAMODB_ENDPOINT: dynamo.endpoint,
          DRAINS: JSON.stringify([{ id: drainId, topic, batchSize: 7, sink: sinkConfig }]),
        }),
      );

    it('delivers every record in offset order per partition and commits past them; a second run delivers nothing', async () => {
      // Prepare
      const topic = await filledTopic();
      const drainId = `${topic}-http`;
      const deps = drainDeps(topic, drainId, { type: 'http', url: `${sink.url}/in`, allowHttp: true });

      try {
        // Act
        const report = await makeDrainHandler(() => deps)({}, lambdaContext(60_000));
        const again = await makeDrainHandler(() => deps)({}, lambdaContext(60_000));

        // Assess
        expect(report.drains[0]?.partitions.map((p) => [p.outcome, p.lag])).toEqual([
          ['caught-up', 0],
          ['caught-up', 0],
        ]);
        expect(again.drains[0]?.partitions.map((p) => p.outcome)).toEqual(['caught-up', 'caught-up']);
        const checkpoints = await deps.checkpoints.list({ drainId });
        expect(checkpoints.map((c) => [c.partition, c.nextOffset]).sort()).toEqual([
          [0, 40],
          [1, 40],
        ]);
      } finally {
        await deps.close?.();
      }
      for (let p = 0; p < PARTITIONS; p += 1) {
        const delivered = sink.received
          .filter((request) => request.headers['kafka-partition'] === String(p))
          .map((request) => request.body.toString());
        expect(delivered).toEqual(Array.from({ length: 40 }, (_, i) => `p${p}-${i}`));
      }
    });

    it('delivers every partition to an SQS FIFO queue in offset order, one message group per partition', async () => {
      // Prepare
      const topic = await filledTopic();
      const sqs = await startFakeSqs();
      const deps = drainDeps(
        topic,
        `${topic}-sqs`,
        { type: 'sqs', queueUrl: sqs.queueUrl('out.fifo') },
        { SQS_ENDPOINT: sqs.endpoint },
      );

      try {
        // Act
        const report = await makeDrainHandler(() => deps)({}, lambdaContext(60_000));

        // Assess
        expect(report.drains[0]?.partitions.map((p) => p.outcome)).toEqual(['caught-up', 'caught-up']);
        expect(Object.values(sqs.groups('out.fifo')).sort()).toEqual(
          Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: 40 }, (_, i) => `p${p}-${i}`)),
        );
      } finally {
        await deps.close?.();
        await sqs.close();
      }
    });
  });
});
