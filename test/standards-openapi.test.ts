import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../dev/dynamodb-table.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler } from '../handlers/webhook.js';
import { toPayloadHash } from '../lib/ingest/webhook/idempotency/index.js';
import { createIdempotencyStore } from '../lib/ingest/webhook/idempotency/store.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';
import { ajv, OAS_31_SCHEMA, OPENAPI_DOCUMENT, problemsOf } from './helpers/openapi.js';

describe('docs/openapi.yaml itself', () => {
  const validate = ajv.compile(OAS_31_SCHEMA);

  it('is an OpenAPI 3.1 document (the OpenAPI Initiative schema, checked by ajv)', () => {
    expect(validate(OPENAPI_DOCUMENT), ajv.errorsText(validate.errors)).toBe(true);
  });

  it('the check itself refuses a document that is not one', () => {
    // A flow mapping with a comma in a description turns into an extra key: what this check first caught.
    const broken = structuredClone(OPENAPI_DOCUMENT) as {
      paths: Record<string, { post: { parameters: unknown[] } }>;
    };
    broken.paths['/hooks/{route}']?.post.parameters.push({ name: 'x', in: 'header', 'unix seconds': null });

    expect(validate(broken)).toBe(false);
  });
});

const API_KEY = 'openapi-test-key-51c0e7a9d2';
const ROUTES = {
  demo: { topic: 'demo', verify: { scheme: 'none' } },
  pointer: { topic: 'demo', verify: { scheme: 'none' }, key: { jsonPointer: '/id' } },
  small: { topic: 'demo', verify: { scheme: 'none' }, maxBodyBytes: 4 },
  missing: { topic: 'no-such-topic', verify: { scheme: 'none' } },
  signed: { topic: 'demo', verify: { scheme: 'github', secret: 'openapi-gh-secret' } },
  events: { topic: 'demo', verify: { scheme: 'none' }, envelope: 'cloudevents' },
  deduped: {
    topic: 'demo',
    verify: { scheme: 'none' },
    idempotency: { from: 'header', header: 'webhook-id' },
  },
};

describe('every webhook answer matches docs/openapi.yaml (validated by ajv)', () => {
  let server: KafkaRestServer;
  let dynamo: LocalDynamo;
  let deps: WebhookHandlerDeps;
  const handler = makeHandler(() => deps);

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: { demo: 1 }, apiKey: API_KEY });
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, 'idempotency');
    const config = loadConfig({
      KAFKA_REST_URL: server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_API_KEY: API_KEY,
      KAFKA_REST_MAX_ATTEMPTS: '2',
      KAFKA_REST_BACKOFF_BASE_MS: '1',
      KAFKA_REST_BACKOFF_MAX_MS: '2',
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      IDEMPOTENCY_TABLE: 'idempotency',
    });
    const log = createMemoryLog();
    const secrets = { get: async () => Promise.reject(new Error('routes use literal secrets')) };
    deps = {
      kafka: createKafkaRestFromConfig(config, { log }),
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
  afterAll(async () => {
    await deps.kafka.close();
    await Promise.all([server.close(), dynamo.close()]);
  });

  const replayed = { 'webhook-id': 'msg_openapi_1' };
  it.each<{ name: string; status: number; event: () => APIGatewayProxyEventV2; before?: () => unknown }>([
    { name: 'produced', status: 202, event: () => httpApiEvent('/hooks/demo', '{"a":1}') },
    {
      name: 'a replayed delivery',
      status: 202,
      before: () => handler(httpApiEvent('/hooks/deduped', 'once', { headers: replayed }), lambdaContext()),
      event: () => httpApiEvent('/hooks/deduped', 'once', { headers: replayed }),
    },
    {
      name: 'a repeat while the first delivery is still being produced',
      status: 409,
      // The first delivery's claim, as its (still running) handler made it.
      before: () =>
        deps.idempotency?.begin({
          route: 'deduped',
          key: 's:msg_openapi_busy',
          payloadHash: toPayloadHash({ key: null, value: Buffer.from('twice') }),
          windowSeconds: 60,
          deadlineMs: Date.now() + 5_000,
        }),
      event: () => httpApiEvent('/hooks/deduped', 'twice', { headers: { 'webhook-id': 'msg_openapi_busy' } }),
    },
    {
      name: 'a CloudEvents route',
      status: 202,
      event: () => httpApiEvent('/hooks/events', '{"a":1}', { headers: { traceparent: 'not-one' } }),
    },
    {
      name: 'malformed JSON for a pointer key',
      status: 400,
      event: () => httpApiEvent('/hooks/pointer', '{'),
    },
    { name: 'no signature', status: 401, event: () => httpApiEvent('/hooks/signed', '{}') },
    { name: 'no such route', status: 404, event: () => httpApiEvent('/hooks/nowhere', '{}') },
    {
      name: 'not a POST',
      status: 405,
      event: () => httpApiEvent('/hooks/demo', undefined, { method: 'GET' }),
    },
    { name: 'body over the limit', status: 413, event: () => httpApiEvent('/hooks/small', 'too long') },
    {
      name: 'a record the proxy refuses for good',
      status: 422,
      before: () =>
        server.inject({ kind: 'record-errors', errors: { 0: { code: 50002, message: 'too large' } } }),
      event: () => httpApiEvent('/hooks/demo', 'x'),
    },
    { name: "the route's topic missing", status: 502, event: () => httpApiEvent('/hooks/missing', 'x') },
    {
      name: 'the proxy down',
      status: 503,
      before: () =>
        server.inject({
          kind: 'status',
          status: 503,
          body: { error_code: 50302, message: 'down' },
          times: 5,
        }),
      event: () => httpApiEvent('/hooks/demo', 'x'),
    },
  ])('$name → $status', async ({ status, event, before }) => {
    await before?.();
    const request = event();

    const response = await handler(request, lambdaContext());

    expect(response.statusCode).toBe(status);
    expect(problemsOf(request.requestContext.http.method, response)).toEqual([]);
  });

  it('a function that cannot start → 500', async () => {
    const broken = makeHandler(() => loadConfig({ WEBHOOK_ROUTES: '{' }) as never);

    const response = await broken(httpApiEvent('/hooks/demo', 'x'), lambdaContext());

    expect(response.statusCode).toBe(500);
    expect(problemsOf('POST', response)).toEqual([]);
  });

  it('catches an answer the document does not allow', () => {
    // A 5xx that explains itself, and a 202 with a field too many: the check itself can fail.
    const leaky = { statusCode: 503, headers: { 'content-type': 'application/problem+json' } };
    const body = {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      code: 'ERR_SECRET',
      requestId: 'r',
    };
    expect(
      problemsOf('POST', { ...leaky, body: JSON.stringify({ ...body, detail: 'AccessDenied' }) }),
    ).toEqual(['503 body: data must NOT be valid', '503: header Retry-After is missing']);
    expect(
      problemsOf('POST', {
        statusCode: 202,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 't', partition: 0, offset: 1, extra: true }),
      }),
    ).toEqual([expect.stringMatching(/^202 body: data must NOT have additional properties, .*oneOf$/)]);
  });
});
