import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../dev/dynamodb-fault-proxy.js';
import { ERROR_CODES, UpstreamError } from '../lib/core/errors.js';
import {
  type IdempotencyConfig,
  type IdempotencyStore,
  withIdempotency,
} from '../lib/ingest/webhook/idempotency/index.js';
import { createIdempotencyStore } from '../lib/ingest/webhook/idempotency/store.js';
import { toAcceptedResponse, toErrorResponse } from '../lib/ingest/webhook/respond.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from './helpers/dynalite.js';
import { type KafkaRestFixture, startKafkaRestWithClient } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

type Response = APIGatewayProxyStructuredResultV2;

const IN_PROGRESS_TTL_MS = 60_000;
const WINDOW_SECONDS = 3_600;
const CONFIG: IdempotencyConfig = { from: 'json-pointer', pointer: '/id', windowSeconds: WINDOW_SECONDS };
/** Ids that a lossy reading would merge: 64-bit neighbours, and a number beside the string of its digits. */
const IDS = ['9007199254740993', '9007199254740992', '"9007199254740993"'] as const;

/**
 * Where a delivery's process dies: before producing (its claim stays), after producing (the record is in
 * Kafka, its answer is never stored), after storing the answer (the sender never hears it), or not at all.
 * `answer-not-stored` does not die: DynamoDB fails the completion, and the 202 goes out anyway. Only a
 * delivery that did not die and got a 2xx counts as acknowledged.
 */
type Crash = 'none' | 'answer-not-stored' | 'after-claim' | 'after-produce' | 'after-complete';

interface Delivery {
  readonly id: number;
  /** Which of two payloads under the id: a sender reusing an id for another payload. */
  readonly variant: number;
  readonly crash: Crash;
}

type Step =
  | { readonly kind: 'deliver'; readonly deliveries: readonly Delivery[] }
  /** Time passes beyond a claim's lifetime (well within the window), so crashed claims lapse. */
  | { readonly kind: 'tick' };

