import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalSecretsExtension, startSecretsExtension } from '../bench/lib/secrets-extension.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { type AppError, isAppError } from '../lib/core/errors.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createSecretsCache } from '../lib/secrets/cache.js';
import { createExtensionSecretFetcher } from '../lib/secrets/extension.js';
import { createSecretsManagerFetcher } from '../lib/secrets/secrets-manager.js';
import type { SecretFetcher } from '../lib/secrets/types.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { createSecretsCacheFromConfig } from '../lib/wiring/secrets.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { createMemoryLog } from './helpers/log.js';
import { type LocalSecretsManager, startSecretsManager } from './helpers/secrets-manager.js';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka/rest key-AbCdEf';
const VALUE_V1 = 'ext-test-value-5c9e2a7f1b3d48e6';
const VALUE_V2 = 'ext-test-value-rotated-0a8d6f4c2e1b97';
const SESSION_TOKEN = 'session-token-IQoJb3JpZ2luX2VjEXAMPLE-7f3a9c';

const rejectionOf = async (promise: Promise<unknown>): Promise<AppError> => {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
};

/** A port that was free a moment ago: nothing listens there, as when the extension layer is not attached. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

describe('createExtensionSecretFetcher against a local stand-in of the Lambda extension', () => {
  let extension: LocalSecretsExtension;

  beforeEach(async () => {
    extension = await startSecretsExtension({
      sessionToken: SESSION_TOKEN,
      secrets: { [SECRET_ID]: VALUE_V1 },
    });
  });
  afterEach(async () => {
    await extension.close();
  });

  const fetcherFor = (overrides: Partial<Parameters<typeof createExtensionSecretFetcher>[0]> = {}) =>
    createExtensionSecretFetcher({
      port: extension.port,
      host: extension.host,
      sessionToken: () => SESSION_TOKEN,
      ...overrides,
    });

  it('GETs /secretsmanager/get with the encoded secret id and the session token, and answers SecretString', async () => {
    // Act
    const value = await fetcherFor()(SECRET_ID);

    // Assess
    expect(value).toBe(VALUE_V1);
    expect(extension.requests).toEqual([
      { method: 'GET', path: '/secretsmanager/get', secretId: SECRET_ID, tokenMatched: true },
    ]);
  });

  it('decodes a SecretBinary answer as UTF-8', async () => {
    // Prepare
    extension.setBinarySecret(SECRET_ID, Buffer.from(VALUE_V2, 'utf8'));

    // Act
    const value = await fetcherFor()(SECRET_ID);

    // Assess
    expect(value).toBe(VALUE_V2);
  });

  it.each([
    {
      name: 'unknown secret (400)',
      status: 400,
      body: 'ResourceNotFoundException: not found',
      retriable: false,
    },
    { name: 'token refused (401)', status: 401, body: 'Unauthorized', retriable: false },
    { name: 'throttled (429)', status: 429, body: 'ThrottlingException', retriable: true },
    { name: 'extension failure (500)', status: 500, body: 'internal error', retriable: true },
    { name: 'upstream unavailable (503)', status: 503, body: 'unavailable', retriable: true },
  ])(
    'turns $name into ERR_SECRET naming the status, retriable=$retriable',
    async ({ status, body, retriable }) => {
      // Prepare
      extension.replyNext({ status, body });

      // Act
      const error = await rejectionOf(fetcherFor()(SECRET_ID));

      // Assess
      expect(error.code).toBe('ERR_SECRET');
      expect(error.retriable).toBe(retriable);
      expect(error.message).toContain(`answered ${status}: ${body}`);
    },
  );

  it.each([
    { name: 'a body that is not JSON', body: 'plain words', code: 'ERR_SECRET', retriable: true },
    { name: 'JSON without a value', body: '{"Name":"x"}', code: 'ERR_SECRET', retriable: false },
    { name: 'a JSON array', body: '[]', code: 'ERR_SECRET', retriable: true },
  ])('rejects a 200 answer with $name', async ({ body, code, retriable }) => {
    // Prepare
    extension.replyNext({ status: 200, body });

    // Act
    const error = await rejectionOf(fetcherFor()(SECRET_ID));

    // Assess
    expect(error.code).toBe(code);
    expect(error.retriable).toBe(retriable);
  });

  it('never puts the session token in an error, even when the extension echoes it', async () => {
    // Prepare
    extension.replyNext({ status: 400, body: `bad token ${SESSION_TOKEN} for request` });

    // Act
    const error = await rejectionOf(fetcherFor()(SECRET_ID));

    // Assess
    expect(error.message).toContain('bad token [redacted] for request');
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain(SESSION_TOKEN);
  });

  it('redacts an echoed token before cutting the snippet, even one straddling the cut', async () => {
    // Prepare: the token starts 10 characters before the 200-character cut.
    extension.replyNext({ status: 400, body: `${'x'.repeat(190)}${SESSION_TOKEN} tail` });

    // Act
    const error = await rejectionOf(fetcherFor()(SECRET_ID));

    // Assess
    expect(error.message).toContain(`${'x'.repeat(190)}[redacted]`);
    expect(error.message).not.toContain(SESSION_TOKEN.slice(0, 8));
  });

  it('refuses an answer larger than a secret can be with ERR_UPSTREAM_PROTOCOL, the rest unread', async () => {
    // Prepare
    extension.replyNext({ status: 200, body: `{"SecretString":"${'x'.repeat(1_000_000)}"}` });

    // Act
    const error = await rejectionOf(fetcherFor()(SECRET_ID));

    // Assess
    expect(error.code).toBe('ERR_UPSTREAM_PROTOCOL');
    expect(error.message).toContain(SECRET_ID);
    expect(error.message).toMatch(/larger than \d+ bytes/);
  });

  it('fails as retriable ERR_SECRET when the answer does not come within timeoutMs', async () => {
    // Prepare
    extension.replyNext({ status: 200, body: '{}', delayMs: 5_000 });

    // Act
    const error = await rejectionOf(fetcherFor({ timeoutMs: 50 })(SECRET_ID));

    // Assess
    expect(error.code).toBe('ERR_SECRET');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('ETIMEDOUT');
  });

  it('without a session token and without a fallback, fails for good and calls nothing', async () => {
    // Act
    const error = await rejectionOf(fetcherFor({ sessionToken: () => undefined })(SECRET_ID));

    // Assess
    expect(error.code).toBe('ERR_SECRET');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('AWS_SESSION_TOKEN is not set');
    expect(extension.requests).toHaveLength(0);
  });

  it('without a session token, reads through the fallback instead', async () => {
    // Prepare
    const asked: string[] = [];
    const fallback: SecretFetcher = async (secretId) => {
      asked.push(secretId);
      return VALUE_V2;
    };

    // Act
    const value = await fetcherFor({ sessionToken: () => '', fallback })(SECRET_ID);

    // Assess
    expect(value).toBe(VALUE_V2);
    expect(asked).toEqual([SECRET_ID]);
    expect(extension.requests).toHaveLength(0);
  });
});

describe('the extension with a direct Secrets Manager read as its fallback (local endpoint)', () => {
  let extension: LocalSecretsExtension;
  let sm: LocalSecretsManager;

  beforeEach(async () => {
    extension = await startSecretsExtension({
      sessionToken: SESSION_TOKEN,
      secrets: { [SECRET_ID]: VALUE_V1 },
    });
    sm = await startSecretsManager({ [SECRET_ID]: VALUE_V1 });
  });
  afterEach(async () => {
    await extension.close();
    await sm.close();
  });

  it('when nothing listens on the port, reads from Secrets Manager directly, says so once without the token, and stops trying the port', async () => {
    // Prepare
    const log = createMemoryLog();
    const fetcher = createExtensionSecretFetcher({
      port: await closedPort(),
      host: '127.0.0.1',
      sessionToken: () => SESSION_TOKEN,
      fallback: createSecretsManagerFetcher(sm.client()),
      log,
    });

    // Act
    const values = [await fetcher(SECRET_ID), await fetcher(SECRET_ID)];

    // Assess
    expect(values).toEqual([VALUE_V1, VALUE_V1]);
    expect(sm.requests).toHaveLength(2);
    expect(log.lines.map((line) => [line.level, line.attributes.code])).toEqual([['warn', 'ECONNREFUSED']]);
    expect(log.text()).not.toContain(SESSION_TOKEN);
  });

  it('when nothing listens and there is no fallback, fails as retriable ERR_SECRET', async () => {
    // Prepare
    const fetcher = createExtensionSecretFetcher({
      port: await closedPort(),
      host: '127.0.0.1',
      sessionToken: () => SESSION_TOKEN,
    });

    // Act
    const error = await rejectionOf(fetcher(SECRET_ID));

    // Assess
    expect(error.code).toBe('ERR_SECRET');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it.each([
    {
      name: 'the extension still serves the refused version: Secrets Manager has the last word',
      extensionValue: VALUE_V1,
      expectedSdkCalls: 1,
    },
    {
      name: 'the extension already serves the rotated version: Secrets Manager is not asked',
      extensionValue: VALUE_V2,
      expectedSdkCalls: 0,
    },
  ])('refresh after a rotation, when $name', async ({ extensionValue, expectedSdkCalls }) => {
    // Prepare
    const cache = createSecretsCache({
      ttlMs: 60_000,
      fetcher: createExtensionSecretFetcher({
        port: extension.port,
        host: extension.host,
        sessionToken: () => SESSION_TOKEN,
        fallback: createSecretsManagerFetcher(sm.client()),
      }),
    });
    const before = await cache.get(SECRET_ID);
    sm.setSecret(SECRET_ID, VALUE_V2);
    extension.setSecret(SECRET_ID, extensionValue);

    // Act
    const refreshed = await cache.refresh(SECRET_ID);
    const cachedAfter = await cache.get(SECRET_ID);

    // Assess
    expect([before, refreshed, cachedAfter]).toEqual([VALUE_V1, VALUE_V2, VALUE_V2]);
    expect(extension.requests).toHaveLength(2);
    expect(sm.requests).toHaveLength(expectedSdkCalls);
  });
});

describe('createSecretsCacheFromConfig and createKafkaRestFromConfig', () => {
  let extension: LocalSecretsExtension;
  let sm: LocalSecretsManager;
  let kafkaRest: KafkaRestServer;
  let client: KafkaRestClient | undefined;

  beforeEach(async () => {
    extension = await startSecretsExtension({
      sessionToken: SESSION_TOKEN,
      secrets: { [SECRET_ID]: VALUE_V1 },
    });
    sm = await startSecretsManager({ [SECRET_ID]: VALUE_V1 });
    kafkaRest = await startKafkaRestServer({ apiKey: VALUE_V1, topics: { demo: 1 } });
    // The signed call reads the execution role's credentials from these; the local endpoint checks nothing.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await client?.close();
    client = undefined;
    await kafkaRest.close();
    await extension.close();
    await sm.close();
  });

  const envFor = (source: 'sdk' | 'extension') => ({
    KAFKA_REST_URL: kafkaRest.url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_SECRET_ID: SECRET_ID,
    SECRETS_SOURCE: source,
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port),
    SECRETS_MANAGER_ENDPOINT: sm.endpoint,
    AWS_REGION: 'us-east-1',
  });

  it.each([
    { source: 'extension', extensionCalls: 1, sdkCalls: 0 },
    { source: 'sdk', extensionCalls: 0, sdkCalls: 1 },
  ] as const)(
    'SECRETS_SOURCE=$source reads the secret there',
    async ({ source, extensionCalls, sdkCalls }) => {
      // Prepare
      const cache = createSecretsCacheFromConfig(loadConfig(envFor(source)), {
        sessionToken: () => SESSION_TOKEN,
      });

      // Act
      const value = await cache.get(SECRET_ID);

      // Assess
      expect(value).toBe(VALUE_V1);
      expect(extension.requests).toHaveLength(extensionCalls);
      expect(sm.requests).toHaveLength(sdkCalls);
    },
  );

  it('the Kafka REST client built from config authenticates with the key read through the extension', async () => {
    // Prepare
    vi.stubEnv('AWS_SESSION_TOKEN', SESSION_TOKEN);
    client = createKafkaRestFromConfig(loadConfig(envFor('extension')));

    // Act
    const [first] = await client.produce('demo', [{ value: Buffer.from('hello') }], {
      deadlineMs: Date.now() + 10_000,
    });
    const [second] = await client.produce('demo', [{ value: Buffer.from('again') }], {
      deadlineMs: Date.now() + 10_000,
    });

    // Assess
    expect([first, second]).toEqual([
      { ok: true, partition: 0, offset: 0 },
      { ok: true, partition: 0, offset: 1 },
    ]);
    expect(extension.requests).toEqual([
      { method: 'GET', path: '/secretsmanager/get', secretId: SECRET_ID, tokenMatched: true },
    ]);
    expect(sm.requests).toHaveLength(0);
  });
});
