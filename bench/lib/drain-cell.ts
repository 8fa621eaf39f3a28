import type { DrainConfig } from '../../lib/drain/config.js';
import { cpuMsOfThisProcess } from './cpu.js';
import { type DrainHarness, type DrainRun, parseDrain, startDrainHarness } from './drain-harness.js';
import { startKafkaRestProcess } from './kafka-rest-process.js';
import { type SinkCheck, startCheckingSink } from './sink-process.js';

/** One drain configuration to measure, in the terms of the `DRAINS` setting. */
export interface CellSpec {
  readonly label: string;
  readonly ordering: 'partition' | 'key';
  readonly maxInFlight: number;
  readonly mode?: 'single' | 'batch';
  /** The HTTP sink's pool; absent: max(4, maxInFlight), so that each in-flight call has a connection. */
  readonly connections?: number;
  /** Records per sink call; absent: the HTTP sink's default (100, in `single` mode too). */
  readonly maxBatchRecords?: number;
  readonly batchSize?: number;
  readonly commitIntervalMs?: number;
  readonly maxRecordsPerSecond?: number;
}

export interface Cell {
  readonly spec: CellSpec;
  readonly latencyMs: number;
  readonly records: number;
  readonly rate: number;
  readonly run: DrainRun;
  readonly check: SinkCheck;
  /** CPU used during the cell, in % of one core: the drain's process (with dynalite), the sink, the proxy. */
  readonly cpu: { readonly drain: number; readonly sink: number; readonly proxy: number };
  /** Requests the Kafka REST server received during the cell, by route. */
  readonly proxyRequests: Record<string, number>;
}

export interface DrainBench {
  /** Every answer of the sink waits `ms` from now on. */
  setLatency(ms: number): Promise<void>;
  /**
   * A fresh topic of `partitions` partitions with `perPartition` records each (keys `k<offset mod keys>`),
   * drained once with `spec`, then checked record by record at the sink. A loss, a key out of order or a
   * run that did not catch up is added to `failures`; `during` runs beside the drain run.
   */
  measure(
    spec: CellSpec,
    partitions: number,
    perPartition: number,
    during?: () => Promise<void>,
  ): Promise<Cell>;
  /** The drain config of the last `measure` (for a second, overlapping invocation in `during`). */
  lastDrain(): DrainConfig;
  readonly harness: DrainHarness;
  /** Requests the Kafka REST server received since the last `measure` or call of this, by route. */
  takeProxyRequests(): Promise<Record<string, number>>;
  /** Correctness failures so far, in words: any one makes the scenario exit nonzero. */
  readonly failures: string[];
  close(): Promise<void>;
}

const DEFAULT_CONNECTIONS = 4;

/**
 * The pieces of a drain scenario: the Kafka REST server and the checking sink, each in a process of its
 * own, and the drain harness in this one.
 */
export const startDrainBench = async (options: {
  readonly topic: string;
  readonly keys: number;
  readonly valueBytes: number;
}): Promise<DrainBench> => {
  const { topic } = options;
  const kafkaRest = await startKafkaRestProcess({ topics: { [topic]: 1 }, recordRequests: true });
  const sink = await startCheckingSink();
  const harness = await startDrainHarness(kafkaRest.url);
  const failures: string[] = [];
  let latencyMs = 0;
  let runs = 0;
  let drain: DrainConfig | undefined;

  const measure: DrainBench['measure'] = async (spec, partitions, perPartition, during) => {
    runs += 1;
    await kafkaRest.reset(topic, partitions);
    const counts: Record<number, number> = {};
    for (let partition = 0; partition < partitions; partition += 1) {
      await kafkaRest.append(topic, partition, perPartition, options.valueBytes, options.keys);
      counts[partition] = perPartition;
    }
    await kafkaRest.takeRequestCounts();
    const current = parseDrain({
      id: `bench-${runs}`,
      topic,
      partitions: Object.keys(counts).map(Number),
      ordering: spec.ordering,
      maxInFlight: spec.maxInFlight,
      ...(spec.batchSize === undefined ? {} : { batchSize: spec.batchSize }),
      ...(spec.commitIntervalMs === undefined ? {} : { commitIntervalMs: spec.commitIntervalMs }),
      ...(spec.maxRecordsPerSecond === undefined ? {} : { maxRecordsPerSecond: spec.maxRecordsPerSecond }),
      sink: {
        type: 'http',
        url: sink.url,
        allowHttp: true,
        mode: spec.mode ?? 'single',
        connections: spec.connections ?? Math.max(DEFAULT_CONNECTIONS, spec.maxInFlight),
        ...(spec.maxBatchRecords === undefined ? {} : { maxBatchRecords: spec.maxBatchRecords }),
      },
    });
    drain = current;
    const cpuBefore = [cpuMsOfThisProcess(), await sink.cpuMs(), await kafkaRest.cpuMs()] as const;
    const [run] = await Promise.all([harness.run([current]), during?.()]);
    const cpuAfter = [cpuMsOfThisProcess(), await sink.cpuMs(), await kafkaRest.cpuMs()] as const;
    const check = await sink.check({ topic, counts });
    const records = partitions * perPartition;
    const where = `${spec.label} at ${latencyMs} ms (${records} records)`;
    for (const partition of run.report.drains[0]?.partitions ?? []) {
      if (partition.outcome !== 'caught-up' || partition.delivered !== perPartition) {
        failures.push(
          `${where}: partition ${partition.partition} ended ${partition.outcome} after ${partition.delivered} records`,
        );
      }
    }
    if (check.orderViolations > 0 || check.missing > 0 || check.problems.length > 0) {
      failures.push(
        `${where}: ${check.orderViolations} records out of key order, ${check.missing} missing: ${check.problems.join('; ')}`,
      );
    }
    const share = (i: 0 | 1 | 2) => ((cpuAfter[i] - cpuBefore[i]) * 100) / run.ms;
    return {
      spec,
      latencyMs,
      records,
      rate: (records * 1000) / run.ms,
      run,
      check,
      cpu: { drain: share(0), sink: share(1), proxy: share(2) },
      proxyRequests: await kafkaRest.takeRequestCounts(),
    };
  };

  return {
    setLatency: async (ms) => {
      latencyMs = ms;
      await sink.setLatency(ms);
    },
    measure,
    lastDrain: () => {
      if (drain === undefined) throw new Error('no drain measured yet');
      return drain;
    },
    harness,
    takeProxyRequests: () => kafkaRest.takeRequestCounts(),
    failures,
    close: async () => {
      await harness.close();
      await sink.close();
      await kafkaRest.close();
    },
  };
};

/** Prints the failures loudly and sets a nonzero exit code; says so when there were none. */
export const reportCorrectness = (failures: readonly string[], checked: string): void => {
  if (failures.length > 0) {
    console.error(`\nCORRECTNESS FAILURE (${failures.length}):\n${failures.map((f) => `- ${f}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`\n${checked}`);
  }
};