const deliveryArb: fc.Arbitrary<Delivery> = fc.record({
  id: fc.integer({ min: 0, max: IDS.length - 1 }),
  variant: fc.integer({ min: 0, max: 1 }),
  crash: fc.constantFrom<Crash>(
    'none',
    'none',
    'none',
    'answer-not-stored',
    'after-claim',
    'after-produce',
    'after-complete',
  ),
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      deliveries: fc.array(deliveryArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
);
const scenarioArb = fc.record({
  steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
  /** Chance per DynamoDB write or read that it is applied and its answer lost (the SDK retries it). */
  lostAnswerRate: fc.constantFrom(0, 0.1, 0.3),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

/** Thrown where a delivery's process dies: nothing after it runs, and its answer reaches no one. */
const CRASH = new Error('crashed');
const STORE_OUTAGE = new UpstreamError(ERROR_CODES.UPSTREAM_NETWORK, 'idempotency table complete failed');

describe('idempotency store under random interleavings, crashes and lost DynamoDB answers (property)', () => {
  let dynamo: LocalDynamo;
  let faults: DynamoFaultProxy;
  let client: DynamoDBClient;
  let kafka: KafkaRestFixture;
  let run = 0;

  beforeAll(async () => {
    dynamo = await startDynalite('idempotency-property');
    faults = await startDynamoFaultProxy(dynamo.endpoint);
    client = new DynamoDBClient({
      endpoint: faults.endpoint,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      maxAttempts: 3,
    });
    kafka = await startKafkaRestWithClient({ server: { topics: { orders: 1 } } });
  });
  afterAll(async () => {
    client.destroy();
    await kafka.close();
    await faults.close();
    await dynamo.close();
  });

  /** One delivery through the real webhook integration, crashing where it was told to. */
  const deliver = async (
    store: IdempotencyStore,
    route: string,
    now: () => number,
    delivery: Delivery,
  ): Promise<{ readonly body: Buffer; readonly response: Response | undefined }> => {
    const body = Buffer.from(`{"id":${IDS[delivery.id]},"variant":${delivery.variant}}`);
    let dead = false;
    const crashing: IdempotencyStore = {
      begin: (d) => store.begin(d),
      complete: async (d, response) => {
        if (delivery.crash === 'after-produce') {
          dead = true;
          throw CRASH;
        }
        if (delivery.crash === 'answer-not-stored') throw STORE_OUTAGE;
        await store.complete(d, response);
      },
      abandon: async (d, token) => (dead ? false : store.abandon(d, token)),
    };
    const produce = async (): Promise<Response> => {
      if (delivery.crash === 'after-claim') {
        dead = true;
        throw CRASH;
      }
      const [result] = await kafka.client.produce('orders', [{ key: null, value: body }], {
        deadlineMs: Date.now() + 5_000,
      });
      if (result === undefined || !result.ok) throw result?.error ?? new Error('no produce result');
      return toAcceptedResponse({ topic: 'orders', ...result });
    };
    const response = await withIdempotency(
      { idempotency: crashing, log: createMemoryLog(), now },
      {
        request: { route: { name: route, idempotency: CONFIG }, headers: {}, body },
        record: { key: null, value: body },
        requestId: `${route}-${delivery.id}`,
        deadlineMs: now() + 5_000,
      },
      produce,
    ).catch((error: unknown) => toErrorResponse(error, 'r'));
    const heard =
      (delivery.crash === 'none' || delivery.crash === 'answer-not-stored') && !dead ? response : undefined;
    return { body, response: heard };
  };

  it('never acknowledges a delivery whose record is missing, nor two payloads under one id', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ steps, lostAnswerRate, seed }) => {
        // Prepare: a route of its own per run, so that runs share the table but no ids.
        run += 1;
        const route = `prop-${run}`;
        let clock = 1_700_000_000_000;
        const now = () => clock;
        const store = createIdempotencyStore({
          client,
          tableName: dynamo.tableName,
          now,
          inProgressTtlMs: IN_PROGRESS_TTL_MS,
        });
        faults.setChaos(
          lostAnswerRate === 0
            ? undefined
            : {
                rate: lostAnswerRate,
                kinds: ['lose-answer'],
                seed,
                operations: ['PutItem', 'DeleteItem', 'GetItem'],
              },
        );
        const sent: Delivery[] = [];
        const acknowledged: {
          readonly delivery: Delivery;
          readonly body: Buffer;
          readonly answer: Response;
        }[] = [];

        // Act
        for (const step of steps) {
          if (step.kind === 'tick') {
            clock += IN_PROGRESS_TTL_MS + 1_000;
            continue;
          }
          const outcomes = await Promise.all(
            step.deliveries.map(async (delivery) => ({
              delivery,
              ...(await deliver(store, route, now, delivery)),
            })),
          );
          sent.push(...step.deliveries);
          for (const { delivery, body, response } of outcomes) {
            const status = response?.statusCode ?? 0;
            if (response !== undefined && status >= 200 && status < 300) {
              acknowledged.push({ delivery, body, answer: response });
            }
            // A refusal for good is only ever for an id that another payload already used: a lossy id
            // (a rounded number, a number read as a string) would refuse a distinct event, and lose it.
            // (409 is "retry later", with Retry-After, while the same id is in progress.)
            if (status >= 400 && status < 500 && status !== 409) {
              expect(status).toBe(422);
              expect(sent.some((d) => d.id === delivery.id && d.variant !== delivery.variant)).toBe(true);
            }
          }
        }
        faults.setChaos(undefined);

        // Assess: every acknowledged answer names a record in Kafka holding exactly its delivery's payload
        // (a replay included), and no id has two payloads acknowledged.
        for (const { body, answer } of acknowledged) {
          const { partition, offset } = JSON.parse(answer.body ?? '{}') as {
            partition: number;
            offset: number;
          };
          const record = kafka.server.records('orders', partition).find((r) => r.offset === offset);
          expect(record?.value?.toString()).toBe(body.toString());
        }
        for (const id of IDS.keys()) {
          const variants = new Set(
            acknowledged.filter((a) => a.delivery.id === id).map((a) => a.delivery.variant),
          );
          expect(variants.size).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 100 },
    );
    // The runs did meet lost answers, not only clean calls.
    expect(faults.stats().faults['lose-answer']).toBeGreaterThan(0);
  }, 60_000);
});
