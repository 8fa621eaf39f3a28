import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeEventsHandler } from '../handlers/events.js';
import { makeHandler as makeQueueHandler } from '../handlers/queue.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { isAppError } from '../lib/core/errors.js';
import { PAYLOAD_PREVIEW_BYTES } from '../lib/core/log.js';
import { createEventsDeps } from '../lib/wiring/events.js';
import { createQueueDeps } from '../lib/wiring/queue.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { Env } from '../lib/wiring/settings/env.js';
import { createWebhookDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { eventBridgeEvent } from './fixtures/eventbridge.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { captureOutput, type EmfLine, type JsonLine, type OutputCapture } from './helpers/log.js';

// Real handlers, built by their real deps factories (Powertools Logger and Metrics included), against the
// local Kafka REST server; what they print is read back as JSON lines, as CloudWatch would get them.

const TOPICS = { demo: 3, orders: 2, events: 1 } as const;

/** Marks payload bytes: it must never show up in output at INFO. */
const MARKER = 'PAYLOAD-7c1e4b';

const baseEnv = (server: KafkaRestServer): Env => ({
  KAFKA_REST_URL: server.url,
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  KAFKA_REST_MAX_ATTEMPTS: '2',
  KAFKA_REST_BACKOFF_BASE_MS: '1',
  KAFKA_REST_BACKOFF_MAX_MS: '5',
  LOG_LEVEL: 'INFO',
});

/** Every log line has the fields Logs Insights queries and the metric filters rely on. */
const expectLogFields = (lines: readonly JsonLine[], functionRequestId: string): void => {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).toMatchObject({
      level: expect.stringMatching(/^(DEBUG|INFO|WARN|ERROR)$/),
      message: expect.any(String),
      timestamp: expect.any(String),
      service: 'kafka-rest-bridge',
      correlation_id: expect.any(String),
      function_request_id: functionRequestId,
    });
  }
};

const byMessage = (lines: readonly JsonLine[], message: string): JsonLine[] =>
  lines.filter((line) => line.message === message);

/** The EMF line of a topic, and its namespace. */
const topicLine = (lines: readonly EmfLine[], topic: string): EmfLine | undefined =>
  lines.find((line) => line.topic === topic);

const namespaces = (lines: readonly EmfLine[]): string[] =>
  lines.map((line) => line._aws.CloudWatchMetrics[0]?.Namespace ?? '');

