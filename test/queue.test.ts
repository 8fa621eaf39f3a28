import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Fault, type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/index.js';
import { splitJsonValues } from '../dev/kafka-rest/json-stream.js';
import { makeHandler } from '../handlers/queue.js';
import { ConfigError } from '../lib/core/errors.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import { REQUEST_SIZE } from '../lib/kafka-rest/request-size.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { createQueueDeps, type QueueHandlerDeps } from '../lib/wiring/queue.js';
import { type Config, loadConfig } from '../lib/wiring/settings/all.js';
import type { Env } from '../lib/wiring/settings/env.js';
import { lambdaContext } from './fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { type DialectCase, itWhere, LOCAL_CLUSTER_ID, PRODUCE_DIALECTS } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

const TOPICS = { orders: 3, audit: 1 } as const;

const BASE_ENV: Env = {
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  KAFKA_REST_MAX_ATTEMPTS: '6',
  KAFKA_REST_BACKOFF_BASE_MS: '2',
  KAFKA_REST_BACKOFF_MAX_MS: '10',
  QUEUE_TOPIC: 'orders',
  QUEUE_ALLOWED_TOPICS: 'audit',
  QUEUE_ENCODING_ATTRIBUTE: 'encoding',
  QUEUE_KEY_ATTRIBUTE: 'key',
};

const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }): string[] =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

const ids = (messages: readonly SQSRecord[]): string[] => messages.map((message) => message.messageId);

/** Standard-queue messages `prefix-0` … whose body is their own name. */
const standardMessages = (count: number, prefix = 'm'): SQSRecord[] =>
  Array.from({ length: count }, (_, n) => sqsRecord(`${prefix}-${n}`));

/** The config that makes the client speak `c`, the env twin of `clientOptionsFor(c)`. */
const dialectEnv = (c: DialectCase): Env => ({
  KAFKA_REST_DIALECT: c.dialect,
  KAFKA_REST_FLAVOR: c.flavor,
  ...(c.dialect === 'v3' ? { KAFKA_REST_CLUSTER_ID: LOCAL_CLUSTER_ID } : {}),
});

