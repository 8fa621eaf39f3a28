import { afterEach, describe, expect, it } from 'vitest';
import type { Fault, FaultMatch, KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { isAppError } from '../lib/core/errors.js';
import type { KafkaRestOptions } from '../lib/kafka-rest/client.js';
import type { CallOptions, FetchedRecord, KafkaRestClient } from '../lib/kafka-rest/types.js';
import {
  bytes,
  type DialectCase,
  deadlineIn,
  failureOf,
  type KafkaRestFixture,
  PRODUCE_DIALECTS,
  READ_DIALECTS,
  startKafkaRestWithClient,
} from './helpers/kafka-rest.js';

/**
 * What the client does with answers that never end (a trickling body), that are too large to hold, and
 * with a v1 proxy that answers from the start of the batch holding the offset: every call ends by its
 * deadline, nothing is buffered past its cap, and a read never says "caught up" while records lie ahead.
 */

const kits: KafkaRestFixture[] = [];
afterEach(async () => {
  await Promise.all(kits.splice(0).map((kit) => kit.close()));
});

const start = async (
  dialect: DialectCase,
  client: Partial<KafkaRestOptions> = {},
  server: KafkaRestServerOptions = {},
): Promise<KafkaRestFixture> => {
  const kit = await startKafkaRestWithClient({
    dialect,
    server: { topics: { demo: 1 }, ...server },
    client,
  });
  kits.push(kit);
  return kit;
};

const V1 = READ_DIALECTS[0] as DialectCase;
const REDPANDA = READ_DIALECTS.find((c) => c.flavor === 'redpanda') as DialectCase;

/** What a drain does: fetch from the checkpoint, move it past what came, until a fetch answers nothing. */
const drainFrom = async (
  client: KafkaRestClient,
  offset: number,
  batchSize: number,
): Promise<FetchedRecord[]> => {
  const delivered: FetchedRecord[] = [];
  for (let next = offset; ; ) {
    const records = await client.fetch('demo', 0, next, { maxRecords: batchSize, ...deadlineIn() });
    if (records.length === 0) return delivered;
    delivered.push(...records);
    next = (records.at(-1) as FetchedRecord).offset + 1;
  }
};

const values = (n: number, size = 8): { key: null; value: Buffer }[] =>
  Array.from({ length: n }, (_, i) => ({ key: null, value: bytes(String(i).padStart(size, '0')) }));

describe('v1 whole-batch answers: never caught up while records lie past the offset', () => {
  it('delivers all 1,400 records after offset 1,600 of one 3,000-record batch, batchSize 100', async () => {
    // Prepare: one produce request, so one batch; the proxy answers from its start, cut by count.
    const kit = await start(V1, {}, { v1WholeBatches: true });
    kit.server.append('demo', 0, values(3_000));

    // Act
    const delivered = await drainFrom(kit.client, 1_600, 100);

    // Assess
    expect(delivered.map((r) => r.offset)).toEqual(Array.from({ length: 1_400 }, (_, i) => 1_600 + i));
    expect(delivered.at(-1)?.value?.toString()).toBe('00002999');
  });

  it('reads across batches from inside the first one, in order, nothing twice', async () => {
    // Prepare
    const kit = await start(V1, {}, { v1WholeBatches: true });
    kit.server.append('demo', 0, values(250));
    kit.server.append('demo', 0, values(40));
    kit.server.append('demo', 0, values(500));

    // Act
    const delivered = await drainFrom(kit.client, 230, 30);

    // Assess
    expect(delivered.map((r) => r.offset)).toEqual(Array.from({ length: 560 }, (_, i) => 230 + i));
  });

  it('throws a non-retriable ERR_UPSTREAM_PROTOCOL naming the partition, offset and widest count when the budget cannot reach the offset', async () => {
    // Prepare: 3,000 records of 500 bytes; reaching offset 2,900 needs ~2 MB of answer, over a 1 MB budget.
    const kit = await start(
      V1,
      { fetchMaxBytes: 1_000, maxRecordBytes: 1_000, fetchBudgetBytes: 1_000_000 },
      { v1WholeBatches: true },
    );
    kit.server.append('demo', 0, values(3_000, 500));

    // Act
    const error = await kit.client
      .fetch('demo', 0, 2_900, { maxRecords: 100, ...deadlineIn() })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', retriable: false });
    const message = (error as Error).message;
    expect(message).toContain('demo/0');
    expect(message).toContain('offset 2900');
    expect(message).toMatch(
      /a read of count \d+ held only records below the offset and one of count \d+ was over the fetch budget of 1000000 bytes/,
    );
  });

  it('redpanda: whole batches from the one holding the offset, so a small max_bytes still reaches past it', async () => {
    // Prepare
    const kit = await start(REDPANDA, { fetchMaxBytes: 1_000 });
    kit.server.append('demo', 0, values(3_000));

    // Act
    const delivered = await drainFrom(kit.client, 1_600, 100);

    // Assess
    expect(delivered.map((r) => r.offset)).toEqual(Array.from({ length: 1_400 }, (_, i) => 1_600 + i));
  });
});

/** A call of the client, as each test runs it: produce results are failures, not throws. */
const calls: readonly {
  name: string;
  dialects: readonly DialectCase[];
  run: (client: KafkaRestClient, call: CallOptions) => Promise<unknown>;
}[] = [
  {
    name: 'produce',
    dialects: PRODUCE_DIALECTS,
    run: async (client, call) => {
      const [result] = await client.produce('demo', [{ value: bytes('x') }], call);
      throw failureOf(result);
    },
  },
  {
    name: 'fetch',
    dialects: READ_DIALECTS,
    run: (client, call) => client.fetch('demo', 0, 0, { maxRecords: 10, ...call }),
  },
  {
    name: 'listTopics',
    dialects: READ_DIALECTS,
    run: (client, call) => client.listTopics(call),
  },
];
const cases: readonly {
  label: string;
  dialect: DialectCase;
  run: (client: KafkaRestClient, call: CallOptions) => Promise<unknown>;
  match?: FaultMatch;
}[] = [
  ...calls.flatMap((c) =>
    c.dialects.map((dialect) => ({ run: c.run, dialect, label: `${c.name} ${dialect.name}` })),
  ),
  {
    // The log bounds come back at once; only the consumer instance's own calls trickle.
    label: 'fetch v2 confluent, consumer instance calls',
    dialect: READ_DIALECTS[1] as DialectCase,
    run: (client, call) => client.fetch('demo', 0, 0, { maxRecords: 10, ...call }),
    match: { path: /^\/consumers\// },
  },
];

/** Every request of the call gets the fault: a fetch's create, assign, seek and read alike. */
const everyRequest = (fault: Fault): Fault => ({ ...fault, times: 1_000 });

describe.concurrent('a 200 whose body trickles in: every call ends by its deadline', () => {
  it.for(cases)('$label', { timeout: 20_000 }, async ({ dialect, run, match }, { onTestFinished }) => {
    // Prepare: the request timeout (2 s) is below the time left, so only an exact timer per call stops it.
    const kit = await startKafkaRestWithClient({
      dialect,
      server: { topics: { demo: 1 } },
      client: { requestTimeoutMs: 2_000, maxAttempts: 2 },
    });
    // Concurrent tests: each closes its own servers only.
    onTestFinished(() => kit.close());
    kit.server.append('demo', 0, values(3));
    kit.server.inject(
      everyRequest({ kind: 'trickle', intervalMs: 50, ...(match === undefined ? {} : { match }) }),
    );
    const deadlineMs = Date.now() + 2_600;

    // Act
    const error = await run(kit.client, { deadlineMs }).catch((caught: unknown) => caught);
    const lateMs = Date.now() - deadlineMs;

    // Assess
    expect(isAppError(error)).toBe(true);
    expect(['ERR_UPSTREAM_TIMEOUT', 'ERR_DEADLINE']).toContain((error as { code: string }).code);
    expect(lateMs).toBeLessThan(400);
  });
});

describe('a 2xx answer larger than it may be: refused unread', () => {
  it.each(cases)('$label: 20 MB chunked → ERR_UPSTREAM_PROTOCOL', async ({ dialect, run, match }) => {
    // Prepare
    const kit = await start(dialect);
    kit.server.append('demo', 0, values(3));
    kit.server.inject(
      everyRequest({
        kind: 'oversized-answer',
        bytes: 20_000_000,
        ...(match === undefined ? {} : { match }),
      }),
    );

    // Act
    const error = await run(kit.client, deadlineIn()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL' });
    expect((error as Error).message).toMatch(/larger than the \d+ bytes|over the fetch budget/);
  });

  it('a declared Content-Length over the cap fails before any of the body is read', async () => {
    // Prepare
    const kit = await start(V1);
    kit.server.inject({ kind: 'oversized-answer', bytes: 50_000_000, declareLength: true });

    // Act
    const error = await kit.client.listTopics(deadlineIn()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', status: 200 });
    expect((error as Error).message).toMatch(/larger than the \d+ bytes/);
  });

  it('a 50 MB produce answer does not raise the RSS by 30 MB', async () => {
    // Prepare
    const kit = await start(V1);
    kit.server.inject({ kind: 'oversized-answer', bytes: 50_000_000 });
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);

    // Act
    const [result] = await kit.client.produce('demo', [{ value: bytes('x') }], deadlineIn());
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);

    // Assess
    expect(failureOf(result).code).toBe('ERR_UPSTREAM_PROTOCOL');
    expect(peak - before).toBeLessThan(30 * 1024 * 1024);
  });

  it('v1: a fetch answer over the budget is read again narrower, and delivered', async () => {
    // Prepare
    const kit = await start(V1);
    kit.server.append('demo', 0, values(10));
    kit.server.inject({ kind: 'oversized-answer', bytes: 20_000_000, match: { path: /messages$/ } });

    // Act
    const records = await kit.client.fetch('demo', 0, 0, { maxRecords: 8, ...deadlineIn() });

    // Assess
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    const counts = kit.server.requests.map((r) => r.query.count);
    expect(counts).toEqual(['8', '4']);
  });
});

describe('a v2 consumer instance that answers nothing below the log end', () => {
  const V2 = READ_DIALECTS.find((c) => c.dialect === 'v2' && c.flavor === 'confluent') as DialectCase;

  it('is a retriable failure naming the offset and the log end, never "caught up"', async () => {
    // Prepare: records exist, but every read after the seek comes back empty
    const kit = await start(V2, {}, { emptyReadsAfterSeek: 1_000 });
    await kit.client.produce('demo', values(3), deadlineIn());

    // Act
    const outcome = await kit.client.fetch('demo', 0, 0, { maxRecords: 10, ...deadlineIn(10_000) }).then(
      (records) => records,
      (error: unknown) => error,
    );

    // Assess
    expect(isAppError(outcome) && outcome).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', retriable: true });
    expect(String((outcome as Error).message)).toContain('offset 0');
    expect(String((outcome as Error).message)).toContain('log ends at 3');
  });
});
