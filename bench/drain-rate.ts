/**
 * A drain's `maxRecordsPerSecond` (issue #16): one drain over four partitions, drained at once in one
 * invocation (`runDrains`, one throttle shared by the partitions), into a local sink in another process
 * that answers at once. The sink counts what arrives per second: at most R + the throttle's bucket
 * (max(1, ceil(R / 10)) records, `lib/drain/drain-throttle.ts`) in any 1,000 ms. Beside it, the same drain
 * without a limit, measured in the same run, shows that the limit is what holds the rate down.
 *
 * Every record must arrive (at least once: duplicates are counted), each key in offset order; a loss or
 * an order violation ends the run with exit code 1. A rate over the bound is reported, never an exit code.
 *
 *   npx tsx bench/drain-rate.ts [--quick]
 */
import { cpus, loadavg } from 'node:os';
import { type Cell, type CellSpec, reportCorrectness, startDrainBench } from './lib/drain-cell.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable, mostWithinWindow } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const TOPIC = 'bench-rate';
const PARTITIONS = 4;
const KEYS = 1_000;
const VALUE_BYTES = 256;
/** Seconds of records at the limit: long enough for several full windows after the first burst. */
const SECONDS = QUICK ? 1.5 : 6;

interface Limited {
  readonly spec: CellSpec;
  readonly limit: number;
}

const PARTITION_ORDER: CellSpec = { label: 'partition order', ordering: 'partition', maxInFlight: 1 };
const LIMITED: readonly Limited[] = [
  { spec: PARTITION_ORDER, limit: 200 },
  // A call is admitted whole once the bucket's worth of tokens is there: calls no larger than the bucket.
  {
    spec: { ...PARTITION_ORDER, label: 'partition order, sink maxBatchRecords 20', maxBatchRecords: 20 },
    limit: 200,
  },
  { spec: PARTITION_ORDER, limit: 1_000 },
  { spec: { label: 'key order, maxInFlight 32', ordering: 'key', maxInFlight: 32 }, limit: 1_000 },
];

/** The throttle's bucket for a limit of `rate` records/s (`createDrainThrottle`). */
const bucketOf = (rate: number): number => Math.max(1, Math.ceil(rate / 10));

/** The most records in sink calls that started within 1 s of each other: the throttle's side of the bound. */
const admittedInAnySecond = (cell: Cell): number =>
  mostWithinWindow(
    cell.run.sinkCalls.map((call) => call.atMs),
    1_000,
    cell.run.sinkCalls.map((call) => call.records),
  );

const main = async (): Promise<void> => {
  const bench = await startDrainBench({ topic: TOPIC, keys: KEYS, valueBytes: VALUE_BYTES });
  const measured: { limited: Limited; cell: Cell; unlimited: Cell }[] = [];
  try {
    await bench.setLatency(0);
    // Warm-up: JIT, connections, dynalite's first writes.
    await bench.measure(PARTITION_ORDER, PARTITIONS, 200);
    for (const limited of LIMITED) {
      const perPartition = Math.ceil((limited.limit * SECONDS) / PARTITIONS);
      const unlimited = await bench.measure(limited.spec, PARTITIONS, perPartition);
      const cell = await bench.measure(
        { ...limited.spec, maxRecordsPerSecond: limited.limit },
        PARTITIONS,
        perPartition,
      );
      measured.push({ limited, cell, unlimited });
    }
  } finally {
    await bench.close();
  }

  console.log(
    `\nRate limits: one drain, ${PARTITIONS} partitions drained at once, ${VALUE_BYTES} B records, HTTP sink single mode answering at once; ` +
      `load average ${loadavg()[0]?.toFixed(2)} on ${cpus().length} cores\n`,
  );
  const rows: SummaryRow[] = [];
  console.log(
    formatTable(
      [
        'drain',
        'maxRecordsPerSecond',
        'records',
        'max in any 1 s',
        'max in a 1 s window from the first',
        'admitted in any 1 s',
        'largest call',
        'bound (R + bucket)',
        'met?',
        'mean rec/s',
        'mean / R',
        'without limit rec/s',
        'duplicates',
      ],
      measured.map(({ limited, cell, unlimited }) => {
        const bound = limited.limit + bucketOf(limited.limit);
        const name = `drain limit ${limited.limit} rec/s, ${limited.spec.label}, ${PARTITIONS} partitions`;
        rows.push(
          {
            scenario: `${name}: most in any 1 s at the sink`,
            metric: 'records',
            figure: cell.check.maxInAnySecond,
            target: { kind: 'at-most', value: bound, unit: 'records (R + bucket)' },
          },
          {
            scenario: `${name}: mean rate`,
            metric: 'rec/s',
            figure: cell.rate,
            baseline: { label: 'without limit', value: unlimited.rate },
          },
        );
        return [
          limited.spec.label,
          String(limited.limit),
          cell.records.toLocaleString('en-US'),
          String(cell.check.maxInAnySecond),
          String(cell.check.maxInFixedSecond),
          String(admittedInAnySecond(cell)),
          String(Math.max(0, ...cell.run.sinkCalls.map((call) => call.records))),
          String(bound),
          cell.check.maxInAnySecond <= bound ? 'yes' : 'NO',
          formatNumber(cell.rate),
          (cell.rate / limited.limit).toFixed(2),
          formatNumber(unlimited.rate),
          String(cell.check.duplicates),
        ];
      }),
    ),
  );
  console.log(
    '\nmax in any 1 s: a window sliding over the arrival times at the sink (the strictest reading); admitted: the records of the sink calls ' +
      'that started within 1 s (a call starts when the throttle admits it; in single mode its records then go one POST after another); ' +
      'mean: records / wall time of the invocation, from the lease to its release.',
  );
  reportRows(rows);
  reportCorrectness(bench.failures, 'Every record arrived, each key in offset order, in every run above.');
};

await main();
