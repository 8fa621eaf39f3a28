import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Fault, type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { makeHandler as makeEventsHandler } from '../handlers/events.js';
import { makeHandler as makeQueueHandler } from '../handlers/queue.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { isAppError } from '../lib/core/errors.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { drainPartition } from '../lib/drain/drain-partition.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import { createIdempotencyStore } from '../lib/ingest/webhook/idempotency/store.js';
import { signGithub, signStandardWebhook, signStripe } from '../lib/ingest/webhook/verify/index.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createDeadLetterQueue, createHttpSink } from '../lib/sinks/index.js';
import type { Sink } from '../lib/sinks/types.js';
import type { DrainHandlerDeps } from '../lib/wiring/drain.js';
import type { EventsHandlerDeps } from '../lib/wiring/events.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import type { QueueHandlerDeps } from '../lib/wiring/queue.js';
import { type Config, loadConfig } from '../lib/wiring/settings/all.js';
import type { WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { dlqConfig, drainSettings, httpSinkConfig, records } from './fixtures/drain.js';
import { eventBridgeEvent } from './fixtures/eventbridge.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { FAKE_AWS, type FakeSqs, startFakeSqs } from './helpers/aws-fakes.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';
import { checkedAgainstOpenApi } from './helpers/openapi.js';

/**
 * Hostile input at every entry point, each with its expected outcome: the answer (status, batch failure,
 * thrown code), nothing produced for what was refused, and nothing lost (a refusal is either the caller's
 * mistake, told precisely, or a retriable failure that the sender, SQS or Lambda will retry).
 */

// Signatures are made when the table is built; the handler checks them moments later, well within tolerance.
const NOW_S = Math.floor(Date.now() / 1000);
const GITHUB_SECRET = 'gh-hostile-secret-29c1';
const SW_SECRET = `whsec_${Buffer.from('standard-webhooks-hostile-key').toString('base64')}`;
const STRIPE_SECRET = 'whsec_stripe_hostile_7d1e';
const TOKEN = 'token-hostile-0b8f7a';
/** Small limits, so every limit can be crossed cheaply. */
const MAX_RECORD_BYTES = 4_096;
const PROXY_MAX_RECORD_BYTES = 2_048;
const HTML_PAGE =
  '<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>';
const HTML = { 'content-type': 'text/html' };

const ROUTES = {
  open: { topic: 'demo', verify: { scheme: 'none' } },
  small: { topic: 'demo', verify: { scheme: 'none' }, maxBodyBytes: 16 },
  keyed: { topic: 'demo', verify: { scheme: 'none' }, key: { header: 'X-Id' } },
  json: { topic: 'demo', verify: { scheme: 'none' }, key: { jsonPointer: '/id' } },
  missing: { topic: 'no-such-topic', verify: { scheme: 'none' } },
  gh: { topic: 'demo', verify: { scheme: 'github', secret: GITHUB_SECRET } },
  sw: { topic: 'demo', verify: { scheme: 'standard-webhooks', secret: SW_SECRET, toleranceSeconds: 300 } },
  stripe: { topic: 'demo', verify: { scheme: 'stripe', secret: STRIPE_SECRET, toleranceSeconds: 300 } },
  token: { topic: 'demo', verify: { scheme: 'token', header: 'X-Webhook-Token', secret: TOKEN } },
  idem: { topic: 'demo', verify: { scheme: 'none' }, idempotency: { from: 'json-pointer', pointer: '/id' } },
};

const BASE_ENV = {
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  KAFKA_REST_MAX_ATTEMPTS: '2',
  KAFKA_REST_BACKOFF_BASE_MS: '1',
  KAFKA_REST_BACKOFF_MAX_MS: '2',
  KAFKA_REST_MAX_RECORD_BYTES: String(MAX_RECORD_BYTES),
  WEBHOOK_ROUTES: JSON.stringify(ROUTES),
  IDEMPOTENCY_TABLE: 'idempotency',
  QUEUE_TOPIC: 'orders',
  QUEUE_ALLOWED_TOPICS: 'audit',
  QUEUE_ENCODING_ATTRIBUTE: 'encoding',
  QUEUE_KEY_ATTRIBUTE: 'key',
  EVENTS_TOPIC: 'events',
};
const TOPICS = { demo: 3, orders: 2, audit: 1, events: 1 } as const;

/** The Kafka REST server every ingestion entry point produces to, with counters of what it holds. */
const useProxy = () => {
  const state = { server: undefined as unknown as KafkaRestServer, config: undefined as unknown as Config };
  beforeAll(async () => {
    state.server = await startKafkaRestServer({ topics: TOPICS, maxRecordBytes: PROXY_MAX_RECORD_BYTES });
    state.config = loadConfig({ ...BASE_ENV, KAFKA_REST_URL: state.server.url });
  });
  afterAll(async () => {
    await state.server.close();
  });
  beforeEach(() => {
    state.server.clearFaults();
    for (const [topic, partitions] of Object.entries(TOPICS)) {
      state.server.deleteTopic(topic);
      state.server.createTopic(topic, partitions);
    }
    state.server.requests.length = 0;
  });
  const stored = (topic: keyof typeof TOPICS) =>
    Array.from({ length: TOPICS[topic] }, (_, p) => state.server.records(topic, p)).flat();
  const producePosts = () => state.server.requests.filter((request) => request.method === 'POST').length;
  return { state, stored, producePosts };
};

// ------------------------------------------------------------------------------------------------ webhook

interface WebhookCase {
  readonly name: string;
  readonly event: () => APIGatewayProxyEventV2;
  readonly status: number;
  readonly code?: string;
  /** The reason code of a 401. */
  readonly reason?: string;
  /** Accepted: the exact bytes that must be stored. */
  readonly stored?: Buffer;
  /** Queued on the proxy before the request. */
  readonly fault?: Fault;
  /** Refused by the proxy itself (per record), not by the bridge. */
  readonly reachesProxy?: true;
  /** A refusal: what its detail must say. */
  readonly problem?: RegExp;
  /** Accepted: the exact record key that must be stored. */
  readonly key?: string;
}

const post =
  (route: string, body: string, headers: Record<string, string> = {}) =>
  () =>
    httpApiEvent(`/hooks/${route}`, body, { headers });
const rawPath = (path: string) => () => httpApiEvent(path, '{}', { functionUrl: true });
const base64Post = (route: string, bytes: Buffer) => base64Text(route, bytes.toString('base64'));
const base64Text = (route: string, text: string) => () =>
  httpApiEvent(`/hooks/${route}`, text, { isBase64Encoded: true });
/** A POST without a body as serverless-offline and some gateways deliver it: `body: null`. */
const nullBody = (route: string) => () =>
  ({ ...httpApiEvent(`/hooks/${route}`, undefined), body: null }) as unknown as ReturnType<
    typeof httpApiEvent
  >;
const NOT_BASE64 = /is marked isBase64Encoded but is not valid base64/;
const swHeaders = (body: string, options: { id?: string; at?: number; secret?: string } = {}) => {
  const id = options.id ?? 'msg_2Kq9';
  const at = options.at ?? NOW_S;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(at),
    'webhook-signature': signStandardWebhook(options.secret ?? SW_SECRET, id, at, body),
  };
};
const SIGNED = '{"event":"order.paid","id":"evt_1"}';
const invalidUtf8 = Buffer.from([0x7b, 0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, 0x7d]);
const withNul = Buffer.from('a\u0000b\u0000{"id":1}', 'utf8');

