import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { type DrainConfig, parseDrains } from '../lib/drain/config.js';
import { drainPartition, type PartitionReport } from '../lib/drain/drain-partition.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createDeadLetterQueue, createSink } from '../lib/sinks/index.js';
import type { DeadLetterQueue, Sink } from '../lib/sinks/types.js';
import { dlqConfig, type SinkRequest, startScriptedSink } from './fixtures/drain.js';
import {
  FAKE_AWS,
  type FakeEventBridge,
  type FakeSqs,
  startFakeEventBridge,
  startFakeSqs,
} from './helpers/aws-fakes.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { createMemoryLog } from './helpers/log.js';

const LEASE_MS = 60_000;
const RECORDS = 60;
const KEYS = 6;

/** Offset → its key: six keys round-robin, and every tenth record key-less. */
const keyOf = (offset: number): string | null => (offset % 10 === 9 ? null : `key-${offset % KEYS}`);
/** The records whose first attempt the sink fails retriably. */
const failsFirst = (offset: number): boolean => offset % 7 === 3;

interface Received {
  readonly offset: number;
  readonly key: string | null;
}

interface SinkUnderTest {
  readonly name: string;
  /** The drain's `sink` spec, given the stand-ins' addresses. */
  spec(ends: Ends): Record<string, unknown>;
  /** Records the target holds, in the order it accepted them. */
  accepted(ends: Ends): Received[];
  /** Fails the first attempt of each record `failsFirst` picks. */
  failFirstAttempts(ends: Ends): void;
}

interface Ends {
  readonly http: Awaited<ReturnType<typeof startScriptedSink>>;
  readonly sqs: FakeSqs;
  readonly eventBridge: FakeEventBridge;
  /** Requests the HTTP stand-in held at once, at most. */
  maxConcurrent: number;
  httpRule: (request: SinkRequest) => number;
}

const sqsReceived = (sqs: FakeSqs, queue: string): Received[] =>
  sqs.messages
    .filter((message) => message.queueUrl === sqs.queueUrl(queue))
    .map((message) => ({
      offset: Number(message.MessageAttributes['kafka.offset']?.StringValue),
      key: message.MessageAttributes['kafka.key']?.BinaryValue?.toString() ?? null,
    }));

const firstAttemptFailer = () => {
  const seen = new Set<number>();
  return (offset: number): boolean => {
    if (!failsFirst(offset) || seen.has(offset)) return false;
    seen.add(offset);
    return true;
  };
};

const SINKS: readonly SinkUnderTest[] = [
  ...(['single', 'batch'] as const).map(
    (mode): SinkUnderTest => ({
      name: `HTTP ${mode}`,
      spec: (ends) => ({
        type: 'http',
        url: ends.http.url,
        allowHttp: true,
        mode,
        ...(mode === 'batch' ? { maxBatchRecords: 4 } : {}),
      }),
      accepted: (ends) =>
        ends.http.requests
          .filter((request) => request.status !== null && request.status < 300)
          .flatMap((request) =>
            mode === 'single'
              ? [{ offset: request.offset, key: keyOf(request.offset) }]
              : (JSON.parse(request.value) as { offset: number }[]).map((item) => ({
                  offset: item.offset,
                  key: keyOf(item.offset),
                })),
          ),
      failFirstAttempts: (ends) => {
        const fails = firstAttemptFailer();
        ends.httpRule = (request) => {
          const offsets =
            mode === 'single'
              ? [request.offset]
              : (JSON.parse(request.value) as { offset: number }[]).map((item) => item.offset);
          // A batch fails whole: every record in it gets another attempt.
          return offsets.map(fails).some(Boolean) ? 503 : 200;
        };
      },
    }),
  ),
  ...(['out', 'out.fifo'] as const).map(
    (queue): SinkUnderTest => ({
      name: `SQS ${queue.endsWith('.fifo') ? 'FIFO' : 'standard'}`,
      spec: (ends) => ({ type: 'sqs', queueUrl: ends.sqs.queueUrl(queue) }),
      accepted: (ends) => sqsReceived(ends.sqs, queue),
      failFirstAttempts: (ends) => {
        const fails = firstAttemptFailer();
        ends.sqs.failEntries((entry) =>
          fails(Number(entry.MessageAttributes['kafka.offset']?.StringValue))
            ? { code: 'InternalError', senderFault: false }
            : undefined,
        );
      },
    }),
  ),
  {
    name: 'EventBridge',
    spec: () => ({ type: 'eventbridge', busName: 'bus', source: 'kafka.bridge', detailType: 'record' }),
    accepted: (ends) =>
      ends.eventBridge.events.map((event) => {
        const detail = JSON.parse(event.Detail ?? '{}') as { offset: number; key: string | null };
        return {
          offset: detail.offset,
          key: detail.key === null ? null : Buffer.from(detail.key, 'base64').toString(),
        };
      }),
    failFirstAttempts: (ends) => {
      const fails = firstAttemptFailer();
      ends.eventBridge.failEntries((entry) =>
        fails((JSON.parse(entry.Detail ?? '{}') as { offset: number }).offset)
          ? { code: 'InternalFailure' }
          : undefined,
      );
    },
  },
];

