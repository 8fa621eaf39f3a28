import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Fault, type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/index.js';
import { makeHandler } from '../handlers/events.js';
import { ConfigError } from '../lib/core/errors.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createEventsDeps, type EventsHandlerDeps } from '../lib/wiring/events.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { Env } from '../lib/wiring/settings/env.js';
import { lambdaContext } from './fixtures/api-gateway.js';
import { eventBridgeEvent } from './fixtures/eventbridge.js';
import { createMemoryLog } from './helpers/log.js';

const PARTITIONS = 3;

const BASE_ENV: Env = {
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  KAFKA_REST_MAX_ATTEMPTS: '3',
  KAFKA_REST_BACKOFF_BASE_MS: '2',
  KAFKA_REST_BACKOFF_MAX_MS: '10',
  EVENTS_TOPIC: 'events',
};

describe('events handler against the local Kafka REST server', () => {
  let server: KafkaRestServer;
  let log: ReturnType<typeof createMemoryLog>;
  let kafka: KafkaRestClient | undefined;
  let deps: EventsHandlerDeps;
  let requestsBefore = 0;
  const handler = makeHandler(() => deps);

  const useEnv = async (env: Env = {}): Promise<void> => {
    await kafka?.close();
    const config = loadConfig({ ...BASE_ENV, KAFKA_REST_URL: server.url, ...env });
    kafka = createKafkaRestFromConfig(config, { log });
    deps = {
      kafka,
      log,
      topic: config.events.topic ?? 'unset',
      key: config.events.key,
      limits: toProduceLimits(config.kafka),
      deadlineMarginMs: 100,
      now: Date.now,
    };
  };

  const stored = () =>
    Array.from({ length: PARTITIONS }, (_, p) =>
      server.records('events', p).map((record) => ({ p, ...record })),
    ).flat();

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: { events: PARTITIONS } });
  });
  afterAll(async () => {
    await kafka?.close();
    await server.close();
  });
  beforeEach(async () => {
    server.clearFaults();
    server.deleteTopic('events');
    server.createTopic('events', PARTITIONS);
    requestsBefore = server.requests.length;
    log = createMemoryLog();
    await useEnv();
  });

  it('produces the event JSON once, keyed by the event id, and answers where it went', async () => {
    // Prepare
    const event = eventBridgeEvent({ orderId: 42, total: '9.99' });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    const records = stored();
    expect(records).toHaveLength(1);
    expect(result).toEqual({ topic: 'events', partition: records[0]?.p, offset: 0 });
    expect(JSON.parse(records[0]?.value?.toString('utf8') ?? 'null')).toEqual(event);
    expect(records[0]?.key?.toString('utf8')).toBe(event.id);
  });

  it.each([
    { name: 'a number in the detail', pointer: '/detail/orderId', key: '42' },
    { name: 'the source', pointer: '/source', key: 'com.example.orders' },
    { name: 'no key', pointer: 'none', key: undefined },
  ])('takes the key from $name', async ({ pointer, key }) => {
    // Prepare
    await useEnv({ EVENTS_KEY_POINTER: pointer });

    // Act
    await handler(eventBridgeEvent({ orderId: 42 }), lambdaContext());

    // Assess
    const records = stored();
    expect(records).toHaveLength(1);
    expect(records[0]?.key?.toString('utf8')).toBe(key);
  });

  it('throws when the key pointer names nothing, and produces nothing', async () => {
    // Prepare
    await useEnv({ EVENTS_KEY_POINTER: '/detail/customer/id' });

    // Act + Assess
    await expect(handler(eventBridgeEvent({ orderId: 42 }), lambdaContext())).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      retriable: false,
    });
    expect(stored()).toEqual([]);
    expect(server.requests.slice(requestsBefore)).toEqual([]);
    expect(log.lines.find((line) => line.level === 'error')?.attributes).toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
    });
  });

  it.each([
    // As Lambda's runtime hands it over: JSON.parse already rounded 9007199254740993 to ...992.
    { name: 'a 64-bit id past 2^53', detail: JSON.parse('{"orderId":9007199254740993}') as unknown },
    { name: 'a fraction', detail: { orderId: 0.1 } },
  ])('refuses a key from $name, which may have been rounded, and produces nothing', async ({ detail }) => {
    // Prepare
    await useEnv({ EVENTS_KEY_POINTER: '/detail/orderId' });

    // Act + Assess
    await expect(handler(eventBridgeEvent(detail), lambdaContext())).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      retriable: false,
      message: expect.stringContaining('not a safe integer'),
    });
    expect(stored()).toEqual([]);
  });

  it('throws for an event larger than a record may be', async () => {
    // Prepare
    await useEnv({ KAFKA_REST_MAX_RECORD_BYTES: '512' });

    // Act + Assess
    await expect(handler(eventBridgeEvent({ blob: 'x'.repeat(600) }), lambdaContext())).rejects.toMatchObject(
      {
        code: 'ERR_PAYLOAD_TOO_LARGE',
      },
    );
    expect(stored()).toEqual([]);
  });

  it('retries a retriable record error inside the invocation and produces once', async () => {
    // Prepare
    server.inject({ kind: 'record-errors', errors: { 0: { code: 50003 } } });

    // Act
    const result = await handler(eventBridgeEvent({ orderId: 1 }), lambdaContext());

    // Assess
    expect(result.offset).toBe(0);
    expect(stored()).toHaveLength(1);
  });

  it.each<{ name: string; fault: Fault; retriable: boolean }>([
    {
      name: 'refused for good (50002)',
      fault: { kind: 'record-errors', errors: { 0: { code: 50002 } } },
      retriable: false,
    },
    {
      name: 'unavailable on every attempt (503)',
      fault: { kind: 'status', status: 503, times: 3 },
      retriable: true,
    },
    {
      name: 'throttled on every attempt (429)',
      fault: { kind: 'throttle', retryAfterSeconds: 0, times: 3 },
      retriable: true,
    },
  ])(
    'throws when the record is $name, so Lambda retries and then uses the on-failure destination',
    async ({ fault, retriable }) => {
      // Prepare
      server.inject(fault);

      // Act + Assess
      await expect(handler(eventBridgeEvent({ orderId: 1 }), lambdaContext())).rejects.toMatchObject({
        retriable,
      });
      expect(stored()).toEqual([]);
      expect(log.lines.some((line) => line.level === 'error' && line.message === 'event not produced')).toBe(
        true,
      );
    },
  );

  it('builds its deps from the config, and will not start without EVENTS_TOPIC', async () => {
    // Prepare
    const env = {
      KAFKA_REST_URL: 'http://127.0.0.1:1',
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
    };

    // Act
    const built = createEventsDeps(loadConfig({ ...env, EVENTS_TOPIC: 'events' }));

    // Assess
    expect(built.topic).toBe('events');
    expect(built.key).toEqual({ from: 'json-pointer', pointer: '/id' });
    await built.kafka.close();
    expect(() => createEventsDeps(loadConfig(env))).toThrow(ConfigError);
  });
});
