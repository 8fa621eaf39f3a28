import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureTable } from '../dev/dynamodb-table.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler } from '../handlers/webhook.js';
import { createIdempotencyStore } from '../lib/ingest/webhook/idempotency/store.js';
import { signGithub } from '../lib/ingest/webhook/verify/index.js';
import { createSecretsCache } from '../lib/secrets/cache.js';
import { createSecretsManagerClient } from '../lib/secrets/secrets-manager.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';
import { checkedAgainstOpenApi } from './helpers/openapi.js';
import { type LocalSecretsManager, startSecretsManager, TEST_AWS } from './helpers/secrets-manager.js';

const API_KEY = 'wh-test-key-7f3a9c2e51b84d06a1e5c9b2d7f04e63';

const GITHUB_SECRET = 'gh-signing-secret-5d2c1f0e9b8a';
const UNSIGNED = { scheme: 'none' };

const ROUTES = {
  demo: { topic: 'demo', verify: UNSIGNED },
  keyed: { topic: 'orders', verify: UNSIGNED, key: { header: 'X-Order-Id' } },
  pointer: { topic: 'orders', verify: UNSIGNED, key: { jsonPointer: '/order/id' } },
  pinned: { topic: 'demo', verify: UNSIGNED, partition: 2 },
  small: { topic: 'demo', verify: UNSIGNED, maxBodyBytes: 16 },
  missing: { topic: 'no-such-topic', verify: UNSIGNED },
  github: {
    topic: 'orders',
    verify: { scheme: 'github', secretId: 'github-hook' },
    key: { jsonPointer: '/id' },
  },
  deduped: { topic: 'demo', verify: UNSIGNED, idempotency: { from: 'header', header: 'webhook-id' } },
};

