/**
 * Queue ingestion throughput: standard SQS batches of 10, 100, 1,000 and 10,000 messages, and FIFO batches
 * (10 messages in one group, 10 groups of one, 1,000 messages over 10 groups), through the real queue
 * handler (parse → plan → produce with the real client → batch response) against the local Kafka REST
 * server, beside two baselines measured in the same run: raw undici POSTs of the request bodies an
 * unordered batch of the same records is planned into, at the same concurrency over a pool of the same
 * size, with the bodies built once up front ("raw POST": wire and server only) or built from the records on
 * every run ("raw POST+encode": base64 and JSON too, which any producer pays). "vs" columns are handler
 * throughput over the baseline's (1.00 = no overhead); "vs standard" is a FIFO shape's handler throughput
 * over the standard batch of the same size: what keeping group order costs (a group's records go one per
 * request, each after the previous one is acknowledged).
 *
 *   npx tsx bench/queue.ts [--quick]
 */
import { Pool } from 'undici';
import { startKafkaRestServer } from '../dev/kafka-rest/index.js';
import { makeHandler } from '../handlers/queue.js';
import type { Log } from '../lib/core/log.js';
import { planProduceRequests, toProduceLimits } from '../lib/ingest/plan.js';
import { parseSqsEvent } from '../lib/ingest/sqs.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { encodeProduceBody, V1_MEDIA } from '../lib/kafka-rest/v1.js';
import { createKafkaRestProducerFromConfig } from '../lib/wiring/kafka-rest.js';
import type { QueueHandlerDeps } from '../lib/wiring/queue.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { lambdaContext } from '../test/fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from '../test/fixtures/sqs.js';

const QUICK = process.argv.includes('--quick');
/** Records pushed per shape and side: enough runs that the small batches are not one noisy sample. */
const RECORDS_PER_SHAPE = QUICK ? 20_000 : 100_000;

interface Shape {
  readonly name: string;
  readonly size: number;
  /** FIFO message groups, message n in group n mod groups; 0: a standard queue. */
  readonly groups: number;
  /** Records pushed: FIFO batches are slower by design, so fewer keep the run short. */
  readonly records: number;
}

const SHAPES: readonly Shape[] = [
  ...[10, 100, 1_000, 10_000].map((size) => ({
    name: `standard ${size.toLocaleString('en-US')}`,
    size,
    groups: 0,
    records: RECORDS_PER_SHAPE,
  })),
  { name: 'FIFO 10, 1 group', size: 10, groups: 1, records: RECORDS_PER_SHAPE / 5 },
  { name: 'FIFO 10, 10 groups of 1', size: 10, groups: 10, records: RECORDS_PER_SHAPE / 5 },
  { name: 'FIFO 1,000, 10 groups', size: 1_000, groups: 10, records: RECORDS_PER_SHAPE / 5 },
];
const MIN_RUNS = QUICK ? 2 : 5;
const BODY_BYTES = 256;
const TOPIC = 'bench';
const PARTITIONS = 6;

const SILENT: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const body = (n: number): string => {
  const head = `{"orderId":${n},"note":"`;
  return `${head}${'x'.repeat(BODY_BYTES - head.length - 2)}"}`;
};

