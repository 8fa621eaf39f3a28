import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { verifyWebhook } from '../lib/ingest/webhook/verify/index.js';
import { createSecretsCache } from '../lib/secrets/cache.js';
import { createSecretsManagerClient } from '../lib/secrets/secrets-manager.js';
import { type HttpSinkConfig, parseSinkConfig } from '../lib/sinks/config.js';
import { toWebhookId } from '../lib/sinks/http-sink.js';
import { createSink, type DeliveryOutcome } from '../lib/sinks/index.js';
import { createDrainDeps } from '../lib/wiring/drain.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { records } from './fixtures/drain.js';
import { sinkRecord } from './helpers/aws-fakes.js';
import { startDynalite } from './helpers/dynalite.js';
import { createMemoryLog } from './helpers/log.js';
import { type LocalSecretsManager, startSecretsManager, TEST_AWS } from './helpers/secrets-manager.js';

/** A Standard Webhooks signing secret as the spec describes it: `whsec_` + base64 of 32 random bytes. */
const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;
const CURRENT = newSecret();
const PREVIOUS = newSecret();
const STRANGER = newSecret();

const headersOf = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );

/** The official verifier's answer for one received request: `ok`, or the reason it refused. */
const officialVerdict = (secret: string, request: { headers: IncomingHttpHeaders; body: Buffer }): string => {
  try {
    new Webhook(secret).verify(request.body, headersOf(request.headers), { jsonParse: false });
    return 'ok';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.message;
    throw error;
  }
};

/** The bridge's own webhook verification (raw bytes, ids without dots) of one received request. */
const acceptedByTheBridge = (secret: string, request: { headers: IncomingHttpHeaders; body: Buffer }) =>
  verifyWebhook(
    { scheme: 'standard-webhooks', secret: { value: secret }, toleranceSeconds: 300 },
    { headers: headersOf(request.headers), body: request.body },
    { get: async () => secret },
    Date.now,
  );

const okCount = (outcomes: DeliveryOutcome[]) => outcomes.filter((outcome) => outcome.ok).length;

