import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsEventSource } from '../dev/aws-local/sqs-event-source.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { waitUntil } from './helpers/poll.js';
import { SPOOL_DLQ, SPOOL_QUEUE, type SpoolStack, startSpoolStack } from './helpers/spool.js';

/**
 * Per-key order through any mix of outages and recoveries, spooled and produced requests, and a backfill
 * running all along: for each key, the first copies in Kafka are in the order its requests were sent (each
 * answered before the next). fast-check picks the sequence: which key each request has, and what the proxy
 * does while it is answered (takes it; refuses it with 503s; holds it past the produce budget, then writes
 * it anyway, which makes duplicates). The breaker opens and closes on its own within a run.
 */

type Proxy = 'up' | 'refusing' | 'slow';

const dynamo = dynaliteForFile();
let stack: SpoolStack;
let backfill: SqsEventSource;
let run = 0;

beforeAll(async () => {
  stack = await startSpoolStack(dynamo(), {
    WEBHOOK_ROUTES: JSON.stringify({
      orders: {
        topic: 'orders',
        verify: { scheme: 'none' },
        key: { jsonPointer: '/id' },
        onUpstreamFailure: 'spool',
      },
    }),
    SPOOL_PRODUCE_BUDGET_MS: '150',
    UPSTREAM_BREAKER_MIN_ATTEMPTS: '2',
    UPSTREAM_BREAKER_OPEN_MS: '200',
    UPSTREAM_BREAKER_WINDOW_MS: '1000',
  });
  backfill = stack.eventSource();
  backfill.start();
});

afterAll(async () => {
  await stack?.close();
});

const setProxy = (s: SpoolStack, proxy: Proxy): void => {
  s.kafka.clearFaults();
  if (proxy === 'refusing') s.kafka.inject({ kind: 'status', status: 503, times: 10_000 });
  // Held past the produce budget, then written: the spooled copy and the late one both reach Kafka.
  if (proxy === 'slow') s.kafka.inject({ kind: 'delay', ms: 250, times: 10_000 });
};

const firstCopies = (s: SpoolStack, prefix: string): Map<string, number[]> => {
  const byKey = new Map<string, number[]>();
  for (let partition = 0; partition < 4; partition += 1) {
    for (const record of s.kafka.records('orders', partition)) {
      const key = record.key?.toString() ?? '';
      if (!key.startsWith(prefix)) continue;
      const n = (JSON.parse(record.value?.toString() ?? '{}') as { n: number }).n;
      const seen = byKey.get(key) ?? [];
      if (!seen.includes(n)) seen.push(n);
      byKey.set(key, seen);
    }
  }
  return byKey;
};

describe('per-key order through outages (fast-check, the webhook and the spool function over the local stand-ins)', () => {
  it('keeps each key’s first copies in send order, whatever the proxy does between them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 2 }),
            proxy: fc.constantFrom<Proxy>('up', 'refusing', 'slow'),
          }),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        async (steps) => {
          run += 1;
          const prefix = `r${run}-`;
          const sent = new Map<string, number>();
          for (const step of steps) {
            setProxy(stack, step.proxy);
            const key = `${prefix}${step.key}`;
            const n = (sent.get(key) ?? 0) + 1;
            sent.set(key, n);
            const answer = await stack.webhook(
              httpApiEvent('/hooks/orders', JSON.stringify({ id: key, n })),
              lambdaContext(),
            );
            expect(answer.statusCode).toBe(202);
          }
          setProxy(stack, 'up');
          await waitUntil(() => stack.sqs.messages(SPOOL_QUEUE).length === 0, 20);

          expect(stack.sqs.messages(SPOOL_DLQ)).toEqual([]);
          const copies = firstCopies(stack, prefix);
          for (const [key, count] of sent) {
            expect(copies.get(key), key).toEqual(Array.from({ length: count }, (_, i) => i + 1));
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);
});
