import { CloudEvent, Kafka, ValidationError } from 'cloudevents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../dev/dynamodb-table.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { StoredRecord } from '../dev/kafka-rest/types.js';
import { makeHandler as makeEventsHandler } from '../handlers/events.js';
import { makeHandler } from '../handlers/webhook.js';
import { createIdempotencyStore } from '../lib/ingest/webhook/idempotency/store.js';
import { createEventsDeps } from '../lib/wiring/events.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { createWebhookDeps, type WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { eventBridgeEvent } from './fixtures/eventbridge.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { type DialectCase, LOCAL_CLUSTER_ID, PRODUCE_DIALECTS } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';
import { checkedAgainstOpenApi } from './helpers/openapi.js';

const ROUTES = {
  orders: {
    topic: 'orders',
    verify: { scheme: 'none' },
    key: { jsonPointer: '/id' },
    envelope: { format: 'cloudevents', type: { header: 'x-event-type' } },
  },
  sourced: {
    topic: 'orders',
    verify: { scheme: 'none' },
    envelope: { format: 'cloudevents', source: 'urn:example:shop', type: { jsonPointer: '/kind' } },
  },
  plain: { topic: 'orders', verify: { scheme: 'none' }, envelope: 'cloudevents' },
  deduped: {
    topic: 'orders',
    verify: { scheme: 'none' },
    envelope: 'cloudevents',
    idempotency: { from: 'header', header: 'webhook-id' },
  },
};

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/**
 * A stored record as the CloudEvents SDK's Kafka binding reads it. A proxy without record headers gives
 * a consumer no content type to tell the mode by: the topic's convention (structured) supplies it, as
 * it must for any consumer of such a topic.
 */
const toEvent = (record: StoredRecord): CloudEvent<unknown> => {
  const headers = Object.fromEntries(
    (record.headers ?? []).map((header) => [header.name, header.value?.toString('utf8') ?? '']),
  );
  // Binary data is handed over as the bytes themselves; the JSON event format is text.
  const value = record.headers === undefined ? (record.value?.toString('utf8') ?? '') : record.value;
  const message = {
    key: record.key?.toString('utf8') ?? '',
    value,
    headers: record.headers === undefined ? { 'content-type': 'application/cloudevents+json' } : headers,
    body: value,
  };
  const event = Kafka.toEvent(message) as CloudEvent<unknown>;
  // `toEvent` builds structured events without validating them; the strict constructor does.
  return new CloudEvent({ ...event }, true);
};

const carriesHeaders = (c: DialectCase) => c.dialect === 'v3' || c.flavor === 'strimzi';

describe.each(PRODUCE_DIALECTS)('CloudEvents routes over $name, read back with the cloudevents SDK', (c) => {
  let server: KafkaRestServer;
  let dynamo: LocalDynamo;
  let deps: WebhookHandlerDeps;
  const log = createMemoryLog();
  const handler = checkedAgainstOpenApi(makeHandler(() => deps));
  const mode = carriesHeaders(c) ? 'binary' : 'structured';

  beforeAll(async () => {
    server = await startKafkaRestServer({
      topics: { orders: 1 },
      flavor: c.flavor,
      ...(c.dialect === 'v3' ? { clusterId: LOCAL_CLUSTER_ID } : {}),
    });
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, 'idempotency');
    const config = loadConfig({
      KAFKA_REST_URL: server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
      KAFKA_REST_DIALECT: c.dialect,
      KAFKA_REST_FLAVOR: c.flavor,
      ...(c.dialect === 'v3' ? { KAFKA_REST_CLUSTER_ID: LOCAL_CLUSTER_ID } : {}),
      AWS_REGION: 'us-east-1',
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      IDEMPOTENCY_TABLE: 'idempotency',
    });
    deps = {
      ...createWebhookDeps(config),
      log,
      idempotency: createIdempotencyStore({
        client: dynamo.client,
        tableName: 'idempotency',
        now: Date.now,
        inProgressTtlMs: 30_000,
      }),
    };
  });
  afterEach(() => {
    server.deleteTopic('orders');
    server.createTopic('orders', 1);
  });
  afterAll(async () => {
    await deps.kafka.close();
    await Promise.all([server.close(), dynamo.close()]);
  });

  const onlyRecord = (): StoredRecord => {
    const records = server.records('orders', 0);
    expect(records).toHaveLength(1);
    return records[0] as StoredRecord;
  };

  it(`a JSON delivery becomes a valid CloudEvent in ${mode} mode, its data the body, its trace passed on`, async () => {
    const body = '{"id":"order-17","total":9007199254740993}';
    const before = Date.now();

    const response = await handler(
      httpApiEvent('/hooks/orders', body, {
        requestId: 'req-ce-1',
        headers: { 'x-event-type': 'com.example.order.created', traceparent: TRACEPARENT },
      }),
      lambdaContext(),
    );

    expect(response.statusCode).toBe(202);
    const record = onlyRecord();
    const event = toEvent(record);
    expect(event.specversion).toBe('1.0');
    expect(event.id).toBe('req-ce-1');
    expect(event.source).toBe('/hooks/orders');
    expect(event.type).toBe('com.example.order.created');
    expect(event.datacontenttype).toBe('application/json');
    expect(Date.parse(event.time ?? '')).toBeGreaterThanOrEqual(before - 1);
    expect(event.traceparent).toBe(TRACEPARENT);
    expect(record.key?.toString()).toBe('order-17');
    if (mode === 'binary') {
      // The value is exactly what was sent; the attributes ride in the headers.
      expect(record.value?.toString()).toBe(body);
      expect(record.headers?.find((h) => h.name === 'traceparent')?.value?.toString()).toBe(TRACEPARENT);
    } else {
      expect(record.headers).toBeUndefined();
      // The JSON data is the sender's text, spliced in: a 64-bit number is not rounded.
      expect(record.value?.toString()).toContain(`"data":${body}}`);
    }
    expect(event.data).toEqual(JSON.parse(body));
  });

  it('bytes that are not JSON keep their exact value (data_base64 in structured mode)', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 10]);

    const response = await handler(
      httpApiEvent('/hooks/plain', bytes.toString('base64'), {
        isBase64Encoded: true,
        headers: { 'content-type': 'application/octet-stream' },
      }),
      lambdaContext(),
    );

    expect(response.statusCode).toBe(202);
    const record = onlyRecord();
    if (mode === 'binary') expect(record.value).toEqual(bytes);
    const event = toEvent(record);
    expect(event.type).toBe('kafka-rest-bridge.webhook');
    expect(event.source).toBe('/hooks/plain');
    expect(event.datacontenttype).toBe('application/octet-stream');
    expect(Buffer.from(event.data as Uint8Array)).toEqual(bytes);
  });

  it('a configured source, the type from a JSON pointer, the id from the delivery id', async () => {
    const response = await handler(
      httpApiEvent('/hooks/sourced', '{"kind":"shop.refund"}', { headers: { traceparent: 'garbage' } }),
      lambdaContext(),
    );
    const deduped = await handler(
      httpApiEvent('/hooks/deduped', '{}', { headers: { 'webhook-id': 'msg_2fc1' } }),
      lambdaContext(),
    );

    expect([response.statusCode, deduped.statusCode]).toEqual([202, 202]);
    const [first, second] = server.records('orders', 0).map(toEvent);
    expect(first?.source).toBe('urn:example:shop');
    expect(first?.type).toBe('shop.refund');
    // A malformed traceparent is never passed on: a new, valid one is.
    expect(first?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(second?.id).toBe('msg_2fc1');
  });

  it('a route whose type source is missing answers 400 and produces nothing', async () => {
    const response = await handler(httpApiEvent('/hooks/orders', '{"id":"o"}'), lambdaContext());

    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '{}').detail).toBe('the event type header x-event-type is missing');
    expect(server.records('orders', 0)).toEqual([]);
  });
});

