import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { parseSinkConfig } from '../lib/sinks/config.js';
import { RECORD_EVENT_TYPE } from '../lib/sinks/http-sink.js';
import { createDrainDeps } from '../lib/wiring/drain.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { createWebhookDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';
import { TEST_AWS } from './helpers/secrets-manager.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const ORDER = '{"order":"o-1","amount":12345678901234567890}';

/** A received request as the SDK's HTTP binding reads it, validated strictly. */
const toEvent = (request: { headers: Record<string, unknown>; body: Buffer }): CloudEvent<unknown> => {
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
  // The SDK parses a structured body only from text; binary data stays the bytes received.
  const structured = headers['content-type']?.startsWith('application/cloudevents+json') === true;
  const body = structured ? request.body.toString('utf8') : request.body;
  const event = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
  return new CloudEvent({ ...event }, true);
};

describe.each([
  { mode: 'binary' as const, proxy: 'v1' as const },
  { mode: 'structured' as const, proxy: 'v1' as const },
  { mode: 'binary' as const, proxy: 'strimzi' as const },
  { mode: 'structured' as const, proxy: 'strimzi' as const },
])('webhook → Kafka ($proxy) → drain → HTTP sink in CloudEvents $mode mode', ({ mode, proxy }) => {
  let kafka: KafkaRestServer;
  let dynamo: LocalDynamo;
  let receiver: HttpSink;

  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_AWS.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_AWS.credentials.secretAccessKey);
    // v1 keeps no record headers (the webhook's event travels structured in the value); the Strimzi
    // bridge keeps them (binary mode: ce_* headers, traceparent), and the drain hands them to the sink.
    kafka = await startKafkaRestServer({
      topics: { orders: 1 },
      ...(proxy === 'strimzi' ? { flavor: 'strimzi' } : {}),
    });
    dynamo = await startDynalite(`ce-${mode}-${proxy}`);
    receiver = await startHttpSink();
  });
  afterAll(async () => {
    await Promise.all([kafka.close(), dynamo.close(), receiver.close()]);
    vi.unstubAllEnvs();
  });

  it('the webhook’s CloudEvent arrives as itself, its trace as traceparent; a raw record becomes one', async () => {
    // Prepare: one record produced by a CloudEvents route (structured: v1 keeps no headers), one raw.
    const base = {
      KAFKA_REST_URL: kafka.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
      AWS_REGION: TEST_AWS.region,
      ...(proxy === 'strimzi' ? { KAFKA_REST_DIALECT: 'v2', KAFKA_REST_FLAVOR: 'strimzi' } : {}),
    };
    const webhookDeps = {
      ...createWebhookDeps(
        loadConfig({
          ...base,
          WEBHOOK_ROUTES: JSON.stringify({
            shop: {
              topic: 'orders',
              verify: { scheme: 'none' },
              envelope: { format: 'cloudevents', type: 'com.example.order' },
            },
            raw: { topic: 'orders', verify: { scheme: 'none' } },
          }),
        }),
      ),
      log: createMemoryLog(),
    };
    const webhook = makeWebhookHandler(() => webhookDeps);
    const shop = await webhook(
      httpApiEvent('/hooks/shop', ORDER, {
        requestId: 'req-shop-1',
        headers: { traceparent: TRACEPARENT },
      }),
      lambdaContext(),
    );
    const raw = await webhook(
      httpApiEvent('/hooks/raw', 'plain text', { headers: { 'content-type': 'text/plain' } }),
      lambdaContext(),
    );
    await webhookDeps.kafka.close();
    expect([shop.statusCode, raw.statusCode]).toEqual([202, 202]);
    const deps = createDrainDeps(
      loadConfig({
        ...base,
        CHECKPOINT_TABLE: dynamo.tableName,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        DRAIN_ID_NAMESPACE: 'ce',
        DRAINS: JSON.stringify([
          {
            id: `ce-${mode}-${proxy}`,
            topic: 'orders',
            partitions: [0],
            sink: {
              type: 'http',
              url: `${receiver.url}/in`,
              allowHttp: true,
              cloudEvents: mode,
              contentType: 'text/plain',
            },
          },
        ]),
      }),
    );

    try {
      // Act
      const result = await makeDrainHandler(() => deps)(
        {},
        { getRemainingTimeInMillis: () => 10_000, awsRequestId: 'ce' },
      );

      // Assess
      expect(result).toMatchObject({ failed: false });
      expect(receiver.received).toHaveLength(2);
      const [first, second] = receiver.received;
      expect(first?.headers['content-type']).toBe(
        mode === 'binary' ? 'application/json' : 'application/cloudevents+json',
      );
      const event = toEvent(first as NonNullable<typeof first>);
      expect(event.id).toBe('req-shop-1');
      expect(event.source).toBe('/hooks/shop');
      expect(event.type).toBe('com.example.order');
      expect(event.traceparent).toBe(TRACEPARENT);
      expect(first?.headers.traceparent).toBe(TRACEPARENT);
      // A 64-bit number survives Kafka and both HTTP modes as the sender wrote it.
      expect(first?.body.toString()).toContain(mode === 'binary' ? ORDER : `"data":${ORDER}`);
      expect(first?.headers['idempotency-key']).toBe('ce/orders/0/0/0');

      const made = toEvent(second as NonNullable<typeof second>);
      expect(made.id).toBe('ce/orders/0/0/1');
      expect(made.source).toBe('/topics/orders');
      expect(made.type).toBe(RECORD_EVENT_TYPE);
      expect(made.datacontenttype).toBe('text/plain');
      expect(Buffer.from(made.data as Uint8Array).toString()).toBe('plain text');
    } finally {
      await deps.close?.();
    }
  });
});

describe('HTTP sink cloudEvents setting', () => {
  it.each([
    { sink: { cloudEvents: 'binary', mode: 'batch' }, problem: 'sink.cloudEvents needs "mode": "single"' },
    { sink: { cloudEvents: 'json' }, problem: 'sink.cloudEvents must be one of' },
  ])('refuses $sink', ({ sink, problem }) => {
    const problems: string[] = [];

    parseSinkConfig({ type: 'http', url: 'https://sink.example/in', ...sink }, 'sink', problems);

    expect(problems.join('\n')).toContain(problem);
  });
});
