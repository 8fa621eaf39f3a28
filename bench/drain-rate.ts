/**
 * A drain's `maxRecordsPerSecond` (issue #16): one drain over four partitions, drained at once in one
 * invocation (`runDrains`, one throttle shared by the partitions), into a local sink in another process
 * that answers at once. The records of the sink calls started within any 1,000 ms are at most R + the
 * throttle's bucket (max(1, ceil(R / 10)) records, `lib/drain/drain-throttle.ts`); the sink counts what
 * arrives in any 1,000 ms beside it, which the path can bunch by a few milliseconds' worth. The same
 * drain without a limit, measured in the same run, shows that the limit is what holds the rate down.
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
  // A call is admitted whole once the bucket's worth of tokens is there: calls of a batch sink, one POST
  // each, no larger than the bucket (a single-mode call under a limit is one record).
  {
    spec: {
      ...PARTITION_ORDER,
      label: 'partition order, batch mode, maxBatchRecords 20',
      mode: 'batch',
      maxBatchRecords: 20,
    },
    limit: 200,
  },
  { spec: PARTITION_ORDER, limit: 1_000 },
  { spec: { label: 'key order, maxInFlight 32', ordering: 'key', maxInFlight: 32 }, limit: 1_000 },
];

/** The throttle's bucket for a limit of `rate` records/s (`createDrainThrottle`). */
const bucketOf = (rate: number): number => Math.max(1, Math.ceil(rate / 10));

/** The most records in sink calls that started within 1 s of each other: what the throttle bounds. */
const startedInAnySecond = (cell: Cell): number =>
  mostWithinWindow(
    cell.run.sinkCalls.map((call) => call.atMs),
    1_000,
    cell.run.sinkCalls.map((call) => call.records),
  );

const ARRIVAL_NOTE =
  'No target: arrivals at the receiver, which the path can bunch; a call delayed d ms more than a later one adds up to ' +
  'R × d / 1000 records to the busiest second (README, "Sink limits"). The bound holds for the calls started.';

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
        'started in any 1 s',
        'bound (R + bucket)',
        'met?',
        'arrived in any 1 s',
        'arrived in 1 s windows from the first',
        'largest call',
        'mean rec/s',
        'mean / R',
        'without limit rec/s',
        'duplicates',
      ],
      measured.map(({ limited, cell, unlimited }) => {
        const bound = limited.limit + bucketOf(limited.limit);
        const started = startedInAnySecond(cell);
        const name = `drain limit ${limited.limit} rec/s, ${limited.spec.label}, ${PARTITIONS} partitions`;
        rows.push(
          {
            scenario: `${name}: most records in sink calls started within 1 s`,
            metric: 'records',
            figure: started,
            target: { kind: 'at-most', value: bound, unit: 'records (R + bucket)' },
          },
          {
            scenario: `${name}: most arrived within 1 s at the sink`,
            metric: 'records',
            figure: cell.check.maxInAnySecond,
            baseline: { label: 'started', value: started },
            note: ARRIVAL_NOTE,
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
          String(started),
          String(bound),
          started <= bound ? 'yes' : 'NO',
          String(cell.check.maxInAnySecond),
          String(cell.check.maxInFixedSecond),
          String(Math.max(0, ...cell.run.sinkCalls.map((call) => call.records))),
          formatNumber(cell.rate),
          (cell.rate / limited.limit).toFixed(2),
          formatNumber(unlimited.rate),
          String(cell.check.duplicates),
        ];
      }),
    ),
  );
  console.log(
    '\nstarted: the most records in sink calls that started within 1 s of each other (a call starts in the step the throttle admits it; ' +
      'under a limit a single-mode call is one record, one POST): the bound. arrived: the same at the sink, by its clock, in another process ' +
      '(the strictest reading of what a receiver sees). mean: records / wall time of the invocation, from the lease to its release.',
  );
  reportRows(rows);
  reportCorrectness(bench.failures, 'Every record arrived, each key in offset order, in every run above.');
};

await main();
