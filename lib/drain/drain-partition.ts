import { ERROR_CODES, type ErrorCode, isAppError, toAppError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { Lease, PartitionKey } from './checkpoint.js';
import { createPartitionRun } from './partition-run.js';
import {
  FAILED_OUTCOMES,
  type PartitionDrainDeps,
  type PartitionDrainRequest,
  type PartitionOutcome,
  type Stop,
} from './partition-types.js';

export interface PartitionReport extends PartitionKey {
  readonly outcome: PartitionOutcome;
  /** Checkpoint when the run started and when it ended (undefined: never committed). */
  readonly fromOffset: number | undefined;
  readonly nextOffset: number | undefined;
  readonly delivered: number;
  readonly deadLettered: number;
  /** Records jumped over by offset resets (retention, re-created topic, `latest`). */
  readonly skipped: number;
  /** When the checkpoint was last committed, as of the end of the run (absent: unknown or never). */
  readonly committedAtMs?: number;
  /**
   * Records between `nextOffset` and the log end as the run ended: 0 when it caught up; otherwise from the
   * log bounds when the client reads them in one request (v2 with consumer instances), for a run out of
   * time, a paused or a stopped partition. Absent when unknown (v1 and Redpanda behind: probing the end
   * is not worth a dozen reads).
   */
  readonly lag?: number;
  readonly error?: { readonly code: ErrorCode; readonly message: string; readonly offset?: number };
}

/**
 * Drains one partition under its lease: lease → checkpoint → fetch (the next batch prefetched while the
 * current one is delivered) → deliver in offset order with retries → commit → repeat, until caught up or
 * the deadline, then release.
 *
 * Invariants (design §2): the checkpoint only moves to the first offset not yet delivered (or
 * dead-lettered), after the sink acknowledged everything below it, so delivery is at-least-once; every
 * checkpoint write is conditional on owner + version, and a lost lease stops the run before it hands
 * anything more to the sink.
 *
 * Never throws: every failure is a report (`failed`, `stopped`, `lease-lost`) so that one partition's
 * failure cannot stop the others from committing.
 */
export const drainPartition = async (
  deps: PartitionDrainDeps,
  request: PartitionDrainRequest,
): Promise<PartitionReport> => {
  const { drain, partition, owner } = request;
  const key: PartitionKey = { drainId: drain.id, topic: drain.topic, partition };
  const counts = { delivered: 0, deadLettered: 0, skipped: 0 };
  let fromOffset: number | undefined;
  let nextOffset: number | undefined;
  let committedAtMs: number | undefined;
  let lag: number | undefined;
  const report = (stop: Stop): PartitionReport => ({
    ...key,
    outcome: stop.outcome,
    fromOffset,
    nextOffset,
    ...counts,
    ...(committedAtMs === undefined ? {} : { committedAtMs }),
    ...(lag === undefined ? {} : { lag }),
    ...(stop.error === undefined
      ? {}
      : {
          error: {
            code: stop.error.code,
            message: stop.error.message,
            ...(stop.offset === undefined ? {} : { offset: stop.offset }),
          },
        }),
  });

  /** Idempotent: a second call finds nothing left to free. */
  const endReading = () =>
    deps.kafka.endFetch(drain.topic, partition, { deadlineMs: request.cleanupDeadlineMs });

  let lease: Lease | undefined;
  /** Set while an acquire is unanswered: if it never answers, it may still have taken the lease. */
  let acquiring = false;
  try {
    // No budget left (the invocation's margin took it): nothing to do, and no lease to take and give back.
    if (deps.now() >= request.deadlineMs) return report({ outcome: 'deadline' });
    acquiring = true;
    const acquired = await deps.checkpoints.acquire(key, owner, { deadlineMs: request.deadlineMs });
    acquiring = false;
    if (!acquired.acquired) {
      deps.log.info('partition busy: another run holds its lease', {
        ...key,
        holder: acquired.holder?.owner,
        leaseExpiresAtMs: acquired.holder?.expiresAtMs,
      });
      return report({ outcome: 'busy' });
    }
    lease = acquired.lease;
    fromOffset = acquired.checkpoint.nextOffset;
    nextOffset = fromOffset;
    committedAtMs = acquired.checkpoint.committedAtMs;
    if (acquired.checkpoint.paused) {
      lag = await measureLag(deps, request, 'paused', nextOffset);
      deps.log.info('partition paused by an operator: skipped', { ...key, nextOffset, lag });
      return report({ outcome: 'paused' });
    }
    const run = createPartitionRun(deps, request, key, acquired, counts);
    const stop = await run.drain(fromOffset);
    lease = run.lease();
    nextOffset = run.committedOffset() ?? fromOffset;
    committedAtMs = run.committedAtMs() ?? committedAtMs;
    if (stop.outcome === 'lease-lost') lease = undefined;
    // The consumer instance first: a slow lag lookup must not leave it to expire on the proxy.
    await endReading();
    lag = await measureLag(deps, request, stop.outcome, nextOffset);
    logEnd(deps.log, report(stop), stop);
    return report(stop);
  } catch (error) {
    const appError = toAppError(error, ERROR_CODES.UPSTREAM_NETWORK, 'partition drain failed unexpectedly');
    if (appError.code === ERROR_CODES.LEASE_LOST) lease = undefined;
    const stop: Stop = {
      outcome: appError.code === ERROR_CODES.LEASE_LOST ? 'lease-lost' : 'failed',
      error: appError,
    };
    logEnd(deps.log, report(stop), stop);
    return report(stop);
  } finally {
    // v2 reads through a consumer instance: delete it on every way out, errors and the time budget too.
    await endReading();
    if (acquiring) {
      // Best effort, like any release: otherwise the partition idles until that lease expires.
      await deps.checkpoints
        .releaseOwned(key, owner, { deadlineMs: request.cleanupDeadlineMs })
        .catch(() => false);
    }
    if (lease !== undefined) {
      const held = lease;
      // A failed release only delays the next run until the lease expires: log it, never throw.
      await deps.checkpoints.release(held, { deadlineMs: request.cleanupDeadlineMs }).then(
        (released) => {
          if (!released) deps.log.warn('lease already gone at release', { ...key, owner });
        },
        (error: unknown) =>
          deps.log.warn('lease release failed; it expires on its own', {
            ...key,
            code: isAppError(error) ? error.code : 'unknown',
          }),
      );
    }
  }
};

/** Outcomes after which the log end is worth one request: the partition is ours and may be behind. */
const LAG_OUTCOMES: ReadonlySet<PartitionOutcome> = new Set(['deadline', 'paused', 'stopped']);

/** `PartitionReport.lag`. Never throws: a figure must not fail a run that delivered and committed. */
const measureLag = async (
  deps: PartitionDrainDeps,
  request: PartitionDrainRequest,
  outcome: PartitionOutcome,
  nextOffset: number | undefined,
): Promise<number | undefined> => {
  if (outcome === 'caught-up') return 0;
  if (nextOffset === undefined || !deps.kafka.exactLogBounds || !LAG_OUTCOMES.has(outcome)) return undefined;
  const { topic } = request.drain;
  // Half of what is left of the cleanup window at most: the lease release comes after it.
  const startedAt = deps.now();
  const deadlineMs = startedAt + Math.max(0, (request.cleanupDeadlineMs - startedAt) / 2);
  try {
    const bounds = await deps.kafka.logBounds(topic, request.partition, { deadlineMs });
    return Math.max(0, bounds.end - nextOffset);
  } catch (error) {
    deps.log.warn('partition lag unknown: the log bounds could not be read', {
      drainId: request.drain.id,
      topic,
      partition: request.partition,
      code: isAppError(error) ? error.code : 'unknown',
    });
    return undefined;
  }
};

const logEnd = (log: Log, report: PartitionReport, stop: Stop): void => {
  const attributes = { ...report };
  if (stop.unreadable)
    log.error('partition stopped: the proxy cannot serve the records at its checkpoint', attributes);
  else if (report.outcome === 'stopped')
    log.error('partition stopped at a poison record (no DLQ)', attributes);
  else if (FAILED_OUTCOMES.has(report.outcome)) log.error('partition drain failed', attributes);
  else log.info('partition drained', attributes);
};
