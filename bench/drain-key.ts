/**
 * Key-ordered parallel delivery (issue #16): one partition whose backlog cycles through 1,000 distinct
 * keys, drained through the real loop (`runDrains`: lease, fetch with prefetch, the HTTP sink in `single`
 * mode, conditional commits in dynalite) into a local sink in another process that answers after 0, 10 or
 * 100 ms. For each latency, `ordering: "partition"` (the baseline, measured before and after the others)
 * and `ordering: "key"` with `maxInFlight` 1, 8, 32 and 128, in the same run.
 *
 * Target: key order ≥ 0.8 × maxInFlight × the partition-ordered rate, until the machine saturates: the
 * ceiling is the fastest rate of any cell at 0 ms, where the sink costs nothing but CPU; a cell whose
 * ideal is above it is judged against the ceiling and marked "saturated", with each process's CPU use.
 *
 * The sink checks every record it receives: per-key offset order, loss, duplicates. Any violation or loss
 * ends the run with exit code 1, after the figures; timings never do.
 *
 * Then the cost model's measurements (bench/RESULTS.md): at 10 ms, partition order in `batch` mode, and
 * `commitIntervalMs` 1,000 beside 0, with the checkpoint calls and the requests at the DynamoDB and Kafka
 * REST endpoints counted for every cell.
 *
 *   npx tsx bench/drain-key.ts [--quick]
 */
