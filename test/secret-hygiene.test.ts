import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHAOS_SECRETS, type ChaosOptions, runChaos, SUITE_PRESET } from '../chaos/scenarios.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { makeHandler as makeEventsHandler } from '../handlers/events.js';
import { makeHandler as makeQueueHandler } from '../handlers/queue.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { signGithub, signStandardWebhook, signStripe } from '../lib/ingest/webhook/verify/index.js';
import { createExtensionSecretFetcher } from '../lib/secrets/extension.js';
import { createDrainDeps } from '../lib/wiring/drain.js';
import { createEventsDeps } from '../lib/wiring/events.js';
import { createQueueDeps } from '../lib/wiring/queue.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { Env } from '../lib/wiring/settings/env.js';
import { createWebhookDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { records } from './fixtures/drain.js';
import { eventBridgeEvent } from './fixtures/eventbridge.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { type FakeSqs, startFakeSqs } from './helpers/aws-fakes.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';
import { type LocalSecretsManager, startSecretsManager } from './helpers/secrets-manager.js';

/**
 * Secret hygiene: real flows of every function (the handlers' own deps factories, so the Powertools
 * logger writes its JSON lines to stdout as in Lambda) meet wrong keys, proxies and gateways that echo
 * credentials, rotations, unreadable secrets and signing sinks. Every log line, stdout/stderr write,
 * error (message, snippet, cause chain), response, DLQ letter and checkpoint is captured, and none may
 * contain an API key, a signing secret, or an `Authorization` / `X-Auth-Token` value.
 */

const PROXY_KEY = 'hyg-proxy-key-3e9d71c0a5b2f846';
const PROXY_KEY_ROTATED = 'hyg-proxy-key-rotated-b07c9e1d24';
const BASIC_CREDENTIAL = 'bridge-user:hyg-basic-password-8f2a61';
const BEARER_TOKEN = 'hyg-bearer-token-5c7e0d93b1';
const GITHUB_SECRET = 'hyg-github-secret-0a1b2c3d';
const SW_KEY = Buffer.from('hyg-standard-webhooks-signing-key');
const SW_SECRET = `whsec_${SW_KEY.toString('base64')}`;
const STRIPE_SECRET = 'whsec_hyg_stripe_secret_61d0';
const WEBHOOK_TOKEN = 'hyg-webhook-token-7e4f2a90';
const SINK_SIGNING_SECRET = 'hyg-sink-signing-secret-2d9c';
const SINK_HEADER_KEY = 'hyg-sink-header-key-4b8e1f';
const EXTENSION_TOKEN = 'hyg-session-token-IQoJb3JpZ2luX2Vj';

const basic = `Basic ${Buffer.from(BASIC_CREDENTIAL).toString('base64')}`;
/** Every form in which a secret could leak: the raw value and the header values built from it. */
const SECRET_FORMS: readonly string[] = [
  PROXY_KEY,
  PROXY_KEY_ROTATED,
  BASIC_CREDENTIAL,
  BASIC_CREDENTIAL.split(':')[1] as string,
  basic,
  basic.slice('Basic '.length),
  BEARER_TOKEN,
  GITHUB_SECRET,
  SW_SECRET,
  SW_KEY.toString('base64'),
  STRIPE_SECRET,
  WEBHOOK_TOKEN,
  SINK_SIGNING_SECRET,
  SINK_HEADER_KEY,
  EXTENSION_TOKEN,
  CHAOS_SECRETS.apiKey,
  CHAOS_SECRETS.githubSecret,
];

/** Every string reachable from `value` (error messages, stacks, causes, snippets, nested attributes). */
const textOf = (value: unknown, depth = 0, seen = new Set<unknown>()): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return typeof value === 'function' ? '' : String(value);
  if (seen.has(value) || depth > 8) return '';
  seen.add(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  const parts: string[] = [];
  if (value instanceof Error) parts.push(value.name, value.message, value.stack ?? '');
  for (const key of Object.getOwnPropertyNames(value)) {
    parts.push(key, textOf((value as Record<string, unknown>)[key], depth + 1, seen));
  }
  return parts.join('\n');
};

/** The captured texts that contain a secret, as `secret-form-index in: excerpt` (empty: clean). */
const findLeaks = (texts: readonly string[]): string[] => {
  const leaks: string[] = [];
  for (const text of texts) {
    SECRET_FORMS.forEach((secret, index) => {
      const at = text.indexOf(secret);
      if (at !== -1) leaks.push(`secret #${index} in: …${text.slice(Math.max(0, at - 60), at + 80)}…`);
    });
  }
  return leaks;
};

/** Everything the process writes to stdout and stderr (Powertools' log lines, EMF metrics) while on. */
const captureOutput = () => {
  const chunks: string[] = [];
  const original = { out: process.stdout.write, err: process.stderr.write };
  const tap = ((chunk: unknown, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = tap;
  process.stderr.write = tap;
  return {
    chunks,
    restore: () => {
      process.stdout.write = original.out;
      process.stderr.write = original.err;
    },
  };
};

const settle = <T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('secret hygiene', () => {
  let server: KafkaRestServer;
  let secretsManager: LocalSecretsManager;
  /** Everything captured by every test, checked once more at the end. */
  const everything: string[] = [];
  let output: ReturnType<typeof captureOutput> | undefined;
  let texts: string[];

  const baseEnv = (): Env => ({
    KAFKA_REST_URL: server.url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_SECRET_ID: 'proxy-key',
    KAFKA_REST_MAX_ATTEMPTS: '2',
    KAFKA_REST_BACKOFF_BASE_MS: '1',
    KAFKA_REST_BACKOFF_MAX_MS: '2',
    SECRETS_MANAGER_ENDPOINT: secretsManager.endpoint,
    SECRETS_CACHE_TTL_MS: '60000',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'DEBUG',
    // The webhook's upstream breaker would open on this file's bursts of proxy failures and answer the
    // request right after a rotation without trying the proxy: what is tested here is the credential.
    UPSTREAM_BREAKER_MIN_ATTEMPTS: '1000',
  });
  /** Keeps what a flow produced, for the assertion at the end of its test and the final sweep. */
  const keep = (...values: unknown[]) => {
    for (const value of values) texts.push(textOf(value));
  };
  const expectClean = () => {
    const all = [...texts, ...(output?.chunks ?? [])];
    everything.push(...all);
    expect(all.join('').length).toBeGreaterThan(0);
    expect(findLeaks(all)).toEqual([]);
  };

  beforeAll(async () => {
    // The SDK clients the deps factories build find credentials where Lambda puts them: the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    server = await startKafkaRestServer({
      topics: { demo: 2, orders: 1, events: 1, drained: 1 },
      apiKey: PROXY_KEY,
    });
    secretsManager = await startSecretsManager({
      'proxy-key': PROXY_KEY,
      'basic-credential': BASIC_CREDENTIAL,
      'bearer-token': BEARER_TOKEN,
      github: GITHUB_SECRET,
      'standard-webhooks': SW_SECRET,
      stripe: STRIPE_SECRET,
      token: WEBHOOK_TOKEN,
      'sink-signing': SINK_SIGNING_SECRET,
    });
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await Promise.all([server.close(), secretsManager.close()]);
  });
  beforeEach(() => {
    texts = [];
    server.clearFaults();
    server.setApiKey(PROXY_KEY);
    secretsManager.setSecret('proxy-key', PROXY_KEY);
  });
  afterEach(() => {
    output?.restore();
    output = undefined;
  });

  it('the checker finds a planted secret in any form, so a leak fails this file', () => {
    const planted = [
      `error: proxy said "${basic}"`,
      textOf(new Error('x', { cause: { snippet: PROXY_KEY } })),
    ];
    expect(findLeaks(planted)).toHaveLength(3);
  });

  it('webhook: wrong signatures and tokens, proxies echoing the key, a rotation, an unreadable secret', async () => {
    output = captureOutput();
    const routes = {
      gh: { topic: 'demo', verify: { scheme: 'github', secretId: 'github' } },
      sw: { topic: 'demo', verify: { scheme: 'standard-webhooks', secretId: 'standard-webhooks' } },
      stripe: { topic: 'demo', verify: { scheme: 'stripe', secretId: 'stripe' } },
      token: { topic: 'demo', verify: { scheme: 'token', header: 'X-Webhook-Token', secretId: 'token' } },
      unreadable: { topic: 'demo', verify: { scheme: 'github', secretId: 'no-such-secret' } },
    };
    const deps = createWebhookDeps(loadConfig({ ...baseEnv(), WEBHOOK_ROUTES: JSON.stringify(routes) }));
    const handler = makeWebhookHandler(() => deps);
    const body = '{"id":"evt_1"}';
    const nowS = Math.floor(Date.now() / 1000);
    const send = async (route: string, headers: Record<string, string> = {}) => {
      const response = await handler(
        httpApiEvent(`/hooks/${route}`, body, { headers }),
        lambdaContext(5_000),
      );
      keep(response);
      return response.statusCode;
    };
    try {
      const statuses = [
        await send('gh', { 'x-hub-signature-256': signGithub(GITHUB_SECRET, body) }),
        await send('gh', { 'x-hub-signature-256': signGithub(`${GITHUB_SECRET}-guess`, body) }),
        await send('sw', {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(nowS - 3_600),
          'webhook-signature': signStandardWebhook(SW_SECRET, 'msg_1', nowS - 3_600, body),
        }),
        await send('stripe', { 'stripe-signature': signStripe(`${STRIPE_SECRET}x`, nowS, body) }),
        await send('token', { 'x-webhook-token': `${WEBHOOK_TOKEN}-and-more` }),
        await send('token', { 'x-webhook-token': WEBHOOK_TOKEN }),
        await send('unreadable', { 'x-hub-signature-256': signGithub(GITHUB_SECRET, body) }),
      ];
      expect(statuses).toEqual([202, 401, 401, 401, 401, 202, 503]);

      // A proxy that echoes the credential in its error bodies, through the handler and the client itself.
      const echo = `invalid credential: X-Auth-Token: ${PROXY_KEY}`;
      server.inject({ kind: 'status', status: 500, body: { error_code: 500, message: echo } });
      server.inject({
        kind: 'status',
        status: 401,
        body: `<html>${echo}</html>`,
        headers: { 'content-type': 'text/html' },
        times: 2,
      });
      const token = { 'x-webhook-token': WEBHOOK_TOKEN };
      expect([await send('token', token), await send('token', token)]).toEqual([503, 503]);
      server.inject({ kind: 'status', status: 502, body: echo, times: 2 });
      keep(
        await deps.kafka.produce('demo', [{ value: Buffer.from('x') }], { deadlineMs: Date.now() + 5_000 }),
      );

      // Rotation: the proxy moves to a new key before Secrets Manager does, then Secrets Manager follows.
      server.setApiKey(PROXY_KEY_ROTATED);
      const beforeRotation = await send('token', token);
      secretsManager.setSecret('proxy-key', PROXY_KEY_ROTATED);
      expect([beforeRotation, await send('token', token)]).toEqual([503, 202]);
    } finally {
      output.restore();
      await deps.kafka.close();
    }
    // The Powertools logger's JSON lines were captured (so the check below covers them).
    expect(output.chunks.join('')).toContain('webhook request not accepted');
    expectClean();
  });

  it('queue: basic auth against a gateway that echoes the Authorization header', async () => {
    output = captureOutput();
    server.setApiKey(undefined);
    const deps = createQueueDeps(
      loadConfig({
        ...baseEnv(),
        KAFKA_REST_AUTH: 'basic',
        KAFKA_REST_SECRET_ID: 'basic-credential',
        QUEUE_TOPIC: 'orders',
      }),
    );
    const handler = makeQueueHandler(() => deps);
    try {
      const echoed = `<html><body>401: bad header Authorization: ${basic}</body></html>`;
      server.inject({
        kind: 'status',
        status: 401,
        body: echoed,
        headers: { 'content-type': 'text/html' },
        times: 2,
      });
      const refused = await handler(sqsEvent([sqsRecord('a'), sqsRecord('b')]), lambdaContext(5_000));
      server.inject({
        kind: 'status',
        status: 503,
        body: echoed,
        headers: { 'content-type': 'text/html' },
        times: 2,
      });
      keep(
        await deps.kafka.produce('orders', [{ value: Buffer.from('x') }], { deadlineMs: Date.now() + 5_000 }),
      );
      const accepted = await handler(sqsEvent([sqsRecord('c')]), lambdaContext(5_000));
      keep(refused, accepted);
      expect([refused.batchItemFailures.length, accepted.batchItemFailures.length]).toEqual([2, 0]);
    } finally {
      output.restore();
      await deps.kafka.close();
    }
    expectClean();
  });

  it('events: a bearer token echoed by the proxy, in the error Lambda records', async () => {
    output = captureOutput();
    server.setApiKey(undefined);
    const deps = createEventsDeps(
      loadConfig({
        ...baseEnv(),
        KAFKA_REST_AUTH: 'bearer',
        KAFKA_REST_SECRET_ID: 'bearer-token',
        EVENTS_TOPIC: 'events',
      }),
    );
    const handler = makeEventsHandler(() => deps);
    try {
      server.inject({
        kind: 'status',
        status: 503,
        body: `token Bearer ${BEARER_TOKEN} throttled`,
        times: 2,
      });
      const failed = await settle(handler(eventBridgeEvent({ n: 1 }), lambdaContext(5_000)));
      const produced = await settle(handler(eventBridgeEvent({ n: 2 }), lambdaContext(5_000)));
      keep(failed, produced);
      expect(failed.error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS' });
      expect(produced.value).toMatchObject({ topic: 'events' });
    } finally {
      output.restore();
      await deps.kafka.close();
    }
    expectClean();
  });

  describe('drain', () => {
    let dynamo: LocalDynamo;
    let sqs: FakeSqs;
    let sink: Server;
    let sinkUrl: string;
    const received: IncomingHttpHeaders[] = [];

    beforeAll(async () => {
      dynamo = await startDynalite('hygiene-checkpoints');
      sqs = await startFakeSqs();
      // Accepts offset 0, echoes every request header back in a 500 for offset 1 and a 400 for offset 2.
      sink = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          received.push(req.headers);
          const offset = Number(req.headers['kafka-offset']);
          res.writeHead(offset === 0 ? 200 : offset === 1 ? 500 : 400, {
            'content-type': 'application/json',
          });
          res.end(JSON.stringify({ youSent: req.headers }));
        });
      });
      await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
      sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/in`;
    });
    afterAll(async () => {
      sink.closeAllConnections();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
      await Promise.all([dynamo.close(), sqs.close()]);
    });

    it('a signing sink that echoes its API key header, poison records in the DLQ, a refused proxy key', async () => {
      output = captureOutput();
      server.append('drained', 0, records(3));
      const env = {
        ...baseEnv(),
        CHECKPOINT_TABLE: dynamo.tableName,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        SQS_ENDPOINT: sqs.endpoint,
        DRAINS: JSON.stringify([
          {
            id: 'hygiene',
            topic: 'drained',
            partitions: [0],
            sink: {
              type: 'http',
              url: sinkUrl,
              allowHttp: true,
              signingSecretId: 'sink-signing',
              headers: { 'x-api-key': SINK_HEADER_KEY },
              timeoutMs: 2_000,
            },
            dlq: { queueUrl: sqs.queueUrl('hygiene-dlq') },
            maxAttempts: 2,
            retryBaseMs: 1,
            retryMaxMs: 2,
          },
        ]),
      };
      const deps = createDrainDeps(loadConfig(env));
      const handler = makeDrainHandler(() => deps);
      const context = { getRemainingTimeInMillis: () => 10_000, awsRequestId: 'hygiene-1' };
      try {
        const drained = await settle(handler({}, context));
        // The proxy refuses the key, also after it is read again: the run fails and says why.
        server.setApiKey(PROXY_KEY_ROTATED);
        server.append('drained', 0, records(1, 'w', 3));
        const refused = await settle(handler({}, { ...context, awsRequestId: 'hygiene-2' }));
        const store = createCheckpointStore({
          client: dynamo.client,
          tableName: dynamo.tableName,
          leaseMs: 1,
          now: Date.now,
        });
        keep(drained, refused, await store.list(), sqs.messages);

        expect(drained.value).toMatchObject({ failed: false });
        expect(refused.error).toMatchObject({ code: 'ERR_UPSTREAM_AUTH' });
        expect(sqs.messages).toHaveLength(2);
        // The sink did get its key and a signature (never the signing secret itself).
        expect(received[0]?.['x-api-key']).toBe(SINK_HEADER_KEY);
        expect(received[0]?.['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      } finally {
        output.restore();
        await deps.close?.();
      }
      expect(output.chunks.join('')).toContain('poison record sent to the dead-letter queue');
      expectClean();
    });
  });

  it('configuration errors name the setting, never the credential', () => {
    const attempts: Env[] = [
      { KAFKA_REST_URL: 'https://k.example.com', KAFKA_REST_API_KEY: PROXY_KEY, KAFKA_REST_SECRET_ID: 'id' },
      {
        KAFKA_REST_URL: 'https://k.example.com',
        KAFKA_REST_AUTH: 'none',
        WEBHOOK_ROUTES: JSON.stringify({
          a: { topic: 'demo', verify: { scheme: 'standard-webhooks', secret: GITHUB_SECRET } },
          b: {
            topic: 'demo',
            verify: { scheme: 'token', header: 'x', secret: WEBHOOK_TOKEN, secretId: 'both' },
          },
          c: { topic: 'bad topic', verify: { scheme: 'stripe', secret: STRIPE_SECRET } },
        }),
      },
      {
        KAFKA_REST_URL: 'https://k.example.com',
        KAFKA_REST_AUTH: 'none',
        CHECKPOINT_TABLE: 't',
        DRAINS: JSON.stringify([
          {
            id: 'x',
            topic: 't',
            sink: {
              type: 'http',
              url: 'https://s.example.com',
              headers: { 'x-api-key': `${SINK_HEADER_KEY}\n` },
            },
          },
        ]),
      },
    ];
    for (const env of attempts) {
      const outcome = (() => {
        try {
          return loadConfig(env);
        } catch (error) {
          return error;
        }
      })();
      expect(outcome).toMatchObject({ code: 'ERR_CONFIG' });
      keep(outcome);
    }
    expectClean();
  });

  it('the Lambda secrets extension echoing its session token: redacted from the error', async () => {
    const extension = createServer((req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`forbidden: token ${String(req.headers['x-aws-parameters-secrets-token'])} is not valid`);
    });
    await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', () => resolve()));
    try {
      const fetchSecret = createExtensionSecretFetcher({
        port: (extension.address() as AddressInfo).port,
        host: '127.0.0.1',
        sessionToken: () => EXTENSION_TOKEN,
      });
      const outcome = await settle(fetchSecret('proxy-key'));
      expect(outcome.error).toMatchObject({ code: 'ERR_SECRET' });
      expect((outcome.error as Error).message).toContain('403');
      keep(outcome);
    } finally {
      extension.closeAllConnections();
      await new Promise<void>((resolve) => extension.close(() => resolve()));
    }
    expectClean();
  });

  it('a chaos run: every log line of every handler under every fault', async () => {
    const log = createMemoryLog();
    output = captureOutput();
    const options: ChaosOptions = {
      ...SUITE_PRESET,
      webhooks: 30,
      queueMessages: 40,
      events: 15,
      idempotentWebhooks: 20,
      fifoMessages: 30,
      bulkBatchRecords: 50,
      log,
    };
    try {
      keep(await runChaos(options));
    } finally {
      output.restore();
    }
    expect(log.lines.some((line) => line.level === 'warn' || line.level === 'error')).toBe(true);
    keep(log.lines);
    expectClean();
  });

  it('nothing captured across this file holds a secret', () => {
    expect(everything.length).toBeGreaterThan(10);
    expect(findLeaks(everything)).toEqual([]);
  });
});
