import { AppError, ERROR_CODES } from '../../../core/errors.js';
import { constantTimeEqual, hmacSha256, standardWebhooksKey } from '../../../formats/hmac.js';
import type { SecretSource } from '../../../secrets/types.js';
import type { Verification } from './config.js';

/**
 * Why a request was refused. The `ERR_UNAUTHORIZED` error's message is exactly one of these: enough for
 * the sender's operator to fix their side, nothing that helps forge a signature (no expected value, no
 * secret, no hint of which part of a signature differed).
 */
export const VERIFY_FAILURES = {
  SIGNATURE_MISSING: 'signature-missing',
  SIGNATURE_MISMATCH: 'signature-mismatch',
  TIMESTAMP_MISSING: 'timestamp-missing',
  TIMESTAMP_OUTSIDE_TOLERANCE: 'timestamp-outside-tolerance',
  HEADER_MALFORMED: 'header-malformed',
  TOKEN_MISMATCH: 'token-mismatch',
} as const;

export type VerifyFailure = (typeof VERIFY_FAILURES)[keyof typeof VERIFY_FAILURES];

export interface VerifiableRequest {
  /** Header names in any case (payload v2 lower-cases them; other senders and tests may not). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The exact body bytes received: signatures cover these, never a re-serialised form. */
  readonly body: Buffer;
}

/** Where Secrets Manager-held secrets are read, e.g. the `SecretsCache` of `lib/secrets/cache.ts`. */
export interface SecretReader {
  get(secretId: string): Promise<string>;
}

/**
 * Resolves when the request carries valid proof for the route's scheme (`none` always resolves).
 * `now` is the clock in milliseconds since the epoch (as `Date.now`); timestamps in headers are seconds.
 *
 * Throws `AppError` `ERR_UNAUTHORIZED` whose message is a {@link VerifyFailure}; the error of
 * `secrets.get` as is (`ERR_SECRET`, retriable: the sender should retry later); `AppError` `ERR_SECRET`
 * when the fetched secret is empty or, for Standard Webhooks, not `whsec_<base64>` (a deployment fault,
 * not the caller's, so it must not look like a bad signature).
 */
export const verifyWebhook = async (
  verification: Verification,
  request: VerifiableRequest,
  secrets: SecretReader,
  now: () => number,
): Promise<void> => {
  switch (verification.scheme) {
    case 'none':
      return;
    case 'standard-webhooks':
      return verifyStandardWebhooks(request, await signingKey(verification.secret, secrets), {
        nowSeconds: Math.floor(now() / 1000),
        toleranceSeconds: verification.toleranceSeconds,
      });
    case 'github':
      return verifyGithub(request, await readSecret(verification.secret, secrets));
    case 'stripe':
      return verifyStripe(request, await readSecret(verification.secret, secrets), {
        nowSeconds: Math.floor(now() / 1000),
        toleranceSeconds: verification.toleranceSeconds,
      });
    case 'token':
      return verifyToken(request, verification.header, await readSecret(verification.secret, secrets));
  }
};

interface Clock {
  readonly nowSeconds: number;
  readonly toleranceSeconds: number;
}

const refuse = (reason: VerifyFailure): AppError => new AppError(ERROR_CODES.UNAUTHORIZED, reason);

const readSecret = async (source: SecretSource, secrets: SecretReader): Promise<string> => {
  const value = 'value' in source ? source.value : await secrets.get(source.secretId);
  // An empty HMAC key or token is one anyone can guess: refuse to verify with it.
  if (value === '') {
    throw new AppError(ERROR_CODES.SECRET, 'the webhook signing secret is empty', { retriable: false });
  }
  return value;
};

const signingKey = async (source: SecretSource, secrets: SecretReader): Promise<Buffer> => {
  const key = standardWebhooksKey(await readSecret(source, secrets));
  if (key === undefined) {
    throw new AppError(ERROR_CODES.SECRET, 'the Standard Webhooks signing secret is not whsec_<base64>', {
      retriable: false,
    });
  }
  return key;
};

const header = (request: VerifiableRequest, name: string): string | undefined => {
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined && key.toLowerCase() === name) return value.trim();
  }
  return undefined;
};

const UNIX_SECONDS = /^\d{1,15}$/;

/** Returns the header's timestamp once it is well-formed and within tolerance of now. */
const checkTimestamp = (timestamp: string | undefined, clock: Clock): string => {
  if (timestamp === undefined || timestamp === '') throw refuse(VERIFY_FAILURES.TIMESTAMP_MISSING);
  if (!UNIX_SECONDS.test(timestamp)) throw refuse(VERIFY_FAILURES.HEADER_MALFORMED);
  // Both ways: a timestamp far in the future would let a captured request be replayed until then.
  if (Math.abs(clock.nowSeconds - Number(timestamp)) > clock.toleranceSeconds) {
    throw refuse(VERIFY_FAILURES.TIMESTAMP_OUTSIDE_TOLERANCE);
  }
  return timestamp;
};

