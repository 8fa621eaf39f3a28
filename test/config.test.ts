import { describe, expect, it } from 'vitest';
import { ConfigError, isAppError } from '../lib/core/errors.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { loadDrainConfig } from '../lib/wiring/settings/drain.js';
import { loadEventsConfig } from '../lib/wiring/settings/events.js';
import { loadQueueConfig } from '../lib/wiring/settings/queue.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';

const BASE = {
  KAFKA_REST_URL: 'https://kafka-rest.example.com:443',
  KAFKA_REST_SECRET_ID: 'messagehub-api-key',
};

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('returns frozen, typed settings with defaults written out', () => {
    const config = loadConfig(BASE);
    expect(config.kafka.url.href).toBe('https://kafka-rest.example.com/');
    expect(config.kafka.auth).toEqual({ scheme: 'api-key', secret: { secretId: 'messagehub-api-key' } });
    expect(config.kafka.maxRecordBytes).toBe(1_000_000);
    expect(config.kafka.maxAttempts).toBe(5);
    expect(config.kafka).toMatchObject({
      consumerGroup: 'kafka-rest-bridge',
      fetchMaxBytes: 2_097_152,
      fetchWaitMs: 1_000,
    });
    expect(config.secrets.cacheTtlMs).toBe(300_000);
    expect(config.webhook.routes.size).toBe(0);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kafka)).toBe(true);
  });

  it('parses webhook routes with every key source', () => {
    const config = loadConfig({
      ...BASE,
      WEBHOOK_ROUTES: JSON.stringify({
        plain: { topic: 'demo', verify: { scheme: 'none' } },
        header: { topic: 'orders', verify: { scheme: 'none' }, key: { header: 'X-Order-Id' }, partition: 3 },
        pointer: {
          topic: 'orders',
          verify: { scheme: 'github', secretId: 'gh' },
          key: { jsonPointer: '/a~1b/0' },
          maxBodyBytes: 1024,
        },
      }),
    });
    expect(config.webhook.routes.get('plain')).toEqual({
      name: 'plain',
      topic: 'demo',
      key: { from: 'none' },
      partition: undefined,
      maxBodyBytes: 1_000_000,
      verify: { scheme: 'none' },
      onUpstreamFailure: 'reject',
    });
    expect(config.webhook.routes.get('pointer')?.verify).toEqual({
      scheme: 'github',
      secret: { secretId: 'gh' },
    });
    expect(config.webhook.routes.get('header')?.key).toEqual({ from: 'header', header: 'x-order-id' });
    expect(config.webhook.routes.get('header')?.partition).toBe(3);
    expect(config.webhook.routes.get('pointer')?.key).toEqual({ from: 'json-pointer', pointer: '/a~1b/0' });
  });

  it('accepts plain http only when explicitly allowed', () => {
    const env = { ...BASE, KAFKA_REST_URL: 'http://localhost:8082' };
    expect(problemsOf(env)).toEqual([expect.stringContaining('KAFKA_REST_URL must use https')]);
    expect(loadConfig({ ...env, KAFKA_REST_ALLOW_HTTP: 'true' }).kafka.allowHttp).toBe(true);
  });

  it.each([
    { name: 'missing URL', env: { KAFKA_REST_SECRET_ID: 's' }, problem: 'KAFKA_REST_URL is required' },
    {
      name: 'URL not a URL',
      env: { ...BASE, KAFKA_REST_URL: 'not a url' },
      problem: 'KAFKA_REST_URL must be an absolute URL',
    },
    {
      name: 'no credential',
      env: { KAFKA_REST_URL: BASE.KAFKA_REST_URL },
      problem: 'KAFKA_REST_SECRET_ID is required',
    },
    {
      name: 'two credentials',
      env: { ...BASE, KAFKA_REST_API_KEY: 'k' },
      problem: 'KAFKA_REST_SECRET_ID and KAFKA_REST_API_KEY are exclusive',
    },
    {
      name: 'unknown auth',
      env: { ...BASE, KAFKA_REST_AUTH: 'oauth' },
      problem: 'KAFKA_REST_AUTH must be one of',
    },
    {
      name: 'non-integer',
      env: { ...BASE, KAFKA_REST_TIMEOUT_MS: '10s' },
      problem: 'KAFKA_REST_TIMEOUT_MS must be',
    },
    {
      name: 'out of range',
      env: { ...BASE, KAFKA_REST_CONNECTIONS: '0' },
      problem: 'KAFKA_REST_CONNECTIONS must be',
    },
    {
      name: 'a consumer group that is not a path segment',
      env: { ...BASE, KAFKA_REST_CONSUMER_GROUP: 'bridge/prod' },
      problem: 'KAFKA_REST_CONSUMER_GROUP must be 1 to 200 of [a-zA-Z0-9._-]',
    },
    {
      name: 'a read wait the request timeout would cut off',
      env: {
        ...BASE,
        KAFKA_REST_DIALECT: 'v2',
        KAFKA_REST_FETCH_WAIT_MS: '5000',
        KAFKA_REST_TIMEOUT_MS: '5000',
      },
      problem: 'KAFKA_REST_FETCH_WAIT_MS (5000) must be below KAFKA_REST_TIMEOUT_MS (5000)',
    },
    {
      name: 'a read size below 1 KiB',
      env: { ...BASE, KAFKA_REST_FETCH_MAX_BYTES: '100' },
      problem: 'KAFKA_REST_FETCH_MAX_BYTES must be an integer from 1024 to 67108864',
    },
    {
      name: 'bad boolean',
      env: { ...BASE, KAFKA_REST_ALLOW_HTTP: 'maybe' },
      problem: 'KAFKA_REST_ALLOW_HTTP must be true or false',
    },
    {
      name: 'routes not JSON',
      env: { ...BASE, WEBHOOK_ROUTES: '{demo' },
      problem: 'WEBHOOK_ROUTES must be JSON',
    },
    {
      name: 'routes not an object',
      env: { ...BASE, WEBHOOK_ROUTES: '[]' },
      problem: 'WEBHOOK_ROUTES must be a JSON object',
    },
    {
      name: 'route typo',
      env: { ...BASE, WEBHOOK_ROUTES: '{"a":{"topic":"t","partiton":1}}' },
      problem: 'WEBHOOK_ROUTES.a.partiton is not a route setting',
    },
    {
      name: 'bad topic name',
      env: { ...BASE, WEBHOOK_ROUTES: '{"a":{"topic":"no spaces"}}' },
      problem: 'WEBHOOK_ROUTES.a.topic must be a Kafka topic name',
    },
    {
      name: 'negative partition',
      env: { ...BASE, WEBHOOK_ROUTES: '{"a":{"topic":"t","partition":-1}}' },
      problem: 'WEBHOOK_ROUTES.a.partition must be',
    },
    {
      name: 'body limit above the record limit',
      env: { ...BASE, WEBHOOK_ROUTES: '{"a":{"topic":"t","maxBodyBytes":2000000}}' },
      problem: 'WEBHOOK_ROUTES.a.maxBodyBytes must be an integer from 1 to 1000000',
    },
    {
      name: 'bad key source',
      env: { ...BASE, WEBHOOK_ROUTES: '{"a":{"topic":"t","key":{"jsonPointer":"id"}}}' },
      problem: 'WEBHOOK_ROUTES.a.key must be "none"',
    },
    {
      name: 'a route without a declared verification',
      env: { ...BASE, WEBHOOK_ROUTES: '{"a":{"topic":"t"}}' },
      problem: 'WEBHOOK_ROUTES.a.verify is required',
    },
  ])('reports $name with the key and the expected shape', ({ env, problem }) => {
    expect(problemsOf(env)).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
  });

  it('checks the read wait against the request timeout only where reads wait (v2)', () => {
    const env = { ...BASE, KAFKA_REST_TIMEOUT_MS: '150' };
    expect(loadConfig(env).kafka.requestTimeoutMs).toBe(150);
    expect(problemsOf({ ...env, KAFKA_REST_DIALECT: 'v2' })).toEqual([
      expect.stringContaining('KAFKA_REST_FETCH_WAIT_MS (1000) must be below KAFKA_REST_TIMEOUT_MS (150)'),
    ]);
  });

  it('lets each function load only its own settings, on the shared ones', () => {
    // Prepare: every function's setting is broken at once.
    const env = {
      ...BASE,
      WEBHOOK_ROUTES: '[]',
      QUEUE_CONCURRENCY: 'many',
      EVENTS_KEY_POINTER: 'id',
      DRAINS: '{',
      CHECKPOINT_TABLE: 'checkpoints',
    };
    const loaders = {
      webhook: loadWebhookConfig,
      queue: loadQueueConfig,
      events: loadEventsConfig,
      drain: loadDrainConfig,
    };

    // Act
    const problems = Object.fromEntries(
      Object.entries(loaders).map(([name, load]) => {
        try {
          load(env);
          return [name, []];
        } catch (error) {
          return [name, (error as ConfigError).problems];
        }
      }),
    );

    // Assess
    expect(problems).toEqual({
      webhook: [expect.stringContaining('WEBHOOK_ROUTES must be a JSON object')],
      queue: [expect.stringContaining('QUEUE_CONCURRENCY must be')],
      events: [expect.stringContaining('EVENTS_KEY_POINTER')],
      drain: [expect.stringContaining('DRAINS must be JSON')],
    });
    expect(problemsOf(env)).toHaveLength(4);
    expect(loadQueueConfig({ ...BASE, QUEUE_TOPIC: 'orders' })).toMatchObject({
      kafka: { dialect: 'v1' },
      queue: { topic: 'orders' },
    });
    expect(problemsOf({ ...env, KAFKA_REST_URL: '' })).toContain(
      'KAFKA_REST_URL is required: the base URL of the Kafka REST proxy',
    );
    expect(() => loadDrainConfig({ DRAINS: '[]' })).toThrow(/KAFKA_REST_URL is required/);
  });

  it('reports every problem at once, as one ERR_CONFIG error', () => {
    let thrown: unknown;
    try {
      loadConfig({ KAFKA_REST_URL: 'http://x', KAFKA_REST_TIMEOUT_MS: 'soon', LOG_LEVEL: 'LOUD' });
    } catch (error) {
      thrown = error;
    }
    expect(isAppError(thrown) && thrown.code).toBe('ERR_CONFIG');
    expect((thrown as ConfigError).problems).toHaveLength(4);
    expect((thrown as ConfigError).message).toContain('LOG_LEVEL must be one of DEBUG | INFO | WARN | ERROR');
  });

  it.each([
    {
      name: 'a mistyped URL with credentials',
      env: { ...BASE, KAFKA_REST_URL: 'htps//bridge:s3cr3t-v4lue@host' },
    },
    { name: 'JSON with an unquoted secret', env: { ...BASE, WEBHOOK_ROUTES: '{"a": s3cr3t-v4lue}' } },
  ])('does not echo $name', ({ env }) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems.join('\n')).not.toContain('s3cr3t');
  });

  it('never echoes a literal API key in its problems', () => {
    const problems = problemsOf({ KAFKA_REST_URL: 'ftp://x', KAFKA_REST_API_KEY: 'super-secret-key-value' });
    expect(problems.join('\n')).not.toContain('super-secret-key-value');
    expect(problems.length).toBeGreaterThan(0);
  });
});
