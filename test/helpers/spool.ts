import { type LocalS3, startLocalS3 } from '../../dev/aws-local/s3-server.js';
import { createSqsEventSource, type SqsEventSource } from '../../dev/aws-local/sqs-event-source.js';
import { type LocalSqs, startLocalSqs } from '../../dev/aws-local/sqs-server.js';
import { ensureTable, SPOOL_KEYS_TABLE_KEYS } from '../../dev/dynamodb-table.js';
import { type KafkaRestServer, startKafkaRestServer } from '../../dev/kafka-rest/server.js';
import { spoolQueueDefinitions } from '../../dev/spool-queues.js';
import { makeHandler as makeSpoolHandler } from '../../handlers/spool.js';
import { makeHandler as makeWebhookHandler } from '../../handlers/webhook.js';
import { loadSpoolConfig } from '../../lib/wiring/settings/spool.js';
import { loadWebhookConfig } from '../../lib/wiring/settings/webhook.js';
import { type BackfillHandlerDeps, createBackfillDeps } from '../../lib/wiring/spool-backfill.js';
import { createWebhookDeps, type WebhookHandlerDeps } from '../../lib/wiring/webhook.js';
import { lambdaContext } from '../fixtures/api-gateway.js';
import type { LocalDynamo } from './dynalite.js';
import { createMemoryLog } from './log.js';

export const SPOOL_QUEUE = 'spool.fifo';
export const SPOOL_DLQ = 'spool-dlq.fifo';
export const SPOOL_BUCKET = 'spool-bodies';
export const SPOOL_KEYS = 'spool-keys';
const API_KEY = 'spool-test-key-0b6e1f2d9c4a';

/** The credentials the signed clients read from the environment, as Lambda gives them (fake here). */
const FAKE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
};

export interface SpoolStack {
  readonly kafka: KafkaRestServer;
  readonly sqs: LocalSqs;
  readonly s3: LocalS3;
  readonly webhook: ReturnType<typeof makeWebhookHandler>;
  readonly webhookDeps: WebhookHandlerDeps;
  readonly backfill: ReturnType<typeof makeSpoolHandler>;
  readonly backfillDeps: BackfillHandlerDeps;
  readonly log: ReturnType<typeof createMemoryLog>;
  /** The spool queue consumed as Lambda's event source mapping consumes it, by the spool function. */
  eventSource(): SqsEventSource;
  close(): Promise<void>;
}

/**
 * The webhook and spool functions built from their settings, as in Lambda, against the local Kafka REST
 * server, dynalite, and the local SQS and S3 (the spool FIFO queue with its DLQ, the bucket). `env`
 * overrides or adds settings (`WEBHOOK_ROUTES`, breaker settings…).
 */
export const startSpoolStack = async (
  dynamo: LocalDynamo,
  env: Readonly<Record<string, string>>,
  options: { readonly topics?: Readonly<Record<string, number>>; readonly spoolQueue?: string } = {},
): Promise<SpoolStack> => {
  const topics = options.topics ?? { orders: 4 };
  Object.assign(process.env, FAKE_CREDENTIALS);
  const kafka = await startKafkaRestServer({ topics, apiKey: API_KEY, recordRequests: true });
  const sqs = await startLocalSqs({ queues: spoolQueueDefinitions(SPOOL_QUEUE, SPOOL_DLQ, 1, 5) });
  const s3 = await startLocalS3({ buckets: [SPOOL_BUCKET] });
  await ensureTable(dynamo.client, SPOOL_KEYS, SPOOL_KEYS_TABLE_KEYS);
  const settings = {
    KAFKA_REST_URL: kafka.url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_API_KEY: API_KEY,
    KAFKA_REST_MAX_ATTEMPTS: '2',
    KAFKA_REST_BACKOFF_BASE_MS: '5',
    KAFKA_REST_BACKOFF_MAX_MS: '20',
    SPOOL_QUEUE_URL: sqs.queueUrl(options.spoolQueue ?? SPOOL_QUEUE),
    SPOOL_DLQ_URL: sqs.queueUrl(SPOOL_DLQ),
    SPOOL_KEYS_TABLE: SPOOL_KEYS,
    SPOOL_BUCKET: SPOOL_BUCKET,
    SQS_ENDPOINT: sqs.endpoint,
    S3_ENDPOINT: s3.endpoint,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    ...env,
  };
  const log = createMemoryLog();
  const webhookDeps = { ...createWebhookDeps(loadWebhookConfig(settings)), log };
  const backfillDeps = { ...createBackfillDeps(loadSpoolConfig(settings)), log };
  const backfill = makeSpoolHandler(() => backfillDeps);
  const sources: SqsEventSource[] = [];
  return {
    kafka,
    sqs,
    s3,
    webhook: makeWebhookHandler(() => webhookDeps),
    webhookDeps,
    backfill,
    backfillDeps,
    log,
    eventSource: () => {
      const source = createSqsEventSource({
        endpoint: sqs.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        queueUrl: sqs.queueUrl(SPOOL_QUEUE),
        batchSize: 10,
        invoke: (event) => backfill(event, lambdaContext()),
      });
      sources.push(source);
      return source;
    },
    close: async () => {
      await Promise.all(sources.map((source) => source.stop()));
      await Promise.all([webhookDeps.kafka.close(), backfillDeps.kafka.close()]);
      await Promise.all([kafka.close(), sqs.close(), s3.close()]);
    },
  };
};
