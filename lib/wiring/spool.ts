import { type AwsJsonClient, createAwsJsonClient, SQS } from '../aws/json-client.js';
import { createS3Objects } from '../aws/s3-objects.js';
import type { Log } from '../core/log.js';
import type { SpoolSettings } from '../ingest/spool/config.js';
import { createOrderMarkers } from '../ingest/spool/order-markers.js';
import { createSpool, type Spool, type SpoolClients } from '../ingest/spool/spool.js';
import { dynamoDbFor } from './aws.js';

/**
 * Every spool call ends by its request's deadline; one attempt may not use all of it, or a hung call would
 * leave no time for the retry that a dropped connection needs.
 */
const SPOOL_ATTEMPT_TIMEOUT_MS = 3_000;

/** The keys table and the bucket, as both the webhook and the backfill use them. Nothing connects yet. */
export const createSpoolClients = (
  settings: SpoolSettings & { readonly keysTable: string },
  region: string | undefined,
  now: () => number,
): SpoolClients => ({
  markers: createOrderMarkers({
    client: dynamoDbFor(
      { region, dynamodb: settings.dynamodbEndpoint },
      { maxAttempts: 3, attemptTimeoutMs: SPOOL_ATTEMPT_TIMEOUT_MS, connectTimeoutMs: 1_000 },
    ),
    tableName: settings.keysTable,
    now,
  }),
  objects:
    settings.bucket === undefined
      ? undefined
      : {
          bucket: settings.bucket,
          s3: createS3Objects({
            bucket: settings.bucket,
            region,
            endpoint: settings.s3Endpoint,
            attemptTimeoutMs: 10_000,
            connectTimeoutMs: 1_000,
          }),
        },
});

/** Signed SQS JSON calls (the spool queue, the spool DLQ); nothing connects until the first send. */
export const sqsFor = (
  settings: Pick<SpoolSettings, 'sqsEndpoint'>,
  region: string | undefined,
): AwsJsonClient =>
  createAwsJsonClient(SQS, {
    region,
    endpoint: settings.sqsEndpoint,
    maxAttempts: 3,
    attemptTimeoutMs: SPOOL_ATTEMPT_TIMEOUT_MS,
    connectTimeoutMs: 1_000,
  });

/** The webhook's spool, when a route spools (the settings checked the queue and table are set then). */
export const createWebhookSpool = (
  settings: SpoolSettings,
  region: string | undefined,
  log: Log,
  now: () => number,
): Spool | undefined => {
  const { queueUrl, keysTable } = settings;
  if (queueUrl === undefined || keysTable === undefined) return undefined;
  const clients = createSpoolClients({ ...settings, keysTable }, region, now);
  return createSpool({
    ...clients,
    sqs: sqsFor(settings, region),
    queueUrl,
    maxMessageBytes: settings.maxMessageBytes,
    retentionSeconds: settings.retentionSeconds,
    log,
    now,
  });
};
