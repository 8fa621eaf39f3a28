import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HttpSink, startHttpSink } from '../../dev/http-sink.js';
import { makeHandler as makeDrainHandler } from '../../handlers/drain.js';
import { makeHandler as makeQueueHandler } from '../../handlers/queue.js';
import { createDrainDeps } from '../../lib/wiring/drain.js';
import { createQueueDeps } from '../../lib/wiring/queue.js';
import { loadConfig } from '../../lib/wiring/settings/all.js';
import { lambdaContext } from '../fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from '../fixtures/sqs.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from '../helpers/dynalite.js';
import {
  bridgeClient,
  createTopic,
  deadline,
  functionEnv,
  loadPeers,
  type Peers,
  readAll,
  restartPeer,
  uniqueTopic,
} from './peers.js';

const PARTITIONS = 3;
const GROUPS = 8;
const PER_GROUP = 50;
const BATCH = 10;
/** Batches sent before each restart: the bridge first, then the broker behind it. */
const RESTARTS = [
  { afterBatch: 8, peer: 'bridge' },
  { afterBatch: 22, peer: 'kafka' },
] as const;
const RUN_MS = 150_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether something accepts connections on `address` ("host:port") now. */
const listening = (address: string) =>
  new Promise<boolean>((resolve) => {
    const at = address.lastIndexOf(':');
    const socket = connect(Number(address.slice(at + 1)), address.slice(0, at));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Waits (15 s at most) until the peer at `address` is down, so the traffic that follows meets the outage. */
const downAt = async (address: string) => {
  const until = Date.now() + 15_000;
  while ((await listening(address)) && Date.now() < until) await pause(50);
};

/** The values in order of first appearance: duplicates (at-least-once resends) kept out of the order check. */
const firstSeen = <T>(values: readonly T[]): T[] => [...new Set(values)];

/**
 * A chaos run over the real pair: FIFO messages through the queue function, as SQS would deliver and
 * redeliver them (unacknowledged ones come back, each group in order), and the drain running on a schedule
 * to an HTTP sink, while the bridge and then the broker are stopped and started again mid-run. The proxy
 * faults only our server can inject stay in `npm test`'s chaos suite; here the faults are real restarts.
 * Nothing acknowledged may be lost, each group keeps its order in Kafka, and each partition reaches the
 * sink complete and in offset order.
 */
describe('chaos over the real pair: the bridge and the broker restarted mid-run', () => {
  let peers: Peers;
  let dynamo: LocalDynamo;
  let sink: HttpSink;

  beforeAll(async () => {
    peers = loadPeers();
    dynamo = await startDynalite();
    sink = await startHttpSink();
    vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_CREDENTIALS.secretAccessKey);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await sink?.close();
    await dynamo?.close();
  });

  it(
    'loses nothing acknowledged and keeps every order',
    async () => {
      // Prepare
      const topic = uniqueTopic('chaos');
      await createTopic(peers, topic, PARTITIONS);
      const env = {
        ...functionEnv(peers),
        KAFKA_REST_CONSUMER_GROUP: uniqueTopic('chaos-group'),
        // Short enough that a call to a stopped peer fails within the run, and the loop goes on.
        KAFKA_REST_REQUEST_TIMEOUT_MS: '5000',
        CHECKPOINT_TABLE: dynamo.tableName,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        QUEUE_TOPIC: topic,
        DRAINS: JSON.stringify([
          {
            id: `${topic}-http`,
            topic,
            batchSize: 25,
            sink: { type: 'http', url: `${sink.url}/in`, allowHttp: true },
          },
        ]),
      };
      const queueDeps = createQueueDeps(loadConfig(env));
      const drainDeps = createDrainDeps(loadConfig(env));
      const queue = makeQueueHandler(() => queueDeps);
      const drain = makeDrainHandler(() => drainDeps);
      // SQS FIFO: per group, the messages not yet acknowledged, in order; a batch takes each group's head.
      const pending = new Map<string, SQSRecord[]>(
        Array.from({ length: GROUPS }, (_, g) => [
          `g${g}`,
          Array.from({ length: PER_GROUP }, (_, i) => sqsRecord(`g${g}-${i}`, { groupId: `g${g}` })),
        ]),
      );
      const acknowledged: string[] = [];
      const until = Date.now() + RUN_MS;
      // Each restart in progress, and whether the producer met it: a batch failed, or waited (the bridge's
      // Kafka producer holds records through a short broker outage, up to its delivery timeout), while it ran.
      const restarts: { peer: string; done: Promise<void>; running: boolean; felt: boolean; ms: number }[] =
        [];
      let producing = true;
      let drainRuns = 0;
      let failedBatches = 0;

      // Act: the schedule drains every 300 ms, failing runs included, while the queue is fed.
      const drainer = (async () => {
        while (producing && Date.now() < until) {
          await drain({}, lambdaContext(8_000)).catch(() => undefined);
          drainRuns += 1;
          await pause(300);
        }
      })();
      for (let batch = 0; [...pending.values()].some((m) => m.length > 0) && Date.now() < until; batch += 1) {
        const restart = RESTARTS.find((r) => r.afterBatch === batch);
        if (restart !== undefined) {
          const started = Date.now();
          const entry = { peer: restart.peer, running: true, felt: false, ms: 0, done: Promise.resolve() };
          entry.done = restartPeer(restart.peer).then(() => {
            entry.running = false;
            entry.ms = Date.now() - started;
          });
          restarts.push(entry);
          await downAt(restart.peer === 'kafka' ? peers.kafkaBootstrap : new URL(peers.bridgeUrl).host);
        }
        const messages = [...pending.values()]
          .flatMap((m) => m.slice(0, Math.ceil(BATCH / GROUPS)))
          .slice(0, BATCH);
        const sentAt = Date.now();
        const during = restarts.filter((entry) => entry.running);
        const response = await queue(sqsEvent(messages), lambdaContext(10_000)).catch(() => ({
          batchItemFailures: messages.map((m) => ({ itemIdentifier: m.messageId })),
        }));
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        for (const message of messages) {
          if (failed.has(message.messageId)) continue;
          acknowledged.push(message.body);
          const group = pending.get(message.attributes.MessageGroupId ?? '') ?? [];
          group.splice(group.indexOf(message), 1);
        }
        if (failed.size > 0 || Date.now() - sentAt > 1_500) for (const entry of during) entry.felt = true;
        if (failed.size > 0) {
          failedBatches += 1;
          await pause(250);
        }
      }
      await Promise.all(restarts.map((entry) => entry.done));
      producing = false;
      await drainer;
      // After the storm: scheduled runs until the drain reports every partition caught up.
      while (Date.now() < until + 60_000) {
        const report = await drain({}, lambdaContext(15_000)).catch(() => undefined);
        if (report?.drains[0]?.partitions.every((p) => p.outcome === 'caught-up' && p.lag === 0)) break;
        await pause(500);
      }
      await queueDeps.kafka.close();
      await drainDeps.close?.();

      // Assess: every message acknowledged, none lost from Kafka, each group in order there.
      const reader = bridgeClient(peers, { fetchWaitMs: 300 });
      const inKafka = await Promise.all(
        Array.from({ length: PARTITIONS }, async (_, p) => {
          const { end } = await reader.logBounds(topic, p, deadline());
          return (await readAll(reader, topic, p, 0, end)).map((r) => r.value?.toString() ?? '');
        }),
      );
      await reader.close();
      // The run's figures, for the reader of a CI log (vitest hides a passing test's output).
      writeFileSync(
        join(import.meta.dirname, '..', '..', '.peers', 'run', 'chaos-summary.json'),
        JSON.stringify({
          acknowledged: acknowledged.length,
          inKafka: inKafka.flat().length,
          atSink: sink.received.length,
          failedBatches,
          drainRuns,
          restarts: restarts.map(({ peer, felt, ms }) => ({ peer, felt, ms })),
        }),
      );
      expect(restarts.map(({ peer, felt }) => [peer, felt])).toEqual(
        RESTARTS.map(({ peer }) => [peer, true]),
      );
      expect(acknowledged).toHaveLength(GROUPS * PER_GROUP);
      const stored = new Set(inKafka.flat());
      expect(acknowledged.filter((body) => !stored.has(body))).toEqual([]);
      for (let g = 0; g < GROUPS; g += 1) {
        const holding = inKafka.filter((values) => values.some((v) => v.startsWith(`g${g}-`)));
        expect(holding, `group g${g} in one partition`).toHaveLength(1);
        expect(firstSeen(holding[0]?.filter((v) => v.startsWith(`g${g}-`)) ?? [])).toEqual(
          Array.from({ length: PER_GROUP }, (_, i) => `g${g}-${i}`),
        );
      }
      // Assess: the sink got each partition whole, in offset order (a redelivery after a failed run repeats).
      expect(drainRuns).toBeGreaterThan(0);
      for (let p = 0; p < PARTITIONS; p += 1) {
        const offsets = sink.received
          .filter((request) => request.headers['kafka-partition'] === String(p))
          .map((request) => Number(request.headers['kafka-offset']));
        expect(firstSeen(offsets), `partition ${p}`).toEqual(
          Array.from({ length: inKafka[p]?.length ?? 0 }, (_, i) => i),
        );
      }
    },
    RUN_MS + 120_000,
  );
});
