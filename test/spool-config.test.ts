import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/core/errors.js';
import { BREAKER_DEFAULTS, SPOOL_DEFAULTS } from '../lib/ingest/spool/config.js';
import { loadSpoolConfig } from '../lib/wiring/settings/spool.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';

const BASE = { KAFKA_REST_URL: 'https://kafka-rest.example.com', KAFKA_REST_SECRET_ID: 'key' };
const SPOOLING = JSON.stringify({
  a: { topic: 'demo', verify: { scheme: 'none' }, onUpstreamFailure: 'spool' },
});
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/bridge-spool.fifo';

const problemsOf = (load: () => unknown): readonly string[] => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('spool settings', () => {
  it('needs the FIFO queue and the keys table once a route spools, naming the route', () => {
    expect(problemsOf(() => loadWebhookConfig({ ...BASE, WEBHOOK_ROUTES: SPOOLING }))).toEqual([
      expect.stringMatching(/^SPOOL_QUEUE_URL is required when a webhook route spools \(a\)/),
      expect.stringMatching(/^SPOOL_KEYS_TABLE is required when a webhook route spools \(a\)/),
    ]);
    expect(
      problemsOf(() =>
        loadWebhookConfig({
          ...BASE,
          WEBHOOK_ROUTES: SPOOLING,
          SPOOL_QUEUE_URL: QUEUE.replace('.fifo', ''),
          SPOOL_KEYS_TABLE: 'keys',
        }),
      ),
    ).toEqual([expect.stringMatching(/^SPOOL_QUEUE_URL must name a FIFO queue/)]);
  });

  it('refuses an onUpstreamFailure it does not know, and asks nothing of routes that reject', () => {
    const routes = JSON.stringify({
      a: { topic: 'demo', verify: { scheme: 'none' }, onUpstreamFailure: 'queue' },
    });

    expect(problemsOf(() => loadWebhookConfig({ ...BASE, WEBHOOK_ROUTES: routes }))).toEqual([
      'WEBHOOK_ROUTES.a.onUpstreamFailure must be "reject" (answer 503, the default) or "spool"',
    ]);
    const rejecting = loadWebhookConfig({
      ...BASE,
      WEBHOOK_ROUTES: '{"a":{"topic":"demo","verify":{"scheme":"none"}}}',
    });
    expect(rejecting.webhook.routes.get('a')?.onUpstreamFailure).toBe('reject');
    expect(rejecting.webhook.spool.queueUrl).toBeUndefined();
  });

  it('writes the defaults out and bounds every number', () => {
    const config = loadWebhookConfig({
      ...BASE,
      WEBHOOK_ROUTES: SPOOLING,
      SPOOL_QUEUE_URL: QUEUE,
      SPOOL_KEYS_TABLE: 'keys',
    });
    expect(config.webhook.spool).toMatchObject({
      queueUrl: QUEUE,
      keysTable: 'keys',
      bucket: undefined,
      ...SPOOL_DEFAULTS,
    });
    expect(config.webhook.breaker).toEqual(BREAKER_DEFAULTS);
    expect(
      problemsOf(() =>
        loadWebhookConfig({
          ...BASE,
          SPOOL_MAX_MESSAGE_BYTES: '2000000',
          SPOOL_PRODUCE_BUDGET_MS: '50',
          UPSTREAM_BREAKER_FAILURE_PERCENT: '0',
        }),
      ),
    ).toEqual([
      expect.stringContaining('SPOOL_PRODUCE_BUDGET_MS'),
      expect.stringContaining('SPOOL_MAX_MESSAGE_BYTES'),
      expect.stringContaining('UPSTREAM_BREAKER_FAILURE_PERCENT'),
    ]);
  });

  it('gives the spool function its keys table, or says it needs one', () => {
    expect(problemsOf(() => loadSpoolConfig(BASE))).toEqual([
      'SPOOL_KEYS_TABLE is required for the spool function: the DynamoDB table of spooled keys',
    ]);
    expect(loadSpoolConfig({ ...BASE, SPOOL_KEYS_TABLE: 'keys', SPOOL_CONCURRENCY: '8' })).toMatchObject({
      spool: { keysTable: 'keys' },
      concurrency: 8,
    });
  });
});