describe.each(PRODUCE_DIALECTS)('the events function with the cloudevents envelope over $name', (c) => {
  let server: KafkaRestServer;

  beforeAll(async () => {
    server = await startKafkaRestServer({
      topics: { events: 1 },
      flavor: c.flavor,
      ...(c.dialect === 'v3' ? { clusterId: LOCAL_CLUSTER_ID } : {}),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('maps id, source, detail-type and time; the data is the whole event', async () => {
    const config = loadConfig({
      KAFKA_REST_URL: server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
      KAFKA_REST_DIALECT: c.dialect,
      KAFKA_REST_FLAVOR: c.flavor,
      ...(c.dialect === 'v3' ? { KAFKA_REST_CLUSTER_ID: LOCAL_CLUSTER_ID } : {}),
      EVENTS_TOPIC: 'events',
    });
    // The setting itself belongs to the events section of the config (see the report): set here as it would.
    const deps = { ...createEventsDeps(config), log: createMemoryLog(), envelope: 'cloudevents' as const };
    const event = eventBridgeEvent({ orderId: 42 });

    try {
      const result = await makeEventsHandler(() => deps)(event, lambdaContext());

      expect(result.offset).toBe(0);
      const [record] = server.records('events', 0);
      expect(record?.headers === undefined).toBe(!carriesHeaders(c));
      const cloudEvent = toEvent(record as StoredRecord);
      expect(cloudEvent.id).toBe(event.id);
      expect(cloudEvent.source).toBe('com.example.orders');
      expect(cloudEvent.type).toBe('Order Placed');
      expect(cloudEvent.time).toBe('2026-11-24T10:00:00.000Z');
      expect(cloudEvent.datacontenttype).toBe('application/json');
      expect(cloudEvent.data).toEqual(event);
    } finally {
      await deps.kafka.close();
    }
  });
});

describe('the SDK check itself', () => {
  it('refuses what is not a CloudEvent', () => {
    // No source and no type: the strict constructor must say so, or every check above proves nothing.
    const value = Buffer.from('{"specversion":"1.0","id":"x","time":"2026-12-02T00:00:00Z"}');
    expect(() => toEvent({ offset: 0, key: null, value })).toThrow(ValidationError);
  });
});

describe('route settings', () => {
  it.each([
    { envelope: 'cloud-events', problem: 'WEBHOOK_ROUTES.r.envelope must be "none", "cloudevents" or' },
    { envelope: { format: 'cloudevents', source: 'has space' }, problem: 'envelope.source must be' },
    { envelope: { format: 'cloudevents', type: '' }, problem: 'envelope.type must be' },
    { envelope: { format: 'cloudevents', mode: 'binary' }, problem: 'envelope.mode is not an envelope' },
  ])('refuses $envelope', ({ envelope, problem }) => {
    const routes = JSON.stringify({ r: { topic: 't', verify: { scheme: 'none' }, envelope } });

    expect(() => loadConfig({ KAFKA_REST_URL: 'https://proxy.example', WEBHOOK_ROUTES: routes })).toThrow(
      problem,
    );
  });
});
