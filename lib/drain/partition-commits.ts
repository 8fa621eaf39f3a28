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
 *
 * Progress commits are pipelined: the commit of batch N is written while batch N+1 is delivered, at most
 * one write in flight, every other write (a stop, a reset, a renewal, the final flush) waiting for it. A
 * commit only ever names offsets already delivered, so overlapping it with later deliveries cannot move
 * the checkpoint past an undelivered record. What overlap costs when the lease is lost meanwhile (an
 * operator's write, or a run that took an expired lease): the records handed to the sink between the
 * losing commit's start and its answer (one batch in partition order; by key, what the calls started
 * meanwhile carried), all at or past the offset that commit names; they are also sent by whoever holds
 * the partition next, from its checkpoint, so they are duplicates, never skips. Sink calls stay within the expiry of the lease held when they start, so two runs never
 * deliver the same partition at the same time.
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
  /** Waits for a pipelined commit still in flight; throws its error. Every way out of the run ends here. */
  settle(): Promise<void>;
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
  /** The pipelined write in flight; `failed` once it has rejected, so `ensureLease` need not wait to know. */
  let inFlight: { readonly done: Promise<void>; failed: boolean } | undefined;

  /**
   * Where a checkpoint write must have answered: within the run's cleanup window (the last commit comes
   * after the budget), and within the lease the write itself would give (an answer later than that is of no
   * use). Not within the current lease: a write tried after it expired is still safe (conditional on our
   * version, it fails if another run took over) and renews it if nobody did.
   */
  const storeCall = () => ({ deadlineMs: Math.min(request.cleanupDeadlineMs, now() + leaseMs) });

  const write = async (nextOffset: number, extras: CommitExtras = {}): Promise<void> => {
    // The interval runs from when a commit starts: a pipelined one answers while the next batch is out.
    lastCommitAtMs = now();
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
    // A pipelined write answers after later batches may have been held back: those stay to flush.
    if (uncommittedOffset !== undefined && uncommittedOffset <= nextOffset) uncommittedOffset = undefined;
    committedAtMs = now();
  };

  /** Waits for the write in flight; throws its error (e.g. `ERR_LEASE_LOST`). */
  const settle = async (): Promise<void> => {
    const pending = inFlight;
    inFlight = undefined;
    await pending?.done;
  };

  const commit = async (nextOffset: number, extras: CommitExtras = {}): Promise<void> => {
    await settle();
    await write(nextOffset, extras);
  };

  /**
   * Starts a progress commit without waiting for it, while more than half the lease is left (below that,
   * the next sink call needs the renewal this write brings: it is awaited).
   */
  const commitBehind = async (nextOffset: number): Promise<void> => {
    await settle();
    if (lease.expiresAtMs - now() <= leaseMs / 2) {
      await write(nextOffset);
      return;
    }
    const pending = { done: write(nextOffset), failed: false };
    // Handled here so a run that ends elsewhere first is no unhandled rejection; `settle` still throws it.
    pending.done.catch(() => {
      pending.failed = true;
    });
    inFlight = pending;
  };

  const flush = async (): Promise<void> => {
    await settle();
    if (uncommittedOffset !== undefined) await write(uncommittedOffset);
  };

  return {
    commit,
    flush,
    afterDelivery: async (offset, nextOffset, stop) => {
      if (stop?.error !== undefined && (stop.outcome === 'stopped' || stop.outcome === 'failed')) {
        await commit(nextOffset, { lastError: toLastError(stop.error, stop.offset) });
      } else if (nextOffset > offset) {
        const due = now() - lastCommitAtMs >= request.drain.commitIntervalMs;
        if (stop !== undefined) await commit(nextOffset);
        else if (due) await commitBehind(nextOffset);
        else uncommittedOffset = nextOffset;
      } else if (stop !== undefined) {
        await flush();
      }
    },
    // Renewing at half-life keeps the lease ahead of every sink call, whose own deadline is capped at the
    // lease expiry: a holder never delivers past the moment another run could take the partition.
    // A pipelined commit that lost the lease stops the run at its next sink call, not one batch later.
    ensureLease: async () => {
      if (inFlight?.failed) await settle();
      if (lease.expiresAtMs - now() < leaseMs / 2) {
        // The write in flight renews the lease too; a renewal beside it would conflict with its version.
        await settle();
        if (lease.expiresAtMs - now() < leaseMs / 2) lease = await deps.checkpoints.renew(lease, storeCall());
      }
      return lease;
    },
    settle,
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
