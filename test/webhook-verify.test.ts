import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isAppError } from '../lib/core/errors.js';
import {
  parseVerification,
  type SecretReader,
  signGithub,
  signStandardWebhook,
  signStripe,
  VERIFY_FAILURES,
  type VerifiableRequest,
  type Verification,
  type VerifyFailure,
  verifyWebhook,
} from '../lib/ingest/webhook/verify/index.js';
import { createSecretsCache } from '../lib/secrets/cache.js';
import type { SecretsCache } from '../lib/secrets/types.js';
import { type LocalSecretsManager, startSecretsManager } from './helpers/secrets-manager.js';

const NOW_SECONDS = 1_700_000_000;
const now = (): number => NOW_SECONDS * 1000 + 250;

// 24 bytes each, base64: the minimum the Standard Webhooks spec asks for.
const SW_SECRET = 'whsec_dGVzdC1zdy1zZWNyZXQtY3VycmVudC0xMjM0';
const SW_OLD_SECRET = 'whsec_dGVzdC1zdy1zZWNyZXQtcHJldmlvdXMtNTY3';
const GH_SECRET = 'gh-test-secret-7f3a9c1e5b';
const STRIPE_SECRET = 'whsec_stripe_test_4e8d2a6c0b';
const TOKEN = 'tok-test-value-2b9f61d04c';
const WRONG_SECRET = 'whsec_d3JvbmctdGVzdC1zZWNyZXQtYWJjZGVmZ2hp';

const BODY = Buffer.from('{"event":"order.paid","id":42}');
// NUL bytes, a lone continuation byte and an invalid two-byte sequence: not valid UTF-8.
const RAW_BODY = Buffer.from([0x7b, 0x00, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0xc3, 0x28, 0x00, 0x7d]);

/** No secrets needed: every Verification below that names a secretId is tested against Secrets Manager. */
const NO_SECRETS: SecretReader = {
  get: async () => {
    throw new Error('no Secrets Manager in this test');
  },
};

const refusal = async (
  verification: Verification,
  request: VerifiableRequest,
  secrets: SecretReader = NO_SECRETS,
): Promise<unknown> => {
  try {
    await verifyWebhook(verification, request, secrets, now);
  } catch (error) {
    return error;
  }
  return undefined;
};

const expectRefused = async (
  verification: Verification,
  request: VerifiableRequest,
  reason: VerifyFailure,
): Promise<void> => {
  const error = await refusal(verification, request);
  expect(isAppError(error) && { code: error.code, message: error.message }).toEqual({
    code: ERROR_CODES.UNAUTHORIZED,
    message: reason,
  });
};

interface SchemeCase {
  readonly name: string;
  readonly verification: Verification;
  readonly secret: string;
  readonly wrongSecret: string;
  /** The headers a sender holding `secret` sends for `body` at `timestampSeconds`. */
  sign(secret: string, body: Buffer, timestampSeconds: number): Record<string, string>;
  /** False for the shared token, which proves the sender but not the body. */
  readonly coversBody: boolean;
  readonly mismatch: VerifyFailure;
}

const SW_ID = 'msg_2Kx9test0001';

const SCHEMES: readonly SchemeCase[] = [
  {
    name: 'standard-webhooks',
    verification: { scheme: 'standard-webhooks', secret: { value: SW_SECRET }, toleranceSeconds: 300 },
    secret: SW_SECRET,
    wrongSecret: WRONG_SECRET,
    sign: (secret, body, ts) => ({
      'webhook-id': SW_ID,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(secret, SW_ID, ts, body),
    }),
    coversBody: true,
    mismatch: 'signature-mismatch',
  },
  {
    name: 'github',
    verification: { scheme: 'github', secret: { value: GH_SECRET } },
    secret: GH_SECRET,
    wrongSecret: WRONG_SECRET,
    sign: (secret, body) => ({ 'x-hub-signature-256': signGithub(secret, body) }),
    coversBody: true,
    mismatch: 'signature-mismatch',
  },
  {
    name: 'stripe',
    verification: { scheme: 'stripe', secret: { value: STRIPE_SECRET }, toleranceSeconds: 300 },
    secret: STRIPE_SECRET,
    wrongSecret: WRONG_SECRET,
    sign: (secret, body, ts) => ({ 'stripe-signature': signStripe(secret, ts, body) }),
    coversBody: true,
    mismatch: 'signature-mismatch',
  },
  {
    name: 'token',
    verification: { scheme: 'token', header: 'x-webhook-token', secret: { value: TOKEN } },
    secret: TOKEN,
    wrongSecret: 'tok-test-value-2b9f61d04d',
    sign: (secret) => ({ 'x-webhook-token': secret }),
    coversBody: false,
    mismatch: 'token-mismatch',
  },
];