describe.each(PRODUCE_DIALECTS)('queue handler against the local Kafka REST server, $name', (c) => {
  let server: KafkaRestServer;
  let log: ReturnType<typeof createMemoryLog>;
  let kafka: KafkaRestClient | undefined;
  let deps: QueueHandlerDeps;
  let requestsBefore = 0;
  const handler = makeHandler(() => deps);

  /** Builds the handler's deps the way `createQueueDeps` does, over `env` and a memory log. */
  const useEnv = async (env: Env = {}): Promise<void> => {
    await kafka?.close();
    const config = loadConfig({ ...BASE_ENV, ...dialectEnv(c), KAFKA_REST_URL: server.url, ...env });
    kafka = createKafkaRestFromConfig(config, { log });
    deps = toDeps(config, kafka);
  };

  /** What `createQueueDeps` builds, with the test's log (it would otherwise print) and a 100 ms margin. */
  const toDeps = (config: Config, client: KafkaRestClient): QueueHandlerDeps => ({
    kafka: client,
    log,
    now: Date.now,
    queue: config.queue,
    limits: toProduceLimits(config.kafka),
    deadlineMarginMs: 100,
  });

  const producePosts = () =>
    server.requests.slice(requestsBefore).filter((request) => request.method === 'POST');

  /** Every value stored in `topic`, by partition, in offset order. */
  const stored = (topic: keyof typeof TOPICS): string[][] =>
    Array.from({ length: TOPICS[topic] }, (_, p) =>
      server.records(topic, p).map((record) => record.value?.toString('utf8') ?? '<null>'),
    );

  const storedValues = (topic: keyof typeof TOPICS): string[] => stored(topic).flat().sort();

  /** Where the client produces to `topic` in this dialect. */
  const producePath = (topic: keyof typeof TOPICS): string =>
    c.dialect === 'v3' ? `/v3/clusters/${LOCAL_CLUSTER_ID}/topics/${topic}/records` : `/topics/${topic}`;

  /** How many records a produce body carries: v3 streams one JSON object per record. */
  const recordsIn = (body: string | undefined): number =>
    c.dialect === 'v3'
      ? splitJsonValues(body ?? '').values.length
      : (JSON.parse(body ?? '{}') as { records: unknown[] }).records.length;

  const sorted = (values: readonly string[]): string[] => [...values].sort();

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: TOPICS, flavor: c.flavor });
  });
  afterAll(async () => {
    await kafka?.close();
    await server.close();
  });
  beforeEach(async () => {
    server.clearFaults();
    for (const [topic, partitions] of Object.entries(TOPICS)) {
      server.deleteTopic(topic);
      server.createTopic(topic, partitions);
    }
    requestsBefore = server.requests.length;
    log = createMemoryLog();
    await useEnv();
  });

  it('acknowledges every message, packed into as few requests as the record cap allows', async () => {
    // Prepare
    await useEnv({ KAFKA_REST_MAX_REQUEST_RECORDS: '10' });
    const messages = standardMessages(25);

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(storedValues('orders')).toEqual(sorted(messages.map((message) => message.body)));
    expect(producePosts()).toHaveLength(3);
    expect(log.lines.find((line) => line.message === 'queue batch produced')?.attributes).toMatchObject({
      messages: 25,
      acknowledged: 25,
      failed: 0,
      requestsPlanned: 3,
      requestsSent: 3,
    });
  });

  it('answers an empty batch with no failures and no request', async () => {
    // Act
    const response = await handler(sqsEvent([]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(server.requests.slice(requestsBefore)).toEqual([]);
  });

  it('writes the decoded bytes of a base64 body and takes the key from the key attribute', async () => {
    // Prepare
    const bytes = Buffer.from([0, 255, 1, 254]);
    const messages = [
      sqsRecord(bytes.toString('base64'), { attributes: { encoding: 'base64', key: 'order-9' } }),
      sqsRecord('plain', { attributes: { topic: 'audit' } }),
    ];

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const written = [0, 1, 2].flatMap((p) => server.records('orders', p));
    expect(written).toHaveLength(1);
    expect(written[0]?.value).toEqual(bytes);
    expect(written[0]?.key?.toString('utf8')).toBe('order-9');
    expect(stored('audit')).toEqual([['plain']]);
  });

  it('retries records that fail retriably inside the invocation and then acknowledges them (on Strimzi, leaves them for redelivery)', async () => {
    // Prepare
    const messages = standardMessages(10);
    server.inject({ kind: 'record-errors', errors: { 1: { code: 50003 }, 4: { code: 50003 } } });

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    if (c.flavor === 'strimzi') {
      // Strimzi's 500 comes after Kafka's producer retried already: not resent at once, never final.
      const retried = [messages[1], messages[4]] as SQSRecord[];
      expect(failedIds(response)).toEqual(ids(retried));
      expect(storedValues('orders')).toEqual(
        sorted(messages.filter((message) => !retried.includes(message)).map((message) => message.body)),
      );
      expect(producePosts()).toHaveLength(1);
      return;
    }
    expect(failedIds(response)).toEqual([]);
    expect(storedValues('orders')).toEqual(sorted(messages.map((message) => message.body)));
    const posts = producePosts();
    expect(posts).toHaveLength(2);
    // Only the two failed records are resent.
    expect(recordsIn(posts[1]?.body)).toBe(2);
  });

  it('reports exactly the records the proxy refused, and logs each with its id and reason (for good where the code is final)', async () => {
    // Prepare
    const messages = standardMessages(10);
    server.inject({ kind: 'record-errors', errors: { 2: { code: 50002 }, 7: { code: 50002 } } });

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    const refused = [messages[2], messages[7]] as SQSRecord[];
    expect(failedIds(response)).toEqual(ids(refused));
    expect(storedValues('orders')).toEqual(
      sorted(messages.filter((message) => !refused.includes(message)).map((message) => message.body)),
    );
    // Karapace's code for a refused record (1) also covers timeouts, and Strimzi's (500) delivery timeouts:
    // left for redelivery, not final.
    if (c.dialect !== 'v3' && (c.flavor === 'karapace' || c.flavor === 'strimzi')) {
      const warnings = log.lines.filter((line) => line.message === 'queue messages left for redelivery');
      expect(warnings.map((line) => line.attributes)).toMatchObject([
        { code: 'ERR_UPSTREAM_STATUS', messageIds: refused.map((message) => message.messageId) },
      ]);
    } else {
      const errors = log.lines.filter((line) => line.message === 'queue message failed for good');
      expect(errors.map((line) => line.attributes.messageIds)).toEqual(
        refused.map((message) => [message.messageId]),
      );
      expect(errors[0]?.attributes).toMatchObject({ topic: 'orders', code: 'ERR_RECORD_REJECTED' });
    }
    expect(producePosts()).toHaveLength(1);
  });

  it.each<{ name: string; fault: Fault; logged: string }>([
    {
      name: 'rejected whole (500, 50002)',
      fault: { kind: 'status', status: 500, body: { error_code: 50002, message: 'Kafka error' } },
      logged: 'queue messages left for redelivery',
    },
    {
      name: 'unavailable on every attempt (503)',
      fault: { kind: 'status', status: 503, times: 6 },
      logged: 'queue messages left for redelivery',
    },
    {
      name: 'rejected as malformed (422)',
      fault: { kind: 'status', status: 422 },
      logged: 'queue message failed for good',
    },
  ])('reports exactly the messages of one produce request $name', async ({ fault, logged }) => {
    // Prepare: three requests of four, sent one after the other; the fault hits the first.
    await useEnv({ KAFKA_REST_MAX_REQUEST_RECORDS: '4', QUEUE_CONCURRENCY: '1' });
    const messages = standardMessages(12);
    server.inject(fault);

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    expect(failedIds(response)).toEqual(ids(messages.slice(0, 4)));
    expect(storedValues('orders')).toEqual(sorted(messages.slice(4).map((message) => message.body)));
    const lines = log.lines.filter((line) => line.message === logged);
    expect(lines.map((line) => line.attributes.messageIds)).toEqual([ids(messages.slice(0, 4))]);
  });

  it('rides out a burst of 429s with Retry-After and acknowledges everything once', async () => {
    // Prepare
    await useEnv({ KAFKA_REST_MAX_REQUEST_RECORDS: '5', QUEUE_CONCURRENCY: '2' });
    const messages = standardMessages(15);
    server.inject({ kind: 'throttle', retryAfterSeconds: 0, times: 4 });

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    expect(failedIds(response)).toEqual([]);
    expect(storedValues('orders')).toEqual(sorted(messages.map((message) => message.body)));
    expect(producePosts()).toHaveLength(3 + 4);
  });

  it('fails an oversized message for good, and sends the rest', async () => {
    // Prepare
    await useEnv({ KAFKA_REST_MAX_RECORD_BYTES: '1024' });
    const messages = [sqsRecord('small-0'), sqsRecord('x'.repeat(1_025)), sqsRecord('small-2')];

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    expect(failedIds(response)).toEqual([messages[1]?.messageId]);
    expect(storedValues('orders')).toEqual(['small-0', 'small-2']);
    const error = log.lines.find((line) => line.message === 'queue message failed for good');
    expect(error?.attributes).toMatchObject({
      messageIds: [messages[1]?.messageId],
      code: 'ERR_PAYLOAD_TOO_LARGE',
    });
    expect(log.text()).not.toContain('x'.repeat(100));
  });

  it('fails a message naming a topic outside the allow-list for good, and sends the rest', async () => {
    // Prepare
    const messages = [
      sqsRecord('to-audit', { attributes: { topic: 'audit' } }),
      sqsRecord('to-payroll', { attributes: { topic: 'payroll' } }),
      sqsRecord('to-orders'),
    ];

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    expect(failedIds(response)).toEqual([messages[1]?.messageId]);
    expect(stored('audit')).toEqual([['to-audit']]);
    expect(storedValues('orders')).toEqual(['to-orders']);
    const error = log.lines.find((line) => line.message === 'queue message failed for good');
    expect(error?.attributes).toMatchObject({
      messageIds: [messages[1]?.messageId],
      code: 'ERR_PAYLOAD_INVALID',
    });
    expect(String(error?.attributes.reason)).toContain('"payroll"');
  });

  it('fails a message whose base64 is not valid for good, logged with its id and reason, and sends the rest', async () => {
    // Prepare: Buffer.from(…, 'base64') would turn both into some bytes ('!!!!' into none at all).
    const messages = [
      sqsRecord('!!!!', { attributes: { encoding: 'base64' } }),
      sqsRecord('kept'),
      sqsRecord('bad-key', { binaryValues: { key: 'a2V5-' } }),
    ];

    // Act
    const response = await handler(sqsEvent(messages), lambdaContext());

    // Assess
    const refused = [messages[0], messages[2]] as SQSRecord[];
    expect(failedIds(response)).toEqual(ids(refused));
    expect(storedValues('orders')).toEqual(['kept']);
    const errors = log.lines.filter((line) => line.message === 'queue message failed for good');
    expect(errors.map((line) => [line.attributes.messageIds, line.attributes.code])).toEqual(
      refused.map((message) => [[message.messageId], 'ERR_PAYLOAD_INVALID']),
    );
    expect(String(errors[0]?.attributes.reason)).toMatch(/body is not valid base64/);
    expect(String(errors[1]?.attributes.reason)).toMatch(/key is a Binary value that is not valid base64/);
  });

  describe('FIFO', () => {
    /** A1 B1 A2 B2 …: two groups interleaved, each body naming its group and place. */
    const interleaved = (count: number): SQSRecord[] =>
      Array.from({ length: count * 2 }, (_, n) => {
        const group = n % 2 === 0 ? 'A' : 'B';
        return sqsRecord(`${group}${Math.floor(n / 2) + 1}`, { groupId: group });
      });

    /** A group's records in offset order: all in one partition, as the group id is their key. */
    const groupLog = (group: string): string[] => {
      const partitions = stored('orders').map((values) => values.filter((value) => value.startsWith(group)));
      expect(partitions.filter((values) => values.length > 0).length).toBeLessThanOrEqual(1);
      return partitions.flat();
    };

    const byBody = (messages: readonly SQSRecord[], ...bodies: string[]): string[] =>
      bodies.map((body) => messages.find((message) => message.body === body)?.messageId ?? `missing ${body}`);

    /**
     * Refuses A2 of `interleaved(4)` with `code`, once, in the first request that carries it: at index 2 of
     * a first request carrying A1 B1 A2 …, or at index 0 of a second request starting with it.
     */
    const refuseA2Once = (code: number): void => {
      server.inject({ kind: 'record-errors', errors: { 2: { code } } });
      server.inject({ kind: 'record-errors', errors: { 0: { code } } });
    };

    it('keeps both groups in order when one fails for good: that group reports its failure and all after it', async () => {
      // Prepare: requests A1 B1, A2 B2, A3 B3, A4 B4, each after the one before; the proxy refuses A2.
      const messages = interleaved(4);
      refuseA2Once(50002);

      // Act
      const response = await handler(sqsEvent(messages), lambdaContext());

      // Assess: A3 and A4 were never sent, so nothing of A is in Kafka after A1 until the redelivery.
      expect(failedIds(response)).toEqual(byBody(messages, 'A2', 'A3', 'A4'));
      expect(groupLog('B')).toEqual(['B1', 'B2', 'B3', 'B4']);
      expect(groupLog('A')).toEqual(['A1']);
      expect(producePosts().map((post) => recordsIn(post.body))).toEqual([2, 2, 1, 1]);

      // Act: SQS redelivers the reported messages, in group order.
      const redelivered = messages.filter((message) => failedIds(response).includes(message.messageId));
      const retry = await handler(sqsEvent(redelivered), lambdaContext());

      // Assess
      expect(retry.batchItemFailures).toEqual([]);
      expect(groupLog('A')).toEqual(['A1', 'A2', 'A3', 'A4']);
    });

    // Strimzi resends no record inside the invocation (its codes: test/kafka-rest-strimzi.test.ts).
    itWhere(c.flavor !== 'strimzi')(
      'writes a group in order when an earlier record is retried: later ones wait for its acknowledgement',
      async () => {
        // Prepare: A2 fails retriably once; the client resends it alone, and A3 is sent only after that.
        const messages = interleaved(4);
        refuseA2Once(50003);

        // Act
        const response = await handler(sqsEvent(messages), lambdaContext());

        // Assess
        expect(failedIds(response)).toEqual([]);
        expect(groupLog('A')).toEqual(['A1', 'A2', 'A3', 'A4']);
        expect(groupLog('B')).toEqual(['B1', 'B2', 'B3', 'B4']);
      },
    );

    it.each([
      { name: 'an oversized message', poison: () => sqsRecord('x'.repeat(1_025), { groupId: 'A' }) },
      {
        name: 'a disallowed topic',
        poison: () => sqsRecord('A-poison', { groupId: 'A', attributes: { topic: 'payroll' } }),
      },
    ])('stops group A at $name and never sends its later messages', async ({ poison }) => {
      // Prepare
      await useEnv({ KAFKA_REST_MAX_RECORD_BYTES: '1024' });
      const messages = [
        sqsRecord('A1', { groupId: 'A' }),
        sqsRecord('B1', { groupId: 'B' }),
        poison(),
        sqsRecord('A3', { groupId: 'A' }),
        sqsRecord('B2', { groupId: 'B' }),
      ];

      // Act
      const response = await handler(sqsEvent(messages), lambdaContext());

      // Assess
      expect(failedIds(response)).toEqual(ids([messages[2], messages[3]] as SQSRecord[]));
      expect(groupLog('A')).toEqual(['A1']);
      expect(groupLog('B')).toEqual(['B1', 'B2']);
    });

    it('sends a group one record per request, each after the one before, and shares requests with others', async () => {
      // Prepare: A's four records need four requests, which must not overlap; standard messages fill them.
      await useEnv({ QUEUE_CONCURRENCY: '8' });
      const messages = [
        ...Array.from({ length: 4 }, (_, n) => sqsRecord(`A${n + 1}`, { groupId: 'A' })),
        ...standardMessages(4, 's'),
      ];
      server.inject({ kind: 'delay', ms: 30, times: 1 });

      // Act
      const response = await handler(sqsEvent(messages), lambdaContext());

      // Assess: the first request was slow, yet nothing overtook it.
      expect(failedIds(response)).toEqual([]);
      expect(groupLog('A')).toEqual(['A1', 'A2', 'A3', 'A4']);
      expect(producePosts().map((post) => recordsIn(post.body))).toEqual([5, 1, 1, 1]);
    });
  });

  it('leaves the messages it could not send before the deadline to redelivery', async () => {
    // Prepare: a server of its own, as its delayed request would otherwise write into a later test.
    const slow = await startKafkaRestServer({ topics: TOPICS, flavor: c.flavor });
    try {
      const config = loadConfig({
        ...BASE_ENV,
        ...dialectEnv(c),
        KAFKA_REST_URL: slow.url,
        KAFKA_REST_MAX_REQUEST_RECORDS: '4',
        QUEUE_CONCURRENCY: '1',
      });
      const client = createKafkaRestFromConfig(config, { log });
      deps = toDeps(config, client);
      // Deadline 2 s away (2.1 s left, 100 ms margin: the first request has time on a loaded machine too). Requests: orders 0-3; audit 4-7, every attempt held
      // 5 s by the server; orders 8-11, due only after the deadline, so never sent.
      const messages = [
        ...standardMessages(4, 'first'),
        ...Array.from({ length: 4 }, (_, n) => sqsRecord(`audit-${n}`, { attributes: { topic: 'audit' } })),
        ...standardMessages(4, 'last'),
      ];
      slow.inject({ kind: 'delay', ms: 5_000, times: 100, match: { path: producePath('audit') } });

      // Act
      const response = await handler(sqsEvent(messages), lambdaContext(2_100));

      // Assess
      expect(failedIds(response)).toEqual(ids(messages.slice(4)));
      const orders = [0, 1, 2].flatMap((p) =>
        slow.records('orders', p).map((record) => record.value?.toString()),
      );
      expect(orders.sort()).toEqual(sorted(messages.slice(0, 4).map((message) => message.body)));
      // The client may try the audit request more than once (its own policy); the last request never goes.
      const posts = slow.requests
        .filter((request) => request.method === 'POST')
        .map((request) => request.path);
      expect(posts[0]).toBe(producePath('orders'));
      expect(posts.slice(1)).toEqual(posts.slice(1).map(() => producePath('audit')));
      expect(posts.length).toBeGreaterThan(1);
      expect(log.lines.some((line) => line.attributes.code === 'ERR_DEADLINE')).toBe(true);
      await client.close();
    } finally {
      await slow.close();
    }
  });

  it('never puts the API key in a log line, even when the proxy refuses it', async () => {
    // Prepare: the proxy wants another key than the one configured.
    const apiKey = 'q-test-key-51b84d06a1e5c9b2d7f04e637f3a9c2e';
    const guarded = await startKafkaRestServer({
      topics: TOPICS,
      flavor: c.flavor,
      apiKey: 'the-proxy-wants-another-key-entirely',
    });
    try {
      const config = loadConfig({
        ...BASE_ENV,
        ...dialectEnv(c),
        KAFKA_REST_URL: guarded.url,
        KAFKA_REST_AUTH: 'api-key',
        KAFKA_REST_API_KEY: apiKey,
      });
      const client = createKafkaRestFromConfig(config, { log });
      deps = toDeps(config, client);
      const messages = standardMessages(3);

      // Act
      const response = await handler(sqsEvent(messages), lambdaContext());

      // Assess
      expect(failedIds(response)).toEqual(ids(messages));
      expect(log.lines.length).toBeGreaterThan(0);
      expect(log.text()).not.toContain(apiKey);
      await client.close();
    } finally {
      await guarded.close();
    }
  });

  it('builds its deps from the config, and will not start without a topic to send to', async () => {
    // Prepare
    const env = {
      KAFKA_REST_URL: 'http://127.0.0.1:1',
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
    };

    // Act
    const built = createQueueDeps(
      loadConfig({ ...env, QUEUE_TOPIC: 'orders', KAFKA_REST_MAX_REQUEST_RECORDS: '7' }),
    );

    // Assess
    expect(built.limits).toEqual({
      maxRecordBytes: 1_000_000,
      maxRequestBytes: 5_000_000,
      maxRequestRecords: 7,
      requestSize: REQUEST_SIZE.v1,
    });
    expect(built.queue.topic).toBe('orders');
    expect(built.deadlineMarginMs).toBe(1_000);
    await built.kafka.close();
    expect(() => createQueueDeps(loadConfig(env))).toThrow(ConfigError);
  });
});
