import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { isAppError } from '../lib/core/errors.js';
import { apiKeyAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import { createSecretsCache, literalSecret, secretValue } from '../lib/secrets/cache.js';
import { createSecretsManagerClient, createSecretsManagerFetcher } from '../lib/secrets/secrets-manager.js';
import type { SecretsCache } from '../lib/secrets/types.js';
import { type LocalSecretsManager, startSecretsManager, TEST_AWS } from './helpers/secrets-manager.js';

const SECRET_ID = 'kafka-rest/api-key';
const VALUE_V1 = 'sm-test-value-4b1d9e7a2c3f58e06d1a';
const VALUE_V2 = 'sm-test-value-rotated-8c2e5f1b9a7d3e40';
const TTL_MS = 60_000;

describe('createSecretsCache against a local Secrets Manager endpoint', () => {
  let sm: LocalSecretsManager;
  let clock: number;
  let cache: SecretsCache;

  beforeEach(async () => {
    sm = await startSecretsManager({ [SECRET_ID]: VALUE_V1 });
    clock = 1_000_000;
    cache = createSecretsCache({ client: sm.client(), ttlMs: TTL_MS, now: () => clock });
  });
  afterEach(async () => {
    await sm.close();
  });

  it('serves a value from the cache until the TTL passes, then fetches again', async () => {
    // Act
    const first = await cache.get(SECRET_ID);
    clock += TTL_MS - 1;
    const cached = await cache.get(SECRET_ID);
    const requestsWithinTtl = sm.requests.length;
    sm.setSecret(SECRET_ID, VALUE_V2);
    clock += 1;
    const afterTtl = await cache.get(SECRET_ID);

    // Assess
    expect([first, cached, afterTtl]).toEqual([VALUE_V1, VALUE_V1, VALUE_V2]);
    expect(requestsWithinTtl).toBe(1);
    expect(sm.requests).toEqual([
      { target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID },
      { target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID },
    ]);
  });

  it('shares one in-flight call between concurrent reads of the same secret', async () => {
    // Act
    const values = await Promise.all([cache.get(SECRET_ID), cache.get(SECRET_ID), cache.get(SECRET_ID)]);

    // Assess
    expect(values).toEqual([VALUE_V1, VALUE_V1, VALUE_V1]);
    expect(sm.requests).toHaveLength(1);
  });

  it('refresh fetches once whatever the age, caches the new value, and concurrent refreshes share it', async () => {
    // Prepare
    await cache.get(SECRET_ID);
    sm.setSecret(SECRET_ID, VALUE_V2);

    // Act
    const stale = await cache.get(SECRET_ID);
    const refreshed = await Promise.all([cache.refresh(SECRET_ID), cache.refresh(SECRET_ID)]);
    const afterwards = await cache.get(SECRET_ID);

    // Assess
    expect(stale).toBe(VALUE_V1);
    expect(refreshed).toEqual([VALUE_V2, VALUE_V2]);
    expect(afterwards).toBe(VALUE_V2);
    expect(sm.requests).toHaveLength(2);
  });

  it('fetches on every read with ttlMs 0', async () => {
    // Prepare
    const uncached = createSecretsCache({ client: sm.client(), ttlMs: 0, now: () => clock });

    // Act
    await uncached.get(SECRET_ID);
    await uncached.get(SECRET_ID);

    // Assess
    expect(sm.requests).toHaveLength(2);
  });

  it('clear() forgets cached values', async () => {
    // Prepare
    await cache.get(SECRET_ID);

    // Act
    cache.clear();
    await cache.get(SECRET_ID);

    // Assess
    expect(sm.requests).toHaveLength(2);
  });

  it.each([
    {
      name: 'an unknown secret id',
      secretId: 'no/such-secret',
      type: undefined,
      sdkName: 'ResourceNotFoundException',
    },
    { name: 'throttling', secretId: SECRET_ID, type: 'ThrottlingException', sdkName: 'ThrottlingException' },
    {
      name: 'access denied',
      secretId: SECRET_ID,
      type: 'AccessDeniedException',
      sdkName: 'AccessDeniedException',
    },
  ])(
    'fails with ERR_SECRET naming the secret id, never a value: $name',
    async ({ secretId, type, sdkName }) => {
      // Prepare: a value was cached before, so a leak would have something to leak.
      await cache.get(SECRET_ID);
      if (type !== undefined) sm.failNext(type, 400);

      // Act
      const error = await cache.refresh(secretId).catch((caught: unknown) => caught);

      // Assess
      expect(isAppError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'ERR_SECRET' });
      const message = (error as Error).message;
      expect(message).toContain(secretId);
      expect(message).toContain(sdkName);
      expect(`${message} ${JSON.stringify(error)}`).not.toContain(VALUE_V1);
    },
  );

  it('does not cache a failure: the next read fetches again', async () => {
    // Prepare
    sm.failNext('InternalServiceError', 500);
    const failed = await cache.get(SECRET_ID).catch((caught: unknown) => caught);

    // Act
    const value = await cache.get(SECRET_ID);

    // Assess
    expect(failed).toMatchObject({ code: 'ERR_SECRET' });
    expect(value).toBe(VALUE_V1);
    expect(sm.requests).toHaveLength(2);
  });
});

