import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler, type WebhookHandlerDeps } from '../handlers/webhook.js';
import { loadConfig } from '../lib/config.js';
import { ensureTable } from '../lib/dynamodb-table.js';
import { createKafkaRestFromConfig } from '../lib/kafka-rest/client.js';
import { createIdempotencyStore } from '../lib/webhook/idempotency/store.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';

// js-yaml ships no types; only its `load` is used.
const { load } = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

type Node = Record<string, unknown>;
const DOCUMENT = load(readFileSync(new URL('../docs/openapi.yaml', import.meta.url), 'utf8')) as Node;
const PATH = '/hooks/{route}';

/** Follows a local `$ref` (`#/components/...`) of the document, as many times as it takes. */
const resolve = (node: unknown): Node => {
  let current = node as Node;
  while (typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (at, part) => (at as Node)[part.replaceAll('~1', '/').replaceAll('~0', '~')],
        DOCUMENT,
      ) as Node;
  }
  return current;
};

// The document is the schema registry: its `#/components/...` references resolve inside it.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(DOCUMENT, 'openapi');
const validatorOf = (pointer: string) => ajv.compile({ $ref: `openapi#${pointer}` });
const toPointerPart = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Every problem with `response` against the document: its status is documented for the method, its media
 * type is, its body matches that media type's schema, and each documented header is there when required
 * and matches its schema when present.
 */
const problemsOf = (method: string, response: APIGatewayProxyStructuredResultV2): string[] => {
  const status = String(response.statusCode);
  const operationPointer = `/paths/${toPointerPart(PATH)}/${method.toLowerCase()}`;
  const pathItem = resolve((DOCUMENT.paths as Node)[PATH]);
  const documented = (pathItem[method.toLowerCase()] as Node | undefined)?.responses as Node | undefined;
  if (documented?.[status] === undefined) return [`${method} ${status} is not documented`];
  const ref = (documented[status] as Node).$ref;
  const responsePointer = typeof ref === 'string' ? ref.slice(1) : `${operationPointer}/responses/${status}`;
  const definition = resolve(documented[status]);
  const headers = Object.fromEntries(
    Object.entries(response.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  const problems: string[] = [];
  const mediaType = (headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const content = definition.content as Node | undefined;
  if (content?.[mediaType] === undefined) {
    problems.push(`${status}: media type ${mediaType} is not documented`);
  } else {
    const validate = validatorOf(`${responsePointer}/content/${toPointerPart(mediaType)}/schema`);
    if (!validate(JSON.parse(response.body ?? 'null'))) {
      problems.push(`${status} body: ${ajv.errorsText(validate.errors)}`);
    }
  }
  for (const [name, header] of Object.entries((definition.headers as Node | undefined) ?? {})) {
    const spec = resolve(header);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (spec.required === true) problems.push(`${status}: header ${name} is missing`);
      continue;
    }
    const validate = ajv.compile(spec.schema as Node);
    if (!validate(value)) problems.push(`${status}: header ${name}: ${ajv.errorsText(validate.errors)}`);
  }
  return problems;
};

const API_KEY = 'openapi-test-key-51c0e7a9d2';
const ROUTES = {
  demo: { topic: 'demo', verify: { scheme: 'none' } },
  pointer: { topic: 'demo', verify: { scheme: 'none' }, key: { jsonPointer: '/id' } },
  small: { topic: 'demo', verify: { scheme: 'none' }, maxBodyBytes: 4 },
  missing: { topic: 'no-such-topic', verify: { scheme: 'none' } },
  signed: { topic: 'demo', verify: { scheme: 'github', secret: 'openapi-gh-secret' } },
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
    ).toEqual(['202 body: data must NOT have additional properties']);
  });
});