describe('webhook handler against the local Kafka REST server', () => {
  let server: KafkaRestServer;
  let secretsManager: LocalSecretsManager;
  let dynamo: LocalDynamo;
  let deps: WebhookHandlerDeps;
  let log: ReturnType<typeof createMemoryLog>;
  const handler = checkedAgainstOpenApi(makeHandler(() => deps));

  const allRecords = (topic: string, partitions: number) =>
    Array.from({ length: partitions }, (_, p) => server.records(topic, p)).flat();

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: { demo: 3, orders: 4 }, apiKey: API_KEY });
    secretsManager = await startSecretsManager({ 'github-hook': GITHUB_SECRET });
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, 'idempotency');
  });
  afterAll(async () => {
    await deps.kafka.close();
    await Promise.all([server.close(), secretsManager.close(), dynamo.close()]);
  });
  beforeEach(async () => {
    server.clearFaults();
    for (const topic of ['demo', 'orders']) {
      server.deleteTopic(topic);
      server.createTopic(topic, topic === 'demo' ? 3 : 4);
    }
    await deps?.kafka.close();
    log = createMemoryLog();
    const config = loadConfig({
      KAFKA_REST_URL: server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_API_KEY: API_KEY,
      KAFKA_REST_MAX_ATTEMPTS: '3',
      KAFKA_REST_BACKOFF_BASE_MS: '5',
      KAFKA_REST_BACKOFF_MAX_MS: '20',
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      IDEMPOTENCY_TABLE: 'idempotency',
    });
    const secrets = createSecretsCache({
      client: createSecretsManagerClient({ endpoint: new URL(secretsManager.endpoint), ...TEST_AWS }),
      ttlMs: 60_000,
    });
    deps = {
      kafka: createKafkaRestFromConfig(config, { log, secrets }),
      routes: config.webhook.routes,
      secrets,
      idempotency: createIdempotencyStore({
        client: dynamo.client,
        tableName: 'idempotency',
        now: Date.now,
        inProgressTtlMs: 30_000,
      }),
      log,
      deadlineMarginMs: 200,
      now: Date.now,
    };
  });

  it('answers 202 with the acknowledged offset and writes the exact body bytes once', async () => {
    // Prepare
    const body = '{"hello":"world"}';

    // Act
    const response = await handler(httpApiEvent('/hooks/demo', body), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(202);
    const answer = JSON.parse(response.body ?? '');
    expect(answer).toEqual({ topic: 'demo', partition: expect.any(Number), offset: 0 });
    const stored = server.records('demo', answer.partition);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.value?.toString('utf8')).toBe(body);
    expect(stored[0]?.key).toBeNull();
    expect(allRecords('demo', 3)).toHaveLength(1);
  });

  it('decodes a base64-encoded body to the exact bytes the caller sent', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
    const response = await handler(
      httpApiEvent('/hooks/demo', bytes.toString('base64'), { isBase64Encoded: true }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(202);
    const { partition } = JSON.parse(response.body ?? '');
    expect(server.records('demo', partition)[0]?.value).toEqual(bytes);
  });

  it('keys the record from a header, so equal keys land on one partition (murmur2)', async () => {
    const headers = { 'x-order-id': 'order-42' };
    const first = await handler(httpApiEvent('/hooks/keyed', 'a', { headers }), lambdaContext());
    const second = await handler(httpApiEvent('/hooks/keyed', 'b', { headers }), lambdaContext());
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    const [a, b] = [JSON.parse(first.body ?? ''), JSON.parse(second.body ?? '')];
    expect(b.partition).toBe(a.partition);
    expect(b.offset).toBe(a.offset + 1);
    expect(server.records('orders', a.partition).map((r) => r.key?.toString())).toEqual([
      'order-42',
      'order-42',
    ]);
  });

  it('keys the record from a JSON pointer into the body', async () => {
    const response = await handler(
      httpApiEvent('/hooks/pointer', JSON.stringify({ order: { id: 1234 } })),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(202);
    const { partition } = JSON.parse(response.body ?? '');
    expect(server.records('orders', partition)[0]?.key?.toString()).toBe('1234');
  });

  it('sends a pinned route to its fixed partition', async () => {
    const response = await handler(httpApiEvent('/hooks/pinned', 'x'), lambdaContext());
    expect(JSON.parse(response.body ?? '')).toEqual({ topic: 'demo', partition: 2, offset: 0 });
    expect(server.records('demo', 2)).toHaveLength(1);
  });

  it('serves Function URL events, which carry only the raw path', async () => {
    const response = await handler(
      httpApiEvent('/hooks/demo', 'url', { functionUrl: true }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(202);
    expect(allRecords('demo', 3).map((r) => r.value?.toString())).toEqual(['url']);
  });

  describe.each([
    {
      name: 'unknown route → 404',
      event: () => httpApiEvent('/hooks/nope', '{}'),
      status: 404,
      code: 'ERR_ROUTE_NOT_FOUND',
    },
    {
      name: 'path outside /hooks → 404',
      event: () => httpApiEvent('/admin/../hooks', '{}', { functionUrl: true }),
      status: 404,
      code: 'ERR_ROUTE_NOT_FOUND',
    },
    {
      name: 'GET → 405',
      event: () => httpApiEvent('/hooks/demo', undefined, { method: 'GET' }),
      status: 405,
      code: 'ERR_METHOD_NOT_ALLOWED',
    },
    {
      name: 'body over the route limit → 413',
      event: () => httpApiEvent('/hooks/small', 'x'.repeat(17)),
      status: 413,
      code: 'ERR_PAYLOAD_TOO_LARGE',
    },
    {
      name: 'missing key header → 400',
      event: () => httpApiEvent('/hooks/keyed', '{}'),
      status: 400,
      code: 'ERR_PAYLOAD_INVALID',
    },
    {
      name: 'malformed JSON where a pointer needs it → 400',
      event: () => httpApiEvent('/hooks/pointer', '{"order": '),
      status: 400,
      code: 'ERR_PAYLOAD_INVALID',
    },
    {
      name: 'JSON pointer naming nothing → 400',
      event: () => httpApiEvent('/hooks/pointer', '{"order":{}}'),
      status: 400,
      code: 'ERR_PAYLOAD_INVALID',
    },
    {
      name: 'JSON pointer naming an object → 400',
      event: () => httpApiEvent('/hooks/pointer', '{"order":{"id":{"a":1}}}'),
      status: 400,
      code: 'ERR_PAYLOAD_INVALID',
    },
  ])('caller mistake: $name', ({ event, status, code }) => {
    it('answers a precise 4xx naming the problem and produces nothing', async () => {
      const requestsBefore = server.requests.length;
      const response = await handler(event(), lambdaContext());
      expect(response.statusCode).toBe(status);
      expect(response.headers?.['content-type']).toBe('application/problem+json');
      const body = JSON.parse(response.body ?? '');
      expect(body).toMatchObject({ type: 'about:blank', status, code, detail: expect.any(String) });
      expect(server.requests.slice(requestsBefore)).toHaveLength(0);
      if (status === 405) expect(response.headers?.allow).toBe('POST');
    });
  });

  it('answers a repeated delivery with the first answer and produces it once', async () => {
    const headers = { 'webhook-id': `msg-${Date.now()}` };
    const first = await handler(httpApiEvent('/hooks/deduped', 'once', { headers }), lambdaContext());
    const again = await handler(httpApiEvent('/hooks/deduped', 'once', { headers }), lambdaContext());
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(202);
    expect(again.body).toBe(first.body);
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    expect(allRecords('demo', 3).map((r) => r.value?.toString())).toEqual(['once']);
  });

  it('answers 400 naming the idempotency source when a delivery lacks it', async () => {
    const response = await handler(httpApiEvent('/hooks/deduped', 'x'), lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '').detail).toContain('webhook-id');
    expect(allRecords('demo', 3)).toHaveLength(0);
  });

  it('accepts a GitHub delivery signed over the exact body bytes', async () => {
    const body = JSON.stringify({ id: 'delivery-1', action: 'opened' });
    const headers = { 'x-hub-signature-256': signGithub(GITHUB_SECRET, body) };
    const response = await handler(httpApiEvent('/hooks/github', body, { headers }), lambdaContext());
    expect(response.statusCode).toBe(202);
    const { partition } = JSON.parse(response.body ?? '');
    expect(server.records('orders', partition).map((r) => r.key?.toString())).toEqual(['delivery-1']);
  });

  it.each([
    { name: 'no signature', headers: {}, reason: 'signature-missing' },
    {
      name: 'a forged signature',
      headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      reason: 'signature-mismatch',
    },
    {
      name: 'a signature of another body',
      headers: { 'x-hub-signature-256': signGithub(GITHUB_SECRET, '{"id":"other"}') },
      reason: 'signature-mismatch',
    },
  ])(
    'answers 401 ($reason) to $name, before reading the body, and produces nothing',
    async ({ headers, reason }) => {
      const requestsBefore = server.requests.length;
      // Not JSON: a 401 (not a 400) proves verification ran before the key pointer parsed anything.
      const response = await handler(
        httpApiEvent('/hooks/github', '{"id": broken', { headers }),
        lambdaContext(),
      );
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body ?? '')).toMatchObject({ code: 'ERR_UNAUTHORIZED', detail: reason });
      expect(response.body).not.toContain(GITHUB_SECRET);
      expect(server.requests.slice(requestsBefore)).toHaveLength(0);
    },
  );

  it('answers 503 when the signing secret cannot be read, so the sender retries', async () => {
    secretsManager.deleteSecret('github-hook');
    try {
      const body = '{"id":"x"}';
      const headers = { 'x-hub-signature-256': signGithub(GITHUB_SECRET, body) };
      const response = await handler(httpApiEvent('/hooks/github', body, { headers }), lambdaContext());
      expect(response.statusCode).toBe(503);
      expect(JSON.parse(response.body ?? '').code).toBe('ERR_SECRET');
    } finally {
      secretsManager.setSecret('github-hook', GITHUB_SECRET);
    }
  });

  it('answers 503 by its deadline when the signing secret read trickles, never hanging past it', async () => {
    // Prepare: Secrets Manager answers 200 and then one byte a second, forever
    secretsManager.trickleNext(1_000, 3);
    const body = '{"id":"slow"}';
    const headers = { 'x-hub-signature-256': signGithub(GITHUB_SECRET, body) };
    const startedAt = Date.now();

    // Act: 1.2 s left, 200 ms of margin
    const response = await handler(httpApiEvent('/hooks/github', body, { headers }), lambdaContext(1_200));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body ?? '').code).toBe('ERR_DEADLINE');
    expect(Date.now() - startedAt).toBeLessThan(3_000); // the SDK alone would wait 5 s per attempt
  });

  it('answers 422 with a safe message when the proxy rejects the record for good, and nothing is stored', async () => {
    server.inject({
      kind: 'record-errors',
      errors: { 0: { code: 50002, message: 'RecordTooLargeException' } },
    });
    const response = await handler(httpApiEvent('/hooks/demo', 'poison'), lambdaContext());
    expect(response.statusCode).toBe(422);
    expect(JSON.parse(response.body ?? '').code).toBe('ERR_RECORD_REJECTED');
    expect(allRecords('demo', 3)).toHaveLength(0);
  });

  it('retries a retriable per-record error and answers 202 once the record is acknowledged', async () => {
    server.inject({ kind: 'record-errors', errors: { 0: { code: 50003 } } });
    const response = await handler(httpApiEvent('/hooks/demo', 'second try'), lambdaContext());
    expect(response.statusCode).toBe(202);
    expect(allRecords('demo', 3).map((r) => r.value?.toString())).toEqual(['second try']);
  });

  it('answers 503 with Retry-After when the proxy stays down, and never a 2xx', async () => {
    server.inject({ kind: 'status', status: 503, body: { error_code: 50302, message: 'down' }, times: 10 });
    const response = await handler(httpApiEvent('/hooks/demo', 'x'), lambdaContext());
    expect(response.statusCode).toBe(503);
    expect(Number(response.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    // Nothing about the proxy's answer: no detail, only what every problem carries.
    expect(Object.keys(JSON.parse(response.body ?? '')).sort()).toEqual([
      'code',
      'requestId',
      'status',
      'title',
      'type',
    ]);
    expect(allRecords('demo', 3)).toHaveLength(0);
  });

  it("passes the proxy's Retry-After on when throttling outlasts the request's time", async () => {
    server.inject({ kind: 'throttle', retryAfterSeconds: 60, times: 10 });
    const response = await handler(httpApiEvent('/hooks/demo', 'x'), lambdaContext(2_000));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('60');
    expect(allRecords('demo', 3)).toHaveLength(0);
  });

  it('answers 503 when the connection drops on every attempt', async () => {
    server.inject({ kind: 'drop', times: 10 });
    const response = await handler(httpApiEvent('/hooks/demo', 'x'), lambdaContext(2_000));
    expect(response.statusCode).toBe(503);
    expect(allRecords('demo', 3)).toHaveLength(0);
  });

  it('answers 502 (not the caller’s fault) for a route whose topic does not exist', async () => {
    const response = await handler(httpApiEvent('/hooks/missing', 'x'), lambdaContext());
    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(response.statusCode).not.toBe(500);
  });

  // A refused key is an operator's problem that a rotation fixes: 503 keeps senders retrying until then.
  it('answers 503 and never shows the API key in a response or a log line when the proxy refuses it', async () => {
    server.setApiKey('a-rotated-key-the-bridge-does-not-have');
    try {
      const response = await handler(httpApiEvent('/hooks/demo', 'x'), lambdaContext());
      expect(response.statusCode).toBe(503);
      expect(JSON.parse(response.body ?? '').code).toBe('ERR_UPSTREAM_AUTH');
      expect(JSON.stringify(response)).not.toContain(API_KEY);
      expect(log.text()).not.toContain(API_KEY);
      expect(log.lines.some((line) => line.level === 'error')).toBe(true);
    } finally {
      server.setApiKey(API_KEY);
    }
  });
  it('answers 202 with an empty value for an empty POST, which serverless-offline sends as body null', async () => {
    // Prepare: the event as serverless-offline builds it
    const event = { ...httpApiEvent('/hooks/demo', undefined), body: null } as unknown as Parameters<
      typeof handler
    >[0];

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response.statusCode).toBe(202);
    expect(allRecords('demo', 3).map((record) => record.value?.byteLength)).toEqual([0]);
  });

  it('answers 400 for an empty POST on a route whose key comes from the body', async () => {
    const event = { ...httpApiEvent('/hooks/pointer', undefined), body: null } as unknown as Parameters<
      typeof handler
    >[0];

    const response = await handler(event, lambdaContext());

    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '').code).toBe('ERR_PAYLOAD_INVALID');
    expect(allRecords('orders', 4)).toEqual([]);
  });

  it('uses the Lambda request id where serverless-offline gives every request the same one', async () => {
    const response = await handler(
      httpApiEvent('/hooks/nope', 'x', { requestId: 'offlineContext_resourceId' }),
      lambdaContext(10_000, 'a1b2c3'),
    );

    expect(JSON.parse(response.body ?? '').requestId).toBe('a1b2c3');
  });
});