import { cpus, loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { writeChart } from './lib/charts.js';
import { type Cell, type CellSpec, reportCorrectness, startDrainBench } from './lib/drain-cell.js';
import type { DrainRun } from './lib/drain-harness.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const TOPIC = 'bench-key';
const KEYS = 1_000;
const VALUE_BYTES = 256;
const LATENCIES_MS = [0, 10, 100] as const;
const IN_FLIGHT = [1, 8, 32, 128] as const;
/** Each cell moves about this many seconds' worth of records at the rate expected of it. */
const CELL_SECONDS = QUICK ? 0.25 : 3;
const MIN_RECORDS = QUICK ? 5 : 30;
const MAX_RECORDS = QUICK ? 1_000 : 20_000;
const TARGET_RATIO = 0.8;
/** The HTTP sink's default pool size: below `maxInFlight`, calls wait for a connection. */
const DEFAULT_CONNECTIONS = 4;
const COST_LATENCY_MS = 10;
const COMMIT_INTERVAL_MS = 1_000;

const main = async (): Promise<void> => {
  const bench = await startDrainBench({ topic: TOPIC, keys: KEYS, valueBytes: VALUE_BYTES });
  const measure = (spec: CellSpec, records: number, during?: () => Promise<void>): Promise<Cell> =>
    bench.measure(spec, 1, records, during);

  /** Enough records for about `CELL_SECONDS` at `expectedRate`. */
  const sized = (expectedRate: number): number =>
    Math.min(MAX_RECORDS, Math.max(MIN_RECORDS, Math.round(expectedRate * CELL_SECONDS)));
  const partitionSpec: CellSpec = { label: 'partition order', ordering: 'partition', maxInFlight: 1 };
  const keySpec = (maxInFlight: number, extra: Partial<CellSpec> = {}): CellSpec => ({
    label: `key order, maxInFlight ${maxInFlight}`,
    ordering: 'key',
    maxInFlight,
    ...extra,
  });

  const cells: Cell[] = [];
  try {
    // Warm-up: JIT, connections, dynalite's first writes.
    await bench.setLatency(0);
    await measure(partitionSpec, QUICK ? 200 : 2_000);
    await measure(keySpec(32), QUICK ? 200 : 2_000);

    const baselines = new Map<number, number>();
    for (const latencyMs of LATENCIES_MS) {
      await bench.setLatency(latencyMs);
      // Before any measure: one record per round trip, a round trip being the latency or, at 0 ms, ~0.2 ms.
      const guess = 1000 / Math.max(0.2, latencyMs);
      const before = await measure(partitionSpec, sized(guess));
      cells.push(before);
      for (const maxInFlight of IN_FLIGHT) {
        cells.push(await measure(keySpec(maxInFlight), sized(maxInFlight * before.rate)));
      }
      const after = await measure(partitionSpec, sized(before.rate));
      cells.push(after);
      baselines.set(latencyMs, (before.rate + after.rate) / 2);
    }

    // Why the cells at 10 ms land where they do: the sink's default pool, and a larger batch.
    await bench.setLatency(COST_LATENCY_MS);
    const base10 = baselines.get(COST_LATENCY_MS) ?? 0;
    const diagnostics: Cell[] = [
      await measure(
        keySpec(32, { label: 'key order, maxInFlight 32, sink connections 4 (default)', connections: 4 }),
        sized(DEFAULT_CONNECTIONS * base10),
      ),
      await measure(
        keySpec(32, { label: 'key order, maxInFlight 32, batchSize 1000', batchSize: 1_000 }),
        sized(32 * base10),
      ),
      await measure(
        keySpec(128, { label: 'key order, maxInFlight 128, batchSize 1000', batchSize: 1_000 }),
        sized(128 * base10),
      ),
    ];

    // The cost model's other modes, at 10 ms.
    const costCells: Cell[] = [
      await measure(
        { label: 'partition order, batch mode', ordering: 'partition', maxInFlight: 1, mode: 'batch' },
        sized(100 * base10),
      ),
      await measure(
        {
          ...partitionSpec,
          label: `partition order, commitIntervalMs ${COMMIT_INTERVAL_MS}`,
          commitIntervalMs: COMMIT_INTERVAL_MS,
        },
        sized(base10),
      ),
      await measure(
        {
          label: `partition order, batch mode, commitIntervalMs ${COMMIT_INTERVAL_MS}`,
          ordering: 'partition',
          maxInFlight: 1,
          mode: 'batch',
          commitIntervalMs: COMMIT_INTERVAL_MS,
        },
        sized(100 * base10),
      ),
      await measure(
        keySpec(32, {
          label: `key order, maxInFlight 32, commitIntervalMs ${COMMIT_INTERVAL_MS}`,
          commitIntervalMs: COMMIT_INTERVAL_MS,
        }),
        sized(32 * base10),
      ),
    ];

    // A scheduled invocation that finds the partition leased by one still draining: what it costs.
    await bench.setLatency(100);
    let busy: DrainRun | undefined;
    await measure(partitionSpec, 10, async () => {
      await delay(300);
      busy = await bench.harness.run([bench.lastDrain()]);
    });
    const busyOutcome = busy?.report.drains[0]?.partitions[0]?.outcome;
    if (busyOutcome !== 'busy')
      bench.failures.push(`the overlapping invocation ended ${busyOutcome}, not busy`);

    // A scheduled invocation with nothing to drain (the partition caught up and checkpointed before).
    await measure(partitionSpec, 0);
    const idle = await bench.harness.run([bench.lastDrain()]);
    const idleProxyRequests = await bench.takeProxyRequests();
    const idleOutcome = idle.report.drains[0]?.partitions[0]?.outcome;
    if (idleOutcome !== 'caught-up')
      bench.failures.push(`the idle invocation ended ${idleOutcome}, not caught-up`);

    printSweep({ cells, baselines, diagnostics, costCells, busy, idle, idleProxyRequests });
  } finally {
    await bench.close();
  }
  reportCorrectness(bench.failures, 'Every record arrived, each key in offset order, in every cell above.');
};

const pct = (value: number): string => `${Math.round(value)}%`;
const perThousand = (count: number, records: number): string => formatNumber((count * 1000) / records);

const printSweep = ({
  cells,
  baselines,
  diagnostics,
  costCells,
  busy,
  idle,
  idleProxyRequests,
}: {
  readonly cells: readonly Cell[];
  /** The partition-ordered rate per sink latency. */
  readonly baselines: ReadonlyMap<number, number>;
  readonly diagnostics: readonly Cell[];
  readonly costCells: readonly Cell[];
  readonly busy: DrainRun | undefined;
  readonly idle: DrainRun;
  readonly idleProxyRequests: Record<string, number>;
}): void => {
  const ceilingCell = cells
    .filter((cell) => cell.latencyMs === 0)
    .reduce((best, cell) => (cell.rate > best.rate ? cell : best));
  const ceiling = ceilingCell.rate;
  console.log(
    `\nKey-ordered delivery: one partition, ${KEYS.toLocaleString('en-US')} keys in turn, ${VALUE_BYTES} B records, ` +
      `batchSize 100 (default), HTTP sink in single mode with connections = max(4, maxInFlight); ` +
      `load average ${loadavg()[0]?.toFixed(2)} on ${cpus().length} cores\n`,
  );
  console.log(
    `Ceiling: ${formatNumber(ceiling)} rec/s, the fastest cell at 0 ms (${ceilingCell.spec.label}); ` +
      'CPU in % of one core during each cell: drain process (with dynalite) / sink / Kafka REST server.\n',
  );
  const rows: SummaryRow[] = [];
  const table: string[][] = [];
  let saturationNoted = false;
  for (const cell of cells) {
    const base = baselines.get(cell.latencyMs) ?? Number.NaN;
    const ideal = cell.spec.maxInFlight * base;
    const saturated = cell.spec.ordering === 'key' && ideal > ceiling;
    const against = saturated ? ceiling : ideal;
    const ratio = cell.rate / against;
    table.push([
      `${cell.latencyMs} ms`,
      cell.spec.label,
      cell.records.toLocaleString('en-US'),
      formatNumber(cell.rate),
      cell.spec.ordering === 'key' ? formatNumber(ideal) : '',
      cell.spec.ordering === 'key' ? ratio.toFixed(2) : (cell.rate / base).toFixed(2),
      cell.spec.ordering === 'key'
        ? `${saturated ? 'saturated, ' : ''}${ratio >= TARGET_RATIO ? 'yes' : 'NO'}`
        : '',
      (cell.rate / ceiling).toFixed(2),
      pct((cell.run.storeCalls.commitMs * 100) / cell.run.ms),
      `${pct(cell.cpu.drain)} / ${pct(cell.cpu.sink)} / ${pct(cell.cpu.proxy)}`,
      String(cell.check.duplicates),
    ]);
    if (cell.spec.ordering === 'key') {
      rows.push({
        scenario: `drain key order, sink ${cell.latencyMs} ms, maxInFlight ${cell.spec.maxInFlight}${saturated ? ', saturated' : ''}`,
        metric: 'rec/s',
        figure: cell.rate,
        baseline: saturated
          ? { label: 'ceiling', value: ceiling }
          : { label: `${cell.spec.maxInFlight} × partition`, value: ideal },
        target: { kind: 'ratio-at-least', value: TARGET_RATIO },
        ...(saturated && !saturationNoted
          ? {
              note: 'saturated: maxInFlight × the partition-ordered rate is above the ceiling (the fastest cell at 0 ms), so the cell is judged against the ceiling',
            }
          : {}),
      });
      saturationNoted ||= saturated;
    }
  }
  console.log(
    formatTable(
      [
        'sink',
        'drain',
        'records',
        'rec/s',
        'ideal rec/s',
        'ratio',
        'met?',
        '÷ ceiling',
        'commit wait',
        'CPU drain/sink/proxy',
        'duplicates',
      ],
      table,
    ),
  );
  console.log(
    '\nideal = maxInFlight × partition-ordered rate (mean of the two partition cells of that latency); ratio = rec/s / ideal, ' +
      `or / ceiling when saturated (target ≥ ${TARGET_RATIO}); partition rows: ratio to that mean. ` +
      'commit wait: share of the wall time spent awaiting checkpoint commits (the next batch waits for them).',
  );

  const base10 = baselines.get(COST_LATENCY_MS) ?? Number.NaN;
  console.log(
    `\nAt ${COST_LATENCY_MS} ms, what limits the key-ordered cells (ideal: maxInFlight × ${formatNumber(base10)} rec/s)\n`,
  );
  console.log(
    formatTable(
      ['drain', 'records', 'rec/s', 'ideal rec/s', 'ratio'],
      diagnostics.map((cell) => {
        const ideal = Math.min(ceiling, cell.spec.maxInFlight * base10);
        return [
          cell.spec.label,
          cell.records.toLocaleString('en-US'),
          formatNumber(cell.rate),
          formatNumber(ideal),
          (cell.rate / ideal).toFixed(2),
        ];
      }),
    ),
  );

  const costRows = [
    ...cells.filter((cell) => cell.spec.ordering === 'partition' || cell.spec.maxInFlight === 32),
    ...costCells,
  ];
  console.log(
    '\nCalls per 1,000 records (checkpoint store calls made; requests counted at the DynamoDB endpoint and at the Kafka REST server)\n',
  );
  console.log(
    formatTable(
      [
        'sink',
        'drain',
        'records',
        'rec/s',
        'acquire',
        'commit',
        'renew',
        'release',
        'DynamoDB UpdateItem',
        'DynamoDB GetItem',
        'fetch GETs',
        'other proxy requests',
        'sink POSTs',
      ],
      costRows.map((cell) => {
        const { storeCalls, dynamoRequests } = cell.run;
        const fetches = Object.entries(cell.proxyRequests)
          .filter(([route]) => route.endsWith('/messages'))
          .reduce((sum, [, count]) => sum + count, 0);
        const allProxy = Object.values(cell.proxyRequests).reduce((sum, count) => sum + count, 0);
        return [
          `${cell.latencyMs} ms`,
          cell.spec.label,
          cell.records.toLocaleString('en-US'),
          formatNumber(cell.rate),
          perThousand(storeCalls.acquire, cell.records),
          perThousand(storeCalls.commit, cell.records),
          perThousand(storeCalls.renew, cell.records),
          perThousand(storeCalls.release, cell.records),
          perThousand(dynamoRequests.UpdateItem ?? 0, cell.records),
          perThousand(dynamoRequests.GetItem ?? 0, cell.records),
          perThousand(fetches, cell.records),
          perThousand(allProxy - fetches, cell.records),
          perThousand(cell.check.requests, cell.records),
        ];
      }),
    ),
  );
  console.log(
    '\nPer run (one invocation): ' +
      costRows
        .map(
          (cell) =>
            `${cell.spec.label} at ${cell.latencyMs} ms: ${cell.run.storeCalls.acquire} acquire, ${cell.run.storeCalls.commit} commits, ` +
            `${cell.run.storeCalls.renew} renew, ${cell.run.storeCalls.release} release; ${JSON.stringify(cell.run.dynamoRequests)}; ${JSON.stringify(cell.proxyRequests)}`,
        )
        .join('\n  '),
  );

  const describe = (run: DrainRun): string =>
    `${formatNumber(run.ms)} ms, ${run.storeCalls.acquire} acquire, ${run.storeCalls.commit} commits, ` +
    `${run.storeCalls.release} release, DynamoDB ${JSON.stringify(run.dynamoRequests)}`;
  if (busy !== undefined)
    console.log(`\nAn invocation that found the partition leased (busy): ${describe(busy)}`);
  console.log(
    `An invocation with nothing to drain (caught up before): ${describe(idle)}; Kafka REST ${JSON.stringify(idleProxyRequests)}`,
  );

  const chart = writeChart('drain-key-order.svg', {
    title: `Key order: speed-up over partition order against maxInFlight (one partition, ${KEYS} keys, HTTP sink single mode, batchSize 100)`,
    xLabel: 'maxInFlight',
    yLabel: '× partition-ordered rate',
    xScale: 'log',
    series: [
      ...LATENCIES_MS.map((latencyMs) => {
        const base = baselines.get(latencyMs) ?? Number.NaN;
        return {
          name: `sink ${latencyMs} ms`,
          points: cells
            .filter((cell) => cell.latencyMs === latencyMs && cell.spec.ordering === 'key')
            .map((cell) => [cell.spec.maxInFlight, cell.rate / base] as const),
        };
      }),
      { name: 'maxInFlight (ideal)', points: IN_FLIGHT.map((m) => [m, m] as const) },
    ],
  });
  console.log(`\nChart: ${chart}`);
  reportRows(rows);
};

await main();