describe('createSecretsManagerClient', () => {
  let sm: LocalSecretsManager;

  beforeEach(async () => {
    sm = await startSecretsManager({ [SECRET_ID]: VALUE_V1 });
  });
  afterEach(async () => {
    await sm.close();
  });

  it('reads through signed calls on one client, connecting on the first read only', async () => {
    // Prepare
    const client = createSecretsManagerClient({ endpoint: new URL(sm.endpoint), ...TEST_AWS });
    const cache = createSecretsCache({ client, ttlMs: 0 });
    const before = sm.requests.length;

    // Act
    const values = [await cache.get(SECRET_ID), await cache.get(SECRET_ID)];

    // Assess
    expect(before).toBe(0);
    expect(values).toEqual([VALUE_V1, VALUE_V1]);
    expect(sm.requests).toEqual([
      { target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID },
      { target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID },
    ]);
    await client.close();
  });
});

describe('secretValue', () => {
  let sm: LocalSecretsManager;

  beforeEach(async () => {
    sm = await startSecretsManager({ [SECRET_ID]: VALUE_V1 });
  });
  afterEach(async () => {
    await sm.close();
  });

  it('serves a literal value without any fetch, also on refresh', async () => {
    // Prepare
    const cache = createSecretsCache({ client: sm.client(), ttlMs: TTL_MS });
    const secret = secretValue(cache, { value: 'literal-key' });

    // Act
    const values = [await secret.get(), await secret.refresh(), await literalSecret('x').refresh()];

    // Assess
    expect(values).toEqual(['literal-key', 'literal-key', 'x']);
    expect(sm.requests).toHaveLength(0);
  });

  it('reads a secret id through the cache, and refresh goes to Secrets Manager', async () => {
    // Prepare
    const cache = createSecretsCache({ client: sm.client(), ttlMs: TTL_MS });
    const secret = secretValue(cache, { secretId: SECRET_ID });

    // Act
    await secret.get();
    await secret.get();
    sm.setSecret(SECRET_ID, VALUE_V2);
    const rotated = await secret.refresh();

    // Assess
    expect(rotated).toBe(VALUE_V2);
    expect(sm.requests).toHaveLength(2);
  });
});

describe('a Secrets Manager answer that trickles in: every read ends by its deadline', () => {
  let sm: LocalSecretsManager;
  let kafka: KafkaRestServer | undefined;

  beforeEach(async () => {
    sm = await startSecretsManager({ [SECRET_ID]: VALUE_V1 });
  });
  afterEach(async () => {
    await kafka?.close();
    kafka = undefined;
    await sm.close();
  });

  it('the direct read gives up after its own timeout as a retriable ERR_SECRET', async () => {
    // Prepare
    sm.trickleNext(20);
    const fetcher = createSecretsManagerFetcher(sm.client(), { timeoutMs: 300 });
    const startedAt = Date.now();

    // Act
    const error = await fetcher(SECRET_ID).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ERR_SECRET', retriable: true });
    expect(Date.now() - startedAt).toBeLessThan(300 + 400);
  });

  it('a cached read with a deadline answers ERR_DEADLINE by it', async () => {
    // Prepare
    sm.trickleNext(20);
    const cache = createSecretsCache({ client: sm.client(), ttlMs: TTL_MS });
    const deadlineMs = Date.now() + 300;

    // Act
    const error = await cache.get(SECRET_ID, { deadlineMs }).catch((caught: unknown) => caught);
    const lateMs = Date.now() - deadlineMs;

    // Assess
    expect(error).toMatchObject({ code: 'ERR_DEADLINE' });
    expect((error as Error).message).toContain(SECRET_ID);
    expect(lateMs).toBeLessThan(300);
  });

  it('a produce whose credential read trickles ends by the call deadline, nothing sent', async () => {
    // Prepare
    kafka = await startKafkaRestServer({ topics: { demo: 1 }, apiKey: VALUE_V1 });
    sm.trickleNext(20);
    const cache = createSecretsCache({ client: sm.client(), ttlMs: TTL_MS });
    const client = createKafkaRest({
      baseUrl: kafka.url,
      allowHttp: true,
      auth: apiKeyAuth(secretValue(cache, { secretId: SECRET_ID })),
      sleep: async () => {},
    });
    const deadlineMs = Date.now() + 600;

    // Act
    const [result] = await client.produce('demo', [{ value: Buffer.from('x') }], { deadlineMs });
    const lateMs = Date.now() - deadlineMs;
    await client.close();

    // Assess
    expect(result).toMatchObject({ ok: false, error: { code: 'ERR_DEADLINE' } });
    expect(lateMs).toBeLessThan(300);
    expect(kafka.requests).toEqual([]);
  });
});
