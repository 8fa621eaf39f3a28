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
/** Passes over each latency's cells; a cell's figure is the mean of its passes (drift on a shared machine). */
const ROUNDS = QUICK ? 1 : 2;
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
  /** Cells of the first pass: the call counts come from these. */
  const firstPass: Cell[] = [];
  try {
    // Warm-up: JIT, connections, dynalite's first writes.
    await bench.setLatency(0);
    await measure(partitionSpec, QUICK ? 200 : 2_000);
    await measure(keySpec(32), QUICK ? 200 : 2_000);

    for (const latencyMs of LATENCIES_MS) {
      await bench.setLatency(latencyMs);
      // Before any measure: one record per round trip, a round trip being the latency or, at 0 ms, ~0.2 ms.
      let expected = 1000 / Math.max(0.2, latencyMs);
      for (let round = 0; round < ROUNDS; round += 1) {
        const pass: Cell[] = [await measure(partitionSpec, sized(expected))];
        const rate = pass[0]?.rate ?? expected;
        for (const maxInFlight of IN_FLIGHT) {
          pass.push(await measure(keySpec(maxInFlight), sized(maxInFlight * rate)));
        }
        pass.push(await measure(partitionSpec, sized(rate)));
        expected = rate;
        cells.push(...pass);
        if (round === 0) firstPass.push(...pass);
      }
    }
    const baselines = new Map(
      LATENCIES_MS.map((latencyMs) => {
        const rates = cells
          .filter((cell) => cell.latencyMs === latencyMs && cell.spec.ordering === 'partition')
          .map((cell) => cell.rate);
        return [latencyMs, mean(rates)] as const;
      }),
    );

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
    // Anything else would be two runs holding one partition at once: a correctness failure, not a figure.
    if (busyOutcome !== 'busy')
      bench.failures.push(`the overlapping invocation ended ${busyOutcome}, not busy`);

    // A scheduled invocation with nothing to drain (the partition caught up and checkpointed before).
    await measure(partitionSpec, 0);
    const idle = await bench.harness.run([bench.lastDrain()]);
    const idleProxyRequests = await bench.takeProxyRequests();
    const idleOutcome = idle.report.drains[0]?.partitions[0]?.outcome;
    if (idleOutcome !== 'caught-up')
      bench.failures.push(`the idle invocation ended ${idleOutcome}, not caught-up`);

    printSweep({ cells, firstPass, baselines, diagnostics, costCells, busy, idle, idleProxyRequests });
  } finally {
    await bench.close();
  }
  reportCorrectness(bench.failures, 'Every record arrived, each key in offset order, in every cell above.');
};

const pct = (value: number): string => `${Math.round(value)}%`;
const LEAD_COLUMNS = ['sink', 'drain', 'records', 'rec/s'] as const;
const leadColumns = (cell: Pick<Cell, 'latencyMs' | 'spec' | 'records' | 'rate'>): string[] => [
  `${cell.latencyMs} ms`,
  cell.spec.label,
  cell.records.toLocaleString('en-US'),
  formatNumber(cell.rate),
];
const perThousand = (count: number, records: number): string => formatNumber((count * 1000) / records);

/** The passes of one configuration at one latency: their mean rate, each pass's, and their means of the rest. */
interface Merged {
  readonly spec: CellSpec;
  readonly latencyMs: number;
  readonly records: number;
  readonly rate: number;
  readonly rates: readonly number[];
  readonly commitShare: number;
  readonly cpu: Cell['cpu'];
  readonly duplicates: number;
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

const merge = (cells: readonly Cell[]): Merged[] => {
  const groups = new Map<string, Cell[]>();
  for (const cell of cells) {
    const key = `${cell.latencyMs}|${cell.spec.label}`;
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Cell;
    return {
      spec: first.spec,
      latencyMs: first.latencyMs,
      records: first.records,
      rate: mean(group.map((cell) => cell.rate)),
      rates: group.map((cell) => cell.rate),
      commitShare: mean(group.map((cell) => cell.run.storeCalls.commitMs / cell.run.ms)),
      cpu: {
        drain: mean(group.map((cell) => cell.cpu.drain)),
        sink: mean(group.map((cell) => cell.cpu.sink)),
        proxy: mean(group.map((cell) => cell.cpu.proxy)),
      },
      duplicates: group.reduce((sum, cell) => sum + cell.check.duplicates, 0),
    };
  });
};

