import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ReplayCommandDeps, runReplayCommand } from '../cli/replay-command.js';
import { rawCall } from '../dev/kafka-rest/raw-client.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import type { PartitionKey } from '../lib/drain/checkpoint.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainConfig } from '../lib/drain/config.js';
import { createSink } from '../lib/sinks/index.js';
import { dlqConfig, drainConfig, records, type SinkRequest, startScriptedSink } from './fixtures/drain.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { type DialectCase, type KafkaRestFixture, startKafkaRestWithClient } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

const LEASE_MS = 60_000;
/** A header value the replay must never show or store (it stands for a sink credential). */
const SECRET_HEADER = 'replay-test-credential-9f3a';
const V1: DialectCase = { name: 'v1', dialect: 'v1', flavor: 'confluent' };
const STRIMZI: DialectCase = { name: 'v2 strimzi', dialect: 'v2', flavor: 'strimzi' };

/**
 * `npm run replay` end to end, over real sockets: the local Kafka REST server and the real client, the
 * checkpoint table in dynalite, and the real HTTP sink delivering to a scripted local endpoint (the
 * replay's target; the live drain's sink is never called).
 */
describe('replay command (Kafka REST server + dynalite + HTTP sink)', () => {
  const dynamo = dynaliteForFile();
  let kafka: KafkaRestFixture;
  let proxy: DialectCase;
  let store: CheckpointStore;
  let closers: (() => Promise<void>)[];
  let out: string[];
  let err: string[];
  let drain: DrainConfig;
  let liveKey: PartitionKey;
  let n = 0;

  beforeEach(async () => {
    closers = [];
    out = [];
    err = [];
    n += 1;
    // The live drain's sink: an address nothing listens on, so a delivery to it could not pass unseen.
    drain = drainConfig('http://127.0.0.1:9/live', { id: `live${n}` });
    liveKey = { drainId: drain.id, topic: 'orders', partition: 0 };
    store = createCheckpointStore({
      client: dynamo().client,
      tableName: dynamo().tableName,
      leaseMs: LEASE_MS,
      now: Date.now,
    });
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  const startKafka = async (dialect: DialectCase = V1) => {
    proxy = dialect;
    kafka = await startKafkaRestWithClient({ dialect, server: { topics: { orders: 1 } } });
    closers.push(() => kafka.close());
    return kafka;
  };

  const startTarget = async (respond?: (request: SinkRequest, index: number) => object | Promise<object>) => {
    const target = await startScriptedSink(respond);
    closers.push(() => target.close());
    const sink = JSON.stringify({
      type: 'http',
      url: target.url,
      allowHttp: true,
      timeoutMs: 2_000,
      headers: { 'x-api-key': SECRET_HEADER },
    });
    return { target, sink };
  };

  const deps = (stop = new AbortController().signal): ReplayCommandDeps => {
    const log = createMemoryLog();
    const aws = createAwsClients({ ...FAKE_AWS });
    closers.push(async () => aws.destroy());
    let owners = 0;
    return {
      kafka: kafka.client,
      checkpoints: store,
      log,
      now: Date.now,
      sleep: (ms) => delay(ms),
      random: () => 0.5,
      drains: [drain],
      leaseMs: LEASE_MS,
      proxy,
      sinkOf: (config) => {
        const sink = createSink(config, { aws, log, now: Date.now });
        closers.push(async () => sink.close?.());
        return sink;
      },
      newOwnerId: () => {
        owners += 1;
        return `replay-run-${n}-${owners}`;
      },
      operator: 'os:tester',
      stop,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    };
  };

  /** The live drain's row: at offset 50, in the topic's second incarnation (epoch 1). */
  const liveCheckpointAt50 = async () => {
    const acquired = await store.acquire(liveKey, 'live-run');
    if (!acquired.acquired) throw new Error('the live row is held');
    await store.release(await store.commit(acquired.lease, { nextOffset: 50, epoch: 1 }));
    return store.get(liveKey);
  };

  it('delivers the range in order up to --to into the other sink, with the live ids; the live checkpoint does not move', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(60));
    const liveBefore = await liveCheckpointAt50();
    const { target, sink } = await startTarget();

    const code = await runReplayCommand(deps(), [
      drain.id,
      '--partition',
      '0',
      '--from',
      '10',
      '--to',
      '24',
      '--sink',
      sink,
    ]);

    expect(code).toBe(0);
    expect(target.acceptedOffsets()).toEqual(Array.from({ length: 15 }, (_, i) => 10 + i));
    // The ids the live drain gave these records: its namespace, the topic, the partition, its epoch 1.
    expect(target.requests.map((request) => request.headers['idempotency-key'])).toEqual(
      Array.from({ length: 15 }, (_, i) => `test/orders/0/1/${10 + i}`),
    );
    expect(await store.get(liveKey)).toEqual(liveBefore);
    expect(out).toEqual([expect.stringMatching(/range 10\.\.24 done: 15 record\(s\) delivered$/)]);
    // Progress on stderr: the first call's (one batch of 4) at once: records, rate, where, what is left.
    expect(err).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${drain.id} \\(orders/0\\): 4 record\\(s\\), \\d+/s, next offset 14, 11 left to --to 24$`,
        ),
      ),
    );

    const replayRows = (await store.list()).filter((row) => row.drainId.startsWith(`${drain.id}~replay~`));
    expect(replayRows).toMatchObject([
      { topic: 'orders', partition: 0, nextOffset: 25, epoch: 1, lease: undefined },
    ]);
    // The audit trail names who replayed what, where to, and the row it kept, never the sink's header values.
    const history = await store.history({ drainId: drain.id });
    expect(history).toMatchObject([
      {
        who: 'os:tester',
        partition: 0,
        action: `replay 10..24 into http as ${replayRows[0]?.drainId}: range-done, 15 delivered`,
        before: undefined,
        after: { nextOffset: 25, paused: false },
      },
    ]);
    expect(JSON.stringify({ history, out, err, rows: await store.list() })).not.toContain(SECRET_HEADER);
  });

  it('says a finished range is done, and delivers nothing again', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(30));
    const { target, sink } = await startTarget();
    const argv = [drain.id, '--partition', '0', '--from', '5', '--to', '9', '--sink', sink];

    const codes = [await runReplayCommand(deps(), argv), await runReplayCommand(deps(), argv)];

    expect(codes).toEqual([0, 0]);
    expect(target.acceptedOffsets()).toEqual([5, 6, 7, 8, 9]);
    expect(out[1]).toMatch(/the range 5\.\.9 was already replayed in full \(checkpoint .+ at 10\)$/);
    expect((await store.history({ drainId: drain.id })).map((entry) => entry.action)).toEqual([
      expect.stringMatching(/^replay 5\.\.9 into http as .+: range-done, 5 delivered$/),
      expect.stringMatching(/^replay 5\.\.9 into http as .+: range-done, 0 delivered$/),
    ]);
  });

  it('resumes an interrupted replay where it stopped: no gap, the one unanswered call sent twice', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(40));
    const stop = new AbortController();
    let cut = false;
    // Ctrl-C while offset 13 is at the sink, whose answer never comes (the connection drops): the run
    // sends it again, then stops at the end of its batch.
    const { target, sink } = await startTarget(async (request) => {
      if (request.offset !== 13 || cut) return {};
      cut = true;
      stop.abort();
      throw new Error('connection dropped before the answer');
    });
    const argv = [drain.id, '--partition', '0', '--from', '10', '--to', '29', '--sink', sink];

    const first = await runReplayCommand(deps(stop.signal), argv);
    const offsetsOfFirst = target.requests.map((request) => request.offset);
    const second = await runReplayCommand(deps(), argv);

    expect([first, second]).toEqual([130, 0]);
    expect(out[0]).toMatch(/stopped at offset 14: 4 record\(s\) delivered; run the same command again/);
    expect(out[1]).toMatch(/range 10\.\.29 done: 16 record\(s\) delivered \(resumed at 14\)$/);
    expect(offsetsOfFirst).toEqual([10, 11, 12, 13, 13]);
    expect(target.acceptedOffsets()).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    const sent = target.requests.map((request) => request.offset);
    const duplicates = sent.filter((offset, index) => sent.indexOf(offset) !== index);
    expect(duplicates).toEqual([13]);
  });

  it('without --to replays to the log end, and the same command later delivers what arrived since', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(10));
    const { target, sink } = await startTarget();
    const argv = [drain.id, '--partition', '0', '--from', '5', '--sink', sink];

    const first = await runReplayCommand(deps(), argv);
    kafka.server.append('orders', 0, records(3, 'v', 10));
    const second = await runReplayCommand(deps(), argv);

    expect([first, second]).toEqual([0, 0]);
    expect(out).toEqual([
      expect.stringMatching(/: caught up with the log end at 10: 5 record\(s\) delivered$/),
      expect.stringMatching(/: caught up with the log end at 13: 3 record\(s\) delivered \(resumed at 10\)$/),
    ]);
    expect(target.acceptedOffsets()).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('finds the replay busy while another run of the same command holds its row', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(10));
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const atSink = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const { target, sink } = await startTarget(async () => {
      arrived();
      await held;
      return {};
    });
    const argv = [drain.id, '--partition', '0', '--from', '0', '--to', '3', '--sink', sink];

    const first = runReplayCommand(deps(), argv);
    await atSink;
    const second = await runReplayCommand(deps(), argv);
    release();

    expect(second).toBe(1);
    expect(err).toContainEqual(
      expect.stringMatching(/: another run of this replay holds checkpoint live\d+~replay~/),
    );
    expect(await first).toBe(0);
    expect(target.acceptedOffsets()).toEqual([0, 1, 2, 3]);
  });

  it('stops at a record the sink refuses for good, recording it on its own row, never in the live DLQ', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(10));
    drain = { ...drain, dlq: dlqConfig() };
    const { target, sink } = await startTarget((request) => (request.offset === 3 ? { status: 400 } : {}));

    const code = await runReplayCommand(deps(), [
      drain.id,
      '--partition',
      '0',
      '--from',
      '1',
      '--to',
      '6',
      '--sink',
      sink,
    ]);

    expect(code).toBe(1);
    expect(err.at(-1)).toMatch(
      /: replay stopped at offset 3: ERR_SINK_REJECTED: .*2 record\(s\) delivered; the error is on checkpoint live\d+~replay~/,
    );
    expect(target.acceptedOffsets()).toEqual([1, 2]);
    const [row] = (await store.list()).filter((candidate) =>
      candidate.drainId.startsWith(`${drain.id}~replay~`),
    );
    expect(row).toMatchObject({ nextOffset: 3, lastError: { code: 'ERR_SINK_REJECTED', offset: 3 } });
    expect(await store.get(liveKey)).toBeUndefined();
  });

  /** Twenty records one second apart from 2026-12-01T00:00:00Z, stamped by their producer (Strimzi keeps it). */
  const produceStampedOnStrimzi = async () => {
    await startKafka(STRIMZI);
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const produced = await rawCall(kafka.server.url, 'POST', '/topics/orders/partitions/0', {
      headers: { 'content-type': 'application/vnd.kafka.binary.v2+json' },
      body: {
        records: records(20).map((record, i) => ({
          value: record.value.toString('base64'),
          timestamp: t0 + i * 1000,
        })),
      },
    });
    expect(produced.status).toBe(200);
  };

  it('finds the first offset at or after --from-time by binary search, saying how many reads it took', async () => {
    await produceStampedOnStrimzi();
    const { target, sink } = await startTarget();

    const code = await runReplayCommand(deps(), [
      drain.id,
      '--partition',
      '0',
      '--from-time',
      '2026-12-01T00:00:06.500Z',
      '--to',
      '9',
      '--sink',
      sink,
    ]);

    expect(code).toBe(0);
    // Between 0 and the log end 20: 10, 5, 8, 7, 6 (log2 of 20, rounded up).
    expect(err).toContain(
      `${drain.id} (orders/0): the first record at or after time:2026-12-01T00:00:06.500Z is at offset 7 (binary search: 5 reads)`,
    );
    expect(target.acceptedOffsets()).toEqual([7, 8, 9]);
  });

  it('refuses a --from-time later than every record, saying where the log ends', async () => {
    await produceStampedOnStrimzi();
    const { target, sink } = await startTarget();

    const code = await runReplayCommand(deps(), [
      drain.id,
      '--partition',
      '0',
      '--from-time',
      '2026-12-01T00:01:00Z',
      '--sink',
      sink,
    ]);

    expect(code).toBe(1);
    // Every read lands before the time: 10, 15, 18, 19, and the search ends at the log end.
    expect(err).toEqual([
      `${drain.id} (orders/0): no record at or after time:2026-12-01T00:01:00.000Z (the log ends at 20); searched in 4 reads`,
    ]);
    expect(target.requests).toEqual([]);
  });

  it('refuses --from-time on a dialect without record timestamps, naming it', async () => {
    await startKafka();
    kafka.server.append('orders', 0, records(5));
    const { target, sink } = await startTarget();

    const code = await runReplayCommand(deps(), [
      drain.id,
      '--partition',
      '0',
      '--from-time',
      '2026-12-01T00:00:00Z',
      '--sink',
      sink,
    ]);

    expect(code).toBe(2);
    expect(err[0]).toContain(
      '--from-time needs record timestamps, which KAFKA_REST_DIALECT=v1 (KAFKA_REST_FLAVOR=confluent) does not hand out',
    );
    expect(target.requests).toEqual([]);
  });

  it.each([
    {
      name: 'an unknown drain',
      argv: (sink: string) => ['nope', '--partition', '0', '--from', '0', '--sink', sink],
      code: 1,
      says: 'drain nope is not configured in DRAINS here (configured: live',
    },
    {
      name: 'a partition the topic lacks',
      argv: (sink: string, id: string) => [id, '--partition', '3', '--from', '0', '--sink', sink],
      code: 1,
      says: 'topic orders has no partition 3 (it has 1)',
    },
    {
      name: '--from past --to',
      argv: (sink: string, id: string) => [
        id,
        '--partition',
        '0',
        '--from',
        '8',
        '--to',
        '3',
        '--sink',
        sink,
      ],
      code: 2,
      says: '--from 8 is past --to 3: the range is empty',
    },
    {
      name: 'a --from below the log start',
      argv: (sink: string, id: string) => [id, '--partition', '0', '--from', '1', '--sink', sink],
      code: 1,
      says: '--from 1 is below the log start 2 (retention deleted it)',
    },
    {
      name: 'a --from past the log end',
      argv: (sink: string, id: string) => [id, '--partition', '0', '--from', '11', '--sink', sink],
      code: 1,
      says: '--from 11 is past the log end 10',
    },
    {
      name: 'sink text that is not JSON',
      argv: (_: string, id: string) => [id, '--partition', '0', '--from', '2', '--sink', '{"type":'],
      code: 2,
      says: '--sink is not JSON:',
    },
    {
      name: 'a sink spec DRAINS would refuse',
      argv: (_: string, id: string) => [id, '--partition', '0', '--from', '2', '--sink', '{"type":"ftp"}'],
      code: 2,
      says: '--sink must be an object with "type": "http" | "sqs" | "eventbridge"',
    },
    {
      name: 'no --from',
      argv: (sink: string, id: string) => [id, '--partition', '0', '--sink', sink],
      code: 2,
      says: 'give exactly one of --from <offset> and --from-time <ISO time>',
    },
    {
      name: 'a partition that is not a number',
      argv: (sink: string, id: string) => [id, '--partition', 'x', '--from', '2', '--sink', sink],
      code: 2,
      says: '--partition must be an integer ≥ 0, got x',
    },
  ])('refuses $name with a message naming the problem', async ({ argv, code, says }) => {
    await startKafka();
    kafka.server.append('orders', 0, records(10));
    kafka.server.truncateBefore('orders', 0, 2);
    const { target, sink } = await startTarget();

    const exit = await runReplayCommand(deps(), argv(sink, drain.id));

    expect(exit).toBe(code);
    expect(err.join('\n')).toContain(says);
    expect(target.requests).toEqual([]);
    expect(await store.history({ drainId: drain.id })).toEqual([]);
  });
});
