import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestWebhook, type WebhookDeps } from '../lib/ingest/webhook/ingest.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';
import { httpApiEvent } from './fixtures/api-gateway.js';
import {
  type DialectCase,
  type KafkaRestFixture,
  PRODUCE_DIALECTS,
  startKafkaRestWithClient,
} from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

/**
 * Per-record produce codes by what the server itself says of them (flavors.ts): final (a resend can never
 * succeed: 422), retriable (the client resends: 202 once written), anything else ambiguous (503 +
 * Retry-After, so a sender that drops 4xx keeps the event).
 */
const CODES: Readonly<Record<string, { final: number[]; retriable: number[]; ambiguous: number[] }>> = {
  v1: { final: [50002, 1], retriable: [50003, 2], ambiguous: [40403] },
  'v2 confluent': { final: [50002, 1], retriable: [50003, 2], ambiguous: [40403] },
  // Kafka's RetriableException codes, 9, 74, 75 and 89 among them; 29 is an authorisation failure.
  'v2 redpanda': { final: [10, 18, 87], retriable: [3, 6, 9, 74, 75, 89], ambiguous: [29, 58] },
  // Karapace's code 1 covers per-record timeouts too: never proof that a record is final.
  'v2 karapace': { final: [], retriable: [2], ambiguous: [1] },
  v3: { final: [400, 413, 42207, 50002], retriable: [429, 50003], ambiguous: [40403, 40101] },
  // The bridge fails a record with 404 (its metadata wait ran out) or 500 (Kafka's producer already
  // retried, or the record is too large): neither proves the record can never be written.
  'v2 strimzi': { final: [], retriable: [], ambiguous: [404, 500] },
};

describe.each(PRODUCE_DIALECTS)(
  'webhook answers to per-record errors ($name)',
  (dialectCase: DialectCase) => {
    let kafka: KafkaRestFixture;
    let deps: WebhookDeps;
    const codes = CODES[dialectCase.name];
    if (codes === undefined) throw new Error(`no codes for ${dialectCase.name}`);

    beforeAll(async () => {
      kafka = await startKafkaRestWithClient({ dialect: dialectCase, server: { topics: { demo: 1 } } });
      const config = loadWebhookConfig({
        KAFKA_REST_URL: kafka.server.url,
        KAFKA_REST_ALLOW_HTTP: 'true',
        KAFKA_REST_AUTH: 'none',
        KAFKA_REST_DIALECT: dialectCase.dialect,
        KAFKA_REST_FLAVOR: dialectCase.flavor,
        KAFKA_REST_CLUSTER_ID: 'local-cluster',
        WEBHOOK_ROUTES: JSON.stringify({ demo: { topic: 'demo', verify: { scheme: 'none' } } }),
      });
      deps = {
        kafka: kafka.client,
        routes: config.webhook.routes,
        log: createMemoryLog(),
        secrets: { get: async () => Promise.reject(new Error('no secrets here')) },
        now: Date.now,
      };
    });
    afterAll(async () => {
      await kafka.close();
    });

    const deliverWith = async (code: number) => {
      kafka.server.clearFaults();
      kafka.server.inject({ kind: 'record-errors', errors: { 0: { code, message: 'injected' } } });
      const before = kafka.server.records('demo', 0).length;
      const response = await ingestWebhook(
        deps,
        httpApiEvent('/hooks/demo', `{"code":${code}}`),
        Date.now() + 5_000,
      );
      return { response, written: kafka.server.records('demo', 0).length - before };
    };

    it.each(codes.final)(
      'answers 422 ERR_RECORD_REJECTED to final code %i, writing nothing',
      async (code) => {
        // Act
        const { response, written } = await deliverWith(code);

        // Assess
        expect(response.statusCode).toBe(422);
        expect(JSON.parse(response.body ?? '')).toMatchObject({ code: 'ERR_RECORD_REJECTED' });
        expect(written).toBe(0);
      },
    );

    it.each(codes.retriable)('resends the record after retriable code %i and answers 202', async (code) => {
      // Act
      const { response, written } = await deliverWith(code);

      // Assess
      expect(response.statusCode).toBe(202);
      expect(written).toBe(1);
    });

    it.each(codes.ambiguous)('answers 503 + Retry-After to code %i, which is not final', async (code) => {
      // Act
      const { response, written } = await deliverWith(code);

      // Assess
      expect(response.statusCode).toBe(503);
      expect(Number(response.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(response.body ?? '')).toMatchObject({ code: 'ERR_UPSTREAM_STATUS' });
      expect(written).toBe(0);
    });
  },
);