describe('HTTP sink, Standard Webhooks signing, checked by the standardwebhooks package', () => {
  let server: HttpSink;
  let secretsManager: LocalSecretsManager;
  const sinks: { close?(): Promise<void> }[] = [];
  const aws = createAwsClients({});
  let log: ReturnType<typeof createMemoryLog>;
  const deadline = () => ({ deadlineMs: Date.now() + 10_000 });

  beforeAll(async () => {
    secretsManager = await startSecretsManager({
      'sink/current': CURRENT,
      'sink/rotating': `${CURRENT} ${PREVIOUS}`,
      'sink/not-whsec': 'plain-hmac-key-0f9e8d7c',
    });
  });
  afterAll(async () => {
    await secretsManager.close();
  });
  beforeEach(async () => {
    server = await startHttpSink();
    log = createMemoryLog();
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.close?.()));
    await server.close();
  });

  /** A sink built from the `DRAINS` JSON a user writes, with secrets from the local Secrets Manager. */
  const sinkFromJson = (spec: Record<string, unknown>) => {
    const problems: string[] = [];
    const config = parseSinkConfig(
      { type: 'http', url: `${server.url}/in`, allowHttp: true, ...spec },
      'DRAINS[0].sink',
      problems,
    ) as HttpSinkConfig;
    expect(problems).toEqual([]);
    const secrets = createSecretsCache({
      client: createSecretsManagerClient({ endpoint: new URL(secretsManager.endpoint), ...TEST_AWS }),
      ttlMs: 60_000,
    });
    const sink = createSink(config, { aws, log, now: Date.now, secrets });
    sinks.push(sink);
    return sink;
  };

  it.each([
    { mode: 'single', requests: 3 },
    { mode: 'batch', requests: 1 },
  ])('signs every $mode request so the official verifier accepts it', async ({ mode, requests }) => {
    // Prepare
    const sink = sinkFromJson({ mode, signing: 'standard-webhooks', signingSecretId: 'sink/current' });
    const records = [
      sinkRecord(7, '{"order":1}'),
      sinkRecord(8, 'naïve café ✓'),
      sinkRecord(9, null, { key: Buffer.from('gone') }),
    ];

    // Act
    const outcomes = await sink.deliver(records, deadline());

    // Assess
    expect(okCount(outcomes)).toBe(3);
    expect(server.received).toHaveLength(requests);
    for (const request of server.received) {
      expect(officialVerdict(CURRENT, request)).toBe('ok');
      expect(officialVerdict(STRANGER, request)).toBe('No matching signature found');
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
      // The same id as the Idempotency-Key the receiver already deduplicates by.
      expect(decodeURIComponent(String(request.headers['webhook-id']))).toBe(
        request.headers['idempotency-key'],
      );
      expect(request.headers['x-signature']).toBeUndefined();
    }
  });

  it('signs whatever the drain delivers so that the official verifier accepts every request', async () => {
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/rotating' });
    const sinkBatch = sinkFromJson({
      mode: 'batch',
      maxBatchBytes: 1_024,
      signing: 'standard-webhooks',
      signingSecretId: 'sink/rotating',
    });
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/),
        fc.nat({ max: 1_000 }),
        fc.array(fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: null }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.boolean(),
        async (topic, first, values, batch) => {
          server.received.length = 0;
          const records = values.map((value, i) => sinkRecord(first + i, value, { topic }));

          const outcomes = await (batch ? sinkBatch : sink).deliver(records, deadline());

          expect(okCount(outcomes)).toBe(records.length);
          expect(server.received.length).toBeGreaterThan(0);
          for (const request of server.received) {
            expect(officialVerdict(CURRENT, request)).toBe('ok');
            expect(officialVerdict(PREVIOUS, request)).toBe('ok');
            expect(String(request.headers['webhook-id'])).not.toContain('.');
            await expect(acceptedByTheBridge(CURRENT, request)).resolves.toBeUndefined();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('gives webhook-id no dot, even for a dotted topic, so verifiers that follow the spec accept it', async () => {
    // Prepare
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/current' });
    const record = sinkRecord(3, '{"ok":true}', { topic: 'billing.invoices.v2' });

    // Act
    const outcomes = await sink.deliver([record], deadline());

    // Assess: the bridge's own webhook (which refuses dotted ids, as the spec asks) takes the delivery.
    expect(okCount(outcomes)).toBe(1);
    const [request] = server.received;
    if (request === undefined) throw new Error('nothing was delivered');
    const id = String(request.headers['webhook-id']);
    expect(id).toBe('test-stage/billing%2Einvoices%2Ev2/0/1/3');
    expect(decodeURIComponent(id)).toBe(record.id);
    expect(officialVerdict(CURRENT, request)).toBe('ok');
    await expect(acceptedByTheBridge(CURRENT, request)).resolves.toBeUndefined();
  });

  it('signs the raw bytes of a value that is not UTF-8, as the spec asks', async () => {
    // Prepare
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/current' });
    const bytes = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0x7d]);

    // Act
    await sink.deliver([sinkRecord(4, bytes)], deadline());

    // Assess: a verifier over the bytes received (the bridge's own webhook) accepts. The JS package turns a
    // Buffer into a UTF-8 string before it hashes, replacing these bytes, so it cannot check such a body:
    // the README tells receivers of binary values to verify over the raw bytes.
    const [request] = server.received;
    if (request === undefined) throw new Error('nothing was delivered');
    expect(request.body).toEqual(bytes);
    await expect(acceptedByTheBridge(CURRENT, request)).resolves.toBeUndefined();
    expect(officialVerdict(CURRENT, request)).toBe('No matching signature found');
  });

  it('keeps webhook-id across a redelivery and signs each attempt with its own timestamp', async () => {
    // Prepare
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/current' });
    server.inject({ kind: 'status', status: 503 });
    const record = sinkRecord(12, 'retry me');

    // Act
    const first = await sink.deliver([record], deadline());
    const second = await sink.deliver([record], deadline());

    // Assess
    expect([okCount(first), okCount(second)]).toEqual([0, 1]);
    const [refused, accepted] = server.received;
    expect(refused?.headers['webhook-id']).toBe(toWebhookId(record.id));
    expect(accepted?.headers['webhook-id']).toBe(refused?.headers['webhook-id']);
    for (const request of server.received) expect(officialVerdict(CURRENT, request)).toBe('ok');
  });

  it('signs with every secret of a rotation, so receivers on either secret accept', async () => {
    // Prepare
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/rotating' });

    // Act
    const outcomes = await sink.deliver([sinkRecord(1, 'rotating')], deadline());

    // Assess
    expect(okCount(outcomes)).toBe(1);
    const [request] = server.received;
    if (request === undefined) throw new Error('nothing was delivered');
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(officialVerdict(CURRENT, request)).toBe('ok');
    expect(officialVerdict(PREVIOUS, request)).toBe('ok');
    expect(officialVerdict(STRANGER, request)).toBe('No matching signature found');
  });

  it('is refused by the official verifier once the body or the id is changed', async () => {
    // Prepare
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/current' });
    await sink.deliver([sinkRecord(5, '{"amount":100}')], deadline());
    const [request] = server.received;
    if (request === undefined) throw new Error('nothing was delivered');

    // Act + Assess
    expect(officialVerdict(CURRENT, { ...request, body: Buffer.from('{"amount":900}') })).toBe(
      'No matching signature found',
    );
    const otherId = { ...request.headers, 'webhook-id': toWebhookId(sinkRecord(6, '').id) };
    expect(officialVerdict(CURRENT, { headers: otherId, body: request.body })).toBe(
      'No matching signature found',
    );
  });

  it('sends nothing with a secret that is not whsec_, and never names the secret', async () => {
    // Prepare
    const sink = sinkFromJson({ signing: 'standard-webhooks', signingSecretId: 'sink/not-whsec' });

    // Act
    const outcomes = await sink.deliver([sinkRecord(1, 'a'), sinkRecord(2, 'b')], deadline());

    // Assess: not attempted (a deployment fault never dead-letters a record), nothing on the wire.
    expect(outcomes.map((outcome) => !outcome.ok && [outcome.error.code, outcome.attempted])).toEqual([
      ['ERR_SECRET', false],
      ['ERR_SINK_FAILED', false],
    ]);
    expect(server.received).toEqual([]);
    const error = outcomes[0]?.ok === false ? outcomes[0].error : undefined;
    expect(JSON.stringify({ message: error?.message, ...error })).not.toContain('plain-hmac-key');
  });

  it('keeps the legacy X-Signature scheme for a signingSecretId without signing', async () => {
    // Prepare: a configuration written before `signing` existed
    const sink = sinkFromJson({ signingSecretId: 'sink/not-whsec' });

    // Act
    const outcomes = await sink.deliver([sinkRecord(1, 'legacy')], deadline());

    // Assess
    expect(okCount(outcomes)).toBe(1);
    expect(server.received[0]?.headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(server.received[0]?.headers['webhook-signature']).toBeUndefined();
  });
});