/** Offsets of each key in the order the target first accepted them. */
const perKey = (received: readonly Received[]): Map<string, number[]> => {
  const seen = new Set<number>();
  const lanes = new Map<string, number[]>();
  for (const { offset, key } of received) {
    if (seen.has(offset)) continue;
    seen.add(offset);
    if (key === null) continue;
    lanes.set(key, [...(lanes.get(key) ?? []), offset]);
  }
  return lanes;
};

/**
 * `ordering: "key"` end to end, for every sink: the local Kafka REST server and the real client, the
 * checkpoint table in dynalite, the real sinks against the local HTTP endpoint and the SQS and EventBridge
 * stand-ins (faked at their HTTP boundary). Records of six keys (and key-less ones) whose first attempts
 * partly fail; up to eight calls in flight.
 */
describe('key-ordered parallel delivery (Kafka REST server + dynalite + every sink)', () => {
  const dynamo = dynaliteForFile();
  let kafkaServer: KafkaRestServer;
  let kafka: KafkaRestClient;
  let ends: Ends;
  let closers: (() => Promise<void>)[];
  let drainCount = 0;

  beforeEach(async () => {
    closers = [];
    kafkaServer = await startKafkaRestServer({ topics: { orders: 1 } });
    kafka = createKafkaRest({ baseUrl: kafkaServer.url, allowHttp: true, auth: noAuth(), maxAttempts: 2 });
    let active = 0;
    const http = await startScriptedSink(async (request) => {
      active += 1;
      ends.maxConcurrent = Math.max(ends.maxConcurrent, active);
      // Long enough that calls in flight together overlap at the endpoint.
      await delay(3);
      active -= 1;
      return { status: ends.httpRule(request) };
    });
    const sqs = await startFakeSqs();
    const eventBridge = await startFakeEventBridge();
    ends = { http, sqs, eventBridge, maxConcurrent: 0, httpRule: () => 200 };
    closers.push(
      () => http.close(),
      () => sqs.close(),
      () => eventBridge.close(),
    );
    kafkaServer.append(
      'orders',
      0,
      Array.from({ length: RECORDS }, (_, offset) => {
        const key = keyOf(offset);
        return { key: key === null ? null : Buffer.from(key), value: Buffer.from(`{"n":${offset}}`) };
      }),
    );
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    await kafka.close();
    await kafkaServer.close();
  });

  const drainOf = (spec: Record<string, unknown>, overrides: Record<string, unknown> = {}): DrainConfig => {
    drainCount += 1;
    const problems: string[] = [];
    const [drain] = parseDrains(
      [
        {
          id: `keyed-${drainCount}`,
          topic: 'orders',
          sink: spec,
          ordering: 'key',
          maxInFlight: 8,
          batchSize: RECORDS,
          retryBaseMs: 1,
          retryMaxMs: 5,
          ...overrides,
        },
      ],
      'DRAINS',
      { stackDlqUrl: undefined, idNamespace: 'test' },
      problems,
    );
    if (drain === undefined) throw new Error(problems.join('; '));
    return drain;
  };

  const run = async (
    drain: DrainConfig,
    deadLetters?: DeadLetterQueue,
  ): Promise<{ report: PartitionReport; stored: number | undefined }> => {
    const log = createMemoryLog();
    const aws = createAwsClients({
      ...FAKE_AWS,
      sqsEndpoint: ends.sqs.endpoint,
      eventBridgeEndpoint: ends.eventBridge.endpoint,
    });
    closers.push(async () => aws.destroy());
    const sink: Sink = createSink(drain.sink, { aws, log, now: Date.now });
    closers.push(async () => sink.close?.());
    const checkpoints = createCheckpointStore({
      client: dynamo().client,
      tableName: dynamo().tableName,
      leaseMs: LEASE_MS,
      now: Date.now,
    });
    const deadlineMs = Date.now() + 20_000;
    const report = await drainPartition(
      { kafka, checkpoints, log, now: Date.now, sleep: (ms) => delay(ms), random: () => 0.5 },
      {
        drain,
        partition: 0,
        sink,
        deadLetters,
        owner: 'run-a',
        deadlineMs,
        cleanupDeadlineMs: deadlineMs + 2_000,
        leaseMs: LEASE_MS,
      },
    );
    if (report.outcome === 'failed') throw new Error(JSON.stringify(report));
    const stored = await checkpoints.get({ drainId: drain.id, topic: 'orders', partition: 0 });
    return { report, stored: stored?.nextOffset };
  };

  describe.each(SINKS)('$name', (target) => {
    it('delivers every record, each key in offset order, though first attempts fail', async () => {
      target.failFirstAttempts(ends);

      const { report, stored } = await run(drainOf(target.spec(ends)));

      expect(report).toMatchObject({ outcome: 'caught-up', nextOffset: RECORDS });
      expect(stored).toBe(RECORDS);
      const received = target.accepted(ends);
      expect(new Set(received.map((item) => item.offset))).toEqual(
        new Set(Array.from({ length: RECORDS }, (_, offset) => offset)),
      );
      const lanes = perKey(received);
      expect(lanes.size).toBe(KEYS);
      for (const [key, offsets] of lanes) {
        expect(offsets, key).toEqual([...offsets].sort((a, b) => a - b));
      }
    });
  });

  it('keeps several HTTP requests in flight, never more than maxInFlight', async () => {
    const { report } = await run(drainOf(SINKS[0]?.spec(ends) ?? {}, { maxInFlight: 4 }));

    expect(report.outcome).toBe('caught-up');
    expect(ends.maxConcurrent).toBeGreaterThan(1);
    expect(ends.maxConcurrent).toBeLessThanOrEqual(4);
  });

  it('puts each key in a message group of its own on a FIFO queue', async () => {
    const fifo = SINKS.find((target) => target.name === 'SQS FIFO') as SinkUnderTest;
    await run(drainOf(fifo.spec(ends)));

    const groups = ends.sqs.groups('out.fifo');
    // Six keys, and six key-less records each alone.
    expect(Object.keys(groups)).toHaveLength(KEYS + RECORDS / 10);
    for (const bodies of Object.values(groups)) {
      const offsets = bodies.map((body) => (JSON.parse(body) as { n: number }).n);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets.map(keyOf)).size).toBe(1);
    }
  });

  it('lets the other keys pass a key that backs off', async () => {
    let failures = 0;
    ends.httpRule = (request) => (request.offset === 0 && failures++ < 2 ? 503 : 200);

    const { report } = await run(drainOf(SINKS[0]?.spec(ends) ?? {}, { retryBaseMs: 200, retryMaxMs: 400 }));

    expect(report.outcome).toBe('caught-up');
    const offsets = ends.http.acceptedOffsets();
    // Offset 0 waited out two backoffs; records of other keys behind it were delivered meanwhile.
    expect(offsets.indexOf(0)).toBeGreaterThan(0);
    expect(offsets.slice(0, offsets.indexOf(0)).some((offset) => keyOf(offset) !== keyOf(0))).toBe(true);
    // …and key-0's own later records only after it.
    const ofKey0 = offsets.filter((offset) => keyOf(offset) === keyOf(0));
    expect(ofKey0[0]).toBe(0);
  });

  it('moves a key on past a record sent to the DLQ', async () => {
    ends.httpRule = (request) => (request.offset === 7 ? 400 : 200);
    const aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: ends.sqs.endpoint });
    closers.push(async () => aws.destroy());
    const deadLetters = createDeadLetterQueue(dlqConfig(ends.sqs.queueUrl('drain-dlq')), {
      aws,
      log: createMemoryLog(),
      now: Date.now,
    });

    const { report, stored } = await run(drainOf(SINKS[0]?.spec(ends) ?? {}), deadLetters);

    expect(report).toMatchObject({ outcome: 'caught-up', deadLettered: 1, delivered: RECORDS - 1 });
    expect(stored).toBe(RECORDS);
    const offsets = ends.http.acceptedOffsets();
    const key = keyOf(7);
    expect(offsets.filter((offset) => keyOf(offset) === key)).toEqual(
      Array.from({ length: RECORDS }, (_, offset) => offset).filter(
        (offset) => offset !== 7 && keyOf(offset) === key,
      ),
    );
  });

  it('without a DLQ, stops the partition at the lowest undelivered offset and holds that key', async () => {
    ends.httpRule = (request) => (request.offset === 7 ? 400 : 200);

    const { report, stored } = await run(drainOf(SINKS[0]?.spec(ends) ?? {}));

    expect(report).toMatchObject({ outcome: 'stopped', nextOffset: 7, error: { offset: 7 } });
    expect(stored).toBe(7);
    const offsets = ends.http.acceptedOffsets();
    // Nothing of the poison's key went out after it; every offset below it did.
    expect(offsets.filter((offset) => keyOf(offset) === keyOf(7) && offset > 7)).toEqual([]);
    for (let offset = 0; offset < 7; offset += 1) expect(offsets).toContain(offset);
  });
});