/** True when any candidate equals `expected`; each comparison is constant-time. */
const anyEqual = (expected: Buffer, candidates: readonly Buffer[]): boolean =>
  candidates.some((candidate) => constantTimeEqual(expected, candidate));

/**
 * Standard Webhooks (standardwebhooks.com): HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}`,
 * sent as space-separated `v1,<base64>` entries (several during a key rotation; other versions such as
 * the asymmetric `v1a` are skipped).
 */
const verifyStandardWebhooks = (request: VerifiableRequest, key: Buffer, clock: Clock): void => {
  const signatures = header(request, 'webhook-signature');
  if (signatures === undefined || signatures === '') throw refuse(VERIFY_FAILURES.SIGNATURE_MISSING);
  const id = header(request, 'webhook-id');
  // The spec asks that ids carry no `.`: with one, `id.timestamp.body` could be re-split to sign a
  // different (id, timestamp, body) with the same bytes.
  if (id === undefined || id === '' || id.includes('.')) throw refuse(VERIFY_FAILURES.HEADER_MALFORMED);
  const timestamp = checkTimestamp(header(request, 'webhook-timestamp'), clock);
  const candidates = signatures
    .split(/\s+/)
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice('v1,'.length), 'base64'));
  if (candidates.length === 0) throw refuse(VERIFY_FAILURES.SIGNATURE_MISSING);
  const expected = hmacSha256(key, `${id}.${timestamp}.`, request.body);
  if (!anyEqual(expected, candidates)) throw refuse(VERIFY_FAILURES.SIGNATURE_MISMATCH);
};

const GITHUB_SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body under the secret's UTF-8 bytes. */
const verifyGithub = (request: VerifiableRequest, secret: string): void => {
  const signature = header(request, 'x-hub-signature-256');
  if (signature === undefined || signature === '') throw refuse(VERIFY_FAILURES.SIGNATURE_MISSING);
  const hex = GITHUB_SIGNATURE.exec(signature)?.[1];
  if (hex === undefined) throw refuse(VERIFY_FAILURES.HEADER_MALFORMED);
  if (!constantTimeEqual(hmacSha256(secret, request.body), Buffer.from(hex, 'hex'))) {
    throw refuse(VERIFY_FAILURES.SIGNATURE_MISMATCH);
  }
};

const STRIPE_ENTRY = /^([a-z0-9]+)=(.*)$/;

/**
 * Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of `${t}.${body}` under the secret
 * string as is (Stripe keys the HMAC with the whole `whsec_…` text, it does not decode it). `v0` and
 * other schemes are ignored, as Stripe's own libraries do.
 */
const verifyStripe = (request: VerifiableRequest, secret: string, clock: Clock): void => {
  const value = header(request, 'stripe-signature');
  if (value === undefined || value === '') throw refuse(VERIFY_FAILURES.SIGNATURE_MISSING);
  const timestamps: string[] = [];
  const candidates: Buffer[] = [];
  for (const item of value.split(',')) {
    const match = STRIPE_ENTRY.exec(item.trim());
    if (match === null) throw refuse(VERIFY_FAILURES.HEADER_MALFORMED);
    const [, name, entry = ''] = match;
    if (name === 't') timestamps.push(entry);
    else if (name === 'v1') candidates.push(Buffer.from(entry, 'hex'));
  }
  // Two `t=` would leave it open which one the signature covers.
  if (timestamps.length > 1) throw refuse(VERIFY_FAILURES.HEADER_MALFORMED);
  const timestamp = checkTimestamp(timestamps[0], clock);
  if (candidates.length === 0) throw refuse(VERIFY_FAILURES.SIGNATURE_MISSING);
  if (!anyEqual(hmacSha256(secret, `${timestamp}.`, request.body), candidates)) {
    throw refuse(VERIFY_FAILURES.SIGNATURE_MISMATCH);
  }
};

/** A shared token in a named header, compared whole and in constant time. */
const verifyToken = (request: VerifiableRequest, name: string, secret: string): void => {
  const token = header(request, name);
  if (token === undefined || token === '') throw refuse(VERIFY_FAILURES.SIGNATURE_MISSING);
  if (!constantTimeEqual(Buffer.from(token, 'utf8'), Buffer.from(secret, 'utf8'))) {
    throw refuse(VERIFY_FAILURES.TOKEN_MISMATCH);
  }
};
