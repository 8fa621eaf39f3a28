import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyStructuredResultV2, SQSRecord } from 'aws-lambda';
import {
  type DynamoFaultKind,
  type DynamoFaultProxy,
  startDynamoFaultProxy,
} from '../dev/dynamodb-fault-proxy.js';
import { ensureTable } from '../dev/dynamodb-table.js';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { createPrng } from '../dev/kafka-rest/faults.js';
import { type Fault, type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { makeHandler as makeEventsHandler } from '../handlers/events.js';
import { makeHandler as makeQueueHandler } from '../handlers/queue.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { AppError, ERROR_CODES } from '../lib/core/errors.js';
import type { Log } from '../lib/core/log.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { CoordinatorReport } from '../lib/drain/fan-out.js';
import type { DrainRunReport } from '../lib/drain/run-drains.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import { DEFAULT_IN_PROGRESS_TTL_MS, REPLAYED_HEADER } from '../lib/ingest/webhook/idempotency/index.js';
import { signGithub } from '../lib/ingest/webhook/verify/index.js';
import { apiKeyAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient, KafkaRestStats } from '../lib/kafka-rest/types.js';
import { literalSecret } from '../lib/secrets/cache.js';
import { createDeadLetterQueue, createSink } from '../lib/sinks/index.js';
import type { DeadLetterQueue, DeliveryOutcome, Sink } from '../lib/sinks/types.js';
import type { DrainHandlerDeps } from '../lib/wiring/drain.js';
import type { EventsHandlerDeps } from '../lib/wiring/events.js';
import { createLazyIdempotencyStore } from '../lib/wiring/idempotency-store.js';
import { createKafkaRestProducerFromConfig } from '../lib/wiring/kafka-rest.js';
import type { QueueHandlerDeps } from '../lib/wiring/queue.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from '../test/fixtures/api-gateway.js';
import { eventBridgeEvent } from '../test/fixtures/eventbridge.js';
import { sqsEvent, sqsRecord } from '../test/fixtures/sqs.js';
import {
  FAKE_AWS,
  type FakeEventBridge,
  type FakeSqs,
  startFakeEventBridge,
  startFakeSqs,
} from '../test/helpers/aws-fakes.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from '../test/helpers/dynalite.js';
import {
  CHAOS_CONFIGURATIONS,
  type ChaosConfiguration,
  type ChaosConfigurationName,
} from './configurations.js';
import {
  type CheckpointObservation,
  type IngestInput,
  idOfValue,
  type Reconciliation,
  type ResendAnswer,
  reconcile,
  type Source,
} from './reconcile.js';
import { fromHttpRequests, fromPutEvents, fromSqsMessages } from './sink-observations.js';
import {
  createFifoQueue,
  createStandardQueue,
  type QueuedMessage,
  type SimulatedQueue,
} from './sqs-queues.js';

/**
 * The fault-injection run of issues #6 and #12: thousands of events through every ingestion path (plain
 * and idempotent webhook routes, SQS standard and FIFO queues, EventBridge events) and out through a drain
 * per sink kind (HTTP single and batch, SQS standard and FIFO, EventBridge), against the local Kafka REST
 * server in one of the {@link CHAOS_CONFIGURATIONS}, the local HTTP sink, the fake SQS and EventBridge
 * endpoints reached by the real SDK, and dynalite behind a DynamoDB fault proxy (checkpoints and the
 * idempotency store), with faults injected all along; then a reconciliation per configuration computed
 * from what each side observed.
 *
 * Timeline of the drain side (fractions of the inputs settled):
 *
 *   0 ───── scheduled drains every `drainIntervalMs`, overlapping ─────────────────────────▶ end
 *        25%: drains paused, new input, a run KILLED after delivering and before committing
 *             (its leases stay held, so later runs meet `busy`)
 *        50%: two runs started at the same instant (racing for every lease)
 *        70%: a run stalled on a slow sink; the clock jumps past the lease; two runs take over
 *   end: faults cleared, every lease expired, drains run until every partition is caught up
 */

export interface ChaosOptions {
  readonly seed: number;
  /** To a plain route (topic `hooks`, drained to an HTTP sink in `single` mode). */
  readonly webhooks: number;
  /** To a route with `idempotency` on a header (topic `hooks-idem`, drained to an HTTP sink in `batch` mode). */
  readonly idempotentWebhooks: number;
  /** Into a standard queue (topic `queue`, drained to a standard SQS queue). */
  readonly queueMessages: number;
  /** Into a FIFO queue over `fifoGroups` message groups (topic `queue-fifo`, drained to a FIFO SQS queue). */
  readonly fifoMessages: number;
  readonly fifoGroups: number;
  /** EventBridge events (topic `events`, drained to an EventBridge bus). */
  readonly events: number;
  /**
   * Idempotent deliveries: chance of being sent again after the first 2xx (once every earlier attempt has
   * landed), and, separately, of a second copy sent at the same time as the first.
   */
  readonly resendRate: number;
  /**
   * Records written to `events` partition 0 by one produce before the run: one batch that large, which a v1
   * proxy answering whole batches returns from its start whatever the offset asked.
   */
  readonly bulkBatchRecords: number;
  /** Per ingest attempt: chance of queuing one fault on the proxy's produce endpoint. */
  readonly proxyFaultRate: number;
  /** Per ingest attempt: chance of queuing one fault on the proxy's fetch endpoint. */
  readonly fetchFaultRate: number;
  /** Per ingest attempt: chance of queuing one fault on the HTTP sink, and (separately) on an AWS sink. */
  readonly sinkFaultRate: number;
  /** Per DynamoDB request (checkpoints and idempotency): chance of a throttle, 5xx, lost answer or delay. */
  readonly dynamoFaultRate: number;
  /** `Retry-After` of the 429 bursts (proxy and sink). */
  readonly retryAfterSeconds: number;
  /** The Kafka REST clients' per-request timeout; latency spikes last `spikeMs`, beyond it. */
  readonly requestTimeoutMs: number;
  /** The HTTP sink's per-request timeout; also beaten by `spikeMs`. */
  readonly sinkTimeoutMs: number;
  readonly spikeMs: number;
  readonly leaseMs: number;
  readonly drainIntervalMs: number;
  readonly concurrency: { readonly webhook: number; readonly queue: number; readonly events: number };
  /** The proxy the functions speak to (default `v1`). */
  readonly configuration?: ChaosConfigurationName;
  /** Receives every log line of every handler (default: counted, then dropped). */
  readonly log?: Log;
  /** One line per phase, for the CLI. */
  readonly progress?: (line: string) => void;
  /** Sees every answer the webhook gives (the suite checks each against docs/openapi.yaml). */
  readonly onWebhookAnswer?: (method: string, answer: APIGatewayProxyStructuredResultV2) => void;
}

/** A few hundred events: the run inside `npm test`, once per configuration. */
export const SUITE_PRESET: ChaosOptions = {
  seed: 6,
  webhooks: 100,
  idempotentWebhooks: 80,
  queueMessages: 120,
  fifoMessages: 120,
  fifoGroups: 8,
  events: 60,
  resendRate: 0.3,
  bulkBatchRecords: 1_000,
  proxyFaultRate: 0.12,
  fetchFaultRate: 0.05,
  sinkFaultRate: 0.08,
  dynamoFaultRate: 0.04,
  retryAfterSeconds: 0,
  requestTimeoutMs: 150,
  sinkTimeoutMs: 120,
  spikeMs: 220,
  leaseMs: 5_000,
  drainIntervalMs: 30,
  concurrency: { webhook: 6, queue: 3, events: 4 },
};

/** 10,000 events per configuration, 2,000 per ingestion path: `npm run chaos`. */
export const FULL_PRESET: ChaosOptions = {
  seed: 2026,
  webhooks: 2_000,
  idempotentWebhooks: 2_000,
  queueMessages: 2_000,
  fifoMessages: 2_000,
  fifoGroups: 40,
  events: 2_000,
  resendRate: 0.2,
  bulkBatchRecords: 3_000,
  proxyFaultRate: 0.04,
  fetchFaultRate: 0.01,
  sinkFaultRate: 0.02,
  dynamoFaultRate: 0.01,
  retryAfterSeconds: 1,
  requestTimeoutMs: 250,
  sinkTimeoutMs: 200,
  spikeMs: 400,
  leaseMs: 10_000,
  drainIntervalMs: 40,
  concurrency: { webhook: 16, queue: 4, events: 8 },
};

/** The events of a run (the bulk batch is setup, not input). */
export const eventsOf = (options: ChaosOptions): number =>
  options.webhooks +
  options.idempotentWebhooks +
  options.queueMessages +
  options.fifoMessages +
  options.events;

export const FAULT_KINDS = [
  'proxy-5xx',
  'proxy-429-burst',
  'proxy-record-error',
  'proxy-drop',
  'proxy-drop-after-write',
  'proxy-latency-spike',
  'proxy-late-answer-after-write',
  'proxy-trickle',
  'proxy-oversized-answer',
  'fetch-5xx',
  'fetch-429-burst',
  'fetch-drop',
  'fetch-latency-spike',
  'fetch-trickle',
  'fetch-oversized-answer',
  'sink-5xx',
  'sink-429',
  'sink-rejects-poison',
  'sink-drop',
  'sink-latency-spike',
  'sink-trickle',
  'aws-5xx',
  'aws-throttle',
  'aws-entry-failure',
  'aws-rejects-poison',
  'aws-drop',
  'aws-latency-spike',
  'aws-trickle',
  'dlq-5xx',
  'dynamo-throttle',
  'dynamo-server-error',
  'dynamo-lose-answer',
  'dynamo-delay',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One configuration of the README inside a run: an ingestion path into its own topic, a drain out of it. */
export interface ChaosPipeline {
  readonly name: string;
  readonly source: Source;
  readonly topic: string;
  readonly partitions: number;
  readonly drainId: string;
  /** Whether the sink promises per-partition order (or per FIFO group). */
  readonly orderedSink: boolean;
}

export const PIPELINES: readonly ChaosPipeline[] = [
  {
    name: 'webhook → HTTP single',
    source: 'webhook',
    topic: 'hooks',
    partitions: 3,
    drainId: 'hooks-out',
    orderedSink: true,
  },
  {
    name: 'idempotent webhook → HTTP batch',
    source: 'webhook-idempotent',
    topic: 'hooks-idem',
    partitions: 2,
    drainId: 'hooks-idem-out',
    orderedSink: true,
  },
  {
    name: 'SQS standard → SQS standard',
    source: 'queue',
    topic: 'queue',
    partitions: 3,
    drainId: 'queue-out',
    orderedSink: false,
  },
  {
    name: 'SQS FIFO → SQS FIFO',
    source: 'queue-fifo',
    topic: 'queue-fifo',
    partitions: 3,
    drainId: 'fifo-out',
    orderedSink: true,
  },
  {
    name: 'EventBridge → EventBridge',
    source: 'events',
    topic: 'events',
    partitions: 2,
    drainId: 'events-out',
    orderedSink: false,
  },
];

export interface ChaosScenarios {
  /** Partitions whose run delivered records and was killed before committing them. */
  readonly killedAfterDelivery: number;
  /** Drain invocations started at the same instant as another one. */
  readonly racingRuns: number;
  /** Clock jumps past the lease while a run was still delivering. */
  readonly leaseExpiredMidRun: number;
  /** Idempotent deliveries sent again after their first 2xx. */
  readonly resentAfterAck: number;
  /** Idempotent deliveries sent twice at the same time. */
  readonly sentTwiceAtOnce: number;
  /** With fan-out: groups a scheduled run handed to an invocation of their own. */
  readonly fanOutGroups: number;
}

export interface ChaosReport {
  readonly configuration: ChaosConfigurationName;
  readonly seed: number;
  readonly durationMs: number;
  readonly eventsIn: number;
  /** Faulted requests queued, by kind (a 429 burst counts each 429; DynamoDB faults as the proxy applied them). */
  readonly faultsInjected: Readonly<Record<FaultKind, number>>;
  readonly scenarios: ChaosScenarios;
  readonly drainInvocations: number;
  /** Partition outcomes over every drain invocation (`caught-up`, `busy`, `lease-lost`, …). */
  readonly partitionOutcomes: Readonly<Record<string, number>>;
  /** What the Kafka REST server answered, by class, as its own request log saw it. */
  readonly proxyAnswers: Readonly<Record<string, number>>;
  /** The partition reads the server answered, by API: `v1 messages`, `v2 consumer records`, `partition records`. */
  readonly proxyReads: Readonly<Record<string, number>>;
  /** What the HTTP sink answered, by class (`none`: dropped, or still pending at close). */
  readonly sinkAnswers: Readonly<Record<string, number>>;
  /** What the SQS and EventBridge fakes answered to the sinks, by class. */
  readonly awsSinkAnswers: Readonly<Record<string, number>>;
  /** What idempotent deliveries were answered, by status (`202 replayed` for a replay). */
  readonly idempotentAnswers: Readonly<Record<string, number>>;
  /** Summed over every Kafka REST client of the run. */
  readonly clientStats: KafkaRestStats;
  readonly reconciliation: Reconciliation;
}

const TOPICS = Object.fromEntries(PIPELINES.map((pipeline) => [pipeline.topic, pipeline.partitions]));
const API_KEY = 'chaos-proxy-key-6f1d0c3b9a8e';
const GITHUB_SECRET = 'chaos-github-secret-41c7e2';
/** The credentials a run uses, so a test can prove none of them reaches a log line or an error. */
export const CHAOS_SECRETS = { apiKey: API_KEY, githubSecret: GITHUB_SECRET } as const;
const ROUTE = 'chaos';
const IDEMPOTENT_ROUTE = 'chaos-idem';
const DELIVERY_HEADER = 'x-delivery-id';
const IDEMPOTENCY_TABLE = 'chaos-idempotency';
/** A sender retries a 5xx (and a 409 "in progress") this many times; SQS redelivers this often before its own DLQ; Lambda retries twice. */
const SENDER_ATTEMPTS = 6;
const MAX_RECEIVES = 8;
const EVENT_ATTEMPTS = 3;
const INVOCATION_MS = 3_000;
const DRAIN_BUDGET_MS = 2_500;
const MAX_FINAL_ROUNDS = 80;
/** Sink calls in flight per partition in the configurations that drain by key. */
const DRAIN_MAX_IN_FLIGHT = 4;
/** Attempts at a drain scenario (killed after delivery, lease expiring mid-delivery) before giving up. */
const MAX_STALL_ATTEMPTS = 5;
/** Where the kill, the race and the lease expiry happen, as fractions of the inputs started. */
const SCENARIO_POINTS = [0.25, 0.5, 0.7] as const;
const PRODUCE = { method: 'POST', path: /^\/topics\/[^/]+$/ } as const;
/** v1 `…/messages`, a v2 consumer instance's `…/records`, Redpanda's `…/partitions/{p}/records`. */
const FETCH = { method: 'GET', path: /\/(messages|records)$/ } as const;
/** Slow answers: a 200 whose body never ends, a byte at a time; only a deadline timer ends the call. */
const TRICKLE_INTERVAL_MS = 20;
/**
 * Past what the clients read of a 2xx answer: a produce answer is capped by its record count plus 64 KiB,
 * a fetch by the 8 MiB fetch budget plus 64 KiB.
 */
const OVERSIZED_PRODUCE_BYTES = 1024 * 1024;
const OVERSIZED_FETCH_BYTES = 9 * 1024 * 1024;
/** How long a v2 read may wait at the log end: the drains poll every few tens of milliseconds anyway. */
const FETCH_WAIT_MS = 20;
const DYNAMO_FAULTS: Readonly<Record<DynamoFaultKind, FaultKind>> = {
  throttle: 'dynamo-throttle',
  'server-error': 'dynamo-server-error',
  'lose-answer': 'dynamo-lose-answer',
  delay: 'dynamo-delay',
};

/** A log that only counts: thousands of events make too many lines to keep. */
export const createCountingLog = (): Log & { readonly counts: Record<string, number> } => {
  const counts: Record<string, number> = { debug: 0, info: 0, warn: 0, error: 0 };
  const at = (level: string) => () => {
    counts[level] = (counts[level] ?? 0) + 1;
  };
  return { counts, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

/** Deals kinds in shuffled rounds, so every kind comes up once per round whatever the seed. */
const createDeck = <T>(kinds: readonly T[], random: () => number): (() => T) => {
  let hand: T[] = [];
  return () => {
    if (hand.length === 0) {
      hand = [...kinds];
      for (let i = hand.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [hand[i], hand[j]] = [hand[j] as T, hand[i] as T];
      }
    }
    return hand.pop() as T;
  };
};

const waitUntil = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await delay(2);
};

const addStats = (a: KafkaRestStats, b: KafkaRestStats): KafkaRestStats => ({
  requests: a.requests + b.requests,
  retries: a.retries + b.retries,
  ambiguousResends: a.ambiguousResends + b.ambiguousResends,
  possibleDuplicates: a.possibleDuplicates + b.possibleDuplicates,
  authRefreshes: a.authRefreshes + b.authRefreshes,
});

const answerClass = (status: number | null): string => {
  if (status === null) return 'none';
  if (status === 429) return '429';
  return `${Math.floor(status / 100)}xx`;
};

const tallyAnswers = (answered: readonly { readonly status: number | null }[]): Record<string, number> => {
  const tally: Record<string, number> = {};
  for (const { status } of answered) tally[answerClass(status)] = (tally[answerClass(status)] ?? 0) + 1;
  return tally;
};

interface Stack {
  readonly server: KafkaRestServer;
  readonly sink: HttpSink;
  /** The SQS queues the drains deliver to. */
  readonly sinkSqs: FakeSqs;
  readonly eventBridge: FakeEventBridge;
  /** The drains' DLQ, its own endpoint so that its faults never meet the SQS sinks. */
  readonly dlqSqs: FakeSqs;
  readonly dynamo: LocalDynamo;
  readonly dynamoProxy: DynamoFaultProxy;
  readonly proxyAnswers: Record<string, number>;
  readonly proxyReads: Record<string, number>;
}

const readApiOf = (path: string): string | undefined => {
  if (path.endsWith('/messages')) return 'v1 messages';
  if (path.startsWith('/consumers/') && path.endsWith('/records')) return 'v2 consumer records';
  if (path.endsWith('/records')) return 'partition records';
  return undefined;
};

const startStack = async (configuration: ChaosConfigurationName): Promise<Stack> => {
  const proxyAnswers: Record<string, number> = {};
  const proxyReads: Record<string, number> = {};
  const started: { close(): Promise<void> }[] = [];
  const start = async <T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> => {
    const running = await server;
    started.push(running);
    return running;
  };
  try {
    const server = await start(
      startKafkaRestServer({
        topics: TOPICS,
        apiKey: API_KEY,
        flavor: CHAOS_CONFIGURATIONS[configuration].flavor,
        v1WholeBatches: CHAOS_CONFIGURATIONS[configuration].v1WholeBatches,
        recordRequests: false,
        // `METHOD /path STATUS 1.2ms`, or `dropped` when no answer was written (fault or client gone).
        log: (line) => {
          const [method, target = '', outcome = ''] = line.split(' ');
          const key = outcome === 'dropped' ? 'none' : answerClass(Number(outcome));
          proxyAnswers[key] = (proxyAnswers[key] ?? 0) + 1;
          const read = method === 'GET' ? readApiOf(target.split('?')[0] ?? '') : undefined;
          if (read !== undefined) proxyReads[read] = (proxyReads[read] ?? 0) + 1;
        },
      }),
    );
    const sink = await start(startHttpSink());
    const sinkSqs = await start(startFakeSqs());
    const eventBridge = await start(startFakeEventBridge());
    const dlqSqs = await start(startFakeSqs());
    const dynamo = await start(startDynalite('chaos-checkpoints'));
    await ensureTable(dynamo.client, IDEMPOTENCY_TABLE);
    const dynamoProxy = await start(startDynamoFaultProxy(dynamo.endpoint));
    return { server, sink, sinkSqs, eventBridge, dlqSqs, dynamo, dynamoProxy, proxyAnswers, proxyReads };
  } catch (error) {
    for (const server of started.reverse()) await server.close();
    throw error;
  }
};

const toEnv = (
  stack: Stack,
  options: ChaosOptions,
  configuration: ChaosConfigurationName,
): Record<string, string> => {
  const dlq = { queueUrl: stack.dlqSqs.queueUrl('chaos-drain-dlq') };
  const http = (mode: 'single' | 'batch') => ({
    type: 'http',
    url: `${stack.sink.url}/${mode}`,
    allowHttp: true,
    mode,
    timeoutMs: options.sinkTimeoutMs,
    ...(mode === 'batch' ? { maxBatchRecords: 10 } : {}),
  });
  const sinks: Readonly<Record<string, object>> = {
    'hooks-out': http('single'),
    'hooks-idem-out': http('batch'),
    'queue-out': { type: 'sqs', queueUrl: stack.sinkSqs.queueUrl('chaos-out') },
    'fifo-out': { type: 'sqs', queueUrl: stack.sinkSqs.queueUrl('chaos-out.fifo') },
    'events-out': {
      type: 'eventbridge',
      busName: 'chaos-bus',
      source: 'chaos.bridge',
      detailType: 'Kafka record',
    },
  };
  const { dialect, flavor, drainOrdering } = CHAOS_CONFIGURATIONS[configuration];
  const { drainLimits } = CHAOS_CONFIGURATIONS[configuration] as ChaosConfiguration;
  return {
    KAFKA_REST_URL: stack.server.url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_API_KEY: API_KEY,
    KAFKA_REST_DIALECT: dialect,
    KAFKA_REST_FLAVOR: flavor,
    KAFKA_REST_FETCH_WAIT_MS: String(FETCH_WAIT_MS),
    KAFKA_REST_TIMEOUT_MS: String(options.requestTimeoutMs),
    KAFKA_REST_CONNECT_TIMEOUT_MS: '1000',
    KAFKA_REST_MAX_ATTEMPTS: '4',
    KAFKA_REST_BACKOFF_BASE_MS: '5',
    KAFKA_REST_BACKOFF_MAX_MS: '40',
    DEADLINE_MARGIN_MS: '100',
    WEBHOOK_ROUTES: JSON.stringify({
      [ROUTE]: {
        topic: 'hooks',
        key: { jsonPointer: '/id' },
        verify: { scheme: 'github', secret: GITHUB_SECRET },
      },
      [IDEMPOTENT_ROUTE]: {
        topic: 'hooks-idem',
        key: { jsonPointer: '/id' },
        verify: { scheme: 'github', secret: GITHUB_SECRET },
        idempotency: { from: 'header', header: DELIVERY_HEADER },
      },
    }),
    IDEMPOTENCY_TABLE,
    QUEUE_TOPIC: 'queue',
    QUEUE_KEY_ATTRIBUTE: 'key',
    QUEUE_CONCURRENCY: '2',
    EVENTS_TOPIC: 'events',
    DRAINS: JSON.stringify(
      PIPELINES.map((pipeline) => ({
        id: pipeline.drainId,
        topic: pipeline.topic,
        sink: sinks[pipeline.drainId],
        dlq,
        batchSize: 25,
        maxAttempts: 4,
        retryBaseMs: 2,
        retryMaxMs: 20,
        ...(drainOrdering === 'key' ? { ordering: 'key', maxInFlight: DRAIN_MAX_IN_FLIGHT } : {}),
        ...drainLimits,
      })),
    ),
    CHECKPOINT_TABLE: stack.dynamo.tableName,
    DRAIN_LEASE_MS: String(options.leaseMs),
  };
};

/**
 * Runs the whole scenario and reconciles. Starts (and always closes) its own servers. Never throws for a
 * guarantee that does not hold: that is in the report (`reconciliation.lost`, `.reordered`); throws only
 * when the stack cannot start.
 */
export const runChaos = async (options: ChaosOptions): Promise<ChaosReport> => {
  const startedAt = Date.now();
  const random = createPrng(options.seed);
  const log = options.log ?? createCountingLog();
  const progress = options.progress ?? (() => {});
  const configuration = options.configuration ?? 'v1';
  const { dialect, flavor } = CHAOS_CONFIGURATIONS[configuration];
  const stack = await startStack(configuration);
  const { server, sink, sinkSqs, eventBridge, dlqSqs, dynamo, dynamoProxy } = stack;
  const clients: KafkaRestClient[] = [];
  const sinks: Sink[] = [];
  const aws = createAwsClients({
    ...FAKE_AWS,
    sqsEndpoint: sinkSqs.endpoint,
    eventBridgeEndpoint: eventBridge.endpoint,
  });
  const dlqAws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: dlqSqs.endpoint });
  // The drain's and the webhook function's DynamoDB clients as they are built in AWS, aimed at the proxy.
  const checkpointClient = new DynamoDBClient({
    ...FAKE_AWS,
    credentials: TEST_CREDENTIALS,
    endpoint: dynamoProxy.endpoint,
  });
  const idempotency = createLazyIdempotencyStore({
    tableName: IDEMPOTENCY_TABLE,
    inProgressTtlMs: DEFAULT_IN_PROGRESS_TTL_MS,
    now: Date.now,
    region: FAKE_AWS.region,
    endpoint: dynamoProxy.endpoint,
    credentials: TEST_CREDENTIALS,
  });
  try {
    const config = loadConfig(toEnv(stack, options, configuration));
    // One batch as large as a compressed batch of a real log, before anything else.
    server.append(
      'events',
      0,
      Array.from({ length: options.bulkBatchRecords }, (_, n) => ({
        value: Buffer.from(JSON.stringify({ bulk: n })),
      })),
    );

    // ------------------------------------------------------------------------------------------ faults
    const faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
    const deckOf = (prefix: string) =>
      createDeck(
        FAULT_KINDS.filter((kind) => kind.startsWith(prefix)),
        random,
      );
    const proxyDeck = deckOf('proxy-');
    const fetchDeck = deckOf('fetch-');
    const sinkDeck = deckOf('sink-');
    const awsDeck = createDeck(
      FAULT_KINDS.filter((kind) => kind.startsWith('aws-') && kind !== 'aws-trickle'),
      random,
    );
    dynamoProxy.setChaos({
      rate: options.dynamoFaultRate,
      kinds: Object.keys(DYNAMO_FAULTS) as DynamoFaultKind[],
      seed: options.seed,
      delayMs: options.spikeMs,
    });
    let injecting = true;
    const burst = () => 2 + Math.floor(random() * 4);
    // Chunked or with its length declared up front: a client must stop reading at its cap either way.
    const oversized = (bytes: number, match: typeof PRODUCE | typeof FETCH): Fault => ({
      kind: 'oversized-answer',
      bytes,
      declareLength: random() < 0.5,
      match,
    });
    const injectProxy = (fault: Fault, kind: FaultKind, count = 1) => {
      server.inject(fault);
      faults[kind] += count;
    };
    const injectSink = (kind: FaultKind) => {
      faults[kind] += 1;
      switch (kind) {
        case 'sink-5xx':
          return sink.inject({ kind: 'status', status: 503, headers: { 'retry-after': '0' } });
        case 'sink-429':
          return sink.inject({
            kind: 'status',
            status: 429,
            headers: { 'retry-after': String(options.retryAfterSeconds) },
          });
        case 'sink-rejects-poison':
          sink.inject({ kind: 'status', status: 400, body: 'rejected by the chaos sink' });
          // Half of the poison records also meet a failing DLQ first (the first one always, so that a
          // short run has one too): the partition must wait, not skip.
          if (faults['dlq-5xx'] === 0 || random() < 0.5) {
            faults['dlq-5xx'] += 1;
            dlqSqs.failCalls({ kind: 'error', status: 500, type: 'InternalError', message: 'chaos' });
          }
          return;
        case 'sink-drop':
          return sink.inject({ kind: 'drop' });
        case 'sink-trickle':
          return sink.inject({ kind: 'trickle', intervalMs: TRICKLE_INTERVAL_MS });
        default:
          return sink.inject({ kind: 'delay', ms: options.spikeMs });
      }
    };
    // An entry fault hits the next entry its target sees, whichever batch it is in: often an early entry of
    // a batch whose later entries are accepted, the case that reorders a sink which resends the rest.
    const entryFaults = {
      'sqs-standard': [] as boolean[],
      'sqs-fifo': [] as boolean[],
      eventbridge: [] as boolean[],
    };
    sinkSqs.failEntries((entry) => {
      const permanent = entryFaults[entry.MessageGroupId === undefined ? 'sqs-standard' : 'sqs-fifo'].shift();
      if (permanent === undefined) return undefined;
      return permanent
        ? { code: 'InvalidParameterValue', senderFault: true, message: 'rejected by the chaos queue' }
        : { code: 'InternalError', senderFault: false, message: 'chaos' };
    });
    eventBridge.failEntries(() => {
      const permanent = entryFaults.eventbridge.shift();
      if (permanent === undefined) return undefined;
      return permanent
        ? { code: 'InvalidArgument', message: 'rejected by the chaos bus' }
        : { code: 'ThrottlingException', message: 'chaos' };
    });
    // An AWS sink call is bounded by the drain's deadline alone, so a trickling answer holds its partition
    // for the rest of the invocation: once per service, at the first call, not to stall every scenario.
    for (const target of [sinkSqs, eventBridge]) {
      target.failCalls({ kind: 'trickle', intervalMs: TRICKLE_INTERVAL_MS });
      faults['aws-trickle'] += 1;
    }
    const injectAws = (kind: FaultKind) => {
      faults[kind] += 1;
      const entryTarget =
        (['sqs-standard', 'sqs-fifo', 'eventbridge'] as const)[Math.floor(random() * 3)] ?? 'sqs-fifo';
      const toSqs = entryTarget !== 'eventbridge';
      const target = toSqs ? sinkSqs : eventBridge;
      switch (kind) {
        case 'aws-5xx':
          return target.failCalls({
            kind: 'error',
            status: 500,
            type: toSqs ? 'InternalError' : 'InternalException',
          });
        case 'aws-throttle':
          return target.failCalls({
            kind: 'error',
            status: 400,
            type: 'ThrottlingException',
            message: 'Rate exceeded',
          });
        case 'aws-entry-failure':
        case 'aws-rejects-poison':
          return void entryFaults[entryTarget].push(kind === 'aws-rejects-poison');
        case 'aws-drop':
          return target.failCalls({ kind: 'drop' });
        default:
          return target.failCalls({ kind: 'delay', ms: options.spikeMs });
      }
    };
    /** Called before every ingest attempt, so faults arrive spread over the run and meet live traffic. */
    const maybeInjectFaults = () => {
      if (!injecting) return;
      if (random() < options.proxyFaultRate) {
        const kind = proxyDeck();
        switch (kind) {
          case 'proxy-5xx':
            injectProxy(
              {
                kind: 'status',
                status: [500, 502, 503, 504][Math.floor(random() * 4)] ?? 503,
                match: PRODUCE,
              },
              kind,
            );
            break;
          case 'proxy-429-burst': {
            const times = burst();
            injectProxy(
              { kind: 'throttle', retryAfterSeconds: options.retryAfterSeconds, times, match: PRODUCE },
              kind,
              times,
            );
            break;
          }
          case 'proxy-record-error':
            // Any of the first records of a request: one in the middle is what can reorder a FIFO group.
            injectProxy(
              {
                kind: 'record-errors',
                errors: { [Math.floor(random() * 4)]: { code: 50003 } },
                match: PRODUCE,
              },
              kind,
            );
            break;
          case 'proxy-drop':
            injectProxy({ kind: 'drop', match: PRODUCE }, kind);
            break;
          case 'proxy-drop-after-write':
            injectProxy({ kind: 'after-write', action: 'drop', match: PRODUCE }, kind);
            break;
          case 'proxy-latency-spike':
            injectProxy({ kind: 'delay', ms: options.spikeMs, match: PRODUCE }, kind);
            break;
          case 'proxy-trickle':
            injectProxy({ kind: 'trickle', intervalMs: TRICKLE_INTERVAL_MS, match: PRODUCE }, kind);
            break;
          case 'proxy-oversized-answer':
            injectProxy(oversized(OVERSIZED_PRODUCE_BYTES, PRODUCE), kind);
            break;
          default:
            injectProxy({ kind: 'after-write', action: 'delay', ms: options.spikeMs, match: PRODUCE }, kind);
        }
      }
      if (random() < options.fetchFaultRate) {
        const kind = fetchDeck();
        if (kind === 'fetch-5xx')
          injectProxy({ kind: 'status', status: random() < 0.5 ? 500 : 503, match: FETCH }, kind);
        else if (kind === 'fetch-429-burst') {
          const times = burst();
          injectProxy(
            { kind: 'throttle', retryAfterSeconds: options.retryAfterSeconds, times, match: FETCH },
            kind,
            times,
          );
        } else if (kind === 'fetch-drop') injectProxy({ kind: 'drop', match: FETCH }, kind);
        else if (kind === 'fetch-trickle')
          injectProxy({ kind: 'trickle', intervalMs: TRICKLE_INTERVAL_MS, match: FETCH }, kind);
        else if (kind === 'fetch-oversized-answer')
          injectProxy(oversized(OVERSIZED_FETCH_BYTES, FETCH), kind);
        else injectProxy({ kind: 'delay', ms: options.spikeMs, match: FETCH }, kind);
      }
      if (random() < options.sinkFaultRate) injectSink(sinkDeck());
      if (random() < options.sinkFaultRate) injectAws(awsDeck());
    };

    // --------------------------------------------------------------------------------------- ingestion
    const ingestClient = (): KafkaRestClient => {
      const client = createKafkaRestProducerFromConfig(config, { log });
      clients.push(client);
      return client;
    };
    const webhookDeps: WebhookHandlerDeps = {
      kafka: ingestClient(),
      routes: config.webhook.routes,
      // The route's secret is a literal: reading Secrets Manager here would be a bug.
      secrets: {
        get: async () => {
          throw new AppError(ERROR_CODES.SECRET, 'chaos routes use literal secrets');
        },
      },
      idempotency,
      log,
      deadlineMarginMs: config.deadlineMarginMs,
      now: Date.now,
    };
    const queueDeps = (queue: QueueHandlerDeps['queue']): QueueHandlerDeps => ({
      kafka: ingestClient(),
      log,
      now: Date.now,
      queue,
      limits: toProduceLimits(config.kafka),
      deadlineMarginMs: config.deadlineMarginMs,
    });
    const eventsDeps: EventsHandlerDeps = {
      kafka: ingestClient(),
      log,
      topic: 'events',
      key: config.events.key,
      limits: toProduceLimits(config.kafka),
      deadlineMarginMs: config.deadlineMarginMs,
      now: Date.now,
    };
    const webhookHandler = makeWebhookHandler(() => webhookDeps);
    const standardQueueDeps = queueDeps(config.queue);
    // A FIFO queue's record key is its MessageGroupId (no key attribute), so a group is one partition.
    const fifoQueueDeps = queueDeps({ ...config.queue, topic: 'queue-fifo', keyAttribute: undefined });
    const eventsHandler = makeEventsHandler(() => eventsDeps);

    const inputs: IngestInput[] = [];
    const total = eventsOf(options);
    let acknowledged = 0;
    const settle = (input: IngestInput) => {
      inputs.push(input);
      if (input.acknowledged) acknowledged += 1;
    };
    // Ingestion holds at each scenario's point until the conductor has set the scenario up, so the
    // scenarios happen while records are still arriving, however fast the rest of the run is.
    const holds = SCENARIO_POINTS.map((fraction) => Math.floor(fraction * total));
    let holdIndex = 0;
    let started = 0;
    const admit = async (): Promise<void> => {
      while (holdIndex < holds.length && started >= (holds[holdIndex] as number)) await delay(2);
      started += 1;
    };

    /** One delivery of a signed webhook; a sender retries 5xx and 409 (another delivery in progress). */
    const deliverWebhook = async (route: string, body: string, extraHeaders: Record<string, string> = {}) => {
      maybeInjectFaults();
      const headers = { 'x-hub-signature-256': signGithub(GITHUB_SECRET, body), ...extraHeaders };
      const response = await webhookHandler(
        httpApiEvent(`/hooks/${route}`, body, { headers }),
        lambdaContext(INVOCATION_MS),
      );
      options.onWebhookAnswer?.('POST', response);
      const status = response.statusCode ?? 500;
      const ack =
        status === 202
          ? (JSON.parse(response.body ?? '{}') as { partition: number; offset: number })
          : undefined;
      const replayed = response.headers?.[REPLAYED_HEADER] === 'true';
      return {
        status,
        replayed,
        ...(ack === undefined ? {} : { ack: { partition: ack.partition, offset: ack.offset } }),
      };
    };
    const idempotentAnswers: Record<string, number> = {};
    const countAnswer = (answer: ResendAnswer) => {
      const key = `${answer.status}${answer.replayed ? ' replayed' : ''}`;
      idempotentAnswers[key] = (idempotentAnswers[key] ?? 0) + 1;
    };
    const sendUntilAccepted = async (route: string, body: string, headers?: Record<string, string>) => {
      let attempts = 0;
      while (attempts < SENDER_ATTEMPTS) {
        attempts += 1;
        const answer = await deliverWebhook(route, body, headers);
        if (route === IDEMPOTENT_ROUTE) countAnswer(answer);
        if (answer.ack !== undefined) return { attempts, ack: answer.ack };
        // A sender gives up on a 4xx (its own mistake) and retries a 5xx, as the 503's Retry-After asks.
        if (answer.status < 500 && answer.status !== 409) break;
      }
      return { attempts, ack: undefined };
    };

    const sendWebhook = async (n: number): Promise<void> => {
      await admit();
      const id = `w-${n}`;
      const { attempts, ack } = await sendUntilAccepted(ROUTE, JSON.stringify({ id, source: 'webhook', n }));
      settle({
        id,
        source: 'webhook',
        topic: 'hooks',
        acknowledged: ack !== undefined,
        attempts,
        ...(ack === undefined ? {} : { ack }),
      });
    };

    const copiesInKafka = (topic: string, id: string): number => {
      let copies = 0;
      for (let partition = 0; partition < (TOPICS[topic] ?? 0); partition++) {
        for (const record of server.records(topic, partition))
          if (idOfValue(record.value) === id) copies += 1;
      }
      return copies;
    };
    const scenarioCounts = { resentAfterAck: 0, sentTwiceAtOnce: 0 };
    const resends = new Set<Promise<void>>();
    const sendIdempotentWebhook = async (n: number): Promise<void> => {
      await admit();
      const id = `wi-${n}`;
      const body = JSON.stringify({ id, source: 'webhook-idempotent', n });
      const headers = { [DELIVERY_HEADER]: id };
      // A sender that timed out and retried while its first delivery was still running.
      const twice = random() < options.resendRate;
      if (twice) scenarioCounts.sentTwiceAtOnce += 1;
      const results = await Promise.all(
        Array.from({ length: twice ? 2 : 1 }, () => sendUntilAccepted(IDEMPOTENT_ROUTE, body, headers)),
      );
      const attempts = results.reduce((sum, result) => sum + result.attempts, 0);
      const ack = results.find((result) => result.ack !== undefined)?.ack;
      const base = { id, source: 'webhook-idempotent', topic: 'hooks-idem', attempts } as const;
      if (ack === undefined) return settle({ ...base, acknowledged: false });
      if (random() >= options.resendRate) return settle({ ...base, acknowledged: true, ack });
      // Sent again after its 2xx, once every earlier attempt has landed (a late write lands by spikeMs):
      // from then on Kafka must gain no copy of it.
      scenarioCounts.resentAfterAck += 1;
      const resent = { copiesBefore: 0, answers: [] as ResendAnswer[] };
      settle({ ...base, acknowledged: true, ack, resent });
      const later = (async () => {
        await delay(options.spikeMs + 50);
        resent.copiesBefore = copiesInKafka('hooks-idem', id);
        for (let copy = 0; copy < 1 + Math.floor(random() * 2); copy++) {
          const answer = await deliverWebhook(IDEMPOTENT_ROUTE, body, headers);
          countAnswer(answer);
          resent.answers.push(answer);
        }
      })();
      resends.add(later);
      void later.finally(() => resends.delete(later));
    };

    const sendEvent = async (n: number): Promise<void> => {
      await admit();
      const event = eventBridgeEvent({ n, source: 'events' }, { id: `e-${n}` });
      let attempts = 0;
      while (attempts < EVENT_ATTEMPTS) {
        attempts += 1;
        maybeInjectFaults();
        try {
          const ack = await eventsHandler(event, lambdaContext(INVOCATION_MS));
          settle({ id: event.id, source: 'events', topic: 'events', acknowledged: true, ack, attempts });
          return;
        } catch {
          // Lambda's asynchronous invocation retries a thrown event twice, then hands it to the DLQ.
        }
      }
      settle({ id: event.id, source: 'events', topic: 'events', acknowledged: false, attempts });
    };

    const standardQueue = createStandardQueue(
      Array.from({ length: options.queueMessages }, (_, n) => ({ id: `q-${n}`, receives: 0 })),
      MAX_RECEIVES,
    );
    const fifoQueue = createFifoQueue(
      Array.from({ length: options.fifoMessages }, (_, n) => ({
        id: `f-${n}`,
        group: { id: `g-${n % options.fifoGroups}`, seq: Math.floor(n / options.fifoGroups) },
        receives: 0,
      })),
      MAX_RECEIVES,
    );
    const toSqsRecord = (source: Source, message: QueuedMessage): SQSRecord =>
      sqsRecord(JSON.stringify({ id: message.id, source }), {
        messageId: message.id,
        ...(message.group === undefined
          ? { attributes: { key: `k-${Number(message.id.slice(2)) % 40}` } }
          : { groupId: message.group.id }),
        receiveCount: message.receives,
      });
    /** One Lambda poller of a queue: batches of up to 10 until every message left the queue. */
    const pollQueue = async (
      queue: SimulatedQueue,
      source: 'queue' | 'queue-fifo',
      deps: QueueHandlerDeps,
    ) => {
      const handler = makeQueueHandler(() => deps);
      const topic = source === 'queue' ? 'queue' : 'queue-fifo';
      while (queue.outstanding() > 0) {
        const batch = queue.take(10);
        if (batch.length === 0) {
          await delay(1);
          continue;
        }
        for (const message of batch) if (message.receives === 1) await admit();
        maybeInjectFaults();
        const response = await handler(
          sqsEvent(batch.map((message) => toSqsRecord(source, message))),
          lambdaContext(INVOCATION_MS),
        );
        const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
        for (const { message, acknowledged: acked } of queue.settle(batch, failed)) {
          settle({
            id: message.id,
            source,
            topic,
            acknowledged: acked,
            attempts: message.receives,
            ...(message.group === undefined ? {} : { group: message.group }),
          });
        }
      }
    };

    // ------------------------------------------------------------------------------------------- drain
    let skewMs = 0;
    /** The drain side's clock: real time plus jumps, so a lease can expire without waiting for it. */
    const now = () => Date.now() + skewMs;
    const drainKafka = createKafkaRest({
      baseUrl: server.url,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(API_KEY)),
      dialect,
      flavor,
      fetchWaitMs: FETCH_WAIT_MS,
      requestTimeoutMs: options.requestTimeoutMs,
      connectTimeoutMs: 1_000,
      maxAttempts: 4,
      backoffBaseMs: 5,
      backoffMaxMs: 40,
      now,
      random,
      log,
    });
    clients.push(drainKafka);
    const store = createCheckpointStore({
      client: checkpointClient,
      tableName: dynamo.tableName,
      leaseMs: options.leaseMs,
      now,
    });
    const sinkDeps = { aws, log, now };
    const sinkOf = new Map<string, Sink>();
    const dlqOf = new Map<string, DeadLetterQueue>();
    for (const drain of config.drain.drains) {
      const created = createSink(drain.sink, sinkDeps);
      sinks.push(created);
      sinkOf.set(drain.id, created);
      if (drain.dlq !== undefined)
        dlqOf.set(drain.id, createDeadLetterQueue(drain.dlq, { ...sinkDeps, aws: dlqAws }));
    }
    const reports: DrainRunReport[] = [];
    let invocations = 0;
    const drainDeps = (overrides: Partial<DrainHandlerDeps> = {}): DrainHandlerDeps => ({
      kafka: drainKafka,
      checkpoints: store,
      drains: config.drain.drains,
      leaseMs: options.leaseMs,
      maxConcurrentPartitions: 8,
      sinkFor: (drain) => sinkOf.get(drain.id) as Sink,
      deadLettersFor: (drain) => dlqOf.get(drain.id),
      deadlineMarginMs: 200,
      newOwnerId: (requestId) => `${requestId ?? 'run'}/owner`,
      metrics: { publish: (report) => reports.push(report) },
      log,
      now,
      sleep: async (ms) => {
        await delay(ms);
      },
      random,
      ...overrides,
    });
    const invokeDrain = async (
      deps: DrainHandlerDeps,
      event: unknown = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
    ): Promise<DrainRunReport | undefined> => {
      invocations += 1;
      const requestId = `drain-${invocations}`;
      try {
        await makeDrainHandler(() => deps)(event, {
          getRemainingTimeInMillis: () => DRAIN_BUDGET_MS,
          awsRequestId: requestId,
        });
      } catch {
        // A failed partition makes the invocation throw (for the schedule's alarms); the report says which.
      }
      return reports.find((report) => report.owner.startsWith(`${requestId}/`));
    };

    /** A run whose process dies after the sink got records and before their checkpoint was written. */
    let killedAfterDelivery = 0;
    const killedDeps = (): DrainHandlerDeps => {
      let dead = false;
      const killed = () => new AppError(ERROR_CODES.UPSTREAM_NETWORK, 'chaos: the drain process was killed');
      const startOffsets = new Map<string, number>();
      const pk = (key: { drainId: string; partition: number }) => `${key.drainId}#${key.partition}`;
      const checkpoints: CheckpointStore = {
        ...store,
        acquire: async (key, owner, call) => {
          if (dead) throw killed();
          const result = await store.acquire(key, owner, call);
          if (result.acquired) startOffsets.set(pk(key), result.checkpoint.nextOffset ?? 0);
          return result;
        },
        renew: async (lease, call) => {
          if (dead) throw killed();
          return store.renew(lease, call);
        },
        // Dies at the first commit that would move a checkpoint: the sink has the records, the table not.
        commit: async (lease, changes, call) => {
          if (dead) throw killed();
          if (changes.nextOffset <= (startOffsets.get(pk(lease.key)) ?? 0))
            return store.commit(lease, changes, call);
          killedAfterDelivery += 1;
          dead = true;
          throw killed();
        },
        // A dead process releases nothing: its leases stay held until they expire.
        release: async () => true,
        releaseOwned: async (key, owner, call) => (dead ? false : store.releaseOwned(key, owner, call)),
      };
      const notSent: DeliveryOutcome = { ok: false, permanent: false, attempted: false, error: killed() };
      return drainDeps({
        checkpoints,
        sinkFor: (drain) => {
          const real = sinkOf.get(drain.id) as Sink;
          return {
            maxBatchRecords: real.maxBatchRecords,
            deliver: async (records, call) =>
              dead ? records.map(() => notSent) : real.deliver(records, call),
          };
        },
        deadLettersFor: (drain) => {
          const real = dlqOf.get(drain.id);
          return real === undefined
            ? undefined
            : {
                send: async (letter, call) => {
                  if (dead) throw killed();
                  await real.send(letter, call);
                },
              };
        },
        // Once dead every deadline has passed, so the run's other partitions stop at once.
        now: () => (dead ? Number.MAX_SAFE_INTEGER : now()),
      });
    };

    // Scheduled runs overlap on purpose: a slow run is still going when the next one starts.
    const inFlight = new Set<Promise<unknown>>();
    const track = <T>(promise: Promise<T>): Promise<T> => {
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
      return promise;
    };
    /** The schedule's runs; with fan-out they coordinate, each other group queued like an async invoke. */
    let fanOutGroups = 0;
    const scheduledDeps = (): DrainHandlerDeps =>
      CHAOS_CONFIGURATIONS[configuration].drainFanOut
        ? drainDeps({
            fanOut: {
              partitionsPerInvocation: 1,
              invokeGroup: async (event) => {
                fanOutGroups += 1;
                void track(invokeDrain(drainDeps(), event));
              },
              metrics: { publish: () => {} },
            },
          })
        : drainDeps();
    let paused = false;
    let ingestDone = false;
    const pauseDrains = async () => {
      paused = true;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    };
    const scheduler = async () => {
      while (!ingestDone) {
        if (!paused && inFlight.size < 3) track(invokeDrain(scheduledDeps()));
        await delay(options.drainIntervalMs);
      }
    };

    const scenarios = { killedAfterDelivery: 0, racingRuns: 0, leaseExpiredMidRun: 0 };
    /**
     * At each scenario point: waits for ingestion to reach it (and hold), pauses the schedule, lets
     * `records` new records arrive (so the scenario's run has work), then runs the scenario.
     */
    const atPoint = async (index: number, records: number, scenario: () => Promise<void>) => {
      await waitUntil(() => started >= (holds[index] as number) || ingestDone);
      await pauseDrains();
      const before = acknowledged;
      holdIndex = index + 1;
      await waitUntil(() => acknowledged >= before + records || ingestDone);
      await scenario();
      paused = false;
    };
    const conductor = async () => {
      await atPoint(0, 1, async () => {
        progress('drain killed between delivery and commit');
        // Injected fetch faults can end a run before it delivers anything to die after: try again until one does.
        for (let attempt = 0; attempt < MAX_STALL_ATTEMPTS && killedAfterDelivery === 0; attempt++) {
          await invokeDrain(killedDeps());
          // The dead run's leases expire; the next run takes them over and redelivers what was not committed.
          skewMs += options.leaseMs + 1;
        }
      });
      await atPoint(1, 5, async () => {
        progress('two drains racing');
        scenarios.racingRuns += 2;
        await Promise.all([track(invokeDrain(drainDeps())), track(invokeDrain(drainDeps()))]);
      });
      await atPoint(2, 10, async () => {
        progress('lease expiring mid-run');
        // A delivery of the run stalls past the sink timeout; the clock jumps while it waits. Injected fetch
        // faults can end a run before it reaches the sink at all, so try again (a few times) until one stalls.
        for (let attempt = 0; attempt < MAX_STALL_ATTEMPTS && scenarios.leaseExpiredMidRun === 0; attempt++) {
          injectSink('sink-latency-spike');
          const sinkRequestsBefore = sink.received.length;
          let stalledDone = false;
          const stalled = track(invokeDrain(drainDeps())).finally(() => {
            stalledDone = true;
          });
          // A request without an answer yet: the run is in the middle of a delivery.
          const waiting = () =>
            sink.received.slice(sinkRequestsBefore).some((request) => request.status === null);
          await waitUntil(() => waiting() || stalledDone);
          if (!stalledDone) scenarios.leaseExpiredMidRun += 1;
          skewMs += options.leaseMs + 1;
          scenarios.racingRuns += 2;
          await Promise.all([stalled, track(invokeDrain(drainDeps())), track(invokeDrain(drainDeps()))]);
        }
      });
    };

    progress(`ingesting ${total} events (seed ${options.seed}, configuration ${configuration})`);
    const pollers = (queue: SimulatedQueue, source: 'queue' | 'queue-fifo', deps: QueueHandlerDeps) =>
      Array.from({ length: options.concurrency.queue }, () => pollQueue(queue, source, deps));
    const ingestion = Promise.all([
      runPool(options.webhooks, options.concurrency.webhook, sendWebhook),
      runPool(options.idempotentWebhooks, options.concurrency.webhook, sendIdempotentWebhook),
      runPool(options.events, options.concurrency.events, sendEvent),
      ...pollers(standardQueue, 'queue', standardQueueDeps),
      ...pollers(fifoQueue, 'queue-fifo', fifoQueueDeps),
    ])
      .then(async () => {
        while (resends.size > 0) await Promise.all([...resends]);
      })
      .finally(() => {
        ingestDone = true;
      });
    await Promise.all([ingestion, scheduler(), conductor()]);
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    scenarios.killedAfterDelivery = killedAfterDelivery;

    // -------------------------------------------------------------------------------------- final drain
    progress('final drain: faults off, leases expired, until every partition is caught up');
    injecting = false;
    server.clearFaults();
    sink.clearFaults();
    for (const pending of Object.values(entryFaults)) pending.length = 0;
    const dynamoStats = dynamoProxy.stats();
    dynamoProxy.clear();
    for (const [kind, name] of Object.entries(DYNAMO_FAULTS))
      faults[name] = dynamoStats.faults[kind as DynamoFaultKind];
    // A produce the client gave up on during a latency spike is still held by the proxy and is written when
    // the spike ends (a real proxy does the same): let those late duplicates land before the final drain.
    await delay(options.spikeMs + 50);
    skewMs += options.leaseMs + 1;
    for (let round = 0; round < MAX_FINAL_ROUNDS; round++) {
      const since = reports.length;
      const report = await invokeDrain(scheduledDeps());
      // A fanned-out round ends with its last group's invocation.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      const ofRound = reports.slice(since);
      const partitions = ofRound.flatMap((each) => each.drains.flatMap((drain) => drain.partitions));
      const everyGroupRan = (report as CoordinatorReport | undefined)?.groups?.every(
        (group) => group.outcome === 'kept' || group.outcome === 'dispatched',
      );
      if (
        report !== undefined &&
        everyGroupRan !== false &&
        ofRound.every((each) => !each.failed) &&
        partitions.every((p) => p.outcome === 'caught-up')
      )
        break;
      // A straggler of an earlier scenario (a late sink answer, a run that lost its lease) may still hold or
      // renew a lease: let every lease lapse again, as the schedule's next tick would find it.
      if (partitions.some((p) => p.outcome === 'busy')) skewMs += options.leaseMs + 1;
    }
    // Late answers of delayed sink requests land before the sink's record of them is read.
    await delay(options.spikeMs + 50);

    // ------------------------------------------------------------------------------------- observation
    const kafka = Object.entries(TOPICS).flatMap(([topic, partitions]) =>
      Array.from({ length: partitions }, (_, partition) => ({
        topic,
        partition,
        records: server.records(topic, partition).map(({ offset, key, value }) => ({ offset, key, value })),
      })),
    );
    const fifoOut = sinkSqs.queueUrl('chaos-out.fifo');
    const sinkObserved = [
      ...fromHttpRequests(sink.received),
      ...fromSqsMessages(
        sinkSqs.messages.filter((message) => message.queueUrl !== fifoOut),
        false,
      ),
      ...fromSqsMessages(
        sinkSqs.messages.filter((message) => message.queueUrl === fifoOut),
        true,
      ),
      ...fromPutEvents(eventBridge.events),
    ];
    const deadLetters = dlqSqs.messages.map((message) => {
      const letter = JSON.parse(message.MessageBody) as { topic: string; partition: number; offset: number };
      return { topic: letter.topic, partition: letter.partition, offset: letter.offset };
    });
    const drainIds = new Set(config.drain.drains.map((drain) => drain.id));
    // Read past the fault proxy: the observation must not depend on what it is observing.
    const table = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: options.leaseMs,
      now,
    });
    const checkpoints: CheckpointObservation[] = (await table.list())
      .filter((checkpoint) => drainIds.has(checkpoint.drainId))
      .map(({ topic, partition, nextOffset }) => ({ topic, partition, nextOffset }));

    const partitionOutcomes: Record<string, number> = {};
    for (const report of reports) {
      for (const partition of report.drains.flatMap((drain) => drain.partitions)) {
        partitionOutcomes[partition.outcome] = (partitionOutcomes[partition.outcome] ?? 0) + 1;
      }
    }
    return {
      configuration,
      seed: options.seed,
      durationMs: Date.now() - startedAt,
      eventsIn: total,
      faultsInjected: faults,
      scenarios: { ...scenarios, ...scenarioCounts, fanOutGroups },
      drainInvocations: invocations,
      partitionOutcomes,
      proxyAnswers: { ...stack.proxyAnswers },
      proxyReads: { ...stack.proxyReads },
      sinkAnswers: tallyAnswers(sink.received),
      awsSinkAnswers: tallyAnswers([...sinkSqs.calls, ...eventBridge.calls]),
      idempotentAnswers,
      clientStats: clients
        .map((client) => client.stats())
        .reduce(addStats, {
          requests: 0,
          retries: 0,
          ambiguousResends: 0,
          possibleDuplicates: 0,
          authRefreshes: 0,
        }),
      reconciliation: reconcile({
        inputs,
        kafka,
        sink: sinkObserved,
        deadLetters,
        checkpoints,
        drainOrdering: CHAOS_CONFIGURATIONS[configuration].drainOrdering,
      }),
    };
  } finally {
    for (const created of sinks) await created.close?.();
    for (const client of clients) await client.close();
    aws.destroy();
    dlqAws.destroy();
    checkpointClient.destroy();
    idempotency.destroy();
    await Promise.all(
      [server, sink, sinkSqs, eventBridge, dlqSqs, dynamoProxy, dynamo].map((running) => running.close()),
    );
  }
};

/** Runs `work(0 … count-1)` with at most `concurrency` in flight. */
const runPool = async (
  count: number,
  concurrency: number,
  work: (n: number) => Promise<void>,
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next;
      next += 1;
      await work(n);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
};