describe('observability of the ingest handlers (real deps, local Kafka REST server)', () => {
  let server: KafkaRestServer;
  let out: OutputCapture;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: TOPICS });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.clearFaults();
    out = captureOutput();
  });
  afterEach(async () => {
    out.restore();
    for (const close of closers.splice(0)) await close();
  });

  describe('webhook', () => {
    const webhookHandler = (env: Env = {}) => {
      const deps = createWebhookDeps(
        loadConfig({
          ...baseEnv(server),
          WEBHOOK_ROUTES: JSON.stringify({ demo: { topic: 'demo', verify: { scheme: 'none' } } }),
          ...env,
        }),
      );
      closers.push(() => deps.kafka.close());
      return makeWebhookHandler(() => deps);
    };

    it('logs JSON lines correlated by the API Gateway request id, without the body, and counts the record', async () => {
      // Prepare
      const handler = webhookHandler();
      const body = JSON.stringify({ note: MARKER });

      // Act
      const response = await handler(
        httpApiEvent('/hooks/demo', body, { requestId: 'api-req-42' }),
        lambdaContext(10_000, 'lambda-wh-1'),
      );

      // Assess
      expect(response.statusCode).toBe(202);
      const logs = out.logs();
      expectLogFields(logs, 'lambda-wh-1');
      expect(logs.map((line) => line.correlation_id)).toEqual(logs.map(() => 'api-req-42'));
      expect(byMessage(logs, 'webhook record produced')).toEqual([
        expect.objectContaining({ level: 'INFO', topic: 'demo', offset: 0, route: 'demo' }),
      ]);
      expect(out.text()).not.toContain(MARKER);
      const emf = out.emf();
      expect(namespaces(emf)).toEqual(['KafkaRestBridge']);
      expect(topicLine(emf, 'demo')).toMatchObject({
        service: 'kafka-rest-bridge',
        RecordsProduced: 1,
        RecordsFailed: 0,
        ProduceLatency: expect.any(Number),
      });
    });

    it('counts a record the proxy would not take as failed, and flushes it with the 503', async () => {
      // Prepare
      const handler = webhookHandler();
      server.inject({ kind: 'status', status: 503, times: 2 });

      // Act
      const response = await handler(
        httpApiEvent('/hooks/demo', MARKER, { requestId: 'api-req-43' }),
        lambdaContext(10_000, 'lambda-wh-2'),
      );

      // Assess
      expect(response.statusCode).toBe(503);
      const logs = out.logs();
      expectLogFields(logs, 'lambda-wh-2');
      expect(byMessage(logs, 'webhook request not accepted')).toEqual([
        expect.objectContaining({
          level: 'ERROR',
          correlation_id: 'api-req-43',
          status: 503,
          error: expect.objectContaining({ code: 'ERR_UPSTREAM_STATUS' }),
        }),
      ]);
      expect(out.text()).not.toContain(MARKER);
      expect(topicLine(out.emf(), 'demo')).toMatchObject({ RecordsProduced: 0, RecordsFailed: 1 });
    });

    it('does not count an unauthenticated or unrouted request against any topic', async () => {
      const handler = webhookHandler();

      const response = await handler(httpApiEvent('/hooks/nowhere', MARKER), lambdaContext());

      expect(response.statusCode).toBe(404);
      expect(out.emf()).toEqual([]);
      expect(byMessage(out.logs(), 'webhook request not accepted')).toHaveLength(1);
    });

    it('shows a truncated payload preview only when LOG_LEVEL=DEBUG', async () => {
      // Prepare
      const handler = webhookHandler({ LOG_LEVEL: 'DEBUG' });
      const body = `${MARKER}${'z'.repeat(200)}`;

      // Act
      const response = await handler(httpApiEvent('/hooks/demo', body), lambdaContext());

      // Assess
      expect(response.statusCode).toBe(202);
      const [payload] = byMessage(out.logs(), 'webhook record payload');
      expect(payload).toMatchObject({
        level: 'DEBUG',
        key: { bytes: 0, preview: null },
        value: { bytes: body.length, preview: `${body.slice(0, PAYLOAD_PREVIEW_BYTES)}…` },
      });
      expect(out.text()).not.toContain(body);
    });
  });

  describe('queue', () => {
    const queueHandler = (env: Env = {}) => {
      const deps = createQueueDeps(loadConfig({ ...baseEnv(server), QUEUE_TOPIC: 'orders', ...env }));
      closers.push(() => deps.kafka.close());
      return makeQueueHandler(() => deps);
    };

    it('correlates batch lines by the Lambda request id and message lines by message id; counts per topic', async () => {
      // Prepare: the third message is too large for a record, so it fails for good.
      const handler = queueHandler({ KAFKA_REST_MAX_RECORD_BYTES: '1024' });
      const messages = [
        sqsRecord(`${MARKER}-0`),
        sqsRecord(`${MARKER}-1`),
        sqsRecord(`${MARKER}-${'x'.repeat(1_100)}`),
        sqsRecord(`${MARKER}-3`),
      ];
      const oversized = messages[2]?.messageId;

      // Act
      const response = await handler(sqsEvent(messages), lambdaContext(10_000, 'lambda-q-1'));

      // Assess
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: oversized }]);
      const logs = out.logs();
      expectLogFields(logs, 'lambda-q-1');
      expect(byMessage(logs, 'queue batch produced')).toEqual([
        expect.objectContaining({ correlation_id: 'lambda-q-1', messages: 4, acknowledged: 3, failed: 1 }),
      ]);
      expect(byMessage(logs, 'queue message failed for good')).toEqual([
        expect.objectContaining({ level: 'ERROR', correlation_id: 'lambda-q-1', messageIds: [oversized] }),
      ]);
      expect(byMessage(logs, 'queue message not acknowledged')).toEqual([
        expect.objectContaining({ level: 'WARN', correlation_id: oversized, code: 'ERR_PAYLOAD_TOO_LARGE' }),
      ]);
      // Acknowledged messages are logged at debug only.
      expect(byMessage(logs, 'queue message produced')).toEqual([]);
      expect(out.text()).not.toContain(MARKER);

      const emf = out.emf();
      expect(namespaces(emf)).toEqual(['KafkaRestBridge', 'KafkaRestBridge']);
      const orders = topicLine(emf, 'orders');
      expect(orders).toMatchObject({ RecordsProduced: 3, RecordsFailed: 1 });
      // The three that fit went in one produce request: one latency value.
      expect(orders?.ProduceLatency).toEqual(expect.any(Number));
      expect(emf.find((line) => line.topic === undefined)).toMatchObject({ SqsMessagesFailed: 1 });
    });

    it('follows each message to its offset at DEBUG, with a payload preview', async () => {
      const handler = queueHandler({ LOG_LEVEL: 'DEBUG' });
      const message = sqsRecord(`${MARKER}-debug`);

      await handler(sqsEvent([message]), lambdaContext(10_000, 'lambda-q-2'));

      expect(byMessage(out.logs(), 'queue message produced')).toEqual([
        expect.objectContaining({
          level: 'DEBUG',
          correlation_id: message.messageId,
          function_request_id: 'lambda-q-2',
          topic: 'orders',
          offset: expect.any(Number),
          value: { bytes: message.body.length, preview: message.body },
        }),
      ]);
    });

    it('counts the records an ambiguous resend may have duplicated', async () => {
      // Prepare: the proxy writes the records, then the connection drops before the answer.
      const handler = queueHandler();
      server.inject({ kind: 'after-write', action: 'drop' });

      // Act
      const response = await handler(
        sqsEvent([sqsRecord('a'), sqsRecord('b')]),
        lambdaContext(10_000, 'lambda-q-3'),
      );

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(out.emf().find((line) => line.topic === undefined)).toMatchObject({
        SqsMessagesFailed: 0,
        PossibleDuplicates: 2,
      });
      expect(
        byMessage(out.logs(), 'resending records after an ambiguous failure: they may be written twice'),
      ).toEqual([expect.objectContaining({ level: 'WARN', correlation_id: 'lambda-q-3' })]);
    });
  });

  describe('events', () => {
    const eventsHandler = (env: Env = {}) => {
      const deps = createEventsDeps(loadConfig({ ...baseEnv(server), EVENTS_TOPIC: 'events', ...env }));
      closers.push(() => deps.kafka.close());
      return makeEventsHandler(() => deps);
    };

    it('correlates by the event id and counts the record', async () => {
      const handler = eventsHandler();
      const event = eventBridgeEvent({ note: MARKER });

      await handler(event, lambdaContext(10_000, 'lambda-ev-1'));

      const logs = out.logs();
      expectLogFields(logs, 'lambda-ev-1');
      expect(logs.map((line) => line.correlation_id)).toEqual(logs.map(() => event.id));
      expect(out.text()).not.toContain(MARKER);
      expect(topicLine(out.emf(), 'events')).toMatchObject({
        RecordsProduced: 1,
        RecordsFailed: 0,
        ProduceLatency: expect.any(Number),
      });
    });

    it('flushes the failure count even though the handler throws', async () => {
      const handler = eventsHandler({ KAFKA_REST_MAX_RECORD_BYTES: '512' });
      const event = eventBridgeEvent({ note: MARKER, blob: 'x'.repeat(600) });

      const error = await handler(event, lambdaContext(10_000, 'lambda-ev-2')).catch(
        (thrown: unknown) => thrown,
      );

      expect(isAppError(error) && error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
      expect(byMessage(out.logs(), 'event not produced')).toEqual([
        expect.objectContaining({
          level: 'ERROR',
          correlation_id: event.id,
          function_request_id: 'lambda-ev-2',
        }),
      ]);
      expect(out.text()).not.toContain(MARKER);
      expect(topicLine(out.emf(), 'events')).toMatchObject({ RecordsProduced: 0, RecordsFailed: 1 });
    });
  });
});
