/**
 * The drain's fan-out across invocations (issue #16 part 3, docs/drain-fan-out.md): a backlog spread over
 * 256 partitions, drained by one invocation alone (no fan-out) and by the coordinator plus N concurrent
 * worker invocations. Every invocation is a real run of the packaged drain handler (`serverless package`,
 * as `bench/cold-start.ts` builds it; `--source` runs `handlers/drain.ts` through tsx instead) in a process
 * of its own, a warm Lambda container: the processes start before the clock does (cold starts are
 * `bench/cold-start.ts`'s). The coordinator's invokes reach a local stand-in of Lambda's Invoke API, which
 * hands each group to a free worker process, as Lambda would to a container. Against the local Kafka REST
 * server (a process of its own), dynalite and a local HTTP sink in `batch` mode.
 *
 * Figures: total records/s and the time until every partition's checkpoint is at its log end. Scheduled
 * runs repeat back to back until then (one usually suffices: each invocation gets Lambda's 900 s).
 *
 *   npx tsx bench/fan-out.ts [--quick] [--workers=1,4,8] [--source]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { type DrainWorker, localDrainEnv, startDrainWorker } from '../test/helpers/drain-worker.js';
import { startDynalite } from '../test/helpers/dynalite.js';
import { startFakeLambda } from '../test/helpers/lambda-fake.js';
import { packageFunctions } from './lib/bundles.js';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const SOURCE = process.argv.includes('--source');
const PARTITIONS = QUICK ? 16 : 256;
const PER_PARTITION = QUICK ? 200 : Math.ceil(1_000_000 / 256);
const TOTAL = PARTITIONS * PER_PARTITION;
const WORKERS = (
  process.argv.find((arg) => arg.startsWith('--workers='))?.slice(10) ?? (QUICK ? '1,4' : '1,4,8')
)
  .split(',')
  .map(Number);
const VALUE_BYTES = 100;
const BATCH = 500;
const TOPIC = 'fan-out';
const FUNCTION = 'kafka-rest-bridge-bench-drain';
/** Lambda's longest timeout: the time budget of every invocation here. */
const INVOCATION_MS = 900_000;
const MAX_TICKS = 10;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Reads and answers every batch, counting nothing: the figure is the drain's, not the sink's. */
const startSink = async () => {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** Worker processes as Lambda's containers: an invocation goes to a free one, or waits for one. */
const createPool = (workers: readonly DrainWorker[]) => {
  const free = [...workers];
  const waiting: ((worker: DrainWorker) => void)[] = [];
  const take = (): Promise<DrainWorker> => {
    const worker = free.pop();
    return worker === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(worker);
  };
  const give = (worker: DrainWorker): void => {
    const next = waiting.shift();
    if (next === undefined) free.push(worker);
    else next(worker);
  };
  return {
    run: async (event: unknown) => {
      const worker = await take();
      try {
        const reply = await worker.invoke(event, INVOCATION_MS);
        if (!reply.ok) throw new Error(`drain invocation failed: ${reply.error}`);
      } finally {
        give(worker);
      }
    },
  };
};

const main = async (): Promise<void> => {
  const work = mkdtempSync(join(tmpdir(), 'bench-fan-out-'));
  const handlerModule = SOURCE
    ? join(ROOT, 'handlers', 'drain.ts')
    : ((await packageFunctions(ROOT, join(work, 'bundles'))).find((bundle) => bundle.fn === 'drain')?.file ??
      '');
  const kafka = await startKafkaRestProcess({ topics: { [TOPIC]: PARTITIONS } });
  for (let partition = 0; partition < PARTITIONS; partition += 1) {
    await kafka.append(TOPIC, partition, PER_PARTITION, VALUE_BYTES);
  }
  const dynamo = await startDynalite();
  const sink = await startSink();
  const store = createCheckpointStore({
    client: dynamo.client,
    tableName: dynamo.tableName,
    leaseMs: 60_000,
    now: Date.now,
  });
  let pool: ReturnType<typeof createPool> | undefined;
  const lambda = await startFakeLambda({
    functions: [FUNCTION],
    run: (event) => (pool as ReturnType<typeof createPool>).run(event),
  });

  const envFor = (drainId: string, partitionsPerInvocation: number | undefined): Record<string, string> =>
    localDrainEnv({
      kafkaRestUrl: kafka.url,
      dynamo,
      drains: [
        {
          id: drainId,
          topic: TOPIC,
          partitions: 'all',
          batchSize: BATCH,
          resetPolicy: 'earliest',
          sink: { type: 'http', url: sink.url, allowHttp: true, mode: 'batch' },
        },
      ],
      functionName: FUNCTION,
      lambdaEndpoint: lambda.endpoint,
      partitionsPerInvocation,
    });

  const drained = async (drainId: string): Promise<number> =>
    (await store.list({ drainId })).reduce((sum, checkpoint) => sum + (checkpoint.nextOffset ?? 0), 0);

  /** One configuration: the coordinator's process, `workers` more, ticks until the backlog is drained. */
  const measure = async (label: string, workers: number) => {
    const drainId = `bench-${label.replace(/\W+/g, '-')}`;
    // Coordinator and workers each take one group: ⌈partitions / (workers + 1)⌉ partitions per invocation.
    const size = workers === 0 ? undefined : Math.ceil(PARTITIONS / (workers + 1));
    const env = envFor(drainId, size);
    const coordinator = await startDrainWorker({ handlerModule, env });
    const containers = await Promise.all(
      Array.from({ length: workers }, () => startDrainWorker({ handlerModule, env })),
    );
    pool = createPool(containers);
    const invokedBefore = lambda.invocations.length;
    const startedMs = performance.now();
    let ticks = 0;
    try {
      while ((await drained(drainId)) < TOTAL && ticks < MAX_TICKS) {
        ticks += 1;
        const reply = await coordinator.invoke(
          { source: 'aws.events', 'detail-type': 'Scheduled Event' },
          INVOCATION_MS,
        );
        if (!reply.ok) throw new Error(`${label}: the scheduled run failed: ${reply.error}`);
        await lambda.settled();
      }
    } finally {
      await Promise.all([coordinator, ...containers].map((worker) => worker.close()));
    }
    const ms = performance.now() - startedMs;
    const done = await drained(drainId);
    if (done < TOTAL) throw new Error(`${label}: ${done} of ${TOTAL} records drained after ${ticks} runs`);
    if (lambda.runErrors.length > 0)
      throw new Error(`${label}: a worker failed: ${String(lambda.runErrors[0])}`);
    return { label, workers, size, ms, ticks, invocations: lambda.invocations.length - invokedBefore };
  };

  try {
    const results = [await measure('one invocation alone', 0)];
    for (const workers of WORKERS) results.push(await measure(`coordinator + ${workers} workers`, workers));
    const alone = results[0] as (typeof results)[number];
    const perSecond = (ms: number) => (TOTAL * 1000) / ms;

    console.log(
      `${formatNumber(TOTAL)} records (${PARTITIONS} partitions × ${PER_PARTITION}, ${VALUE_BYTES} B values), batches of ${BATCH}, ` +
        `${SOURCE ? 'handlers/drain.ts through tsx' : 'the packaged drain bundle'}, ${cpus().length} cores\n`,
    );
    console.log(
      formatTable(
        [
          'configuration',
          'partitions / invocation',
          'invokes',
          'runs',
          'records/s',
          'time to drain s',
          'vs alone',
        ],
        results.map((result) => [
          result.label,
          String(result.size ?? PARTITIONS),
          String(result.invocations),
          String(result.ticks),
          formatNumber(perSecond(result.ms)),
          (result.ms / 1000).toFixed(1),
          `${(alone.ms / result.ms).toFixed(2)} ×`,
        ]),
      ),
    );
    const note = `${cpus().length} cores shared by every worker process, the Kafka REST server, dynalite and the sink: the gain here is capped by the machine, not by Lambda`;
    const rows: SummaryRow[] = results.flatMap((result, index) => {
      const scenario = `fan-out ${PARTITIONS} partitions, ${result.label}`;
      const baseline =
        result === alone ? undefined : { label: 'one invocation alone', value: perSecond(alone.ms) };
      return [
        {
          scenario,
          metric: 'records/s',
          figure: perSecond(result.ms),
          ...(baseline === undefined ? {} : { baseline }),
        },
        {
          scenario: `${scenario}: time to drain ${formatNumber(TOTAL)}`,
          metric: 's',
          figure: result.ms / 1000,
          ...(result === alone
            ? {}
            : { baseline: { label: 'one invocation alone', value: alone.ms / 1000 } }),
          ...(index === results.length - 1 ? { note } : {}),
        },
      ];
    });
    reportRows(rows);
  } finally {
    await lambda.close();
    await sink.close();
    await dynamo.close();
    await kafka.close();
    rmSync(work, { recursive: true, force: true });
  }
};

await main();
