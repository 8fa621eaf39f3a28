import type { AppError } from '../core/errors.js';
import type { Lease, CheckpointError as StoredError } from './checkpoint.js';
import type { PartitionDrainDeps, PartitionDrainRequest, Stop } from './partition-types.js';

export type CheckpointError = Omit<StoredError, 'atMs'>;

export const toLastError = (error: AppError, offset?: number): CheckpointError => ({
  code: error.code,
  message: error.message,
  offset,
});

export interface CommitExtras {
  readonly lastError?: CheckpointError;
  readonly skipped?: number;
  readonly epoch?: number;
}

/**
 * One run's writes to its checkpoint and when it makes them: the lease it holds (renewed at half-life),
 * the topic's epoch, and what was delivered but not committed yet (`commitIntervalMs` > 0).
 */
export interface PartitionCommits {
  commit(nextOffset: number, extras?: CommitExtras): Promise<void>;
  /** Commits what was delivered but not committed yet: every way out of the loop goes through here. */
  flush(): Promise<void>;
  /**
   * After a batch delivered up to `nextOffset` from `offset`: a stop with an error is recorded at once;
   * progress is committed when the run stops or the commit interval is up, else held for the next flush.
   */
  afterDelivery(offset: number, nextOffset: number, stop: Stop | undefined): Promise<void>;
  /** Renews the lease once less than half of it is left; the current lease after. */
  ensureLease(): Promise<Lease>;
  lease(): Lease;
  /** The topic's incarnation (`Checkpoint.epoch`), part of every record id. */
  epoch(): number;
  /** A new partition (no checkpoint) starts at offset 0 without storing it first. */
  startUnstored(): void;
  /** True until the first commit after `startUnstored`. */
  startIsUnstored(): boolean;
  committedOffset(): number | undefined;
  /** When this run last committed (undefined: it did not). */
  committedAtMs(): number | undefined;
}

export const createPartitionCommits = (
  deps: PartitionDrainDeps,
  request: PartitionDrainRequest,
  acquired: { readonly lease: Lease; readonly checkpoint: { readonly epoch: number } },
): PartitionCommits => {
  const { now } = deps;
  const { leaseMs } = request;
  let lease = acquired.lease;
  let epoch = acquired.checkpoint.epoch;
  let committed: number | undefined;
  let committedAtMs: number | undefined;
  let uncommittedStart = false;
  let uncommittedOffset: number | undefined;
  let lastCommitAtMs = now();

  /**
   * Where a checkpoint write must have answered: within the run's cleanup window (the last commit comes
   * after the budget), and within the lease the write itself would give (an answer later than that is of no
   * use). Not within the current lease: a write tried after it expired is still safe (conditional on our
   * version, it fails if another run took over) and renews it if nobody did.
   */
  const storeCall = () => ({ deadlineMs: Math.min(request.cleanupDeadlineMs, now() + leaseMs) });

  const commit = async (nextOffset: number, extras: CommitExtras = {}): Promise<void> => {
    lease = await deps.checkpoints.commit(
      lease,
      {
        nextOffset,
        ...(extras.lastError === undefined ? {} : { lastError: extras.lastError }),
        ...(extras.skipped === undefined ? {} : { skippedRecords: extras.skipped }),
        ...(extras.epoch === undefined ? {} : { epoch: extras.epoch }),
      },
      storeCall(),
    );
    if (extras.epoch !== undefined) epoch = extras.epoch;
    committed = nextOffset;
    uncommittedStart = false;
    uncommittedOffset = undefined;
    lastCommitAtMs = now();
    committedAtMs = lastCommitAtMs;
  };

  const flush = async (): Promise<void> => {
    if (uncommittedOffset !== undefined) await commit(uncommittedOffset);
  };

  return {
    commit,
    flush,
    afterDelivery: async (offset, nextOffset, stop) => {
      if (stop?.error !== undefined && (stop.outcome === 'stopped' || stop.outcome === 'failed')) {
        await commit(nextOffset, { lastError: toLastError(stop.error, stop.offset) });
      } else if (nextOffset > offset) {
        const due = stop !== undefined || now() - lastCommitAtMs >= request.drain.commitIntervalMs;
        if (due) await commit(nextOffset);
        else uncommittedOffset = nextOffset;
      } else if (stop !== undefined) {
        await flush();
      }
    },
    // Renewing at half-life keeps the lease ahead of every sink call, whose own deadline is capped at the
    // lease expiry: a holder never delivers past the moment another run could take the partition.
    ensureLease: async () => {
      if (lease.expiresAtMs - now() < leaseMs / 2) lease = await deps.checkpoints.renew(lease, storeCall());
      return lease;
    },
    lease: () => lease,
    epoch: () => epoch,
    startUnstored: () => {
      uncommittedStart = true;
    },
    startIsUnstored: () => uncommittedStart,
    committedOffset: () => committed,
    committedAtMs: () => committedAtMs,
  };
};