const renameHeaders = (
  headers: Record<string, string>,
  rename: (name: string) => string,
): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [rename(name), value]));

const titleCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);

describe.each(SCHEMES)('verifyWebhook, $name', (scheme) => {
  const signed = (body: Buffer, secret = scheme.secret, ts = NOW_SECONDS): VerifiableRequest => ({
    headers: scheme.sign(secret, body, ts),
    body,
  });

  it('accepts a request signed with the secret', async () => {
    // Act
    const result = verifyWebhook(scheme.verification, signed(BODY), NO_SECRETS, now);

    // Assess
    await expect(result).resolves.toBeUndefined();
  });

  it.each([
    { name: 'UPPER-CASE', rename: (name: string) => name.toUpperCase() },
    { name: 'Title-Case', rename: titleCase },
  ])('finds its headers whatever their case ($name)', async ({ rename }) => {
    // Prepare
    const request = {
      headers: renameHeaders(scheme.sign(scheme.secret, BODY, NOW_SECONDS), rename),
      body: BODY,
    };

    // Act
    const result = verifyWebhook(scheme.verification, request, NO_SECRETS, now);

    // Assess
    await expect(result).resolves.toBeUndefined();
  });

  it('refuses a request signed with another secret', async () => {
    await expectRefused(scheme.verification, signed(BODY, scheme.wrongSecret), scheme.mismatch);
  });

  it('refuses a request without its signature headers, as signature-missing', async () => {
    await expectRefused(
      scheme.verification,
      { headers: { 'content-type': 'application/json' }, body: BODY },
      'signature-missing',
    );
  });

  it('never puts the secret or the expected signature in the error', async () => {
    // Prepare: a request whose proof is wrong, and what the verifier computes for it
    const request = signed(BODY, scheme.wrongSecret);
    const expectedHeaders = Object.values(scheme.sign(scheme.secret, BODY, NOW_SECONDS));
    const expectedParts = expectedHeaders
      .flatMap((value) => value.split(/[ ,=]/))
      .filter((part) => part.length >= 16);

    // Act
    const error = await refusal(scheme.verification, request);

    // Assess
    expect(isAppError(error)).toBe(true);
    const exposed = [
      String(error),
      JSON.stringify(error),
      (error as Error).stack ?? '',
      String((error as Error).cause),
    ].join('\n');
    const bareSecret = scheme.secret.replace(/^whsec_/, '');
    for (const hidden of [scheme.secret, bareSecret, ...expectedParts]) expect(exposed).not.toContain(hidden);
    expect(Object.values(VERIFY_FAILURES)).toContain((error as Error).message);
  });
});

describe.each(SCHEMES.filter((scheme) => scheme.coversBody))(
  'verifyWebhook, $name, over the raw body',
  (scheme) => {
    const signed = (body: Buffer): VerifiableRequest => ({
      headers: scheme.sign(scheme.secret, body, NOW_SECONDS),
      body,
    });

    it('refuses a tampered body', async () => {
      // Prepare
      const request = signed(BODY);
      const tampered = Buffer.from(BODY.toString('utf8').replace('42', '43'));

      // Act + Assess
      await expectRefused(scheme.verification, { headers: request.headers, body: tampered }, scheme.mismatch);
    });

    it('verifies the raw bytes: NUL and invalid UTF-8 pass as sent', async () => {
      // Act
      const result = verifyWebhook(scheme.verification, signed(RAW_BODY), NO_SECRETS, now);

      // Assess
      await expect(result).resolves.toBeUndefined();
    });

    it('refuses the same body re-encoded as a UTF-8 string', async () => {
      // Prepare: what a handler that decoded and re-encoded the body would hand over
      const request = signed(RAW_BODY);
      const reencoded = Buffer.from(RAW_BODY.toString('utf8'), 'utf8');
      expect(reencoded.equals(RAW_BODY)).toBe(false);

      // Act + Assess
      await expectRefused(
        scheme.verification,
        { headers: request.headers, body: reencoded },
        scheme.mismatch,
      );
    });
  },
);

