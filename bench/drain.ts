/**
 * Drain throughput on one partition: records per second from the local Kafka REST server, through the
 * real drain loop (lease, fetch with prefetch, the real HTTP sink in `single` mode, conditional commits
 * in dynalite), into a local HTTP endpoint. Beside it, two baselines measured in the same run:
 *
 * - raw fetch: undici GETs of `…/messages?offset=&count=` in a loop, JSON parsed and base64 decoded;
 * - raw sink: undici POSTs of the same records one after the other, as the HTTP sink sends them.
 *
 * Design §8 target: drain ≥ 0.8 × min(raw fetch, raw sink). Prefetching overlaps the fetch with the
 * deliveries, so the drain should approach the slower of the two.
 *
 *   npx tsx bench/drain.ts [--quick]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { drainPartition } from '../lib/drain/drain-partition.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import { V1_MEDIA } from '../lib/kafka-rest/v1.js';
import { createHttpSink } from '../lib/sinks/index.js';
import { toRecordId } from '../lib/sinks/record-id.js';
import { drainSettings, httpSinkConfig } from '../test/fixtures/drain.js';
import { writeChart } from './lib/charts.js';
import { SILENT } from './lib/drain-harness.js';
import { startDynaliteProcess } from './lib/dynalite-process.js';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { reportRows } from './lib/report.js';
import { formatNumber, formatTable, perSecond, time } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const RECORDS = QUICK ? 3_000 : 20_000;
const RUNS = QUICK ? 1 : 3;
const BATCH = Number(process.argv.find((arg) => arg.startsWith('--batch='))?.slice(8) ?? 100);
const VALUE_BYTES = 256;
const TOPIC = 'bench';
const TARGET_RATIO = 0.8;
const COMMIT_INTERVAL_MS = 1_000;
/** Issue #18: with `commitIntervalMs` the single lane should reach 0.9 × min(raw fetch, raw sink). */
const TARGET_INTERVAL_RATIO = 0.9;
const SWEEP_TOPIC = 'bench-latency';
const SWEEP_LATENCIES_MS = [1, 2, 5] as const;
const SWEEP_RECORDS = QUICK ? 200 : 1_000;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** The cheapest endpoint that still reads every body: the figure is the client side's, not the server's. */
const startCountingSink = async () => {
  let count = 0;
  // Each answer waits this long: a sink further away (the sweep over sink latency).
  let latencyMs = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count += 1;
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end('ok');
      };
      if (latencyMs === 0) answer();
      else setTimeout(answer, latencyMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/in`,
    count: () => count,
    setLatency: (ms: number) => {
      latencyMs = ms;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const main = async (): Promise<void> => {
  // The Kafka REST server and DynamoDB run in processes of their own, as they run elsewhere than the
  // function in Lambda: the measured loop's thread pays only the client side of fetches and commits. The
  // sink stays in this process, where the raw sink baseline pays for it alike.
  const kafkaServer = await startKafkaRestProcess({ topics: { [TOPIC]: 1, [SWEEP_TOPIC]: 1 } });
  // Record n: key `k<n>`, VALUE_BYTES of `a` (what the child appends with `keys` = the record count).
  await kafkaServer.append(TOPIC, 0, RECORDS, VALUE_BYTES, RECORDS);
  const value = Buffer.alloc(VALUE_BYTES, 0x61);
  const records = Array.from({ length: RECORDS }, (_, offset) => ({
    offset,
    key: Buffer.from(`k${offset}`),
    value,
  }));
  const sinkServer = await startCountingSink();
  const dynamo = await startDynaliteProcess();
  const kafka = createKafkaRest({ baseUrl: kafkaServer.url, allowHttp: true, auth: noAuth(), log: SILENT });
  const aws = createAwsClients({});
  const sinkConfig = httpSinkConfig(sinkServer.url, { timeoutMs: 10_000 });
  const sink = createHttpSink(sinkConfig, { aws, log: SILENT, now: Date.now });
  const store = createCheckpointStore({
    client: dynamo.client,
    tableName: dynamo.tableName,
    leaseMs: 60_000,
    now: Date.now,
  });
  const fetchPool = new Pool(new URL(kafkaServer.url).origin, { connections: 1 });
  const sinkPool = new Pool(new URL(sinkServer.url).origin, { connections: 1 });

  const rawFetch = async (): Promise<void> => {
    let offset = 0;
    for (;;) {
      const response = await fetchPool.request({
        method: 'GET',
        path: `/topics/${TOPIC}/partitions/0/messages?offset=${offset}&count=${BATCH}`,
        headers: { accept: V1_MEDIA.fetchAccept },
      });
      const records = (await response.body.json()) as { offset: number; key: string | null; value: string }[];
      const last = records.at(-1);
      if (last === undefined) return;
      for (const record of records) {
        Buffer.from(record.value, 'base64');
        if (record.key !== null) Buffer.from(record.key, 'base64');
      }
      offset = last.offset + 1;
    }
  };

  // The ids the drain gives them (the fixture's drain settings: namespace and epoch as a new drain has).
  const sinkRecords = records.map((record) => ({
    id: toRecordId({
      namespace: drainSettings().idNamespace,
      topic: TOPIC,
      partition: 0,
      epoch: 0,
      offset: record.offset,
    }),
    topic: TOPIC,
    partition: 0,
    ...record,
  }));
  const rawSink = async (records = sinkRecords): Promise<void> => {
    for (const record of records) {
      const response = await sinkPool.request({
        method: 'POST',
        path: '/in',
        headers: {
          'content-type': 'application/octet-stream',
          'kafka-topic': TOPIC,
          'kafka-partition': '0',
          'kafka-offset': String(record.offset),
          'kafka-key': record.key?.toString('base64') ?? '',
          'idempotency-key': record.id,
        },
        body: record.value ?? Buffer.alloc(0),
      });
      await response.body.dump();
    }
  };

  /** The HTTP sink alone, fed batches of the same size: separates the sink's own cost from the loop's. */
  const sinkOnly = async (): Promise<void> => {
    for (let start = 0; start < sinkRecords.length; start += BATCH) {
      const outcomes = await sink.deliver(sinkRecords.slice(start, start + BATCH), {
        deadlineMs: Date.now() + 60_000,
      });
      if (outcomes.some((outcome) => !outcome.ok)) throw new Error('the sink refused a record');
    }
  };

  let run = 0;
  const drain = async (commitIntervalMs: number, topic = TOPIC, expected = RECORDS): Promise<void> => {
    run += 1;
    const report = await drainPartition(
      {
        kafka,
        checkpoints: store,
        log: SILENT,
        now: Date.now,
        sleep: (ms) => delay(ms),
        random: Math.random,
      },
      {
        drain: drainSettings({ id: `bench-${run}`, topic, batchSize: BATCH, commitIntervalMs }),
        partition: 0,
        sink,
        deadLetters: undefined,
        owner: `bench-${run}`,
        deadlineMs: Date.now() + 600_000,
        cleanupDeadlineMs: Date.now() + 605_000,
        leaseMs: 60_000,
      },
    );
    if (report.outcome !== 'caught-up' || report.delivered !== expected) {
      throw new Error(`drain run ended ${report.outcome} after ${report.delivered} of ${expected} records`);
    }
  };

  try {
    // Warm-up: JIT, connections, dynalite's first writes.
    await rawFetch();
    await rawSink();
    await drain(0);
    await drain(COMMIT_INTERVAL_MS);
    await sinkOnly();
    const fetchRates: number[] = [];
    const sinkRates: number[] = [];
    const drainRates: number[] = [];
    const intervalRates: number[] = [];
    const sinkOnlyRates: number[] = [];
    const sinkBefore = sinkServer.count();
    for (let i = 0; i < RUNS; i += 1) {
      fetchRates.push(perSecond(await time(RECORDS, rawFetch)));
      sinkRates.push(perSecond(await time(RECORDS, rawSink)));
      drainRates.push(perSecond(await time(RECORDS, () => drain(0))));
      intervalRates.push(perSecond(await time(RECORDS, () => drain(COMMIT_INTERVAL_MS))));
      sinkOnlyRates.push(perSecond(await time(RECORDS, sinkOnly)));
    }
    const received = sinkServer.count() - sinkBefore;
    if (received !== RECORDS * RUNS * 4) throw new Error(`the sink got ${received} requests`);

    const fetchRate = median(fetchRates);
    const sinkRate = median(sinkRates);
    const drainRate = median(drainRates);
    const intervalRate = median(intervalRates);
    const baseline = Math.min(fetchRate, sinkRate);
    const ratio = drainRate / baseline;
    const intervalRatio = intervalRate / baseline;
    const rows = [
      ['drain, commit every batch (default)', drainRate],
      [`drain, commitIntervalMs=${COMMIT_INTERVAL_MS}`, intervalRate],
      ['raw fetch loop (baseline)', fetchRate],
      ['raw sink loop (baseline)', sinkRate],
      ['HTTP sink alone (sink.deliver loop)', median(sinkOnlyRates)],
    ] as const;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
    console.log(
      `\nDrain throughput, ${RECORDS.toLocaleString('en-US')} records of ${VALUE_BYTES} B, count=${BATCH}, median of ${RUNS}\n`,
    );
    console.log(`${'path'.padEnd(36)}${'records/s'.padStart(10)}`);
    for (const [name, rate] of rows) console.log(`${name.padEnd(36)}${fmt(rate)}`);
    const verdict = (value: number, target: number) =>
      `${value.toFixed(2)} (target ≥ ${target}): ${value >= target ? 'PASS' : 'FAIL'}`;
    console.log(`\nratio drain / min(baselines): commit every batch ${verdict(ratio, TARGET_RATIO)}`);
    console.log(
      `ratio drain / min(baselines): commitIntervalMs=${COMMIT_INTERVAL_MS} ${verdict(intervalRatio, TARGET_INTERVAL_RATIO)}`,
    );
    // Cost model per million records with this batch size (design §9).
    const million = 1_000_000;
    console.log(
      `per million records: ${Math.ceil(million / BATCH).toLocaleString('en-US')} fetches, ${million.toLocaleString('en-US')} sink POSTs (single mode), ` +
        `~${Math.ceil(million / BATCH).toLocaleString('en-US')} DynamoDB commits, ~${Math.round(million / drainRate).toLocaleString('en-US')} Lambda-seconds at this rate`,
    );

    // Against a sink further away, one lane waits a round trip per record: the sweep shows how the drain
    // follows the raw sink loop as the sink's latency grows (fewer records: each costs that latency).
    await kafkaServer.append(SWEEP_TOPIC, 0, SWEEP_RECORDS, VALUE_BYTES, SWEEP_RECORDS);
    const sweep: { latencyMs: number; drain: number; interval: number; rawSink: number }[] = [
      { latencyMs: 0, drain: drainRate, interval: intervalRate, rawSink: sinkRate },
    ];
    for (const latencyMs of SWEEP_LATENCIES_MS) {
      sinkServer.setLatency(latencyMs);
      sweep.push({
        latencyMs,
        drain: perSecond(await time(SWEEP_RECORDS, () => drain(0, SWEEP_TOPIC, SWEEP_RECORDS))),
        interval: perSecond(
          await time(SWEEP_RECORDS, () => drain(COMMIT_INTERVAL_MS, SWEEP_TOPIC, SWEEP_RECORDS)),
        ),
        rawSink: perSecond(await time(SWEEP_RECORDS, () => rawSink(sinkRecords.slice(0, SWEEP_RECORDS)))),
      });
    }
    sinkServer.setLatency(0);
    console.log(
      `\nAgainst sink latency (${SWEEP_RECORDS.toLocaleString('en-US')} records a point above 0 ms; one run each)\n`,
    );
    console.log(
      formatTable(
        [
          'sink latency ms',
          'drain rec/s',
          `commitIntervalMs=${COMMIT_INTERVAL_MS} rec/s`,
          'raw sink rec/s',
          'drain / raw sink',
        ],
        sweep.map((point) => [
          String(point.latencyMs),
          formatNumber(point.drain),
          formatNumber(point.interval),
          formatNumber(point.rawSink),
          (point.drain / point.rawSink).toFixed(2),
        ]),
      ),
    );
    const chart = writeChart('drain-sink-latency.svg', {
      title: `Drain throughput against sink latency (one partition, ${VALUE_BYTES} B records, HTTP sink single mode)`,
      xLabel: 'sink latency ms',
      yLabel: 'records/s',
      series: [
        { name: 'drain, commit every batch', points: sweep.map((p) => [p.latencyMs, p.drain] as const) },
        {
          name: `drain, commit every ${COMMIT_INTERVAL_MS} ms`,
          points: sweep.map((p) => [p.latencyMs, p.interval] as const),
        },
        { name: 'raw sink loop', points: sweep.map((p) => [p.latencyMs, p.rawSink] as const) },
      ],
    });
    console.log(`Chart: ${chart}`);
    reportRows([
      {
        scenario: 'drain, commit every batch',
        metric: 'rec/s',
        figure: drainRate,
        baseline: { label: 'min(raw)', value: baseline },
        target: { kind: 'ratio-at-least', value: TARGET_RATIO },
      },
      {
        scenario: `drain, commitIntervalMs=${COMMIT_INTERVAL_MS}`,
        metric: 'rec/s',
        figure: intervalRate,
        baseline: { label: 'min(raw)', value: baseline },
        target: { kind: 'ratio-at-least', value: TARGET_INTERVAL_RATIO },
      },
    ]);
  } finally {
    await fetchPool.close();
    await sinkPool.close();
    await sink.close?.();
    aws.destroy();
    await kafka.close();
    await dynamo.close();
    await sinkServer.close();
    await kafkaServer.close();
  }
};

await main();