const main = async (): Promise<void> => {
  const server = await startKafkaRestServer({ topics: { [TOPIC]: PARTITIONS }, recordRequests: false });
  const config = loadConfig({
    KAFKA_REST_URL: server.url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_AUTH: 'none',
    QUEUE_TOPIC: TOPIC,
  });
  const kafka = createKafkaRestProducerFromConfig(config, { log: SILENT });
  const deps: QueueHandlerDeps = {
    kafka,
    log: SILENT,
    now: Date.now,
    queue: config.queue,
    limits: toProduceLimits(config.kafka),
    deadlineMarginMs: config.deadlineMarginMs,
  };
  const handler = makeHandler(() => deps);
  const pool = new Pool(server.url, { connections: config.kafka.connections, pipelining: 1 });
  const path = `/topics/${TOPIC}`;
  const headers = { 'content-type': V1_MEDIA.produceContentType, accept: V1_MEDIA.accept };

  const rows: string[][] = [];
  /** Handler rec/s of each standard batch, by size, for the FIFO shapes' "vs standard". */
  const standardRate = new Map<number, number>();
  try {
    for (const { name, size, groups, records } of SHAPES) {
      const event = sqsEvent(
        Array.from({ length: size }, (_, n) =>
          sqsRecord(body(n), groups === 0 ? {} : { groupId: `group-${n % groups}` }),
        ),
      );
      // The baselines send the bodies the planner makes of these records with no order to keep: built once
      // up front (wire and server only), or built from the records on every run (what any producer must also
      // do: base64 + JSON).
      const items = parseSqsEvent(event, config.queue).flatMap((item) =>
        item.ok ? [{ ...item, group: undefined }] : [],
      );
      const planned = planProduceRequests(items, deps.limits).map((request) =>
        request.items.map((item) => item.record),
      );
      const encode = (records: readonly ProduceRecord[]): string =>
        encodeProduceBody(
          records,
          records.map((_, i) => i),
        );
      const prebuilt = planned.map(encode);
      const raw = async (bodyOf: (index: number) => string): Promise<void> => {
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < planned.length) {
            const payload = bodyOf(next++);
            const response = await pool.request({ path, method: 'POST', headers, body: payload });
            await response.body.text();
            if (response.statusCode !== 200) throw new Error(`baseline POST answered ${response.statusCode}`);
          }
        };
        await Promise.all(Array.from({ length: Math.min(config.queue.concurrency, planned.length) }, worker));
      };
      const rawPrebuilt = () => raw((index) => prebuilt[index] as string);
      const rawEncoding = () => raw((index) => encode(planned[index] as ProduceRecord[]));
      const viaHandler = async (): Promise<void> => {
        const response = await handler(event, lambdaContext(900_000));
        if (response.batchItemFailures.length > 0) {
          throw new Error(`${response.batchItemFailures.length} messages failed in the benchmark`);
        }
      };

      // Warm every path (connections, JIT), then alternate them so drift hits all alike.
      await rawPrebuilt();
      await rawEncoding();
      await viaHandler();
      const runs = Math.max(MIN_RUNS, Math.ceil(records / size));
      const elapsedMs = { handler: 0, prebuilt: 0, encoding: 0 };
      const timed = async (side: keyof typeof elapsedMs, work: () => Promise<void>): Promise<void> => {
        const start = performance.now();
        await work();
        elapsedMs[side] += performance.now() - start;
      };
      const requestsBefore = kafka.stats().requests;
      for (let run = 0; run < runs; run++) {
        await timed('handler', viaHandler);
        await timed('prebuilt', rawPrebuilt);
        await timed('encoding', rawEncoding);
        // Keep the server's memory flat.
        if (run % 10 === 9) resetTopic(server);
      }
      resetTopic(server);
      const requestsPerBatch = (kafka.stats().requests - requestsBefore) / runs;
      const rate = (ms: number): number => (size * runs) / (ms / 1_000);
      const handlerRate = rate(elapsedMs.handler);
      if (groups === 0) standardRate.set(size, handlerRate);
      const standard = groups === 0 ? undefined : standardRate.get(size);
      rows.push([
        name,
        String(runs),
        fmt(handlerRate),
        requestsPerBatch.toFixed(requestsPerBatch % 1 === 0 ? 0 : 1),
        (elapsedMs.handler / runs).toFixed(2),
        String(planned.length),
        fmt(rate(elapsedMs.prebuilt)),
        fmt(rate(elapsedMs.encoding)),
        (elapsedMs.prebuilt / elapsedMs.handler).toFixed(2),
        (elapsedMs.encoding / elapsedMs.handler).toFixed(2),
        standard === undefined ? '—' : (handlerRate / standard).toFixed(2),
      ]);
    }
  } finally {
    await pool.close();
    await kafka.close();
    await server.close();
  }

  printTable(
    [
      'batch',
      'runs',
      'handler rec/s',
      'produce req/batch',
      'handler ms/batch',
      'raw req/batch',
      'raw POST rec/s',
      'raw POST+encode rec/s',
      'vs raw',
      'vs raw+encode',
      'vs standard',
    ],
    rows,
  );
  console.log(
    `\n${BODY_BYTES}-byte bodies; limits ${deps.limits.maxRequestRecords} records / ${deps.limits.maxRequestBytes} bytes per request; ` +
      `concurrency ${config.queue.concurrency}; pool of ${config.kafka.connections}; server in the same process. ` +
      `Peak RSS ${(process.resourceUsage().maxRSS / 1_024).toFixed(0)} MB.${QUICK ? ' (--quick)' : ''}`,
  );
};

const resetTopic = (server: Awaited<ReturnType<typeof startKafkaRestServer>>): void => {
  server.deleteTopic(TOPIC);
  server.createTopic(TOPIC, PARTITIONS);
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const printTable = (header: readonly string[], rows: readonly string[][]): void => {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  // The first column names the row: left-aligned; figures right-aligned.
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd : cell.padStart).call(cell, widths[i] ?? 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
};

await main();
