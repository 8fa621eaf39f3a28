import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fault, type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/index.js';
import { makeHandler } from '../handlers/queue.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createKafkaRestProducerFromConfig } from '../lib/wiring/kafka-rest.js';
import type { QueueHandlerDeps } from '../lib/wiring/queue.js';
import { type Config, loadConfig } from '../lib/wiring/settings/all.js';
import { lambdaContext } from './fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { type DialectCase, LOCAL_CLUSTER_ID, PRODUCE_DIALECTS } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

const PARTITIONS = 3;
/** Invocations after which a batch must be acknowledged whole: every fault is finite and used up by then. */
const MAX_INVOCATIONS = 40;

/** A message of FIFO group A, B or C, or of a standard queue (undefined). */
const messageArb = fc.option(fc.constantFrom('A', 'B', 'C'), { nil: undefined });

/**
 * Per-record retriable (50003) and permanent (50002) errors, request-level failures (503s the client
 * retries, a 500 that refuses the request for good, a connection dropped before anything is written) and
 * ambiguous outcomes (written, then the answer lost or cut). Records no fault names succeed. The server
 * forgets a fault once it applied (`times`), so every batch ends acknowledged.
 */
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  fc
    .uniqueArray(fc.record({ index: fc.nat(9), code: fc.constantFrom(50002, 50003) }), {
      minLength: 1,
      maxLength: 3,
      selector: (entry) => entry.index,
    })
    .map(
      (errors): Fault => ({
        kind: 'record-errors',
        errors: Object.fromEntries(errors.map(({ index, code }) => [index, { code }])),
      }),
    ),
  fc.integer({ min: 1, max: 3 }).map((times): Fault => ({ kind: 'status', status: 503, times })),
  fc.constant<Fault>({ kind: 'status', status: 500, body: { error_code: 50002, message: 'Kafka error' } }),
  fc.constantFrom<Fault>(
    { kind: 'drop' },
    { kind: 'after-write', action: 'drop' },
    { kind: 'after-write', action: 'cut', reports: 1 },
  ),
);

const caseArb = fc.record({
  dialect: fc.constantFrom(...PRODUCE_DIALECTS),
  messages: fc.array(messageArb, { minLength: 1, maxLength: 10 }),
  // Faults injected before each invocation, in turn; any left over apply to the next ones.
  faults: fc.array(fc.array(faultArb, { maxLength: 3 }), { maxLength: 3 }),
  maxRequestRecords: fc.integer({ min: 1, max: 10 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
});

/** The bodies of `values` in log order, each only at its first copy. */
const firstCopies = (values: readonly string[]): string[] => [...new Set(values)];

describe('queue ingestion order under random per-record outcomes (property)', () => {
  const servers = new Map<DialectCase['flavor'], KafkaRestServer>();
  const clients = new Map<string, { readonly config: Config; readonly kafka: KafkaRestClient }>();
  let topics = 0;

  beforeAll(async () => {
    for (const flavor of new Set(PRODUCE_DIALECTS.map((c) => c.flavor))) {
      servers.set(flavor, await startKafkaRestServer({ topics: {}, flavor, recordRequests: false }));
    }
    for (const c of PRODUCE_DIALECTS) {
      const config = loadConfig({
        KAFKA_REST_URL: servers.get(c.flavor)?.url,
        KAFKA_REST_ALLOW_HTTP: 'true',
        KAFKA_REST_AUTH: 'none',
        KAFKA_REST_DIALECT: c.dialect,
        KAFKA_REST_FLAVOR: c.flavor,
        ...(c.dialect === 'v3' ? { KAFKA_REST_CLUSTER_ID: LOCAL_CLUSTER_ID } : {}),
        KAFKA_REST_MAX_ATTEMPTS: '3',
        KAFKA_REST_BACKOFF_BASE_MS: '1',
        KAFKA_REST_BACKOFF_MAX_MS: '2',
      });
      clients.set(c.name, {
        config,
        kafka: createKafkaRestProducerFromConfig(config, { log: createMemoryLog() }),
      });
    }
  });
  afterAll(async () => {
    for (const { kafka } of clients.values()) await kafka.close();
    for (const server of servers.values()) await server.close();
  });

  it('writes each FIFO group first copies in group order, and acknowledges every message in the end', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ dialect, messages, faults, maxRequestRecords, concurrency }) => {
        // Prepare: a fresh topic, so the log holds this run's records only.
        const server = servers.get(dialect.flavor) as KafkaRestServer;
        const { config, kafka } = clients.get(dialect.name) as { config: Config; kafka: KafkaRestClient };
        topics += 1;
        const topic = `order-${topics}`;
        server.clearFaults();
        server.createTopic(topic, PARTITIONS);
        const deps: QueueHandlerDeps = {
          kafka,
          log: createMemoryLog(),
          now: Date.now,
          queue: { ...config.queue, topic, concurrency },
          limits: { ...toProduceLimits(config.kafka), maxRequestRecords },
          deadlineMarginMs: 100,
        };
        const handler = makeHandler(() => deps);
        const batch = messages.map((group, n) =>
          sqsRecord(`${group ?? 's'}${n}`, group === undefined ? {} : { groupId: group }),
        );
        const written = (): string[][] =>
          Array.from({ length: PARTITIONS }, (_, p) =>
            server.records(topic, p).map((record) => record.value?.toString('utf8') ?? '<null>'),
          );

        // Act: SQS redelivers exactly the reported messages, a FIFO group's in its order, until none is left.
        let pending: SQSRecord[] = batch;
        let invocations = 0;
        while (pending.length > 0 && invocations < MAX_INVOCATIONS) {
          for (const fault of faults[invocations] ?? []) server.inject(fault);
          invocations += 1;
          const response = await handler(sqsEvent(pending), lambdaContext(10_000));
          const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
          // Assess: a message SQS may delete is durably in Kafka.
          const stored = new Set(written().flat());
          for (const message of pending) {
            if (!failed.has(message.messageId)) expect(stored).toContain(message.body);
          }
          pending = pending.filter((message) => failed.has(message.messageId));
        }

        // Assess: everything acknowledged; per group, the first copies are the group order.
        expect(pending).toEqual([]);
        const log = written();
        const all = new Set(log.flat());
        for (const message of batch) expect(all).toContain(message.body);
        for (const group of ['A', 'B', 'C']) {
          const order = batch.map((message) => message.body).filter((body) => body.startsWith(group));
          const partitions = log.filter((values) => values.some((value) => value.startsWith(group)));
          // The group id is the key: one partition holds the whole group, so its offsets are its order.
          expect(partitions.length).toBeLessThanOrEqual(1);
          expect(firstCopies(partitions.flat().filter((value) => value.startsWith(group)))).toEqual(order);
        }
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