describe('parseSinkConfig, HTTP signing', () => {
  const parse = (spec: Record<string, unknown>) => {
    const problems: string[] = [];
    const config = parseSinkConfig({ type: 'http', url: 'https://example.com/in', ...spec }, 'S', problems);
    return { config, problems };
  };

  it.each([
    { name: 'standard-webhooks', spec: { signing: 'standard-webhooks' }, signing: 'standard-webhooks' },
    { name: 'legacy-hmac', spec: { signing: 'legacy-hmac' }, signing: 'legacy-hmac' },
    { name: 'no signing: the scheme existing configurations use', spec: {}, signing: 'legacy-hmac' },
  ])('reads $name', ({ spec, signing }) => {
    const { config, problems } = parse({ signingSecretId: 'sink/s', ...spec });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ signingSecretId: 'sink/s', signing });
  });

  it.each([
    {
      name: 'an unknown scheme',
      spec: { signing: 'svix', signingSecretId: 'sink/s' },
      problem: 'S.signing must be one of "standard-webhooks" | "legacy-hmac"',
    },
    {
      name: 'a scheme without a secret',
      spec: { signing: 'standard-webhooks' },
      problem: 'S.signing needs signingSecretId: the Secrets Manager secret to sign with',
    },
    {
      name: 'a configured webhook-signature header',
      spec: { headers: { 'Webhook-Signature': 'v1,forged' } },
      problem: 'S.headers.Webhook-Signature is set by the sink itself and cannot be configured',
    },
  ])('refuses $name', ({ spec, problem }) => {
    expect(parse(spec)).toEqual({ config: undefined, problems: [problem] });
  });

  it('leaves an unsigned sink without a scheme', () => {
    expect(parse({}).config).not.toHaveProperty('signing');
  });
});

