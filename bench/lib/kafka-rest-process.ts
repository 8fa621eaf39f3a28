import { fileURLToPath } from 'node:url';
import type { KafkaRestServerOptions } from '../../dev/kafka-rest/types.js';
import { forkChildServer } from './child-ipc.js';

export type KafkaRestChildCommand =
  | { readonly op: 'reset'; readonly topic: string; readonly partitions: number }
  | {
      readonly op: 'append';
      readonly topic: string;
      readonly partition: number;
      readonly count: number;
      readonly valueBytes: number;
      /** Records keyed `k<n mod keys>` in append order; absent: no key. */
      readonly keys?: number;
    }
  | { readonly op: 'take-request-counts' }
  | { readonly op: 'cpu' };

export interface KafkaRestProcess {
  readonly url: string;
  /** Deletes and re-creates a topic: empties the server's memory between rounds (not timed). */
  reset(topic: string, partitions: number): Promise<void>;
  /**
   * Writes `count` records of `valueBytes` directly into a partition (setup for reads, not timed); with
   * `keys`, the n-th record of this append has the key `k<n mod keys>`.
   */
  append(topic: string, partition: number, count: number, valueBytes: number, keys?: number): Promise<void>;
  /**
   * Requests received since the last call, by method and route (`GET /topics/{topic}/partitions/{p}/messages`);
   * only when started with `recordRequests: true`.
   */
  takeRequestCounts(): Promise<Record<string, number>>;
  /** The child's CPU time so far (user + system), in ms. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./kafka-rest-child.ts', import.meta.url));

/**
 * Starts the local Kafka REST v1 server (`dev/kafka-rest`) in a child process, without request recording
 * unless `recordRequests` is set. Throws when the child cannot start.
 */
export const startKafkaRestProcess = async (options: KafkaRestServerOptions): Promise<KafkaRestProcess> => {
  const child = await forkChildServer<KafkaRestChildCommand, string>(
    CHILD,
    [JSON.stringify(options)],
    'Kafka REST server',
  );
  return {
    url: child.ready,
    reset: async (topic, partitions) => {
      await child.call({ op: 'reset', topic, partitions });
    },
    append: async (topic, partition, count, valueBytes, keys) => {
      await child.call({
        op: 'append',
        topic,
        partition,
        count,
        valueBytes,
        ...(keys === undefined ? {} : { keys }),
      });
    },
    takeRequestCounts: () => child.call({ op: 'take-request-counts' }),
    cpuMs: () => child.call({ op: 'cpu' }),
    close: child.close,
  };
};
