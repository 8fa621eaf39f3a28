import { fileURLToPath } from 'node:url';
import { forkChildServer } from './child-ipc.js';

/** What a round should have delivered: offsets 0..count-1 of each partition of `topic`. */
export interface ExpectedRecords {
  readonly topic: string;
  readonly counts: Readonly<Record<number, number>>;
}

/** What the sink received in a round, checked record by record in arrival order. */
export interface SinkCheck {
  readonly requests: number;
  /** Answered with something else than 2xx (none unless faults are injected). */
  readonly refused: number;
  /** Records in 2xx-answered requests, duplicates included. */
  readonly records: number;
  /** Arrivals of a record (topic, partition, offset) already received. */
  readonly duplicates: number;
  /** Expected records never received. */
  readonly missing: number;
  /** First arrivals of a keyed record below an offset of the same key already received. */
  readonly orderViolations: number;
  /** The first few violations, missing and stray records, in words. */
  readonly problems: readonly string[];
  /** Epoch ms of the first and last arrival (null when nothing arrived: the answer crosses IPC as JSON). */
  readonly firstAtMs: number | null;
  readonly lastAtMs: number | null;
  /** Most records that arrived within any 1,000 ms (a window sliding over the arrivals). */
  readonly maxInAnySecond: number;
  /** Most records in one of the consecutive 1,000 ms windows counted from the first arrival. */
  readonly maxInFixedSecond: number;
}

export type SinkChildCommand =
  | { readonly op: 'latency'; readonly ms: number }
  | { readonly op: 'check'; readonly expected: ExpectedRecords }
  | { readonly op: 'cpu' };

export interface CheckingSinkProcess {
  /** The URL to give the HTTP sink (`single` or `batch` mode). */
  readonly url: string;
  /** Every answer from now on waits `ms` (0: at once). */
  setLatency(ms: number): Promise<void>;
  /** Checks and forgets what arrived since the last check. */
  check(expected: ExpectedRecords): Promise<SinkCheck>;
  /** The child's CPU time so far (user + system), in ms. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./sink-child.ts', import.meta.url));

/**
 * `dev/http-sink.ts` in a child process of its own (so its CPU does not share the drain's loop), with a
 * latency per answer and a check of what arrived: per-key order on every record, loss, duplicates, and
 * the records per second the sink saw. Throws when the child cannot start.
 */
export const startCheckingSink = async (): Promise<CheckingSinkProcess> => {
  const child = await forkChildServer<SinkChildCommand, string>(CHILD, [], 'HTTP sink');
  return {
    url: `${child.ready}/in`,
    setLatency: async (ms) => {
      await child.call({ op: 'latency', ms });
    },
    check: (expected) => child.call({ op: 'check', expected }),
    cpuMs: () => child.call({ op: 'cpu' }),
    close: child.close,
  };
};
