import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { type DrainConfig, parseDrains } from '../lib/drain/config.js';
import { createDrainThrottle } from '../lib/drain/drain-throttle.js';
import type { PartitionDrainRequest } from '../lib/drain/partition-types.js';
import { runDrains } from '../lib/drain/run-drains.js';
import { recordsPerCall } from '../lib/drain/sink-calls.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createSink } from '../lib/sinks/index.js';
import type { Sink } from '../lib/sinks/types.js';
import { records, type SinkAnswer, type SinkRequest, startScriptedSink } from './fixtures/drain.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { createMemoryLog } from './helpers/log.js';

/** A clock that only moves when someone sleeps: the throttle's waits become exact and instant. */
const virtualClock = () => {
  let nowMs = 1_000_000;
  return {
    now: () => nowMs,
    sleep: async (ms: number) => {
      nowMs += ms;
      await Promise.resolve();
    },
  };
};

describe('the drain throttle (virtual clock)', () => {
  it('lets at most the rate plus its bucket through in any second, whatever the call sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 200 }),
        async (rate, sizes) => {
          const clock = virtualClock();
          const throttle = createDrainThrottle({ maxRecordsPerSecond: rate }, clock);
          const admitted: { atMs: number; records: number }[] = [];
          for (const size of sizes) {
            const called = await throttle.run(size, Number.POSITIVE_INFINITY, async () => {
              admitted.push({ atMs: clock.now(), records: size });
            });
            expect(called).toBeDefined();
          }
          const bucket = Math.max(1, Math.ceil(rate / 10));
          for (const { atMs } of admitted) {
            // Records admitted in the second from this call's start, less the last call's own overshoot: a
            // call larger than the bucket goes through whole, then the next ones wait it off.
            const inWindow = admitted.filter((each) => each.atMs >= atMs && each.atMs < atMs + 1_000);
            const total = inWindow.reduce((sum, each) => sum + each.records, 0);
            const largest = Math.max(...inWindow.map((each) => each.records));
            expect(total).toBeLessThanOrEqual(rate + bucket + largest);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('admits at most maxConcurrentRequests calls at once, first come first served', async () => {
    // Arrange
    const throttle = createDrainThrottle({ maxConcurrentRequests: 2 }, virtualClock());
    const order: number[] = [];
    const ends: (() => void)[] = [];

    // Act
    const calls = [0, 1, 2, 3].map((id) =>
      throttle.run(1, Number.POSITIVE_INFINITY, async () => {
        order.push(id);
        await new Promise<void>((resolve) => ends.push(resolve));
      }),
    );
    await delay(20);

    // Assess
    expect(order).toEqual([0, 1]);
    ends.shift()?.();
    await delay(1);
    expect(order).toEqual([0, 1, 2]);
    ends.shift()?.();
    await delay(1);
    expect(order).toEqual([0, 1, 2, 3]);
    for (const end of ends) end();
    await Promise.all(calls);
  });

  it('frees the slot of a call that throws', async () => {
    // Arrange
    const throttle = createDrainThrottle({ maxConcurrentRequests: 1 }, virtualClock());

    // Act
    const failed = throttle.run(1, Number.POSITIVE_INFINITY, async () => {
      throw new Error('sink broke');
    });

    // Assess
    await expect(failed).rejects.toThrow('sink broke');
    expect(await throttle.run(1, Number.POSITIVE_INFINITY, async () => 'next')).toEqual({ value: 'next' });
  });

  it('starts the call in the step that takes its tokens: no queued work runs in between', async () => {
    // Arrange: a clock that moves 5 ms in the first microtask after each reading, as a busy loop would
    // by the time a delayed continuation runs.
    let nowMs = 1_000_000;
    const readings: number[] = [];
    const clock = {
      now: () => {
        readings.push(nowMs);
        queueMicrotask(() => {
          nowMs += 5;
        });
        return nowMs;
      },
      sleep: async () => {},
    };
    const throttle = createDrainThrottle({ maxRecordsPerSecond: 1_000 }, clock);
    const startedAtMs: number[] = [];

    // Act
    for (let call = 0; call < 3; call++) {
      await throttle.run(1, Number.POSITIVE_INFINITY, async () => {
        startedAtMs.push(nowMs);
      });
    }

    // Assess: each call started at the time of the last reading before it, the one that admitted it.
    expect(startedAtMs).toHaveLength(3);
    for (const atMs of startedAtMs) expect(readings).toContain(atMs);
    expect(startedAtMs[2]).toBe(readings.at(-1));
  });

  it('holds every call while the sink asked for a pause, and refuses one the deadline would cut', async () => {
    // Arrange
    const clock = virtualClock();
    const throttle = createDrainThrottle({ maxRecordsPerSecond: 1_000 }, clock);
    const start = clock.now();
    const call = async () => clock.now();
    throttle.pauseUntil(start + 1_500);

    // Act
    const refused = await throttle.run(1, start + 1_000, call);
    const afterPause = await throttle.run(1, start + 10_000, call);
    // A shorter pause never shortens a longer one.
    throttle.pauseUntil(start + 2_000);
    throttle.pauseUntil(start + 1_600);
    const afterLongerPause = await throttle.run(1, start + 10_000, call);

    // Assess
    expect(refused).toBeUndefined();
    expect(afterPause).toEqual({ value: start + 1_500 });
    expect(afterLongerPause).toEqual({ value: start + 2_000 });
  });
});

describe('records per sink call', () => {
  const callOf = (
    sink: Partial<Sink>,
    limits: Parameters<typeof createDrainThrottle>[0] | undefined,
  ): number =>
    recordsPerCall({
      sink: { maxBatchRecords: 100, ...sink },
      throttle: limits === undefined ? undefined : createDrainThrottle(limits, virtualClock()),
    } as unknown as PartitionDrainRequest);

  it.each([
    { name: 'no limit', sink: {}, limits: undefined, expected: 100 },
    { name: 'a rate limit: the bucket', sink: {}, limits: { maxRecordsPerSecond: 200 }, expected: 20 },
    {
      name: 'a rate limit and a request per record: one, each request paced',
      sink: { requestPerRecord: true },
      limits: { maxRecordsPerSecond: 200 },
      expected: 1,
    },
    {
      name: 'a request per record and only a concurrency cap: the batch limit',
      sink: { requestPerRecord: true },
      limits: { maxConcurrentRequests: 2 },
      expected: 100,
    },
    {
      name: 'a batch limit under the bucket',
      sink: { maxBatchRecords: 5 },
      limits: { maxRecordsPerSecond: 200 },
      expected: 5,
    },
  ])('$name', ({ sink, limits, expected }) => {
    // Act
    const records = callOf(sink, limits);

    // Assess
    expect(records).toBe(expected);
  });
});

/**
 * The limits across partitions, end to end: `runDrains` over two partitions of the local Kafka REST server,
 * checkpoints in dynalite, the real HTTP sink into a scripted local endpoint.
 */
describe('drain sink limits across partitions (Kafka REST server + dynalite + HTTP sink)', () => {
  const dynamo = dynaliteForFile();
  let kafkaServer: KafkaRestServer;
  let kafka: KafkaRestClient;
  let closers: (() => Promise<void>)[];
  let drainCount = 0;

  beforeEach(async () => {
    closers = [];
    kafkaServer = await startKafkaRestServer({ topics: { orders: 2 } });
    kafka = createKafkaRest({ baseUrl: kafkaServer.url, allowHttp: true, auth: noAuth(), maxAttempts: 2 });
    for (const partition of [0, 1]) kafkaServer.append('orders', partition, records(30, `p${partition}-`));
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    await kafka.close();
    await kafkaServer.close();
  });

  const drainAll = async (
    respond: (request: SinkRequest) => SinkAnswer | Promise<SinkAnswer>,
    limits: Record<string, unknown>,
  ) => {
    const endpoint = await startScriptedSink(respond);
    closers.push(() => endpoint.close());
    drainCount += 1;
    const problems: string[] = [];
    const drains = parseDrains(
      [
        {
          id: `limited-${drainCount}`,
          topic: 'orders',
          sink: { type: 'http', url: endpoint.url, allowHttp: true },
          ordering: 'key',
          maxInFlight: 8,
          retryBaseMs: 1,
          retryMaxMs: 5,
          ...limits,
        },
      ],
      'DRAINS',
      { stackDlqUrl: undefined, idNamespace: 'test' },
      problems,
    );
    expect(problems).toEqual([]);
    const log = createMemoryLog();
    const aws = createAwsClients({ ...FAKE_AWS });
    closers.push(async () => aws.destroy());
    const sinks = new Map<string, Sink>();
    const sinkFor = (drain: DrainConfig): Sink => {
      const sink = sinks.get(drain.id) ?? createSink(drain.sink, { aws, log, now: Date.now });
      sinks.set(drain.id, sink);
      return sink;
    };
    closers.push(async () => {
      for (const sink of sinks.values()) await sink.close?.();
    });
    const deadlineMs = Date.now() + 20_000;
    const report = await runDrains(
      {
        kafka,
        drains,
        leaseMs: 60_000,
        maxConcurrentPartitions: 2,
        sinkFor,
        deadLettersFor: () => undefined,
        checkpoints: createCheckpointStore({
          client: dynamo().client,
          tableName: dynamo().tableName,
          leaseMs: 60_000,
          now: Date.now,
        }),
        log,
        now: Date.now,
        sleep: (ms) => delay(ms),
        random: () => 0.5,
      },
      {},
      { owner: 'run-a', deadlineMs, cleanupDeadlineMs: deadlineMs + 2_000 },
    );
    return { endpoint, report };
  };

  it('keeps at most maxConcurrentRequests requests at the sink across both partitions', async () => {
    let active = 0;
    let most = 0;
    const { endpoint, report } = await drainAll(
      async () => {
        active += 1;
        most = Math.max(most, active);
        await delay(2);
        active -= 1;
        return {};
      },
      { maxConcurrentRequests: 3 },
    );

    expect(report.failed).toBe(false);
    expect(endpoint.acceptedOffsets()).toHaveLength(60);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(3);
  });

  it('pauses both partitions when the sink answers 429 with Retry-After', async () => {
    let throttledAtMs: number | undefined;
    const arrivals: { atMs: number; partition: number }[] = [];
    const { endpoint, report } = await drainAll(
      (request) => {
        arrivals.push({ atMs: Date.now(), partition: request.partition });
        if (throttledAtMs === undefined && request.partition === 0 && request.offset === 5) {
          throttledAtMs = Date.now();
          return { status: 429, headers: { 'retry-after': '1' } };
        }
        return {};
      },
      { maxConcurrentRequests: 1 },
    );

    expect(report.failed).toBe(false);
    expect(endpoint.acceptedOffsets()).toHaveLength(60);
    const throttled = throttledAtMs as number;
    // Nothing of either partition reached the sink during the second it asked for (a little slack for
    // the clock's granularity): the pause is the drain's, not the one record's.
    const during = arrivals.filter((each) => each.atMs > throttled && each.atMs < throttled + 950);
    expect(during).toEqual([]);
    expect(arrivals.some((each) => each.partition === 1 && each.atMs >= throttled + 950)).toBe(true);
  });

  it.each([
    { ordering: 'key', maxInFlight: 8 },
    // One call per partition would carry all 30 records: calls are cut to the bucket, or the receiver
    // would get them as one burst.
    { ordering: 'partition', maxInFlight: 1 },
  ])(
    'keeps a drain under maxRecordsPerSecond across both partitions ($ordering order), delivering everything',
    async (order) => {
      const arrivals: number[] = [];
      const { endpoint, report } = await drainAll(
        () => {
          arrivals.push(Date.now());
          return {};
        },
        { maxRecordsPerSecond: 40, ...order },
      );

      expect(report.failed).toBe(false);
      expect(endpoint.acceptedOffsets()).toHaveLength(60);
      // 60 records at 40/s with a bucket of 4: no second holds more than 44 admissions (one more for a record
      // admitted just before the second began and arriving just after).
      expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(250);
      for (const atMs of arrivals) {
        expect(arrivals.filter((each) => each >= atMs && each < atMs + 1_000).length).toBeLessThanOrEqual(45);
      }
    },
  );
});