describe('verifyWebhook, timestamps and tolerance', () => {
  const TIMED = SCHEMES.filter((scheme) => scheme.name === 'standard-webhooks' || scheme.name === 'stripe');
  const CASES = TIMED.flatMap(
    (scheme) =>
      [
        { name: `${scheme.name}: 300 s old, at the limit`, scheme, offset: -300, reason: undefined },
        { name: `${scheme.name}: 300 s ahead, at the limit`, scheme, offset: 300, reason: undefined },
        {
          name: `${scheme.name}: stale, 301 s old`,
          scheme,
          offset: -301,
          reason: 'timestamp-outside-tolerance',
        },
        {
          name: `${scheme.name}: future, 301 s ahead`,
          scheme,
          offset: 301,
          reason: 'timestamp-outside-tolerance',
        },
        { name: `${scheme.name}: a day old`, scheme, offset: -86_400, reason: 'timestamp-outside-tolerance' },
      ] as const,
  );

  it.each(CASES)('$name', async ({ scheme, offset, reason }) => {
    // Prepare: signed correctly, only the time is off
    const request = { headers: scheme.sign(scheme.secret, BODY, NOW_SECONDS + offset), body: BODY };

    // Act
    const error = await refusal(scheme.verification, request);

    // Assess
    expect(error === undefined ? undefined : (error as Error).message).toBe(reason);
  });

  it('honours a configured tolerance', async () => {
    // Prepare
    const verification: Verification = {
      scheme: 'stripe',
      secret: { value: STRIPE_SECRET },
      toleranceSeconds: 30,
    };
    const request = {
      headers: { 'stripe-signature': signStripe(STRIPE_SECRET, NOW_SECONDS - 31, BODY) },
      body: BODY,
    };

    // Act + Assess
    await expectRefused(verification, request, 'timestamp-outside-tolerance');
  });
});

