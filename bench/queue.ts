/**
 * Queue ingestion throughput: SQS batches of 10, 100, 1,000 and 10,000 messages through the real queue
 * handler (parse → plan → produce with the real client → batch response) against the local Kafka REST
 * server, beside two baselines measured in the same run: raw undici POSTs of the same request bodies at
 * the same concurrency over a pool of the same size, with the bodies built once up front ("raw POST": wire
 * and server only) or built from the records on every run ("raw POST+encode": base64 and JSON too, which
 * any producer pays). "vs" columns are handler throughput over the baseline's (1.00 = no overhead).
 *
 *   npx tsx bench/queue.ts [--quick]
 */
import { Pool } from 'undici';
import { startKafkaRestServer } from '../dev/kafka-rest/index.js';
import { makeHandler, type QueueHandlerDeps } from '../handlers/queue.js';
import { loadConfig } from '../lib/config.js';
import { planProduceRequests, toProduceLimits } from '../lib/ingest/plan.js';
import { parseSqsEvent } from '../lib/ingest/sqs.js';
import { createKafkaRestProducerFromConfig } from '../lib/kafka-rest/producer.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { encodeProduceBody, V1_MEDIA } from '../lib/kafka-rest/v1.js';
import type { Log } from '../lib/log.js';
import { lambdaContext } from '../test/fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from '../test/fixtures/sqs.js';

const QUICK = process.argv.includes('--quick');
const SIZES = [10, 100, 1_000, 10_000];
/** Records pushed per size and side: enough runs that the small batches are not one noisy sample. */
const RECORDS_PER_SIZE = QUICK ? 20_000 : 100_000;
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
  try {
    for (const size of SIZES) {
      const event = sqsEvent(Array.from({ length: size }, (_, n) => sqsRecord(body(n))));
      // The baselines send exactly the bodies the planner makes of this batch: built once up front (wire and
      // server only), or built from the records on every run (what any producer must also do: base64 + JSON).
      const items = parseSqsEvent(event, config.queue).flatMap((item) => (item.ok ? [item] : []));
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
      const runs = Math.max(MIN_RUNS, Math.ceil(RECORDS_PER_SIZE / size));
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
      rows.push([
        size.toLocaleString('en-US'),
        String(runs),
        fmt(rate(elapsedMs.handler)),
        requestsPerBatch.toFixed(requestsPerBatch % 1 === 0 ? 0 : 1),
        (elapsedMs.handler / runs).toFixed(2),
        String(planned.length),
        fmt(rate(elapsedMs.prebuilt)),
        fmt(rate(elapsedMs.encoding)),
        (elapsedMs.prebuilt / elapsedMs.handler).toFixed(2),
        (elapsedMs.encoding / elapsedMs.handler).toFixed(2),
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
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
};

await main();
