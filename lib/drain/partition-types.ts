import type { AppError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { KafkaRest } from '../kafka-rest/types.js';
import type { DeadLetterQueue, Sink } from '../sinks/types.js';
import type { Lease, PartitionKey } from './checkpoint.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DrainSettings } from './config.js';
import type { DrainThrottle } from './drain-throttle.js';

export interface PartitionDrainDeps {
  readonly kafka: Pick<KafkaRest, 'fetch' | 'logBounds' | 'exactLogBounds' | 'endFetch'>;
  readonly checkpoints: CheckpointStore;
  readonly log: Log;
  /** Epoch ms; the clock of every deadline and lease expiry. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** [0, 1), for backoff jitter. */
  readonly random: () => number;
}

export interface PartitionDrainRequest {
  readonly drain: DrainSettings;
  readonly partition: number;
  readonly sink: Sink;
  /** Absent: a poison record stops the partition. */
  readonly deadLetters: DeadLetterQueue | undefined;
  /** Unique per run: the lease holder's name. */
  readonly owner: string;
  /** Epoch ms at which the run stops fetching and delivering, and commits what it delivered. */
  readonly deadlineMs: number;
  /**
   * Epoch ms by which what follows the run must be done (after `deadlineMs`, inside the invocation's
   * margin): the lag lookup, deleting the v2 consumer instance, releasing the lease. A run stopped by the
   * time budget still has this time, so the proxy is never left holding an instance until it expires.
   */
  readonly cleanupDeadlineMs: number;
  /** The store's lease length: the lease is renewed once less than half of it is left. */
  readonly leaseMs: number;
  /** The drain's pace, shared by its partitions in this invocation; absent: no limit. */
  readonly throttle?: DrainThrottle | undefined;
  /**
   * An operator's stop (Ctrl-C of a replay): once aborted, the run ends as at its deadline when the batch
   * in hand is delivered and committed, with no sink call cut short. Absent: only the deadline stops it.
   */
  readonly stop?: AbortSignal | undefined;
}

/**
 * How one partition's run ended:
 * - `caught-up`: the proxy answered `[]` (only that says the log end was reached); `deadline`: the time
 *   budget ended first (both fine);
 * - `busy`: another run holds the lease; `paused`: an operator paused the partition (both fine);
 * - `stopped`: a poison record and no DLQ, or a fetch that trying again cannot cure (a non-retriable error,
 *   or an answer that never reaches the offset): the partition waits at that offset (error recorded);
 * - `lease-lost`: another run or an operator wrote the checkpoint; we stopped without forwarding more;
 * - `failed`: the proxy, the DLQ, the checkpoint table, or the reset policy `fail`.
 */
export const PARTITION_OUTCOMES = [
  'caught-up',
  'deadline',
  'busy',
  'paused',
  'stopped',
  'lease-lost',
  'failed',
] as const;
export type PartitionOutcome = (typeof PARTITION_OUTCOMES)[number];

/** Outcomes that the handler reports as a failed invocation (so the schedule's alarms see them). */
export const FAILED_OUTCOMES: ReadonlySet<PartitionOutcome> = new Set(['stopped', 'lease-lost', 'failed']);

/** Why a run's loop ended, before it becomes a report. */
export type Stop = {
  readonly outcome: PartitionOutcome;
  readonly error?: AppError;
  readonly offset?: number;
  /** A `stopped` partition whose next records the proxy cannot serve (rather than a poison record). */
  readonly unreadable?: true;
};

/** The run's tallies, as the report gives them. */
export interface RunCounts {
  delivered: number;
  deadLettered: number;
  skipped: number;
}

/** What the parts of one partition's run share. */
export interface PartitionRunContext {
  readonly deps: PartitionDrainDeps;
  readonly request: PartitionDrainRequest;
  readonly key: PartitionKey;
  readonly counts: RunCounts;
  /** The id of the record at `offset`, in the topic's current epoch. */
  recordId(offset: number): string;
}

/** What delivering one fetched batch came to. */
export interface Delivered {
  /** The first record not delivered (nor dead-lettered). */
  readonly nextOffset: number;
  readonly stop?: Stop;
}

/** The lease under which records are handed to the sink: renewed at half-life, the current one after. */
export interface LeaseHolder {
  ensureLease(): Promise<Lease>;
}
