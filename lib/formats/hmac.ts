import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 over the parts in order, each hashed as its exact bytes (strings as UTF-8). */
export const hmacSha256 = (key: Buffer | string, ...parts: readonly (Buffer | string)[]): Buffer => {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
};

const STANDARD_WEBHOOKS_PREFIX = 'whsec_';
/** Standard base64, its `=` padding optional. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * The HMAC key of a Standard Webhooks secret: `whsec_<base64>` decoded. The prefix and the padding are
 * optional, as in the reference libraries (the `standardwebhooks` package decodes `whsec_` + 43 characters
 * to the same 32-byte key as the padded 44), since some senders show the bare or unpadded base64.
 * Undefined when the shape is wrong, so the caller can report that without echoing the secret.
 */
export const standardWebhooksKey = (secret: string): Buffer | undefined => {
  const encoded = secret.startsWith(STANDARD_WEBHOOKS_PREFIX)
    ? secret.slice(STANDARD_WEBHOOKS_PREFIX.length)
    : secret;
  if (encoded === '' || !BASE64.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64');
};

/**
 * Compares two byte strings in time independent of where they differ and of their lengths.
 * `timingSafeEqual` needs equal lengths and returning early on a length mismatch tells a prober how long
 * the expected value is, so both sides are first reduced to HMACs under a key drawn for this call:
 * equal-length digests, equal iff the inputs are (up to an HMAC collision).
 */
export const constantTimeEqual = (a: Buffer, b: Buffer): boolean => {
  const key = randomBytes(32);
  return timingSafeEqual(hmacSha256(key, a), hmacSha256(key, b));
};
