/**
 * Produce through the seed API's published Node clients, `kafka-rest` (Confluent's kafka-rest-node 0.0.5)
 * and `message-hub-rest` 1.2.0 (IBM's, its last version that still produces), beside the project's client
 * and raw undici POSTs of the identical request bodies (built once, up front): same local Kafka REST
 * server, same records, one run. Both peers speak only v1 (`kafka-rest` refuses any other version, and
 * `message-hub-rest` hard-codes `application/vnd.kafka.binary.v1+json`), so the server runs v1, as it does
 * for every other produce scenario. Rounds alternate the four sides, so drift hits them alike.
 *
 * Rows: batches of 100 records one call at a time, batches of 100 with 8 calls in flight, and one record
 * per call with 8 in flight; then a sweep of batch sizes for the client and raw (the chart of throughput
 * against batch size). Target (issue #18): the project's client ≥ 0.95 × raw in every row. Raw sends a
 * body built once; "raw, encoding" builds it from the records at every call (`JSON.stringify`, as the
 * shortest hand-written client would), which the client must do too: the distance between the two is
 * what encoding alone costs.
 *
 *   npx tsx bench/peers.ts [--quick]
 */
import KafkaRest from 'kafka-rest';
import MessageHub from 'message-hub-rest';
import { Pool } from 'undici';
import { apiKeyAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { encodeProduceRequestBody, V1_MEDIA } from '../lib/kafka-rest/v1.js';
import { literalSecret } from '../lib/secrets/cache.js';
import { writeChart } from './lib/charts.js';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { runConcurrently } from './lib/load.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable, median } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const TOPIC = 'bench';
const PARTITIONS = 3;
const API_KEY = 'bench-api-key-not-a-secret';
const VALUE_BYTES = 100;
const TARGET_RATIO = 0.95;
const ROUNDS = QUICK ? 3 : 9;
const WARMUP_ROUNDS = QUICK ? 2 : 3;
/** Records per timed round and side, whatever the batch size: rounds take about as long at every size. */
const RECORDS_PER_ROUND = QUICK ? 2_000 : 10_000;

type Side = 'client' | 'raw' | 'raw, encoding' | 'kafka-rest' | 'message-hub-rest';
const PEER_SIDES: readonly Side[] = ['client', 'raw', 'raw, encoding', 'kafka-rest', 'message-hub-rest'];

interface Row {
  readonly name: string;
  readonly batch: number;
  readonly inFlight: number;
  readonly sides: readonly Side[];
}

const ROWS: readonly Row[] = [
  { name: 'batch 100, sequential', batch: 100, inFlight: 1, sides: PEER_SIDES },
  { name: 'batch 100, 8 in flight', batch: 100, inFlight: 8, sides: PEER_SIDES },
  { name: '1 record per request, 8 in flight', batch: 1, inFlight: 8, sides: PEER_SIDES },
  ...[10, 500].map((batch) => ({
    name: `batch ${batch}, 8 in flight`,
    batch,
    inFlight: 8,
    sides: ['client', 'raw', 'raw, encoding'] as const,
  })),
];

const main = async (): Promise<void> => {
  const server = await startKafkaRestProcess({ topics: { [TOPIC]: PARTITIONS }, apiKey: API_KEY });
  const client = createKafkaRest({
    baseUrl: server.url,
    allowHttp: true,
    auth: apiKeyAuth(literalSecret(API_KEY)),
    connections: 8,
  });
  const pool = new Pool(server.url, { connections: 8, pipelining: 1 });
  const kafkaRest = new KafkaRest({ url: server.url, version: 1, headers: { 'X-Auth-Token': API_KEY } });
  const messageHub = new MessageHub(
    { messagehub: [{ label: 'messagehub', credentials: { api_key: API_KEY, kafka_rest_url: server.url } }] },
    { https: false },
  );
  const headers = {
    'content-type': V1_MEDIA.produceContentType,
    accept: V1_MEDIA.accept,
    'x-auth-token': API_KEY,
  };
  const table: string[][] = [];
  const summary: SummaryRow[] = [];
  const sweep: { batch: number; client: number; raw: number }[] = [];

  try {
    for (const row of ROWS) {
      const values = Array.from({ length: row.batch }, (_, i) => Buffer.alloc(VALUE_BYTES, 97 + (i % 26)));
      const records: ProduceRecord[] = values.map((value) => ({ value }));
      const body = encodeProduceRequestBody(
        records,
        records.map((_, i) => i),
      );
      const rawPost = async (requestBody: string | Buffer): Promise<void> => {
        const response = await pool.request({
          path: `/topics/${TOPIC}`,
          method: 'POST',
          headers,
          body: requestBody,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`raw POST answered ${response.statusCode}`);
        expectAcked((JSON.parse(text) as { offsets: { error_code: number | null }[] }).offsets);
      };
      const expectAcked = (offsets: readonly { error_code: number | null }[] | undefined): void => {
        if (offsets?.length !== row.batch || offsets.some((o) => o.error_code !== null)) {
          throw new Error('a record failed in the benchmark');
        }
      };
      const work: Record<Side, () => Promise<void>> = {
        client: async () => {
          const results = await client.produce(TOPIC, records, { deadlineMs: Date.now() + 30_000 });
          if (!results.every((result) => result.ok)) throw new Error('a record failed in the benchmark');
        },
        raw: () => rawPost(body),
        // What the shortest hand-written client pays on top: the body built from the records at each call.
        'raw, encoding': () =>
          rawPost(JSON.stringify({ records: values.map((value) => ({ value: value.toString('base64') })) })),
        'kafka-rest': () =>
          new Promise((resolve, reject) => {
            // A copy: the client replaces the array's entries with its own envelopes, in place.
            kafkaRest.topic(TOPIC).produce([...values], (error, answer) => {
              if (error !== null) return reject(error);
              expectAcked(answer?.offsets);
              resolve();
            });
          }),
        'message-hub-rest': async () => {
          const answer = await messageHub.produce(TOPIC, new MessageHub.MessageList(values));
          expectAcked(answer.offsets);
        },
      };
      // At least 100 calls a round: a sequential round of 25 (tens of milliseconds) was mostly noise.
      const calls = Math.max(100, Math.round(RECORDS_PER_ROUND / row.batch));
      const rates: Record<Side, number[]> = {
        client: [],
        raw: [],
        'raw, encoding': [],
        'kafka-rest': [],
        'message-hub-rest': [],
      };
      for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
        // Rotate who goes first: each side meets each position in the round as often as the others.
        const order = row.sides.map((_, i) => row.sides[(i + round) % row.sides.length] as Side);
        for (const side of order) {
          const ms = await runConcurrently(calls, row.inFlight, work[side]);
          if (round >= WARMUP_ROUNDS) rates[side].push((calls * row.batch) / (ms / 1_000));
          // Keep the server's memory flat: the log would otherwise hold every record of the run.
          await server.reset(TOPIC, PARTITIONS);
        }
      }
      const rate = (side: Side): number => median(rates[side]);
      const ratio = (side: Side): string =>
        row.sides.includes(side) ? (rate(side) / rate('raw')).toFixed(2) : '';
      const cell = (side: Side): string => (row.sides.includes(side) ? formatNumber(rate(side)) : '');
      table.push([
        row.name,
        cell('client'),
        cell('raw'),
        cell('raw, encoding'),
        cell('kafka-rest'),
        cell('message-hub-rest'),
        ratio('client'),
        (rate('client') / rate('raw, encoding')).toFixed(2),
        ratio('kafka-rest'),
        ratio('message-hub-rest'),
        row.sides.includes('kafka-rest') ? (rate('client') / rate('kafka-rest')).toFixed(2) : '',
        row.sides.includes('message-hub-rest') ? (rate('client') / rate('message-hub-rest')).toFixed(2) : '',
      ]);
      summary.push({
        scenario: `produce vs peers: ${row.name} (${VALUE_BYTES} B)`,
        metric: 'rec/s',
        figure: rate('client'),
        baseline: { label: 'raw', value: rate('raw') },
        target: { kind: 'ratio-at-least', value: TARGET_RATIO },
      });
      if (row.inFlight === 8) sweep.push({ batch: row.batch, client: rate('client'), raw: rate('raw') });
    }
  } finally {
    await pool.close();
    await client.close();
    await server.close();
  }

  console.log(
    formatTable(
      [
        `${VALUE_BYTES} B records`,
        'client rec/s',
        'raw rec/s',
        'raw, encoding rec/s',
        'kafka-rest rec/s',
        'message-hub-rest rec/s',
        'client/raw',
        'client/(raw, encoding)',
        'kafka-rest/raw',
        'message-hub-rest/raw',
        'client/kafka-rest',
        'client/message-hub-rest',
      ],
      table,
    ),
  );
  console.log(
    `\nMedian of ${ROUNDS} rotating rounds after ${WARMUP_ROUNDS} warm-up rounds; server (v1) in a child process; ` +
      `the peers use node:http's global agent (keep-alive), the client and raw an undici pool of 8.${QUICK ? ' (--quick)' : ''}`,
  );
  sweep.sort((a, b) => a.batch - b.batch);
  const file = writeChart('produce-batch-size.svg', {
    title: `Produce throughput against batch size (${VALUE_BYTES} B records, 8 calls in flight)`,
    xLabel: 'records per request',
    yLabel: 'records/s',
    xScale: 'log',
    series: [
      { name: 'project client', points: sweep.map((s) => [s.batch, s.client] as const) },
      { name: 'raw undici', points: sweep.map((s) => [s.batch, s.raw] as const) },
    ],
  });
  console.log(`Chart: ${file}`);
  reportRows(summary);
};

await main();
