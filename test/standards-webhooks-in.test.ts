import { randomBytes } from 'node:crypto';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler } from '../handlers/webhook.js';
import { signGithub, signStandardWebhook, signStripe } from '../lib/ingest/webhook/verify/index.js';
import { createSecretsCache } from '../lib/secrets/cache.js';
import { createSecretsManagerClient } from '../lib/secrets/secrets-manager.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { createMemoryLog } from './helpers/log.js';
import { type LocalSecretsManager, startSecretsManager, TEST_AWS } from './helpers/secrets-manager.js';

const API_KEY = 'std-in-test-key-3c9a1f7e05d2';
const SW_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const SW_OTHER = `whsec_${randomBytes(32).toString('base64')}`;
// What the standardwebhooks package also takes: base64 without its `=` padding (the same key).
const SW_UNPADDED = `whsec_${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
const STRIPE_SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const STRIPE_OTHER = `whsec_${randomBytes(24).toString('hex')}`;
const GITHUB_SECRET = `gh-${randomBytes(20).toString('hex')}`;
const GITHUB_OTHER = `gh-${randomBytes(20).toString('hex')}`;

const TOPIC = 'signed';
const ROUTES = {
  sw: { topic: TOPIC, verify: { scheme: 'standard-webhooks', secretId: 'hooks/sw' } },
  stripe: { topic: TOPIC, verify: { scheme: 'stripe', secretId: 'hooks/stripe' } },
  github: { topic: TOPIC, verify: { scheme: 'github', secretId: 'hooks/github' } },
  unpadded: { topic: TOPIC, verify: { scheme: 'standard-webhooks', secretId: 'hooks/unpadded' } },
};

const BODY = '{"type":"invoice.paid","data":{"amount":4200,"note":"café ✓"}}';
const TAMPERED = BODY.replace('4200', '4201');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const STALE_SECONDS = 600;

/**
 * A sender, as each ecosystem's own library signs: the headers for `body` under `secret`, dated
 * `timestampSeconds` where the scheme carries a time.
 */
interface Sender {
  readonly route: keyof typeof ROUTES;
  readonly secret: string;
  readonly otherSecret: string;
  readonly signsTime: boolean;
  sign(secret: string, body: string, timestampSeconds: number): Promise<Record<string, string>>;
}

const SENDERS: readonly (Sender & { readonly name: string })[] = [
  {
    name: 'standardwebhooks (Webhook.sign)',
    route: 'sw',
    secret: SW_SECRET,
    otherSecret: SW_OTHER,
    signsTime: true,
    sign: async (secret, body, timestampSeconds) => {
      const id = `msg_${randomBytes(8).toString('hex')}`;
      return {
        'webhook-id': id,
        'webhook-timestamp': String(timestampSeconds),
        'webhook-signature': new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body),
      };
    },
  },
  {
    name: 'stripe (webhooks.generateTestHeaderString)',
    route: 'stripe',
    secret: STRIPE_SECRET,
    otherSecret: STRIPE_OTHER,
    signsTime: true,
    sign: async (secret, payload, timestamp) => ({
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
    }),
  },
  {
    name: '@octokit/webhooks-methods (sign)',
    route: 'github',
    secret: GITHUB_SECRET,
    otherSecret: GITHUB_OTHER,
    signsTime: false,
    sign: async (secret, body) => ({ 'x-hub-signature-256': await octokitSign(secret, body) }),
  },
];

describe("webhook verification, proven with the senders' own libraries, through the handler", () => {
  let server: KafkaRestServer;
  let secretsManager: LocalSecretsManager;
  let deps: WebhookHandlerDeps;
  const handler = makeHandler(() => deps);

  const post = async (route: string, body: string, headers: Record<string, string>) =>
    handler(httpApiEvent(`/hooks/${route}`, body, { headers }), lambdaContext());
  const inKafka = () => server.records(TOPIC, 0).map((record) => record.value?.toString('utf8'));

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: { [TOPIC]: 1 }, apiKey: API_KEY });
    secretsManager = await startSecretsManager({
      'hooks/sw': SW_SECRET,
      'hooks/stripe': STRIPE_SECRET,
      'hooks/github': GITHUB_SECRET,
      'hooks/unpadded': SW_UNPADDED,
    });
    const config = loadConfig({
      KAFKA_REST_URL: server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_API_KEY: API_KEY,
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
    });
    const secrets = createSecretsCache({
      client: createSecretsManagerClient({ endpoint: new URL(secretsManager.endpoint), ...TEST_AWS }),
      ttlMs: 60_000,
    });
    deps = {
      kafka: createKafkaRestFromConfig(config, { log: createMemoryLog(), secrets }),
      routes: config.webhook.routes,
      secrets,
      log: createMemoryLog(),
      deadlineMarginMs: 200,
      now: Date.now,
    };
  });
  afterAll(async () => {
    await deps.kafka.close();
    await Promise.all([server.close(), secretsManager.close()]);
  });
  beforeEach(() => {
    server.deleteTopic(TOPIC);
    server.createTopic(TOPIC, 1);
  });

  describe.each(SENDERS)('$name', (sender) => {
    it('is accepted, and exactly the signed bytes reach Kafka', async () => {
      const headers = await sender.sign(sender.secret, BODY, nowSeconds());

      const response = await post(sender.route, BODY, headers);

      expect(response.statusCode).toBe(202);
      expect(JSON.parse(response.body ?? '')).toEqual({ topic: TOPIC, partition: 0, offset: 0 });
      expect(inKafka()).toEqual([BODY]);
    });

    it.each([
      {
        name: 'a tampered body',
        prepare: (s: Sender) =>
          s.sign(s.secret, BODY, nowSeconds()).then((h) => ({ body: TAMPERED, headers: h })),
        reason: 'signature-mismatch',
      },
      {
        name: 'another secret',
        prepare: (s: Sender) =>
          s.sign(s.otherSecret, BODY, nowSeconds()).then((h) => ({ body: BODY, headers: h })),
        reason: 'signature-mismatch',
      },
    ])('refuses $name with 401 $reason, and nothing reaches Kafka', async ({ prepare, reason }) => {
      const { body, headers } = await prepare(sender);

      const response = await post(sender.route, body, headers);

      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body ?? '')).toMatchObject({ code: 'ERR_UNAUTHORIZED', detail: reason });
      expect(inKafka()).toEqual([]);
    });
  });

  describe.each(SENDERS.filter((sender) => sender.signsTime))('$name', (sender) => {
    it('refuses a delivery signed 10 minutes ago (a replay) as stale', async () => {
      const headers = await sender.sign(sender.secret, BODY, nowSeconds() - STALE_SECONDS);

      const response = await post(sender.route, BODY, headers);

      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body ?? '').detail).toBe('timestamp-outside-tolerance');
      expect(inKafka()).toEqual([]);
    });
  });

  it('accepts a Standard Webhooks delivery signed during a rotation (the old and the new secret)', async () => {
    const ts = new Date(nowSeconds() * 1000);
    const signatures = [
      new Webhook(SW_OTHER).sign('msg_rot', ts, BODY),
      new Webhook(SW_SECRET).sign('msg_rot', ts, BODY),
    ];
    const headers = {
      'webhook-id': 'msg_rot',
      'webhook-timestamp': String(ts.getTime() / 1000),
      'webhook-signature': signatures.join(' '),
    };

    const response = await post('sw', BODY, headers);

    expect(response.statusCode).toBe(202);
    expect(inKafka()).toEqual([BODY]);
  });

  it('accepts a secret without its base64 padding, as standardwebhooks does', async () => {
    const headers = await SENDERS[0]?.sign(SW_UNPADDED, BODY, nowSeconds());

    const response = await post('unpadded', BODY, headers ?? {});

    expect(response.statusCode).toBe(202);
    expect(inKafka()).toEqual([BODY]);
  });

  it('accepts a Stripe delivery during an endpoint secret roll (a v1 per secret)', async () => {
    const timestamp = nowSeconds();
    const v1 = (secret: string) =>
      Stripe.webhooks.generateTestHeaderString({ payload: BODY, secret, timestamp }).split(',')[1];
    const headers = { 'stripe-signature': `t=${timestamp},${v1(STRIPE_OTHER)},${v1(STRIPE_SECRET)}` };

    const response = await post('stripe', BODY, headers);

    expect(response.statusCode).toBe(202);
    expect(inKafka()).toEqual([BODY]);
  });

  it("refuses a delivery signed for another scheme than the route's (the route decides, never the headers)", async () => {
    const headers = await SENDERS[0]?.sign(SW_SECRET, BODY, nowSeconds());

    const response = await post('github', BODY, headers ?? {});

    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body ?? '').detail).toBe('signature-missing');
    expect(inKafka()).toEqual([]);
  });
});

describe("the test signers, checked by the libraries' own verifiers", () => {
  it('signStandardWebhook is what standardwebhooks verifies', () => {
    const ts = nowSeconds();
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(SW_SECRET, 'msg_1', ts, BODY),
    };
    expect(new Webhook(SW_SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(() => new Webhook(SW_OTHER).verify(BODY, headers)).toThrow('No matching signature found');
  });

  it('signStripe is what Stripe verifies', () => {
    const header = signStripe(STRIPE_SECRET, nowSeconds(), BODY);
    expect(Stripe.webhooks.constructEvent(BODY, header, STRIPE_SECRET)).toEqual(JSON.parse(BODY));
    expect(() => Stripe.webhooks.constructEvent(BODY, header, STRIPE_OTHER)).toThrow(
      /No signatures found matching/,
    );
  });

  it('signGithub is what @octokit/webhooks-methods verifies', async () => {
    const signature = signGithub(GITHUB_SECRET, BODY);
    await expect(octokitVerify(GITHUB_SECRET, BODY, signature)).resolves.toBe(true);
    await expect(octokitVerify(GITHUB_OTHER, BODY, signature)).resolves.toBe(false);
  });
});