describe('a drain configured for Standard Webhooks, end to end', () => {
  it('delivers every record of a dotted topic signed as the official verifier expects, ids kept across a retry', async () => {
    // Prepare: the proxy, the checkpoint table, the signing secret in Secrets Manager, the receiver; the
    // SDK clients the drain builds read their (fake) credentials from the environment, as on Lambda.
    vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_AWS.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_AWS.credentials.secretAccessKey);
    const kafka = await startKafkaRestServer({ topics: { 'orders.v1': 1 }, apiKey: 'drain-sw-key' });
    const dynamo = await startDynalite('sw-checkpoints');
    const secretsManager = await startSecretsManager({ 'drain/sw': `${CURRENT} ${PREVIOUS}` });
    const receiver = await startHttpSink();
    kafka.append('orders.v1', 0, records(4, 'order-'));
    receiver.inject({ kind: 'status', status: 503 });
    const deps = createDrainDeps(
      loadConfig({
        KAFKA_REST_URL: kafka.url,
        KAFKA_REST_ALLOW_HTTP: 'true',
        KAFKA_REST_API_KEY: 'drain-sw-key',
        SECRETS_MANAGER_ENDPOINT: secretsManager.endpoint,
        AWS_REGION: TEST_AWS.region,
        CHECKPOINT_TABLE: dynamo.tableName,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        DRAIN_ID_NAMESPACE: 'std',
        DRAINS: JSON.stringify([
          {
            id: 'sw-out',
            topic: 'orders.v1',
            partitions: [0],
            sink: {
              type: 'http',
              url: `${receiver.url}/in`,
              allowHttp: true,
              signing: 'standard-webhooks',
              signingSecretId: 'drain/sw',
            },
            retryBaseMs: 1,
            retryMaxMs: 5,
          },
        ]),
      }),
    );
    try {
      // Act
      const result = await makeDrainHandler(() => deps)(
        {},
        { getRemainingTimeInMillis: () => 10_000, awsRequestId: 'sw-1' },
      );

      // Assess
      expect(result).toMatchObject({ failed: false });
      const accepted = receiver.received.filter((request) => request.status === 200);
      expect(accepted.map((request) => request.body.toString())).toEqual([
        'order-0',
        'order-1',
        'order-2',
        'order-3',
      ]);
      for (const request of receiver.received) {
        expect(officialVerdict(CURRENT, request)).toBe('ok');
        expect(officialVerdict(PREVIOUS, request)).toBe('ok');
      }
      const [refused, retried] = receiver.received;
      expect(refused?.status).toBe(503);
      expect(retried?.headers['webhook-id']).toBe(refused?.headers['webhook-id']);
      expect(decodeURIComponent(String(retried?.headers['webhook-id']))).toBe('std/orders.v1/0/0/0');
    } finally {
      await deps.close?.();
      await Promise.all([kafka.close(), dynamo.close(), secretsManager.close(), receiver.close()]);
      vi.unstubAllEnvs();
    }
  });
});
