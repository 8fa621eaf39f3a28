import { hmacSha256, standardWebhooksKey } from './hmac.js';

/**
 * Signers: the header value a sender would send. The HTTP sink signs its Standard Webhooks requests with
 * {@link signStandardWebhook}, the same code the webhook verifies against; the others let tests build a
 * valid request without restating each scheme.
 */

/**
 * The `webhook-signature` value (`v1,<base64>`) for a Standard Webhooks secret (`whsec_<base64>`).
 * Throws `TypeError` when the secret is not base64.
 */
export const signStandardWebhook = (
  secret: string,
  id: string,
  timestampSeconds: number,
  body: Buffer | string,
): string => {
  const key = standardWebhooksKey(secret);
  if (key === undefined) throw new TypeError('a Standard Webhooks secret is whsec_<base64>');
  return `v1,${hmacSha256(key, `${id}.${timestampSeconds}.`, body).toString('base64')}`;
};

/** The `X-Hub-Signature-256` value (`sha256=<hex>`) GitHub sends for this body. */
export const signGithub = (secret: string, body: Buffer | string): string =>
  `sha256=${hmacSha256(secret, body).toString('hex')}`;

/** The `Stripe-Signature` value (`t=<ts>,v1=<hex>`) Stripe sends for this body at this time. */
export const signStripe = (secret: string, timestampSeconds: number, body: Buffer | string): string =>
  `t=${timestampSeconds},v1=${hmacSha256(secret, `${timestampSeconds}.`, body).toString('hex')}`;
