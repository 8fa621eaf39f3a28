/**
 * The embedded defaults of `npm start` (its flags and `local.json` override the ports). `serverless.yml`'s
 * `params.local` holds the same ports and names for a bare `serverless offline --stage local`; `npm start`
 * passes the URLs that depend on ports as parameters, so they always match the servers it started.
 */
/** A queue of the local stage (see `LOCAL.queues`). */
export interface LocalQueue {
  readonly name: string;
  readonly fifo?: boolean;
  readonly contentBasedDeduplication?: boolean;
  readonly visibilityTimeoutSeconds?: number;
  readonly redrive?: { readonly deadLetterQueue: string; readonly maxReceiveCount: number };
}

/** An SQS event source mapping of the local stage (see `LOCAL.eventSources`). */
export interface LocalEventSource {
  readonly queue: string;
  /** The function's name in serverless.yml (`queue`, …). */
  readonly function: string;
  readonly batchSize?: number;
  readonly maximumBatchingWindowMs?: number;
}

export const LOCAL = {
  httpPort: 3000,
  lambdaPort: 3002,
  kafkaRestPort: 8082,
  dynamoPort: 4567,
  sinkPort: 8090,
  /** The local SQS (dev/aws-local/sqs-server.ts). */
  sqsPort: 4576,
  /** The local S3 (dev/aws-local/s3-server.ts). */
  s3Port: 4569,
  /** Serves docs/openapi.yaml, the webhook API's description. */
  docsPort: 3001,
  /** The local console (topics, latest records, drains, pause / resume / replay); not 3100, which the README suggests for httpPort. */
  consolePort: 3003,
  topics: { demo: 3, orders: 3 },
  /** The local proxy's API key: not a secret, it guards nothing but this machine's dev server. */
  apiKey: 'local-dev-key',
  /** The v3 cluster id of `/v3/clusters/{id}` (`npm start -- --dialect v3`). */
  clusterId: 'local-cluster',
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  checkpointTable: 'kafka-rest-bridge-local-checkpoints',
  idempotencyTable: 'kafka-rest-bridge-local-idempotency',
  /** The queue the drains' `"dlq": "stack"` means (the stack's DrainDlq). */
  drainDlqQueue: 'kafka-rest-bridge-local-drain-dlq',
  /** The webhook spool (the stack's SpoolQueue, SpoolKeysTable and SpoolBucket). */
  spoolQueue: 'kafka-rest-bridge-local-spool.fifo',
  spoolDlqQueue: 'kafka-rest-bridge-local-spool-dlq.fifo',
  spoolKeysTable: 'kafka-rest-bridge-local-spool-keys',
  spoolBucket: 'kafka-rest-bridge-local-spool',
  /**
   * The queues `npm start` creates on the local SQS, in order (a dead-letter queue before the queues that
   * redrive to it), as the stack's resources are: `fifo` makes a FIFO queue (its name ends in `.fifo`),
   * `redrive` its RedrivePolicy, `contentBasedDeduplication` and `visibilityTimeoutSeconds` those attributes.
   */
  queues: [
    { name: 'kafka-rest-bridge-local-drain-dlq' },
    { name: 'kafka-rest-bridge-local-events-dlq' },
    { name: 'kafka-rest-bridge-local-ingest-dlq' },
    {
      name: 'kafka-rest-bridge-local-ingest',
      // As the stack's IngestQueue: 6 × the queue function's timeout, and its maxReceiveCount.
      visibilityTimeoutSeconds: 360,
      redrive: { deadLetterQueue: 'kafka-rest-bridge-local-ingest-dlq', maxReceiveCount: 5 },
    },
    { name: 'kafka-rest-bridge-local-spool-dlq.fifo', fifo: true },
    {
      name: 'kafka-rest-bridge-local-spool.fifo',
      fifo: true,
      // The stack's SpoolQueue waits 6 × the spool function's timeout before a failed batch comes back;
      // locally 10 s, so a backfill that failed is retried while one is watching.
      visibilityTimeoutSeconds: 10,
      redrive: { deadLetterQueue: 'kafka-rest-bridge-local-spool-dlq.fifo', maxReceiveCount: 10 },
    },
  ] satisfies readonly LocalQueue[] as readonly LocalQueue[],
  /**
   * What Lambda's SQS event source mappings do in the stack: each queue's messages to the function (its
   * name in serverless.yml), through the offline Lambda API, with ReportBatchItemFailures.
   */
  eventSources: [
    { queue: 'kafka-rest-bridge-local-ingest', function: 'queue', batchSize: 10 },
    { queue: 'kafka-rest-bridge-local-spool.fifo', function: 'spool', batchSize: 10 },
  ] satisfies readonly LocalEventSource[] as readonly LocalEventSource[],
  /** The buckets of the local S3. */
  buckets: ['kafka-rest-bridge-local-spool'] as readonly string[],
  /** The local drain: every partition of `demo` to the printing HTTP sink. */
  drains: (sinkPort: number) => [
    {
      id: 'demo-to-sink',
      topic: 'demo',
      partitions: 'all',
      sink: { type: 'http', url: `http://127.0.0.1:${sinkPort}/records`, allowHttp: true },
      batchSize: 100,
      resetPolicy: 'earliest',
      dlq: 'stack',
    },
  ],
} as const;
