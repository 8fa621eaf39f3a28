import { setTimeout as delay } from 'node:timers/promises';
import { createAwsClients } from '../../lib/aws/sdk-clients.js';
import type { Log } from '../../lib/core/log.js';
import { type CheckpointStore, createCheckpointStore } from '../../lib/drain/checkpoint-store.js';
import { DRAIN_DEFAULTS, type DrainConfig, parseDrains } from '../../lib/drain/config.js';
import { type DrainRunReport, runDrains } from '../../lib/drain/run-drains.js';
import { noAuth } from '../../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../../lib/kafka-rest/client.js';
import { createSink, type Sink } from '../../lib/sinks/index.js';
import { startDynalite, startFaultyDynamo } from '../../test/helpers/dynalite.js';

/** The drain's logs would cost the measured loop a line per partition and run: dropped. */
export const SILENT: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The checkpoint store's calls, by method: what the drain asked of DynamoDB. */
export type StoreCalls = Record<'acquire' | 'commit' | 'renew' | 'release' | 'other', number> & {
  /**
   * Time checkpoint commits were in flight, summed over the partitions: the deliveries wait for a commit made
   * between batches, not for one that overlaps the next batch.
   */
  commitMs: number;
};

export interface DrainRun {
  readonly report: DrainRunReport;
  readonly ms: number;
  readonly storeCalls: StoreCalls;
  /** HTTP requests that reached the DynamoDB endpoint during the run, by operation (`UpdateItem`, …). */
  readonly dynamoRequests: Record<string, number>;
  /** Every call the drain made to a sink, when it started (epoch ms) and with how many records, in order. */
  readonly sinkCalls: readonly { readonly atMs: number; readonly records: number }[];
}

export interface DrainHarness {
  /**
   * One invocation's work (`runDrains`, as the handler calls it) over `drains`, with a deadline far away:
   * every partition runs to its end. Sinks are built once per config and kept, as in a warm container.
   */
  run(drains: readonly DrainConfig[]): Promise<DrainRun>;
  close(): Promise<void>;
}

/** A drain config as the `DRAINS` setting would give it, through the real parser and its defaults. */
export const parseDrain = (spec: Record<string, unknown>): DrainConfig => {
  const problems: string[] = [];
  const [drain] = parseDrains([spec], 'DRAINS', { stackDlqUrl: undefined, idNamespace: 'bench' }, problems);
  if (drain === undefined) throw new Error(`bad bench drain: ${problems.join('; ')}`);
  return drain;
};

type Counted = 'acquire' | 'renew' | 'release' | 'releaseOwned' | 'get';

const countCalls = (store: CheckpointStore, calls: StoreCalls): CheckpointStore => {
  const counted = <M extends Counted>(method: M, tally: keyof StoreCalls): CheckpointStore[M] => {
    const call = store[method] as (...args: Parameters<CheckpointStore[M]>) => ReturnType<CheckpointStore[M]>;
    return ((...args: Parameters<CheckpointStore[M]>) => {
      calls[tally] += 1;
      return call(...args);
    }) as CheckpointStore[M];
  };
  return {
    ...store,
    acquire: counted('acquire', 'acquire'),
    renew: counted('renew', 'renew'),
    release: counted('release', 'release'),
    releaseOwned: counted('releaseOwned', 'other'),
    get: counted('get', 'other'),
    commit: async (...args) => {
      calls.commit += 1;
      const start = performance.now();
      try {
        return await store.commit(...args);
      } finally {
        calls.commitMs += performance.now() - start;
      }
    },
  };
};

const difference = (after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([name, count]) => [name, count - (before[name] ?? 0)] as const)
      .filter(([, count]) => count > 0),
  );

/**
 * The drain as the function wires it, against the Kafka REST server at `kafkaUrl`: the real client, the
 * real sinks, the checkpoint store on dynalite (in this process) behind the DynamoDB proxy of
 * `dev/dynamodb-fault-proxy.ts` with no fault set, which counts every request that reaches the endpoint.
 */
export const startDrainHarness = async (kafkaUrl: string): Promise<DrainHarness> => {
  const dynamo = await startDynalite();
  const counted = await startFaultyDynamo(dynamo);
  const kafka = createKafkaRest({ baseUrl: kafkaUrl, allowHttp: true, auth: noAuth(), log: SILENT });
  const aws = createAwsClients({});
  const { leaseMs, maxConcurrentPartitions } = DRAIN_DEFAULTS;
  const store = createCheckpointStore({
    client: counted.client,
    tableName: dynamo.tableName,
    leaseMs,
    now: Date.now,
  });
  const sinks = new Map<string, Sink>();
  /** The sink calls of each run in progress (runs may overlap: an invocation finding the lease busy). */
  const recording = new Set<{ atMs: number; records: number }[]>();
  // A call starts as soon as the drain's throttle admits it: these are the admissions.
  const recorded = (sink: Sink): Sink => ({
    ...sink,
    deliver: (records, options) => {
      const call = { atMs: Date.now(), records: records.length };
      for (const calls of recording) calls.push(call);
      return sink.deliver(records, options);
    },
  });
  const sinkOf = (drain: DrainConfig): Sink => {
    const key = JSON.stringify(drain.sink);
    let sink = sinks.get(key);
    if (sink === undefined) {
      sink = recorded(createSink(drain.sink, { aws, log: SILENT, now: Date.now }));
      sinks.set(key, sink);
    }
    return sink;
  };
  let runs = 0;
  return {
    run: async (drains) => {
      runs += 1;
      const storeCalls: StoreCalls = { acquire: 0, commit: 0, renew: 0, release: 0, other: 0, commitMs: 0 };
      const sinkCalls: { atMs: number; records: number }[] = [];
      recording.add(sinkCalls);
      const before = counted.proxy.stats().requests;
      const start = performance.now();
      const report = await runDrains(
        {
          kafka,
          checkpoints: countCalls(store, storeCalls),
          log: SILENT,
          now: Date.now,
          sleep: (ms) => delay(ms),
          random: Math.random,
          drains,
          leaseMs,
          maxConcurrentPartitions,
          sinkFor: sinkOf,
          deadLettersFor: () => undefined,
        },
        {},
        {
          owner: `bench-${runs}`,
          deadlineMs: Date.now() + 600_000,
          cleanupDeadlineMs: Date.now() + 605_000,
        },
      );
      const ms = performance.now() - start;
      recording.delete(sinkCalls);
      return {
        report,
        ms,
        storeCalls,
        dynamoRequests: difference(counted.proxy.stats().requests, before),
        sinkCalls,
      };
    },
    close: async () => {
      for (const sink of sinks.values()) await sink.close?.();
      aws.destroy();
      await kafka.close();
      await counted.close();
      await dynamo.close();
    },
  };
};
