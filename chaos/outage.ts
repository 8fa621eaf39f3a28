import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startLocalS3 } from '../dev/aws-local/s3-server.js';
import { createSqsEventSource } from '../dev/aws-local/sqs-event-source.js';
import { startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { startDynalite, TEST_CREDENTIALS } from '../dev/dynalite.js';
import { ensureTable, SPOOL_KEYS_TABLE_KEYS } from '../dev/dynamodb-table.js';
import { createPrng } from '../dev/kafka-rest/faults.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { spoolQueueDefinitions } from '../dev/spool-queues.js';
import { startTcpFront } from '../dev/tcp-front.js';
import { makeHandler as makeSpoolHandler } from '../handlers/spool.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { loadSpoolConfig } from '../lib/wiring/settings/spool.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';
import { createBackfillDeps } from '../lib/wiring/spool-backfill.js';
import { createWebhookDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from '../test/fixtures/api-gateway.js';
import {
  type OutagePhase,
  type OutageReconciliation,
  reconcileOutage,
  type SentWebhook,
  type WebhookAnswer,
} from './outage-reconcile.js';
import { createCountingLog } from './scenarios.js';

/**
 * The outage scenario of issue #17: webhooks keep arriving on spooling routes while the Kafka REST proxy
 * is gone, then the spool drains, then every request is reconciled against Kafka.
 *
 * ```
 *  before │ refused (nothing listens) │ 503s │ timeouts (answers later than the budget) │ after
 *  ───────┼───────── outageMs/3 ──────┼──────┼──────────────────────────────────────────┼──────▶
 *  webhooks arrive evenly all along, over `instances` function instances (each its own breaker);
 *  the spool's event source polls all along, as Lambda's does; its failed batches come back after the
 *  visibility timeout
 * ```
 *
 * Every time setting is a fraction of `outageMs`, so a shorter outage is the same scenario faster. At a
 * minute they are the stack's defaults: produce budget outageMs/20 (3 s), breaker open outageMs/12 (5 s),
 * window outageMs/6 (10 s, at least 1 s, the setting's floor; its 5 attempts and 50 % are the defaults at
 * any size), the client's request timeout outageMs/6 (10 s). The timeouts are the server holding each request outageMs/4 before handling it, so a produce
 * given up may still be written: the duplicates the scenario counts. The spool queue's visibility is
 * outageMs/4 (at least 2 s): with the stack's 10 receives, a message failed all through the outage stays
 * out of the DLQ, as the stack's 360 s do for outages under an hour.
 */
export interface OutageOptions {
  readonly dialect: 'v1' | 'v2';
  readonly seed: number;
  readonly webhooks: number;
  /** Requests sent one after the other per key. */
  readonly requestsPerKey: number;
  readonly instances: number;
  /** Event source mappings polling the spool (Lambda runs a FIFO queue's groups side by side). */
  readonly pollers: number;
  readonly outageMs: number;
  /**
   * The spool queue's receives before its DLQ (the stack's `spoolMaxReceiveCount`, 1,000). An outage longer
   * than this many visibility timeouts dead-letters what the spool function kept failing.
   */
  readonly spoolMaxReceiveCount: number;
  /** Healthy proxy before the outage, and webhooks still arriving after it. */
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly progress?: (line: string) => void;
}

export const OUTAGE_FULL: Omit<OutageOptions, 'dialect'> = {
  seed: 2026,
  webhooks: 5_000,
  requestsPerKey: 5,
  instances: 4,
  pollers: 4,
  outageMs: 60_000,
  spoolMaxReceiveCount: 1_000,
  beforeMs: 5_000,
  afterMs: 10_000,
};

export const OUTAGE_SUITE: Omit<OutageOptions, 'dialect'> = {
  seed: 6,
  webhooks: 300,
  requestsPerKey: 5,
  instances: 3,
  pollers: 2,
  outageMs: 4_000,
  spoolMaxReceiveCount: 1_000,
  beforeMs: 600,
  afterMs: 1_400,
};

export interface OutageReport {
  readonly dialect: 'v1' | 'v2';
  readonly options: Omit<OutageOptions, 'progress'>;
  readonly reconciliation: OutageReconciliation;
  /** Bodies over one SQS message that were spooled (through the bucket). */
  readonly spooledLarge: number;
  /** From the recovery until every request was answered and the spool queue was empty. */
  readonly drainMs: number;
  /** Messages left in the spool queue (the drain's bound passed) and in its DLQ. */
  readonly undrained: number;
  readonly deadLettered: number;
  readonly markersLeft: number;
  readonly objectsLeft: number;
  /**
   * The event loop's delay over the run (p99, max): every server and function shares this one process, so
   * a stall of it is in every answer's latency, and the latency figures read with it.
   */
  readonly loopDelayMs: { readonly p99: number; readonly max: number };
  readonly durationMs: number;
}

const ROUTES = {
  orders: {
    topic: 'outage',
    verify: { scheme: 'none' },
    key: { jsonPointer: '/id' },
    onUpstreamFailure: 'spool',
  },
  loose: { topic: 'outage', verify: { scheme: 'none' }, onUpstreamFailure: 'spool' },
} as const;
const PARTITIONS = 6;
const API_KEY = 'outage-chaos-key-7d1c';
const QUEUE = 'spool.fifo';
const DLQ = 'spool-dlq.fifo';
const BUCKET = 'spool-bodies';
const KEYS_TABLE = 'spool-keys';
/** Over SQS's 256 KiB, so such a body goes through the bucket when spooled. */
const LARGE_PAD = 300_000;
/** Every so many requests one is large; one in five is key-less. */
const LARGE_EVERY = 97;
const KEYLESS_EVERY = 5;

/** The requests, in arrival order: each key's `requestsPerKey` spread over the whole run. */
const planWebhooks = (options: OutageOptions): (SentWebhook & { readonly large: boolean })[] => {
  const keyed = options.webhooks - Math.floor(options.webhooks / KEYLESS_EVERY);
  const keys = Math.max(1, Math.round(keyed / options.requestsPerKey));
  const seqOfKey = new Map<string, number>();
  let keyedSoFar = 0;
  return Array.from({ length: options.webhooks }, (_, index) => {
    const uid = `u-${index}`;
    const large = index % LARGE_EVERY === 0;
    // Multi-byte characters too: the bytes in Kafka must be the bytes sent, not a re-encoding.
    const extra = { note: 'café ✓', ...(large ? { pad: 'x'.repeat(LARGE_PAD) } : {}) };
    if (index % KEYLESS_EVERY === KEYLESS_EVERY - 1) {
      return { uid, route: 'loose', key: undefined, seq: 0, large, body: JSON.stringify({ uid, ...extra }) };
    }
    const key = `k-${keyedSoFar % keys}`;
    keyedSoFar += 1;
    const seq = seqOfKey.get(key) ?? 0;
    seqOfKey.set(key, seq + 1);
    return { uid, route: 'orders', key, seq, large, body: JSON.stringify({ id: key, seq, uid, ...extra }) };
  });
};

/** The proxy behind its front, dynalite with the spool keys table, the spool queues and the bucket. */
const startServers = async (visibilitySeconds: number, maxReceiveCount: number) => {
  const dynamo = await startDynalite();
  const kafka = await startKafkaRestServer({ topics: { outage: PARTITIONS }, apiKey: API_KEY });
  const front = await startTcpFront(kafka.url);
  const sqs = await startLocalSqs({
    queues: spoolQueueDefinitions(QUEUE, DLQ, visibilitySeconds, maxReceiveCount),
  });
  const s3 = await startLocalS3({ buckets: [BUCKET] });
  await ensureTable(dynamo.client, KEYS_TABLE, SPOOL_KEYS_TABLE_KEYS);
  return {
    dynamo,
    kafka,
    front,
    sqs,
    s3,
    close: async () => {
      await Promise.all([front.close(), kafka.close(), sqs.close(), s3.close(), dynamo.close()]);
    },
  };
};

export const runOutage = async (options: OutageOptions): Promise<OutageReport> => {
  const started = Date.now();
  const { progress, ...settled } = options;
  const say = progress ?? (() => undefined);
  const { outageMs } = options;
  const phaseMs = outageMs / 3;
  const delayMs = Math.round(outageMs / 4);
  const visibilitySeconds = Math.max(2, Math.round(outageMs / 4 / 1000));
  const random = createPrng(options.seed);

  const { dynamo, kafka, front, sqs, s3, close } = await startServers(
    visibilitySeconds,
    options.spoolMaxReceiveCount,
  );
  // The functions' Kafka REST clients, closed before the servers whatever happened.
  const clients: { close(): Promise<void> }[] = [];
  try {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    const settings = {
      LOG_LEVEL: 'ERROR',
      KAFKA_REST_URL: front.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_API_KEY: API_KEY,
      KAFKA_REST_DIALECT: options.dialect,
      KAFKA_REST_TIMEOUT_MS: String(Math.round(outageMs / 6)),
      // Nothing here reads, but v2's settings require the read wait below the timeout.
      KAFKA_REST_FETCH_WAIT_MS: String(Math.round(outageMs / 12)),
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      SPOOL_QUEUE_URL: sqs.queueUrl(QUEUE),
      SPOOL_DLQ_URL: sqs.queueUrl(DLQ),
      SPOOL_KEYS_TABLE: KEYS_TABLE,
      SPOOL_BUCKET: BUCKET,
      SPOOL_PRODUCE_BUDGET_MS: String(Math.round(outageMs / 20)),
      UPSTREAM_BREAKER_OPEN_MS: String(Math.round(outageMs / 12)),
      UPSTREAM_BREAKER_WINDOW_MS: String(Math.max(1_000, Math.round(outageMs / 6))),
      SQS_ENDPOINT: sqs.endpoint,
      S3_ENDPOINT: s3.endpoint,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
    };
    const instances = Array.from({ length: options.instances }, () => {
      // Quiet: thousands of requests would print thousands of log and metric lines.
      const deps = {
        ...createWebhookDeps(loadWebhookConfig(settings)),
        log: createCountingLog(),
        metrics: undefined,
      };
      clients.push(deps.kafka);
      return { deps, handler: makeWebhookHandler(() => deps) };
    });
    // The function's time per batch is half the visibility: a batch ends before its messages come back.
    const backfillMs = (visibilitySeconds * 1000) / 2;
    const backfillDeps = {
      ...createBackfillDeps(loadSpoolConfig({ ...settings, DEADLINE_MARGIN_MS: String(backfillMs / 10) })),
      log: createCountingLog(),
      metrics: undefined,
    };
    clients.push(backfillDeps.kafka);
    const backfill = makeSpoolHandler(() => backfillDeps);
    const sources = Array.from({ length: options.pollers }, () =>
      createSqsEventSource({
        endpoint: sqs.endpoint,
        region: 'us-east-1',
        credentials: TEST_CREDENTIALS,
        queueUrl: sqs.queueUrl(QUEUE),
        batchSize: 10,
        invoke: (event) => backfill(event, lambdaContext(backfillMs)),
      }),
    );

    let phase: OutagePhase = 'before';
    const plan = planWebhooks(options);
    const spanMs = options.beforeMs + outageMs + options.afterMs;
    const answers: WebhookAnswer[] = new Array(plan.length);
    const receipts: (string | undefined)[] = new Array(plan.length);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const send = async (index: number): Promise<void> => {
      const webhook = plan[index];
      if (webhook === undefined) return;
      const wait = t0 + (index * spanMs) / plan.length - performance.now();
      if (wait > 0) await delay(wait);
      const instance = instances[Math.floor(random() * instances.length)] ?? instances[0];
      if (instance === undefined) return;
      const sentIn = phase;
      const breakerOpen = instance.deps.breaker?.state() === 'open';
      const begun = performance.now();
      const response = await instance.handler(
        httpApiEvent(`/hooks/${webhook.route}`, webhook.body, { requestId: webhook.uid }),
        lambdaContext(10_000),
      );
      const json = JSON.parse(response.body ?? '{}') as {
        partition?: number;
        offset?: number;
        receipt?: string;
      };
      receipts[index] = json.receipt;
      answers[index] = {
        status: response.statusCode ?? 0,
        spooled: response.headers?.spooled === 'true',
        partition: json.partition,
        offset: json.offset,
        latencyMs: performance.now() - begun,
        breakerOpen,
        phase: sentIn,
      };
    };
    // One chain per key (its requests one after the other, each no earlier than planned); key-less alone.
    const chains = new Map<string, number[]>();
    plan.forEach((webhook, index) => {
      const chain = webhook.key ?? `-${index}`;
      chains.set(chain, [...(chains.get(chain) ?? []), index]);
    });

    for (const source of sources) source.start();
    const traffic = Promise.all(
      [...chains.values()].map(async (indices) => {
        for (const index of indices) await send(index);
      }),
    );
    const at = async (ms: number) => {
      const wait = t0 + ms - performance.now();
      if (wait > 0) await delay(wait);
    };
    say(`${plan.length} webhooks over ${(spanMs / 1000).toFixed(0)} s, outage ${outageMs / 1000} s`);
    await at(options.beforeMs);
    phase = 'refused';
    await front.refuse();
    say('proxy gone: connections refused');
    await at(options.beforeMs + phaseMs);
    await front.accept();
    kafka.inject({ kind: 'status', status: 503, times: 1_000_000_000 });
    phase = '503';
    say('proxy back, answering 503');
    await at(options.beforeMs + 2 * phaseMs);
    kafka.clearFaults();
    kafka.inject({ kind: 'delay', ms: delayMs, times: 1_000_000_000 });
    phase = 'timeouts';
    say(`proxy answering after ${delayMs} ms`);
    await at(options.beforeMs + outageMs);
    kafka.clearFaults();
    phase = 'after';
    const recoveredAt = performance.now();
    say('proxy recovered');
    // The drain's bound is no verdict on speed: past it, what is still queued is reported undrained.
    const drainBoundMs = recoveredAt + Math.max(60_000, 10 * outageMs);
    const drained = async () => {
      while (sqs.messages(QUEUE).length > 0 && performance.now() < drainBoundMs) await delay(20);
    };
    // Timed from the recovery to the first moment the queue is empty: requests still arriving then may
    // spool again behind their keys, and are waited for below.
    await drained();
    const drainMs = performance.now() - recoveredAt;
    say(`spool empty ${(drainMs / 1000).toFixed(1)} s after the recovery`);
    await traffic;
    await drained();
    say('every webhook answered, the spool empty');
    await Promise.all(sources.map((source) => source.stop()));
    loop.disable();
    // Produces the proxy held when it recovered are written by now: duplicates to count, not to miss.
    await at(options.beforeMs + outageMs + delayMs + 100);

    const records = Array.from({ length: PARTITIONS }, (_, partition) =>
      kafka.records('outage', partition).map((record) => ({ ...record, partition })),
    ).flat();
    const markers = await dynamo.client.send(new ScanCommand({ TableName: KEYS_TABLE, Select: 'COUNT' }));
    const spooledLarge = plan.filter((webhook, index) => webhook.large && answers[index]?.spooled).length;
    const objectsLeft = plan.filter((webhook, index) => {
      const receipt = receipts[index];
      return webhook.large && receipt !== undefined && s3.object(BUCKET, `spool/${webhook.route}/${receipt}`);
    }).length;
    const report: OutageReport = {
      dialect: options.dialect,
      options: settled,
      reconciliation: reconcileOutage(plan, answers, records),
      spooledLarge,
      drainMs,
      undrained: sqs.messages(QUEUE).length,
      deadLettered: sqs.messages(DLQ).length,
      markersLeft: markers.Count ?? 0,
      objectsLeft,
      loopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      durationMs: Date.now() - started,
    };
    return report;
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await close();
  }
};
