/**
 * Produce throughput through the client (`createKafkaRest`) for records of 100 B, 1 KB, 64 KB, 500 KB and
 * 1 MB (the default record limit), beside raw undici POSTs of the identical request bodies (built once,
 * up front) to the same server over a pool of the same size at the same concurrency: the limit of this machine. The local Kafka REST server runs
 * in a child process so its CPU does not share the measuring event loop, for both sides alike. Rounds
 * alternate client and raw, so drift (other load, JIT, GC) hits both.
 *
 * Design §8 target: client ≥ 0.9 × raw. A third side, raw POSTs that encode the records on every call as
 * the client does ("raw+encode"), splits the gap into encoding and the client's own work.
 *
 *   npx tsx bench/produce.ts [--quick]
 */
import { Pool } from 'undici';
import { apiKeyAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { encodeProduceBodyBytes, encodeProduceRequestBody, V1_MEDIA } from '../lib/kafka-rest/v1.js';
import { literalSecret } from '../lib/secrets/cache.js';
import { writeChart } from './lib/charts.js';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { runConcurrently } from './lib/load.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable, median, peakRssMiB } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const TOPIC = 'bench';
const PARTITIONS = 3;
/** Pool connections and calls in flight, on both sides: the client's default pool size. */
const CONCURRENCY = 8;
const API_KEY = 'bench-api-key-not-a-secret';
const TARGET_RATIO = 0.9;

interface Size {
  readonly name: string;
  readonly valueBytes: number;
  /** Records per produce call: one request each (below the client's 500-record / 5 MB split). */
  readonly recordsPerCall: number;
  /** Calls per timed round and side. */
  readonly callsPerRound: number;
}

const SIZES: readonly Size[] = [
  { name: '100 B', valueBytes: 100, recordsPerCall: 100, callsPerRound: QUICK ? 40 : 150 },
  { name: '1 KB', valueBytes: 1_024, recordsPerCall: 50, callsPerRound: QUICK ? 40 : 150 },
  { name: '64 KB', valueBytes: 65_536, recordsPerCall: 4, callsPerRound: QUICK ? 16 : 60 },
  { name: '500 KB', valueBytes: 500_000, recordsPerCall: 1, callsPerRound: QUICK ? 8 : 40 },
  { name: '1 MB', valueBytes: 1_000_000, recordsPerCall: 1, callsPerRound: QUICK ? 8 : 30 },
];
/** Short alternating rounds, and the median of each side's rounds: a burst of other load hits one round. */
const ROUNDS = QUICK ? 4 : 12;
const WARMUP_ROUNDS = QUICK ? 3 : 4;

type Side = 'client' | 'raw' | 'rawEncoding';

interface SideResult {
  records: number;
  requests: number;
  /** CPU time of this process (user + system): what the client costs beyond the raw POST. */
  cpuUs: number;
  /** Records per second of each round. */
  rates: number[];
}

const main = async (): Promise<void> => {
  const server = await startKafkaRestProcess({ topics: { [TOPIC]: PARTITIONS }, apiKey: API_KEY });
  const client = createKafkaRest({
    baseUrl: server.url,
    allowHttp: true,
    auth: apiKeyAuth(literalSecret(API_KEY)),
    connections: CONCURRENCY,
  });
  const pool = new Pool(server.url, { connections: CONCURRENCY, pipelining: 1 });
  const path = `/topics/${TOPIC}`;
  const headers = {
    'content-type': V1_MEDIA.produceContentType,
    accept: V1_MEDIA.accept,
    'x-auth-token': API_KEY,
  };
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  const chartPoints: Record<Side, [number, number][]> = { client: [], raw: [], rawEncoding: [] };

  try {
    for (const size of SIZES) {
      // Distinct keyless values, as callers would pass them (Buffers of their own).
      const records: ProduceRecord[] = Array.from({ length: size.recordsPerCall }, (_, i) => ({
        value: Buffer.alloc(size.valueBytes, 97 + (i % 26)),
      }));
      const indices = records.map((_, i) => i);
      const body = encodeProduceBodyBytes(records, indices);
      const viaClient = async (): Promise<void> => {
        const results = await client.produce(TOPIC, records, { deadlineMs: Date.now() + 30_000 });
        if (!results.every((result) => result.ok)) throw new Error('a record failed in the benchmark');
      };
      const post = async (payload: string | Buffer): Promise<void> => {
        const response = await pool.request({ path, method: 'POST', headers, body: payload });
        await response.body.text();
        if (response.statusCode !== 200) throw new Error(`raw POST answered ${response.statusCode}`);
      };
      const raw = (): Promise<void> => post(body);
      // Not a target, a diagnosis: what encoding the records (base64 + JSON, as the client does) adds.
      const rawEncoding = (): Promise<void> => post(encodeProduceRequestBody(records, indices));

      // Warm both paths (connections, JIT: the client has more code to optimise), then alternate timed rounds.
      for (let warm = 0; warm < WARMUP_ROUNDS; warm++) {
        await runConcurrently(size.callsPerRound, CONCURRENCY, viaClient);
        await runConcurrently(size.callsPerRound, CONCURRENCY, raw);
        await runConcurrently(size.callsPerRound, CONCURRENCY, rawEncoding);
        await server.reset(TOPIC, PARTITIONS);
      }
      const sides: Record<Side, SideResult> = {
        client: { records: 0, requests: 0, cpuUs: 0, rates: [] },
        raw: { records: 0, requests: 0, cpuUs: 0, rates: [] },
        rawEncoding: { records: 0, requests: 0, cpuUs: 0, rates: [] },
      };
      const work: Record<Side, () => Promise<void>> = { client: viaClient, raw, rawEncoding };
      for (let round = 0; round < ROUNDS; round++) {
        const order: readonly Side[] =
          round % 2 === 0 ? ['client', 'raw', 'rawEncoding'] : ['rawEncoding', 'raw', 'client'];
        for (const side of order) {
          const requestsBefore = client.stats().requests;
          const cpuBefore = process.cpuUsage();
          const ms = await runConcurrently(size.callsPerRound, CONCURRENCY, work[side]);
          const cpu = process.cpuUsage(cpuBefore);
          sides[side].cpuUs += cpu.user + cpu.system;
          sides[side].records += size.callsPerRound * size.recordsPerCall;
          sides[side].rates.push((size.callsPerRound * size.recordsPerCall) / (ms / 1_000));
          sides[side].requests +=
            side === 'client' ? client.stats().requests - requestsBefore : size.callsPerRound;
          // Keep the server's memory flat: the log would otherwise hold every record of the run.
          await server.reset(TOPIC, PARTITIONS);
        }
      }
      const rate = (side: SideResult): number => median(side.rates);
      const mbps = (side: SideResult): number => (rate(side) * size.valueBytes) / 1_000_000;
      for (const side of ['client', 'raw', 'rawEncoding'] as const) {
        chartPoints[side].push([size.valueBytes, mbps(sides[side])]);
      }
      rows.push([
        size.name,
        String(size.recordsPerCall),
        formatNumber(Buffer.byteLength(body) / 1024),
        formatNumber(rate(sides.client)),
        formatNumber(mbps(sides.client)),
        formatNumber(rate(sides.raw)),
        formatNumber(mbps(sides.raw)),
        (rate(sides.client) / rate(sides.raw)).toFixed(2),
        (sides.client.requests / (sides.client.records / size.recordsPerCall)).toFixed(2),
        formatNumber(sides.client.cpuUs / (sides.client.records / size.recordsPerCall)),
        formatNumber(sides.raw.cpuUs / (sides.raw.records / size.recordsPerCall)),
        formatNumber(rate(sides.rawEncoding)),
        formatNumber(sides.rawEncoding.cpuUs / (sides.rawEncoding.records / size.recordsPerCall)),
      ]);
      summary.push(
        {
          scenario: `produce ${size.name} ×${size.recordsPerCall}/call`,
          metric: 'rec/s',
          figure: rate(sides.client),
          baseline: { label: 'raw', value: rate(sides.raw) },
          target: { kind: 'ratio-at-least', value: TARGET_RATIO },
        },
        {
          scenario: `produce ${size.name} ×${size.recordsPerCall}/call`,
          metric: 'MB/s',
          figure: mbps(sides.client),
          baseline: { label: 'raw', value: mbps(sides.raw) },
        },
      );
    }
  } finally {
    await pool.close();
    await client.close();
    await server.close();
  }

  const rss = peakRssMiB();
  summary.push({
    scenario: 'produce: peak RSS (client side)',
    metric: 'MiB',
    figure: rss,
    note:
      'Benchmark processes (tsx, harness, baselines, in-process fakes) weigh more than a function: the 128 MB ' +
      'target is judged on the bundled handlers ("peak RSS <function> (bundle …)" rows).',
  });
  console.log(
    formatTable(
      [
        'record',
        'rec/call',
        'body KiB',
        'client rec/s',
        'client MB/s',
        'raw rec/s',
        'raw MB/s',
        'client/raw',
        'req/call',
        'client CPU µs/call',
        'raw CPU µs/call',
        'raw+encode rec/s',
        'raw+encode CPU µs/call',
      ],
      rows,
    ),
  );
  console.log(
    `\n${CONCURRENCY} calls in flight over ${CONCURRENCY} keep-alive connections on both sides; median of ${ROUNDS} alternating rounds; ` +
      `MB/s counts record payload (before base64); server in a child process. Peak RSS ${rss.toFixed(0)} MiB.` +
      `${QUICK ? ' (--quick)' : ''}`,
  );
  const chart = writeChart('produce-record-size.svg', {
    title: `Produce throughput against record size (${SIZES.map((s) => `${s.name} ×${s.recordsPerCall}`).join(', ')} per request)`,
    xLabel: 'record value bytes',
    yLabel: 'MB/s of record payload',
    xScale: 'log',
    series: [
      { name: 'project client', points: chartPoints.client },
      { name: 'raw undici', points: chartPoints.raw },
      { name: 'raw + encode', points: chartPoints.rawEncoding },
    ],
  });
  console.log(`Chart: ${chart}`);
  reportRows(summary);
};

await main();