describe('webhook handler that cannot start', () => {
  it('answers 500 ERR_CONFIG with the request id, never a thrown error (which offline turns into a 200)', async () => {
    // Prepare: settings that do not load
    const handler = checkedAgainstOpenApi(makeHandler(() => loadConfig({ WEBHOOK_ROUTES: '{' }) as never));

    // Act
    const response = await handler(httpApiEvent('/hooks/demo', 'x', { requestId: 'r-1' }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(response.body ?? '')).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      code: 'ERR_CONFIG',
      requestId: 'r-1',
    });
  });

  it('answers 500 ERR_INTERNAL for an unexpected failure inside a request', async () => {
    const log = createMemoryLog();
    const handler = checkedAgainstOpenApi(
      makeHandler(() => ({
        kafka: { produce: () => Promise.reject(new TypeError('boom')) } as never,
        routes: new Map([
          [
            'demo',
            {
              name: 'demo',
              topic: 'demo',
              verify: { scheme: 'none' },
              key: { from: 'none' },
              maxBodyBytes: 1024,
              idempotency: undefined,
            },
          ],
        ]) as never,
        secrets: { get: () => Promise.reject(new Error('unused')) },
        log,
        deadlineMarginMs: 100,
        now: Date.now,
      })),
    );

    const response = await handler(httpApiEvent('/hooks/demo', 'x', { requestId: 'r-2' }), lambdaContext());

    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(JSON.parse(response.body ?? '').requestId).toBe('r-2');
  });
});