const printSweep = ({
  cells,
  firstPass,
  baselines,
  diagnostics,
  costCells,
  busy,
  idle,
  idleProxyRequests,
}: {
  readonly cells: readonly Cell[];
  readonly firstPass: readonly Cell[];
  /** The partition-ordered rate per sink latency. */
  readonly baselines: ReadonlyMap<number, number>;
  readonly diagnostics: readonly Cell[];
  readonly costCells: readonly Cell[];
  readonly busy: DrainRun | undefined;
  readonly idle: DrainRun;
  readonly idleProxyRequests: Record<string, number>;
}): void => {
  const merged = merge(cells);
  const ceilingCell = merged
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
  /** The verdict of a key-ordered cell: against maxInFlight × the partition-ordered rate, or the ceiling. */
  const judge = (cell: Merged) => {
    const ideal = cell.spec.maxInFlight * (baselines.get(cell.latencyMs) ?? Number.NaN);
    const saturated = cell.spec.ordering === 'key' && ideal > ceiling;
    const ratio = cell.rate / (saturated ? ceiling : ideal);
    return { ideal, saturated, ratio };
  };
  const sweepRow = (cell: Merged): string[] => {
    const { ideal, saturated, ratio } = judge(cell);
    const key = cell.spec.ordering === 'key';
    return [
      ...leadColumns(cell),
      cell.rates.map(formatNumber).join(' / '),
      key ? formatNumber(ideal) : '',
      key ? ratio.toFixed(2) : (cell.rate / (baselines.get(cell.latencyMs) ?? Number.NaN)).toFixed(2),
      key ? `${saturated ? 'saturated, ' : ''}${ratio >= TARGET_RATIO ? 'yes' : 'NO'}` : '',
      (cell.rate / ceiling).toFixed(2),
      pct(cell.commitShare * 100),
      `${pct(cell.cpu.drain)} / ${pct(cell.cpu.sink)} / ${pct(cell.cpu.proxy)}`,
      String(cell.duplicates),
    ];
  };
  const sweepHeader = [
    ...LEAD_COLUMNS,
    'each pass',
    'ideal rec/s',
    'ratio',
    'met?',
    '÷ ceiling',
    'commits in flight',
    'CPU drain/sink/proxy',
    'duplicates',
  ];
  console.log(formatTable(sweepHeader, merged.map(sweepRow)));
  console.log(
    `\nrec/s: mean of ${ROUNDS} pass(es); records: per pass. ideal = maxInFlight × partition-ordered rate (mean of the partition cells of that latency, before and after the others in each pass); ratio = rec/s / ideal, ` +
      `or / ceiling when saturated (target ≥ ${TARGET_RATIO}); partition rows: ratio to that mean. ` +
      'commits in flight: share of the wall time a checkpoint commit was in flight (the next batch waits for it unless commits overlap deliveries).',
  );
  console.log(
    `\nAt ${COST_LATENCY_MS} ms, what limits the key-ordered cells: the sink's default pool, the batch size\n`,
  );
  console.log(formatTable(sweepHeader, merge(diagnostics).map(sweepRow)));

  const costRows = [
    ...firstPass.filter((cell) => cell.spec.ordering === 'partition' || cell.spec.maxInFlight === 32),
    ...costCells,
  ];
  console.log(
    '\nCalls per 1,000 records (checkpoint store calls made; requests counted at the DynamoDB endpoint and at the Kafka REST server)\n',
  );
  console.log(
    formatTable(
      [
        ...LEAD_COLUMNS,
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
        const perRecord = (count: number) => perThousand(count, cell.records);
        return [
          ...leadColumns(cell),
          perRecord(storeCalls.acquire),
          perRecord(storeCalls.commit),
          perRecord(storeCalls.renew),
          perRecord(storeCalls.release),
          perRecord(dynamoRequests.UpdateItem ?? 0),
          perRecord(dynamoRequests.GetItem ?? 0),
          perRecord(fetches),
          perRecord(allProxy - fetches),
          perRecord(cell.check.requests),
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
    title: `Key order: speed-up over partition order (1 partition, ${KEYS} keys, HTTP single mode, batchSize 100)`,
    xLabel: 'maxInFlight',
    yLabel: '× partition-ordered rate',
    xScale: 'log',
    series: [
      ...LATENCIES_MS.map((latencyMs) => {
        const base = baselines.get(latencyMs) ?? Number.NaN;
        return {
          name: `sink ${latencyMs} ms`,
          points: merged
            .filter((cell) => cell.latencyMs === latencyMs && cell.spec.ordering === 'key')
            .map((cell) => [cell.spec.maxInFlight, cell.rate / base] as const),
        };
      }),
      { name: 'maxInFlight (ideal)', points: IN_FLIGHT.map((m) => [m, m] as const) },
    ],
  });
  console.log(`\nChart: ${chart}`);
  const keyCells = merged.filter((cell) => cell.spec.ordering === 'key');
  const firstSaturated = keyCells.find((cell) => judge(cell).saturated);
  reportRows(
    keyCells.map((cell): SummaryRow => {
      const { ideal, saturated } = judge(cell);
      return {
        scenario: `drain key order, sink ${cell.latencyMs} ms, maxInFlight ${cell.spec.maxInFlight}${saturated ? ', saturated' : ''}`,
        metric: 'rec/s',
        figure: cell.rate,
        baseline: saturated
          ? { label: 'ceiling', value: ceiling }
          : { label: `${cell.spec.maxInFlight} × partition`, value: ideal },
        target: { kind: 'ratio-at-least', value: TARGET_RATIO },
        ...(cell === firstSaturated
          ? {
              note: 'saturated: maxInFlight × the partition-ordered rate is above the ceiling (the fastest cell at 0 ms), so the cell is judged against the ceiling',
            }
          : {}),
      };
    }),
  );
};

await main();