describe('verifyWebhook, Standard Webhooks headers', () => {
  const verification: Verification = {
    scheme: 'standard-webhooks',
    secret: { value: SW_SECRET },
    toleranceSeconds: 300,
  };
  const good = (secret = SW_SECRET) => signStandardWebhook(secret, SW_ID, NOW_SECONDS, BODY);
  const headers = (overrides: Record<string, string | undefined>) => ({
    'webhook-id': SW_ID,
    'webhook-timestamp': String(NOW_SECONDS),
    'webhook-signature': good(),
    ...overrides,
  });

  it.each([
    {
      name: 'the current key second, after the old one (rotation)',
      signature: `${good(SW_OLD_SECRET)} ${good()}`,
    },
    { name: 'the current key first', signature: `${good()} ${good(SW_OLD_SECRET)}` },
    { name: 'an asymmetric v1a entry and junk beside it', signature: `v1a,bm90LWNoZWNrZWQ= junk ${good()}` },
    { name: 'extra spaces between entries', signature: `  ${good(SW_OLD_SECRET)}    ${good()} ` },
  ])('accepts $name', async ({ signature }) => {
    // Act
    const result = verifyWebhook(
      verification,
      { headers: headers({ 'webhook-signature': signature }), body: BODY },
      NO_SECRETS,
      now,
    );

    // Assess
    await expect(result).resolves.toBeUndefined();
  });

  it.each([
    {
      name: 'only old-key signatures',
      overrides: { 'webhook-signature': `${good(SW_OLD_SECRET)} ${good(WRONG_SECRET)}` },
      reason: 'signature-mismatch',
    },
    {
      name: 'a truncated signature',
      overrides: { 'webhook-signature': good().slice(0, 20) },
      reason: 'signature-mismatch',
    },
    { name: 'an empty v1 entry', overrides: { 'webhook-signature': 'v1,' }, reason: 'signature-mismatch' },
    {
      name: 'no v1 entry',
      overrides: { 'webhook-signature': 'v1a,bm90LWNoZWNrZWQ=' },
      reason: 'signature-missing',
    },
    {
      name: 'an empty signature header',
      overrides: { 'webhook-signature': '' },
      reason: 'signature-missing',
    },
    { name: 'no webhook-id', overrides: { 'webhook-id': undefined }, reason: 'header-malformed' },
    {
      name: 'a webhook-id with a dot',
      overrides: { 'webhook-id': `${SW_ID}.1` },
      reason: 'header-malformed',
    },
    {
      name: 'another webhook-id than signed',
      overrides: { 'webhook-id': 'msg_other' },
      reason: 'signature-mismatch',
    },
    {
      name: 'no webhook-timestamp',
      overrides: { 'webhook-timestamp': undefined },
      reason: 'timestamp-missing',
    },
    {
      name: 'a timestamp in milliseconds',
      overrides: { 'webhook-timestamp': String(NOW_SECONDS * 1000) },
      reason: 'timestamp-outside-tolerance',
    },
    {
      name: 'a non-numeric timestamp',
      overrides: { 'webhook-timestamp': '2023-11-14T22:13:20Z' },
      reason: 'header-malformed',
    },
    { name: 'a negative timestamp', overrides: { 'webhook-timestamp': '-1' }, reason: 'header-malformed' },
    {
      name: 'another timestamp than signed',
      overrides: { 'webhook-timestamp': String(NOW_SECONDS + 1) },
      reason: 'signature-mismatch',
    },
  ] as const)('refuses $name as $reason', async ({ overrides, reason }) => {
    await expectRefused(verification, { headers: headers(overrides), body: BODY }, reason);
  });

  it('matches the published test vector of the Standard Webhooks reference libraries', async () => {
    // Prepare: the `sign` test of standard-webhooks/libraries/javascript/src/webhook.test.ts
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const timestamp = 1_614_265_330;
    const body = Buffer.from('{"test": 2432232314}');
    const published = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
    const request = {
      headers: { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': published },
      body,
    };

    // Act
    const signature = signStandardWebhook(secret, id, timestamp, body);
    const result = verifyWebhook(
      { scheme: 'standard-webhooks', secret: { value: secret }, toleranceSeconds: 300 },
      request,
      NO_SECRETS,
      () => timestamp * 1000,
    );

    // Assess
    expect(signature).toBe(published);
    await expect(result).resolves.toBeUndefined();
  });
});

describe('verifyWebhook, GitHub headers', () => {
  const verification: Verification = { scheme: 'github', secret: { value: GH_SECRET } };

  it('matches GitHub documented example', async () => {
    // Prepare: docs.github.com, "Validating webhook deliveries", testing the webhook payload validation
    const secret = "It's a Secret to Everybody";
    const body = Buffer.from('Hello, World!');
    const published = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

    // Act
    const signature = signGithub(secret, body);
    const result = verifyWebhook(
      { scheme: 'github', secret: { value: secret } },
      { headers: { 'X-Hub-Signature-256': published }, body },
      NO_SECRETS,
      now,
    );

    // Assess
    expect(signature).toBe(published);
    await expect(result).resolves.toBeUndefined();
  });

  it('accepts upper-case hex digits', async () => {
    // Prepare
    const [, hex = ''] = signGithub(GH_SECRET, BODY).split('=');
    const request = { headers: { 'x-hub-signature-256': `sha256=${hex.toUpperCase()}` }, body: BODY };

    // Act
    const result = verifyWebhook(verification, request, NO_SECRETS, now);

    // Assess
    await expect(result).resolves.toBeUndefined();
  });

  it.each([
    { name: 'the SHA-1 form', signature: `sha1=${'ab'.repeat(20)}` },
    { name: 'a bare hex digest', signature: signGithub(GH_SECRET, BODY).slice('sha256='.length) },
    { name: 'a short digest', signature: signGithub(GH_SECRET, BODY).slice(0, -2) },
    { name: 'non-hex digits', signature: `sha256=${'zz'.repeat(32)}` },
    { name: 'two signatures', signature: `${signGithub(GH_SECRET, BODY)},${signGithub(GH_SECRET, BODY)}` },
  ])('refuses $name as header-malformed', async ({ signature }) => {
    await expectRefused(
      verification,
      { headers: { 'x-hub-signature-256': signature }, body: BODY },
      'header-malformed',
    );
  });

  it('ignores the SHA-1 X-Hub-Signature header', async () => {
    // Prepare: only the legacy header, carrying a correct SHA-1 HMAC would not do
    const request = { headers: { 'x-hub-signature': `sha1=${'ab'.repeat(20)}` }, body: BODY };

    // Act + Assess
    await expectRefused(verification, request, 'signature-missing');
  });
});

describe('verifyWebhook, Stripe headers', () => {
  const verification: Verification = {
    scheme: 'stripe',
    secret: { value: STRIPE_SECRET },
    toleranceSeconds: 300,
  };
  const v1 = (secret: string, ts = NOW_SECONDS) => signStripe(secret, ts, BODY).split(',')[1] ?? '';

  it.each([
    {
      name: 'the current secret second (rotation)',
      header: `t=${NOW_SECONDS},${v1(WRONG_SECRET)},${v1(STRIPE_SECRET)}`,
    },
    { name: 'v1 before t, with spaces', header: `${v1(STRIPE_SECRET)}, t=${NOW_SECONDS}` },
    { name: 'a v0 entry beside it', header: `t=${NOW_SECONDS},v0=${'00'.repeat(32)},${v1(STRIPE_SECRET)}` },
  ])('accepts $name', async ({ header }) => {
    // Act
    const result = verifyWebhook(
      verification,
      { headers: { 'Stripe-Signature': header }, body: BODY },
      NO_SECRETS,
      now,
    );

    // Assess
    await expect(result).resolves.toBeUndefined();
  });

  it.each([
    { name: 'no t', header: v1(STRIPE_SECRET), reason: 'timestamp-missing' },
    { name: 'a non-numeric t', header: `t=now,${v1(STRIPE_SECRET)}`, reason: 'header-malformed' },
    {
      name: 'two t',
      header: `t=${NOW_SECONDS},t=${NOW_SECONDS - 1000},${v1(STRIPE_SECRET)}`,
      reason: 'header-malformed',
    },
    {
      name: 'an entry without =',
      header: `t=${NOW_SECONDS},${v1(STRIPE_SECRET)},garbage`,
      reason: 'header-malformed',
    },
    { name: 'no v1', header: `t=${NOW_SECONDS},v0=${'00'.repeat(32)}`, reason: 'signature-missing' },
    {
      name: 'a v1 for another t',
      header: `t=${NOW_SECONDS},${v1(STRIPE_SECRET, NOW_SECONDS - 1)}`,
      reason: 'signature-mismatch',
    },
    {
      name: 'a v1 that is not hex',
      header: `t=${NOW_SECONDS},v1=${'zz'.repeat(32)}`,
      reason: 'signature-mismatch',
    },
  ] as const)('refuses $name as $reason', async ({ header, reason }) => {
    await expectRefused(verification, { headers: { 'stripe-signature': header }, body: BODY }, reason);
  });
});

describe('verifyWebhook, shared token', () => {
  const verification: Verification = { scheme: 'token', header: 'x-webhook-token', secret: { value: TOKEN } };

  it.each([
    { name: 'a prefix of the token', token: TOKEN.slice(0, -1), reason: 'token-mismatch' },
    { name: 'the token with a suffix', token: `${TOKEN}x`, reason: 'token-mismatch' },
    { name: 'the token in another case', token: TOKEN.toUpperCase(), reason: 'token-mismatch' },
    { name: 'an empty header', token: '', reason: 'signature-missing' },
  ] as const)('refuses $name as $reason', async ({ token, reason }) => {
    await expectRefused(verification, { headers: { 'X-Webhook-Token': token }, body: BODY }, reason);
  });

  it('refuses the token in another header', async () => {
    await expectRefused(verification, { headers: { authorization: TOKEN }, body: BODY }, 'signature-missing');
  });
});

describe('verifyWebhook, scheme none', () => {
  it('accepts an unsigned request without reading any secret', async () => {
    // Prepare
    const reads: string[] = [];
    const secrets: SecretReader = {
      get: async (secretId) => {
        reads.push(secretId);
        return 'unused';
      },
    };

    // Act
    await verifyWebhook({ scheme: 'none' }, { headers: {}, body: BODY }, secrets, now);

    // Assess
    expect(reads).toEqual([]);
  });
});

describe('verifyWebhook with secrets from a local Secrets Manager endpoint', () => {
  let sm: LocalSecretsManager;
  let cache: SecretsCache;

  beforeAll(async () => {
    sm = await startSecretsManager({
      'hooks/standard': SW_SECRET,
      'hooks/github': GH_SECRET,
      'hooks/stripe': STRIPE_SECRET,
      'hooks/token': TOKEN,
      'hooks/not-whsec': 'plain text, not base64!',
      'hooks/empty': '',
    });
    cache = createSecretsCache({ client: sm.client(), ttlMs: 60_000, now });
  });
  afterAll(async () => {
    await sm.close();
  });

  it.each(
    SCHEMES.map((scheme) => ({
      ...scheme,
      secretId: `hooks/${scheme.name.replace('standard-webhooks', 'standard')}`,
    })),
  )('$name: verifies with the fetched secret, then from the cache', async (scheme) => {
    // Prepare
    const verification = { ...scheme.verification, secret: { secretId: scheme.secretId } } as Verification;
    const request = { headers: scheme.sign(scheme.secret, BODY, NOW_SECONDS), body: BODY };
    const before = sm.requests.length;

    // Act
    await verifyWebhook(verification, request, cache, now);
    await verifyWebhook(verification, request, cache, now);
    const wrong = await refusal(
      verification,
      { headers: scheme.sign(scheme.wrongSecret, BODY, NOW_SECONDS), body: BODY },
      cache,
    );

    // Assess
    expect(sm.requests.slice(before)).toEqual([
      { target: 'secretsmanager.GetSecretValue', secretId: scheme.secretId },
    ]);
    expect((wrong as Error).message).toBe(scheme.mismatch);
  });

  it('passes the Secrets Manager failure through as is: ERR_SECRET, retriable', async () => {
    // Prepare
    const verification: Verification = { scheme: 'github', secret: { secretId: 'hooks/absent' } };
    const request = { headers: { 'x-hub-signature-256': signGithub(GH_SECRET, BODY) }, body: BODY };

    // Act
    const error = await refusal(verification, request, cache);

    // Assess
    expect(isAppError(error) && { code: error.code, retriable: error.retriable }).toEqual({
      code: ERROR_CODES.SECRET,
      retriable: true,
    });
    expect((error as Error).message).toContain('hooks/absent');
  });

  it.each([
    {
      name: 'a Standard Webhooks secret that is not whsec_<base64>',
      verification: {
        scheme: 'standard-webhooks',
        secret: { secretId: 'hooks/not-whsec' },
        toleranceSeconds: 300,
      },
      message: 'the Standard Webhooks signing secret is not whsec_<base64>',
    },
    {
      name: 'an empty token',
      verification: { scheme: 'token', header: 'x-webhook-token', secret: { secretId: 'hooks/empty' } },
      message: 'the webhook signing secret is empty',
    },
  ] satisfies { name: string; verification: Verification; message: string }[])(
    'refuses to verify with $name (ERR_SECRET, the value not shown)',
    async ({ verification, message }) => {
      // Prepare: headers that would pass every check before the signature itself
      const request = {
        headers: { 'x-webhook-token': 'anything', ...SCHEMES[0]?.sign(SW_SECRET, BODY, NOW_SECONDS) },
        body: BODY,
      };

      // Act
      const error = await refusal(verification, request, cache);

      // Assess
      expect(isAppError(error) && { code: error.code, message: error.message }).toEqual({
        code: ERROR_CODES.SECRET,
        message,
      });
    },
  );
});

describe('parseVerification', () => {
  const AT = 'WEBHOOK_ROUTES.orders';

  it.each([
    { name: 'none', value: { scheme: 'none' }, expected: { scheme: 'none' } },
    {
      name: 'standard-webhooks with the default tolerance',
      value: { scheme: 'standard-webhooks', secretId: 'hooks/orders' },
      expected: { scheme: 'standard-webhooks', secret: { secretId: 'hooks/orders' }, toleranceSeconds: 300 },
    },
    {
      name: 'standard-webhooks with a literal secret and a tolerance',
      value: { scheme: 'standard-webhooks', secret: SW_SECRET, toleranceSeconds: 60 },
      expected: { scheme: 'standard-webhooks', secret: { value: SW_SECRET }, toleranceSeconds: 60 },
    },
    {
      name: 'github',
      value: { scheme: 'github', secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf' },
      expected: {
        scheme: 'github',
        secret: { secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf' },
      },
    },
    {
      name: 'stripe',
      value: { scheme: 'stripe', secretId: 'hooks/stripe', toleranceSeconds: 600 },
      expected: { scheme: 'stripe', secret: { secretId: 'hooks/stripe' }, toleranceSeconds: 600 },
    },
    {
      name: 'token, header name lower-cased',
      value: { scheme: 'token', header: 'X-Webhook-Token', secret: TOKEN },
      expected: { scheme: 'token', header: 'x-webhook-token', secret: { value: TOKEN } },
    },
  ])('accepts $name', ({ value, expected }) => {
    // Prepare
    const problems: string[] = [];

    // Act
    const verification = parseVerification(value, AT, problems);

    // Assess
    expect({ verification, problems }).toEqual({ verification: expected, problems: [] });
  });

  it.each([
    {
      name: 'a missing verify',
      value: undefined,
      problems: [
        'WEBHOOK_ROUTES.orders.verify is required: name a scheme, or {"scheme":"none"} to accept unsigned requests',
      ],
    },
    {
      name: 'a string',
      value: 'github',
      problems: [
        /^WEBHOOK_ROUTES\.orders\.verify must be an object whose "scheme" is one of none \| standard-webhooks \| github \| stripe \| token/,
      ],
    },
    {
      name: 'an unknown scheme',
      value: { scheme: 'hmac', secretId: 'x' },
      problems: [/^WEBHOOK_ROUTES\.orders\.verify must be an object whose "scheme"/],
    },
    {
      name: 'no scheme',
      value: { secretId: 'x' },
      problems: [/^WEBHOOK_ROUTES\.orders\.verify must be an object whose "scheme"/],
    },
    {
      name: 'a setting on none',
      value: { scheme: 'none', secretId: 'x' },
      problems: [
        'WEBHOOK_ROUTES.orders.verify.secretId is not a setting of scheme none: expected {"scheme":"none"}',
      ],
    },
    {
      name: 'an unknown key (typo)',
      value: { scheme: 'stripe', secretId: 'x', tolerance: 60 },
      problems: [
        /^WEBHOOK_ROUTES\.orders\.verify\.tolerance is not a setting of scheme stripe: expected \{"scheme":"stripe"/,
      ],
    },
    {
      name: 'a tolerance on github',
      value: { scheme: 'github', secretId: 'x', toleranceSeconds: 60 },
      problems: [/^WEBHOOK_ROUTES\.orders\.verify\.toleranceSeconds is not a setting of scheme github/],
    },
    {
      name: 'neither secretId nor secret',
      value: { scheme: 'github' },
      problems: [
        'WEBHOOK_ROUTES.orders.verify.secretId is required: expected {"scheme":"github","secretId":"<Secrets Manager id>"} (or "secret":"<literal>" instead of secretId, for local runs)',
      ],
    },
    {
      name: 'both secretId and secret',
      value: { scheme: 'github', secretId: 'x', secret: GH_SECRET },
      problems: [
        'WEBHOOK_ROUTES.orders.verify: set exactly one of secretId and secret (a literal, for local runs only)',
      ],
    },
    {
      name: 'an empty secretId',
      value: { scheme: 'github', secretId: '' },
      problems: [/^WEBHOOK_ROUTES\.orders\.verify\.secretId must be a Secrets Manager secret name or ARN/],
    },
    {
      name: 'a numeric secret',
      value: { scheme: 'github', secret: 12345678 },
      problems: ['WEBHOOK_ROUTES.orders.verify.secret must be a non-empty string'],
    },
    {
      name: 'a Standard Webhooks literal that is not whsec_<base64>',
      value: { scheme: 'standard-webhooks', secret: 'whsec_not base64 at all!' },
      problems: [
        'WEBHOOK_ROUTES.orders.verify.secret must be whsec_<base64> (the Standard Webhooks signing secret)',
      ],
    },
    {
      name: 'a zero tolerance',
      value: { scheme: 'stripe', secretId: 'x', toleranceSeconds: 0 },
      problems: [
        'WEBHOOK_ROUTES.orders.verify.toleranceSeconds must be an integer from 1 to 86400 (seconds)',
      ],
    },
    {
      name: 'a tolerance as a string',
      value: { scheme: 'standard-webhooks', secretId: 'x', toleranceSeconds: '300' },
      problems: [
        'WEBHOOK_ROUTES.orders.verify.toleranceSeconds must be an integer from 1 to 86400 (seconds)',
      ],
    },
    {
      name: 'a tolerance over a day',
      value: { scheme: 'standard-webhooks', secretId: 'x', toleranceSeconds: 86_401 },
      problems: [
        'WEBHOOK_ROUTES.orders.verify.toleranceSeconds must be an integer from 1 to 86400 (seconds)',
      ],
    },
    {
      name: 'a token without header',
      value: { scheme: 'token', secretId: 'x' },
      problems: [
        /^WEBHOOK_ROUTES\.orders\.verify\.header must be an HTTP header name: expected \{"scheme":"token","header"/,
      ],
    },
    {
      name: 'a token header with a space',
      value: { scheme: 'token', header: 'X Token', secretId: 'x' },
      problems: [/^WEBHOOK_ROUTES\.orders\.verify\.header must be an HTTP header name/],
    },
    {
      name: 'several problems at once',
      value: { scheme: 'token', header: 'a b', toleranceSeconds: 5 },
      problems: [
        /verify\.toleranceSeconds is not a setting of scheme token/,
        /verify\.secretId is required/,
        /verify\.header must be an HTTP header name/,
      ],
    },
  ])('reports $name', ({ value, problems: expected }) => {
    // Prepare
    const problems: string[] = ['an earlier problem'];

    // Act
    const verification = parseVerification(value, AT, problems);

    // Assess
    expect(verification).toBeUndefined();
    expect(problems).toEqual([
      'an earlier problem',
      ...expected.map((p) => (typeof p === 'string' ? p : expect.stringMatching(p))),
    ]);
  });

  it.each([
    {
      name: 'a bad whsec literal',
      value: { scheme: 'standard-webhooks', secret: 'whsec_s3cr3t-value!', toleranceSeconds: -1 },
    },
    {
      name: 'a literal beside a secretId',
      value: { scheme: 'token', header: 'x-t', secretId: 'x', secret: 'whsec_s3cr3t-value!' },
    },
    {
      name: 'a literal with an unknown key',
      value: { scheme: 'github', secret: 'whsec_s3cr3t-value!', header: 'x' },
    },
  ])('never echoes a literal secret ($name)', ({ value }) => {
    // Prepare
    const problems: string[] = [];

    // Act
    parseVerification(value, AT, problems);

    // Assess
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).not.toContain('s3cr3t');
  });
});