const WEBHOOK_CASES: readonly WebhookCase[] = [
  // Bodies and content types
  {
    name: 'malformed JSON where the key comes from it',
    event: post('json', '{"id": 1,,}'),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  { name: 'truncated JSON', event: post('json', '{"id":"a'), status: 400, code: 'ERR_PAYLOAD_INVALID' },
  {
    name: 'JSON array instead of an object',
    event: post('json', '[1,2,3]'),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  {
    name: 'JSON key of the wrong type (object)',
    event: post('json', '{"id":{"$gt":""}}'),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  {
    name: 'empty body where the key comes from it',
    event: post('json', ''),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  {
    name: 'no body at all (null, as serverless-offline sends it) where the key comes from it',
    event: nullBody('json'),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  {
    name: 'no body at all (null) on a raw route: an empty value',
    event: nullBody('open'),
    status: 202,
    stored: Buffer.alloc(0),
  },
  {
    name: 'invalid UTF-8 where the key comes from it',
    event: base64Post('json', invalidUtf8),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  {
    name: 'raw NUL bytes in a JSON body',
    event: base64Post('json', Buffer.from('{"id":"a\u0000b"}', 'latin1')),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  {
    name: 'invalid UTF-8 on a raw route: stored byte for byte',
    event: base64Post('open', invalidUtf8),
    status: 202,
    stored: invalidUtf8,
  },
  {
    name: 'NUL bytes on a raw route: stored byte for byte',
    event: base64Post('open', withNul),
    status: 202,
    stored: withNul,
  },
  {
    name: 'escaped NUL in a JSON key: accepted',
    event: post('json', '{"id":"a\\u0000b"}'),
    status: 202,
    stored: Buffer.from('{"id":"a\\u0000b"}'),
  },
  {
    name: 'wrong content type (text/plain) on a raw route: bytes kept as sent',
    event: () =>
      httpApiEvent('/hooks/open', 'not json at all', { headers: { 'content-type': 'text/plain' } }),
    status: 202,
    stored: Buffer.from('not json at all'),
  },
  {
    name: 'missing content type: bytes kept as sent',
    event: () => {
      const event = httpApiEvent('/hooks/open', 'a=1&b=2');
      delete (event.headers as Record<string, string | undefined>)['content-type'];
      return event;
    },
    status: 202,
    stored: Buffer.from('a=1&b=2'),
  },
  {
    name: 'form content type where the key needs JSON',
    event: () =>
      httpApiEvent('/hooks/json', 'id=1', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    status: 400,
    code: 'ERR_PAYLOAD_INVALID',
  },
  // isBase64Encoded bodies: only canonical base64 is decoded, never a lenient guess at other bytes
  ...[
    { name: 'outside the alphabet (`!!!!`, once stored as an empty value)', text: '!!!!' },
    { name: 'missing its padding', text: 'eA' },
    { name: 'in the URL-safe alphabet', text: '-_-_' },
    { name: 'with a line break', text: 'eyJh\nIjoxfQ==' },
    { name: 'with non-zero pad bits', text: 'QR==' },
  ].map(
    ({ name, text }): WebhookCase => ({
      name: `base64 body ${name}`,
      event: base64Text('open', text),
      status: 400,
      code: 'ERR_PAYLOAD_INVALID',
      problem: NOT_BASE64,
    }),
  ),
  // A key from a JSON number is its exact source text, never the double JSON.parse rounds it to
  {
    name: 'JSON number key past 2^53',
    event: post('json', '{"id":9007199254740993}'),
    status: 202,
    stored: Buffer.from('{"id":9007199254740993}'),
    key: '9007199254740993',
  },
  {
    name: 'JSON number key as written',
    event: post('json', '{"id":1.50e3}'),
    status: 202,
    stored: Buffer.from('{"id":1.50e3}'),
    key: '1.50e3',
  },
  // Limits
  {
    name: 'body one byte over the route limit',
    event: post('small', 'x'.repeat(17)),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'body exactly at the route limit',
    event: post('small', 'x'.repeat(16)),
    status: 202,
    stored: Buffer.from('x'.repeat(16)),
  },
  {
    name: 'base64 body whose decoded bytes pass the route limit',
    event: base64Post('small', Buffer.alloc(17, 1)),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'body over the record limit',
    event: post('open', 'x'.repeat(MAX_RECORD_BYTES + 1)),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'huge key header pushing key + value over the record limit',
    event: post('keyed', '{}', { 'x-id': 'k'.repeat(MAX_RECORD_BYTES) }),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'body under our limit but over the proxy broker limit (per-record 50002)',
    event: post('open', 'y'.repeat(PROXY_MAX_RECORD_BYTES + 1)),
    status: 422,
    code: 'ERR_RECORD_REJECTED',
    reachesProxy: true,
  },
  {
    name: 'a thousand extra headers',
    event: post(
      'open',
      'headers',
      Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-h-${i}`, 'v'.repeat(100)])),
    ),
    status: 202,
    stored: Buffer.from('headers'),
  },
  { name: 'missing key header', event: post('keyed', '{}'), status: 400, code: 'ERR_PAYLOAD_INVALID' },
  // Paths and methods
  { name: 'unknown route', event: post('nope', '{}'), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  {
    name: 'route named like an object property (__proto__)',
    event: post('__proto__', '{}'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'path traversal with dot segments',
    event: rawPath('/hooks/../admin'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'path traversal with encoded dots',
    event: rawPath('/hooks/%2e%2e'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'encoded slashes around a real route',
    event: rawPath('/hooks/open%2F..%2F..%2Fadmin'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'double-encoded route name',
    event: rawPath('/hooks/%256Fpen'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'NUL in the route name',
    event: rawPath('/hooks/open%00'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'malformed percent-encoding',
    event: rawPath('/hooks/%E0%A4%A'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'nested path below a route',
    event: rawPath('/hooks/open/extra'),
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  { name: 'empty route name', event: rawPath('/hooks/'), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  {
    name: 'PUT to a route',
    event: () => httpApiEvent('/hooks/open', '{}', { method: 'PUT' }),
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  // Signatures: forged, replayed, stale
  { name: 'GitHub: no signature', event: post('gh', SIGNED), status: 401, reason: 'signature-missing' },
  {
    name: 'GitHub: forged signature',
    event: post('gh', SIGNED, { 'x-hub-signature-256': signGithub('guessed-secret', SIGNED) }),
    status: 401,
    reason: 'signature-mismatch',
  },
  {
    name: 'GitHub: signature of another body (tampered payload)',
    event: post('gh', SIGNED.replace('paid', 'refunded'), {
      'x-hub-signature-256': signGithub(GITHUB_SECRET, SIGNED),
    }),
    status: 401,
    reason: 'signature-mismatch',
  },
  {
    name: 'GitHub: legacy sha1 signature',
    event: post('gh', SIGNED, { 'x-hub-signature-256': `sha1=${'a'.repeat(40)}` }),
    status: 401,
    reason: 'header-malformed',
  },
  {
    name: 'Standard Webhooks: replayed 10 minutes later (stale timestamp)',
    event: post('sw', SIGNED, swHeaders(SIGNED, { at: NOW_S - 600 })),
    status: 401,
    reason: 'timestamp-outside-tolerance',
  },
  {
    name: 'Standard Webhooks: timestamp in the future',
    event: post('sw', SIGNED, swHeaders(SIGNED, { at: NOW_S + 600 })),
    status: 401,
    reason: 'timestamp-outside-tolerance',
  },
  {
    name: 'Standard Webhooks: signed with a rotated-out secret',
    event: post(
      'sw',
      SIGNED,
      swHeaders(SIGNED, { secret: `whsec_${Buffer.from('old-key').toString('base64')}` }),
    ),
    status: 401,
    reason: 'signature-mismatch',
  },
  {
    name: 'Standard Webhooks: id with a dot (re-split attack)',
    event: post('sw', SIGNED, swHeaders(SIGNED, { id: 'msg.1' })),
    status: 401,
    reason: 'header-malformed',
  },
  {
    name: 'Standard Webhooks: non-numeric timestamp',
    event: post('sw', SIGNED, { ...swHeaders(SIGNED), 'webhook-timestamp': '1e9' }),
    status: 401,
    reason: 'header-malformed',
  },
  {
    name: 'Standard Webhooks: valid signature among forged ones (rotation) is accepted',
    event: post('sw', SIGNED, {
      ...swHeaders(SIGNED),
      'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${swHeaders(SIGNED)['webhook-signature']}`,
    }),
    status: 202,
    stored: Buffer.from(SIGNED),
  },
  {
    name: 'Stripe: stale replay',
    event: post('stripe', SIGNED, { 'stripe-signature': signStripe(STRIPE_SECRET, NOW_S - 301, SIGNED) }),
    status: 401,
    reason: 'timestamp-outside-tolerance',
  },
  {
    name: 'Stripe: two timestamps',
    event: post('stripe', SIGNED, {
      'stripe-signature': `t=${NOW_S},${signStripe(STRIPE_SECRET, NOW_S, SIGNED)}`,
    }),
    status: 401,
    reason: 'header-malformed',
  },
  {
    name: 'Stripe: only a v0 (test-mode) signature',
    event: post('stripe', SIGNED, { 'stripe-signature': `t=${NOW_S},v0=${'0'.repeat(64)}` }),
    status: 401,
    reason: 'signature-missing',
  },
  {
    name: 'token: wrong token',
    event: post('token', SIGNED, { 'x-webhook-token': `${TOKEN}x` }),
    status: 401,
    reason: 'token-mismatch',
  },
  {
    name: 'token: a prefix of the right token',
    event: post('token', SIGNED, { 'x-webhook-token': TOKEN.slice(0, 5) }),
    status: 401,
    reason: 'token-mismatch',
  },
  // What comes back from the proxy (or a gateway in front of it)
  {
    name: 'proxy: HTML 502 page from a gateway',
    event: post('open', 'gw'),
    fault: { kind: 'status', status: 502, body: HTML_PAGE, headers: HTML, times: 5 },
    status: 503,
    code: 'ERR_UPSTREAM_STATUS',
  },
  {
    name: 'proxy: 200 with an HTML page instead of JSON',
    event: post('open', 'html'),
    fault: { kind: 'status', status: 200, body: HTML_PAGE, headers: HTML },
    status: 503,
    code: 'ERR_UPSTREAM_PROTOCOL',
  },
  {
    name: 'proxy: 200 with truncated JSON',
    event: post('open', 'cut'),
    fault: {
      kind: 'status',
      status: 200,
      body: '{"offsets":[{"partition":0,',
      headers: { 'content-type': 'application/json' },
    },
    status: 503,
    code: 'ERR_UPSTREAM_PROTOCOL',
  },
  {
    name: 'proxy: 200 with no entry for the record',
    event: post('open', 'short'),
    fault: { kind: 'status', status: 200, body: { offsets: [], key_schema_id: null, value_schema_id: null } },
    status: 503,
    code: 'ERR_UPSTREAM_PROTOCOL',
  },
  {
    name: 'proxy: plain-text 400 (old rest-utils parse error)',
    event: post('open', 'text'),
    fault: {
      kind: 'status',
      status: 400,
      body: 'Unexpected character',
      headers: { 'content-type': 'text/plain' },
    },
    status: 422,
    code: 'ERR_RECORD_REJECTED',
  },
  {
    name: 'proxy: HTML 401 from the gateway, also after re-reading the key',
    event: post('open', 'auth'),
    fault: { kind: 'status', status: 401, body: '<html>Unauthorized</html>', headers: HTML, times: 2 },
    status: 503,
    code: 'ERR_UPSTREAM_AUTH',
  },
  {
    name: "proxy: the route's topic does not exist",
    event: post('missing', 'x'),
    status: 502,
    code: 'ERR_UPSTREAM_STATUS',
  },
];

describe('hostile input: webhook (POST /hooks/{route})', () => {
  const proxy = useProxy();
  let deps: WebhookHandlerDeps;
  let kafka: KafkaRestClient;
  const handler = checkedAgainstOpenApi(makeWebhookHandler(() => deps));

  beforeAll(() => {
    kafka = createKafkaRestFromConfig(proxy.state.config);
    deps = {
      kafka,
      routes: proxy.state.config.webhook.routes,
      secrets: {
        get: async () => {
          throw new Error('routes use literal secrets');
        },
      },
      log: createMemoryLog(),
      deadlineMarginMs: 100,
      now: Date.now,
    };
  });
  afterAll(async () => {
    await kafka.close();
  });

  it.each(WEBHOOK_CASES)(
    '$name → $status',
    async ({ event, status, code, reason, stored, fault, reachesProxy, problem, key }) => {
      if (fault !== undefined) proxy.state.server.inject(fault);
      const before = proxy.stored('demo').length;

      const response = await handler(event(), lambdaContext(5_000));

      expect(response.statusCode).toBe(status);
      const body = JSON.parse(response.body ?? '{}') as { code?: string; detail?: string };
      if (code !== undefined) expect(body.code).toBe(code);
      if (reason !== undefined) expect(body).toMatchObject({ code: 'ERR_UNAUTHORIZED', detail: reason });
      if (problem !== undefined) expect(body.detail).toMatch(problem);
      const after = proxy.stored('demo');
      if (stored !== undefined) {
        // Accepted: exactly one record, the exact bytes, at the offset the answer named.
        expect(after).toHaveLength(before + 1);
        const { partition, offset } = JSON.parse(response.body ?? '{}') as {
          partition: number;
          offset: number;
        };
        const record = proxy.state.server.records('demo', partition).find((r) => r.offset === offset);
        expect(record?.value).toEqual(stored);
        if (key !== undefined) expect(record?.key?.toString('utf8')).toBe(key);
        return;
      }
      // Refused: nothing stored. A caller's mistake never reaches the proxy at all; what may succeed later
      // is a 5xx with Retry-After, so the sender tries again and nothing is lost.
      expect(after).toHaveLength(before);
      expect(response.headers?.['content-type']).toBe('application/problem+json');
      expect(body).toMatchObject({ type: 'about:blank', status });
      if (status < 500 && fault === undefined && !reachesProxy) expect(proxy.producePosts()).toBe(0);
      if (status === 503) expect(Number(response.headers?.['retry-after'])).toBeGreaterThan(0);
      if (status >= 500) expect(body).not.toHaveProperty('detail');
    },
  );
});

describe('hostile input: webhook idempotency ids (dynalite)', () => {
  const proxy = useProxy();
  let dynamo: LocalDynamo;
  let deps: WebhookHandlerDeps;
  let kafka: KafkaRestClient;
  const handler = checkedAgainstOpenApi(makeWebhookHandler(() => deps));

  beforeAll(async () => {
    dynamo = await startDynalite('idempotency');
    kafka = createKafkaRestFromConfig(proxy.state.config);
    deps = {
      kafka,
      routes: proxy.state.config.webhook.routes,
      idempotency: createIdempotencyStore({
        client: dynamo.client,
        tableName: dynamo.tableName,
        now: Date.now,
        inProgressTtlMs: 60_000,
      }),
      secrets: { get: async () => Promise.reject(new Error('routes use literal secrets')) },
      log: createMemoryLog(),
      deadlineMarginMs: 100,
      now: Date.now,
    };
  });
  afterAll(async () => {
    await kafka.close();
    await dynamo.close();
  });

  // Each case uses ids of its own: the table is shared by the cases.
  it.each([
    {
      name: '64-bit ids one apart (snowflakes) are two deliveries',
      bodies: ['{"id":9007199254740993}', '{"id":9007199254740992}'],
      statuses: [202, 202],
      produced: 2,
    },
    {
      name: 'a number and the string of its digits are two ids',
      bodies: ['{"id":123}', '{"id":"123"}'],
      statuses: [202, 202],
      produced: 2,
    },
    {
      name: 'two spellings of one number are two ids (exact source text)',
      bodies: ['{"id":1e3}', '{"id":1000}'],
      statuses: [202, 202],
      produced: 2,
    },
    {
      name: 'the same id and body twice: produced once, the repeat replayed',
      bodies: ['{"id":77,"a":1}', '{"id":77,"a":1}'],
      statuses: [202, 202],
      produced: 1,
      replayed: true,
    },
    {
      name: 'the same id with another body: 422 ERR_IDEMPOTENCY_MISMATCH, never produced',
      bodies: ['{"id":"evt_m","a":1}', '{"id":"evt_m","a":2}'],
      statuses: [202, 422],
      produced: 1,
      code: 'ERR_IDEMPOTENCY_MISMATCH',
    },
  ])('$name', async ({ bodies, statuses, produced, replayed, code }) => {
    const before = proxy.stored('demo').length;

    const responses = [];
    for (const body of bodies) responses.push(await handler(post('idem', body)(), lambdaContext(5_000)));

    expect(responses.map((response) => response.statusCode)).toEqual(statuses);
    expect(proxy.stored('demo')).toHaveLength(before + produced);
    const last = responses.at(-1);
    expect(last?.headers?.['idempotent-replayed']).toBe(replayed === true ? 'true' : undefined);
    if (code !== undefined) expect(JSON.parse(last?.body ?? '{}')).toMatchObject({ code });
  });
});

// -------------------------------------------------------------------------------------------------- queue

interface QueueCase {
  readonly name: string;
  readonly message: () => SQSRecord;
  /** Whether SQS must see the message as failed (for good: it goes to the queue's DLQ; or to redeliver). */
  readonly failed: boolean;
  /** Accepted: the exact bytes stored in `topic`. */
  readonly stored?: { readonly topic: 'orders' | 'audit'; readonly value: Buffer };
  readonly fault?: Fault;
}

const withTopic = (topic: string) => () => sqsRecord('{"x":1}', { attributes: { topic } });

const QUEUE_CASES: readonly QueueCase[] = [
  { name: 'topic attribute with path traversal', message: withTopic('../admin'), failed: true },
  { name: 'topic attribute with a slash', message: withTopic('audit/../orders'), failed: true },
  { name: 'topic attribute that is empty', message: withTopic(''), failed: true },
  { name: 'topic attribute of 250 characters', message: withTopic('a'.repeat(250)), failed: true },
  { name: 'topic attribute with a NUL byte', message: withTopic('audit\u0000'), failed: true },
  { name: 'topic attribute with a space', message: withTopic('audit x'), failed: true },
  { name: 'topic attribute not on the allow-list', message: withTopic('payments'), failed: true },
  {
    name: 'topic attribute of Binary type',
    message: () => sqsRecord('{}', { binaryAttributes: { topic: Buffer.from('audit') } }),
    failed: true,
  },
  {
    name: 'allowed topic attribute: accepted',
    message: withTopic('audit'),
    failed: false,
    stored: { topic: 'audit', value: Buffer.from('{"x":1}') },
  },
  {
    name: 'base64 body that is not base64',
    message: () => sqsRecord('@@not base64@@', { attributes: { encoding: 'base64' } }),
    failed: true,
  },
  {
    name: 'base64 body truncated (no padding)',
    message: () => sqsRecord('aGVsbG8', { attributes: { encoding: 'base64' } }),
    failed: true,
  },
  {
    name: 'base64 body of NUL and invalid UTF-8: stored byte for byte',
    message: () => sqsRecord(withNul.toString('base64'), { attributes: { encoding: 'base64' } }),
    failed: false,
    stored: { topic: 'orders', value: withNul },
  },
  {
    name: 'HTML body: stored as is (the queue is content-agnostic)',
    message: () => sqsRecord(HTML_PAGE),
    failed: false,
    stored: { topic: 'orders', value: Buffer.from(HTML_PAGE) },
  },
  {
    name: 'body over the record limit',
    message: () => sqsRecord('z'.repeat(MAX_RECORD_BYTES + 1)),
    failed: true,
  },
  {
    name: 'key attribute that is empty',
    message: () => sqsRecord('{}', { attributes: { key: '' } }),
    failed: true,
  },
  {
    name: 'proxy answers an HTML 503 page: failed, to be redelivered',
    message: () => sqsRecord('retry-me'),
    failed: true,
    fault: { kind: 'status', status: 503, body: HTML_PAGE, headers: HTML, times: 4 },
  },
  {
    name: 'proxy answers 200 with a body cut short: failed, to be redelivered',
    message: () => sqsRecord('cut-me'),
    failed: true,
    fault: {
      kind: 'status',
      status: 200,
      body: '{"offsets":[{"partiti',
      headers: { 'content-type': 'application/json' },
    },
  },
];

describe('hostile input: queue (SQS batch)', () => {
  const proxy = useProxy();
  let deps: QueueHandlerDeps;
  let kafka: KafkaRestClient;
  const handler = makeQueueHandler(() => deps);

  beforeAll(() => {
    kafka = createKafkaRestFromConfig(proxy.state.config);
    deps = {
      kafka,
      log: createMemoryLog(),
      now: Date.now,
      queue: proxy.state.config.queue,
      limits: toProduceLimits(proxy.state.config.kafka),
      deadlineMarginMs: 100,
    };
  });
  afterAll(async () => {
    await kafka.close();
  });

  it.each(QUEUE_CASES)('$name → failed: $failed', async ({ message, failed, stored, fault }) => {
    // A well-formed neighbour in the same batch must be acknowledged whatever happens to the hostile one.
    const hostile = message();
    const neighbour = sqsRecord('neighbour');
    if (fault !== undefined) proxy.state.server.inject(fault);

    const response = await handler(sqsEvent([hostile, neighbour]), lambdaContext(5_000));

    const failedIds = response.batchItemFailures.map((failure) => failure.itemIdentifier);
    const values = (topic: 'orders' | 'audit') => proxy.stored(topic).map((r) => r.value?.toString('latin1'));
    if (fault === undefined) {
      expect(failedIds).toEqual(failed ? [hostile.messageId] : []);
      expect(values('orders')).toContain('neighbour');
    } else {
      // The whole request met the fault: both are reported, both will be redelivered, nothing was written.
      expect(failedIds.sort()).toEqual([hostile.messageId, neighbour.messageId].sort());
      expect(values('orders')).toEqual([]);
    }
    const all = [...proxy.stored('orders'), ...proxy.stored('audit')];
    if (stored !== undefined) {
      expect(proxy.stored(stored.topic).map((r) => r.value)).toContainEqual(stored.value);
      expect(all).toHaveLength(2);
    } else {
      expect(all).toHaveLength(fault === undefined ? 1 : 0);
    }
  });
});

// ------------------------------------------------------------------------------------------------- events

interface EventsCase {
  readonly name: string;
  readonly event: () => ReturnType<typeof eventBridgeEvent<unknown>>;
  /** Thrown code (Lambda retries, then the on-failure destination), or undefined: produced. */
  readonly code?: string;
  readonly retriable?: boolean;
  readonly fault?: Fault;
}

const EVENTS_CASES: readonly EventsCase[] = [
  {
    name: 'event without an id (the key pointer names nothing)',
    event: () => {
      const event = eventBridgeEvent({ a: 1 });
      delete (event as { id?: string }).id;
      return event;
    },
    code: 'ERR_PAYLOAD_INVALID',
    retriable: false,
  },
  {
    name: 'event whose id is an object',
    event: () => eventBridgeEvent({}, { id: { $ne: 1 } as unknown as string }),
    code: 'ERR_PAYLOAD_INVALID',
    retriable: false,
  },
  {
    name: 'event over the record limit',
    event: () => eventBridgeEvent({ blob: 'b'.repeat(MAX_RECORD_BYTES) }),
    code: 'ERR_PAYLOAD_TOO_LARGE',
    retriable: false,
  },
  {
    name: 'event with NUL, lone surrogates and emoji: produced as its JSON',
    event: () => eventBridgeEvent({ text: 'a\u0000b\ud800c🙂' }),
  },
  {
    name: 'proxy answers an HTML 503 page: thrown, Lambda retries',
    event: () => eventBridgeEvent({ n: 1 }),
    code: 'ERR_UPSTREAM_STATUS',
    retriable: true,
    fault: { kind: 'status', status: 503, body: HTML_PAGE, headers: HTML, times: 4 },
  },
];

describe('hostile input: events (EventBridge target)', () => {
  const proxy = useProxy();
  let deps: EventsHandlerDeps;
  let kafka: KafkaRestClient;
  const handler = makeEventsHandler(() => deps);

  beforeAll(() => {
    kafka = createKafkaRestFromConfig(proxy.state.config);
    deps = {
      kafka,
      log: createMemoryLog(),
      topic: 'events',
      key: proxy.state.config.events.key,
      limits: toProduceLimits(proxy.state.config.kafka),
      deadlineMarginMs: 100,
      now: Date.now,
    };
  });
  afterAll(async () => {
    await kafka.close();
  });

  it.each(EVENTS_CASES)('$name', async ({ event, code, retriable, fault }) => {
    if (fault !== undefined) proxy.state.server.inject(fault);
    const input = event();

    const outcome = await handler(input, lambdaContext(5_000)).then(
      (ack) => ({ ack }),
      (error: unknown) => ({ error }),
    );

    if (code === undefined) {
      expect(outcome).toHaveProperty('ack');
      expect(proxy.stored('events').map((r) => r.value)).toEqual([Buffer.from(JSON.stringify(input))]);
      return;
    }
    expect('error' in outcome && isAppError(outcome.error)).toBe(true);
    expect((outcome as { error: { code: string; retriable: boolean } }).error).toMatchObject({
      code,
      retriable,
    });
    expect(proxy.stored('events')).toEqual([]);
  });
});

// ------------------------------------------------------------------------------- Kafka REST client (topics)

describe('hostile input: topic names at the Kafka REST client', () => {
  const proxy = useProxy();
  let kafka: KafkaRestClient;
  beforeAll(() => {
    kafka = createKafkaRest({
      baseUrl: proxy.state.server.url,
      allowHttp: true,
      auth: noAuth(),
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    await kafka.close();
  });

  it.each([
    { name: 'path traversal', topic: '../admin' },
    { name: 'a slash', topic: 'demo/partitions/0' },
    { name: 'a query string', topic: 'demo?offset=0' },
    { name: 'percent-encoding', topic: '%2e%2e' },
    { name: 'empty', topic: '' },
    { name: '250 characters', topic: 'd'.repeat(250) },
    { name: 'non-ASCII', topic: 'démo' },
  ])('$name ($topic): ERR_PAYLOAD_INVALID for produce and fetch, no request sent', async ({ topic }) => {
    const deadline = { deadlineMs: Date.now() + 2_000 };
    const produce = kafka.produce(topic, [{ value: Buffer.from('x') }], deadline);
    const fetch = kafka.fetch(topic, 0, 0, { ...deadline, maxRecords: 1 });
    await expect(produce).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    await expect(fetch).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    expect(proxy.state.server.requests).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------------- drain

describe('hostile input: drain (its event, the proxy fetch answers, the sink answers)', () => {
  let dynamo: LocalDynamo;
  let server: KafkaRestServer;
  let kafka: KafkaRestClient;
  let sqs: FakeSqs;
  let store: CheckpointStore;
  let aws: ReturnType<typeof createAwsClients>;
  const closers: (() => Promise<void>)[] = [];
  let n = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    sqs = await startFakeSqs();
    aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: sqs.endpoint });
    store = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: 60_000,
      now: Date.now,
    });
  });
  afterAll(async () => {
    aws.destroy();
    await Promise.all([dynamo.close(), sqs.close()]);
  });
  beforeEach(async () => {
    server = await startKafkaRestServer({ topics: { orders: 1 } });
    kafka = createKafkaRest({
      baseUrl: server.url,
      allowHttp: true,
      auth: noAuth(),
      maxAttempts: 2,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
    });
    n += 1;
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await kafka.close();
    await server.close();
  });

  /**
   * A local endpoint for the HTTP sink: the real one (`single` mode) is pointed at it. The timeout is wide
   * enough for every answer meant to arrive on a loaded machine (a retry would change what is asserted);
   * a test of an answer that never comes shortens it.
   */
  const sinkAt = async (url: string, timeoutMs = 2_000): Promise<Sink> => {
    const sink = createHttpSink(httpSinkConfig(url, { timeoutMs }), {
      aws,
      log: createMemoryLog(),
      now: Date.now,
    });
    closers.push(() => sink.close());
    return sink;
  };
  const drainOnce = (sink: Sink, drainId: string) =>
    drainPartition(
      {
        kafka,
        checkpoints: store,
        log: createMemoryLog(),
        now: Date.now,
        sleep: (ms) => delay(ms),
        random: () => 0.5,
      },
      {
        drain: drainSettings({ id: drainId, maxAttempts: 2 }),
        partition: 0,
        sink,
        deadLetters: createDeadLetterQueue(dlqConfig(sqs.queueUrl('hostile-dlq')), {
          aws,
          log: createMemoryLog(),
          now: Date.now,
        }),
        owner: `hostile-${n}`,
        deadlineMs: Date.now() + 10_000,
        cleanupDeadlineMs: Date.now() + 12_000,
        leaseMs: 60_000,
      },
    );
  const listen = async (server: Server | ReturnType<typeof createTcpServer>): Promise<string> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  };
  /** A sink that records each offset it sees and answers with `respond`. */
  const recordingSink = async (respond: (res: ServerResponse) => void) => {
    const seen: number[] = [];
    const http = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(Number(req.headers['kafka-offset']));
        respond(res);
      });
    });
    const sockets = new Set<Socket>();
    http.on('connection', (socket) => sockets.add(socket));
    const url = await listen(http);
    // Runs before the server's own close (closers run in reverse), which would wait on a hung socket.
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
    });
    return { url, seen };
  };
  const letters = () =>
    sqs.messages.map((message) => JSON.parse(message.MessageBody) as { drainId: string; offset: number });

  it.each([
    { name: 'an unknown drain', event: () => ({ drainId: 'no-such-drain' }) },
    { name: 'a negative partition', event: (drainId: string) => ({ drainId, partitions: [-1] }) },
    {
      name: 'a partition that is not an integer',
      event: (drainId: string) => ({ drainId, partitions: [1.5] }),
    },
    {
      name: 'a partition list that is a string',
      event: (drainId: string) => ({ drainId, partitions: '0-9' }),
    },
    { name: 'partitions without a drain', event: () => ({ partitions: [0] }) },
    { name: 'a drain id named like an object property', event: () => ({ drainId: '__proto__' }) },
  ])('drain event naming $name: ERR_PAYLOAD_INVALID before any lease is taken', async ({ event }) => {
    const drainId = `known-${n}`;
    const deps = {
      kafka,
      checkpoints: store,
      drains: [
        {
          ...drainSettings({ id: drainId }),
          partitions: 'all' as const,
          sink: httpSinkConfig('http://127.0.0.1:9/in'),
          dlq: undefined,
        },
      ],
      leaseMs: 60_000,
      maxConcurrentPartitions: 1,
      sinkFor: () => {
        throw new Error('no sink may be used');
      },
      deadLettersFor: () => undefined,
      deadlineMarginMs: 100,
      newOwnerId: () => 'hostile',
      metrics: { publish: () => {} },
      log: createMemoryLog(),
      now: Date.now,
      sleep: (ms: number) => delay(ms),
      random: () => 0.5,
    } satisfies DrainHandlerDeps;

    const thrown = await makeDrainHandler(() => deps)(event(drainId), {
      getRemainingTimeInMillis: () => 5_000,
      awsRequestId: 'r',
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(thrown).toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    expect(await store.list({ drainId })).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it.each([
    {
      name: '200 with JSON cut short',
      fault: {
        kind: 'status',
        status: 200,
        body: '[{"key":null,"value":"djA=","partition":0,"off',
        headers: { 'content-type': 'application/vnd.kafka.binary.v1+json' },
      },
      code: 'ERR_UPSTREAM_PROTOCOL',
    },
    {
      name: '200 with an HTML page',
      fault: { kind: 'status', status: 200, body: HTML_PAGE, headers: HTML },
      code: 'ERR_UPSTREAM_PROTOCOL',
    },
    {
      name: '200 with an object instead of a list',
      fault: { kind: 'status', status: 200, body: { error: 'maintenance' } },
      code: 'ERR_UPSTREAM_PROTOCOL',
    },
    {
      name: '200 with an offset that is a string',
      fault: { kind: 'status', status: 200, body: [{ key: null, value: 'djA=', partition: 0, offset: '0' }] },
      code: 'ERR_UPSTREAM_PROTOCOL',
    },
    {
      name: 'an HTML 502 page from a gateway, on every retry',
      fault: { kind: 'status', status: 502, body: HTML_PAGE, headers: HTML, times: 2 },
      code: 'ERR_UPSTREAM_STATUS',
    },
  ] satisfies { name: string; fault: Fault; code: string }[])(
    'fetch answered with $name: the run fails, nothing reaches the sink, the next run delivers all',
    async ({ fault, code }) => {
      server.append('orders', 0, records(3));
      const sink = await recordingSink((res) => res.end('ok'));
      const drainId = `fetch-${n}`;
      server.inject({ ...fault, match: { method: 'GET', path: /\/messages$/ } });

      const failed = await drainOnce(await sinkAt(sink.url), drainId);

      expect(failed).toMatchObject({ outcome: 'failed', error: { code } });
      expect(sink.seen).toEqual([]);
      expect((await store.get({ drainId, topic: 'orders', partition: 0 }))?.nextOffset ?? 0).toBe(0);
      // Nothing lost: once the proxy answers properly, every record arrives, in order.
      const next = await drainOnce(await sinkAt(sink.url), drainId);
      expect(next).toMatchObject({ outcome: 'caught-up', nextOffset: 3 });
      expect(sink.seen).toEqual([0, 1, 2]);
    },
  );

  it('fetch answered with a whole batch from before the checkpoint: only records at or after it are delivered', async () => {
    server.append('orders', 0, records(4));
    const sink = await recordingSink((res) => res.end('ok'));
    const drainId = `batch-${n}`;
    const key = { drainId, topic: 'orders', partition: 0 };
    await store.setOffset(key, 2);
    const batch = [0, 1, 2, 3].map((offset) => ({
      key: null,
      value: Buffer.from(`v${offset}`).toString('base64'),
      partition: 0,
      offset,
    }));
    server.inject({
      kind: 'status',
      status: 200,
      body: batch,
      match: { method: 'GET', path: /\/messages$/ },
    });

    const report = await drainOnce(await sinkAt(sink.url), drainId);

    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 4 });
    expect(sink.seen).toEqual([2, 3]);
  });

  it.each([
    {
      name: '500 with a 4 MB body',
      respond: (res: ServerResponse) => {
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end(`<html>${'e'.repeat(4 * 1024 * 1024)}</html>`);
      },
      outcome: 'dead-lettered',
    },
    {
      name: '200 with a 4 MB body',
      respond: (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('o'.repeat(4 * 1024 * 1024));
      },
      outcome: 'delivered',
    },
    {
      name: '302 redirect elsewhere',
      respond: (res: ServerResponse) => {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        res.end();
      },
      outcome: 'dead-lettered',
    },
    {
      name: '200 whose chunked body is broken',
      respond: (res: ServerResponse) => {
        res.socket?.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n');
      },
      outcome: 'delivered',
    },
    {
      name: 'an answer that never comes',
      respond: () => {},
      outcome: 'dead-lettered',
      timeoutMs: 300,
    },
  ])(
    'sink answering $name: the record is $outcome, never lost, the checkpoint moves past it',
    async (sinkCase) => {
      const { respond, outcome } = sinkCase;
      server.append('orders', 0, records(1));
      const sink = await recordingSink(respond);
      const drainId = `sink-${n}`;

      const report = await drainOnce(
        await sinkAt(sink.url, 'timeoutMs' in sinkCase ? sinkCase.timeoutMs : undefined),
        drainId,
      );

      expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 1 });
      const dead = letters().filter((letter) => letter.drainId === drainId);
      if (outcome === 'delivered') {
        expect(report).toMatchObject({ delivered: 1, deadLettered: 0 });
        expect(dead).toEqual([]);
      } else {
        expect(report).toMatchObject({ delivered: 0, deadLettered: 1 });
        expect(dead.map((letter) => letter.offset)).toEqual([0]);
        expect(sink.seen).toEqual([0, 0]);
      }
    },
  );

  it('sink speaking something that is not HTTP: the record is retried, then dead-lettered', async () => {
    server.append('orders', 0, records(1));
    const raw = createTcpServer((socket) => {
      socket.on('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n\u0000\u0001garbage'));
    });
    const url = await listen(raw);
    const drainId = `raw-${n}`;

    const report = await drainOnce(await sinkAt(url), drainId);

    expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: 1, delivered: 0, deadLettered: 1 });
    expect(
      letters()
        .filter((letter) => letter.drainId === drainId)
        .map((letter) => letter.offset),
    ).toEqual([0]);
  });
});
