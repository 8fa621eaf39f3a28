import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../lib/ingest/webhook/verify/index.js';

/**
 * Differential properties: for deliveries a sender's own library signs (and copies altered on the way),
 * the bridge's verifier says yes exactly when that ecosystem's own verifier does. Timestamps keep 10 s
 * away from the tolerance edge, where the two clocks are read a moment apart.
 */
const TOLERANCE_SECONDS = 300;
const RUNS = 150;

const verdict = (check: () => unknown): Promise<boolean> =>
  Promise.resolve()
    .then(check)
    .then(
      (result) => result !== false,
      () => false,
    );

const bridge = (
  verification: Parameters<typeof verifyWebhook>[0],
  headers: Record<string, string>,
  body: string,
  nowMs: number,
) =>
  verdict(() =>
    verifyWebhook(verification, { headers, body: Buffer.from(body) }, { get: async () => '' }, () => nowMs),
  );

const body = fc.string({ unit: 'binary', minLength: 1, maxLength: 200 });
/** Seconds from now, clear of the tolerance edge on both sides. */
const offset = fc.oneof(
  fc.integer({ min: -TOLERANCE_SECONDS + 10, max: TOLERANCE_SECONDS - 10 }),
  fc.integer({ min: TOLERANCE_SECONDS + 10, max: 3 * TOLERANCE_SECONDS }),
  fc.integer({ min: -3 * TOLERANCE_SECONDS, max: -TOLERANCE_SECONDS - 10 }),
);
/** What happens to a delivery between the sender and us. */
const alteration = fc.constantFrom('none', 'body', 'key');
const alter = (kind: string, text: string) => (kind === 'body' ? `${text} ` : text);

describe('the bridge verifies exactly what each official verifier verifies', () => {
  it('Standard Webhooks (standardwebhooks), padded and unpadded secrets, with and without whsec_', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.boolean(),
        fc.boolean(),
        fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/),
        body,
        offset,
        alteration,
        async (keyBytes, prefixed, padded, id, text, seconds, kind) => {
          const base64 = Buffer.from(keyBytes).toString('base64');
          const secret = `${prefixed ? 'whsec_' : ''}${padded ? base64 : base64.replace(/=+$/, '')}`;
          const nowMs = Date.now();
          const timestamp = Math.floor(nowMs / 1000) + seconds;
          const signer =
            kind === 'key'
              ? new Webhook(Buffer.from(keyBytes).reverse(), { format: 'raw' })
              : new Webhook(secret);
          const headers = {
            'webhook-id': id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signer.sign(id, new Date(timestamp * 1000), text),
          };
          const received = alter(kind, text);
          const official = await verdict(() =>
            new Webhook(secret).verify(received, headers, { jsonParse: false }),
          );
          const ours = await bridge(
            { scheme: 'standard-webhooks', secret: { value: secret }, toleranceSeconds: TOLERANCE_SECONDS },
            headers,
            received,
            nowMs,
          );
          expect(ours).toBe(official);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('Stripe (stripe), for timestamps up to now: Stripe checks only the age, the bridge also refuses the future', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^whsec_[A-Za-z0-9]{32}$/),
        body,
        offset.filter((seconds) => seconds <= 0),
        alteration,
        async (secret, text, seconds, kind) => {
          const nowMs = Date.now();
          const timestamp = Math.floor(nowMs / 1000) + seconds;
          const header = Stripe.webhooks.generateTestHeaderString({
            payload: text,
            secret: kind === 'key' ? `${secret}x` : secret,
            timestamp,
          });
          const received = alter(kind, text);
          const official = await verdict(() =>
            Stripe.webhooks.signature?.verifyHeader(received, header, secret, TOLERANCE_SECONDS),
          );
          const ours = await bridge(
            { scheme: 'stripe', secret: { value: secret }, toleranceSeconds: TOLERANCE_SECONDS },
            { 'stripe-signature': header },
            received,
            nowMs,
          );
          expect(ours).toBe(official);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('GitHub (@octokit/webhooks-methods)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 64 }),
        body,
        alteration,
        async (secret, text, kind) => {
          const signature = await octokitSign(kind === 'key' ? `${secret}x` : secret, text);
          const received = alter(kind, text);
          const official = await octokitVerify(secret, received, signature);
          const ours = await bridge(
            { scheme: 'github', secret: { value: secret } },
            { 'x-hub-signature-256': signature },
            received,
            Date.now(),
          );
          expect(ours).toBe(official);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
