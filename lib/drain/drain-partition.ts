import { AppError, ERROR_CODES, type ErrorCode, isAppError, toAppError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { FetchedRecord, KafkaRest } from '../kafka-rest/types.js';
import { toRecordId } from '../sinks/record-id.js';
import type { DeadLetterQueue, DeliveryOutcome, Sink, SinkRecord } from '../sinks/types.js';
import type {
  CheckpointStore,
  Lease,
  PartitionKey,
  CheckpointError as StoredError,
} from './checkpoint-store.js';
import type { DrainSettings } from './config.js';

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

type CheckpointError = Omit<StoredError, 'atMs'>;

const toLastError = (error: AppError, offset?: number): CheckpointError => ({
  code: error.code,
  message: error.message,
  offset,
});

type Stop = {
  readonly outcome: PartitionOutcome;
  readonly error?: AppError;
  readonly offset?: number;
  /** A `stopped` partition whose next records the proxy cannot serve (rather than a poison record). */
  readonly unreadable?: true;
};

type Fetched = { readonly records: FetchedRecord[] } | { readonly error: AppError };

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

interface PartitionRun {
  drain(startOffset: number | undefined): Promise<Stop>;
  lease(): Lease;
  committedOffset(): number | undefined;
  /** When this run last committed (undefined: it did not). */
  committedAtMs(): number | undefined;
}

const createPartitionRun = (
  deps: PartitionDrainDeps,
  request: PartitionDrainRequest,
  key: PartitionKey,
  acquired: { readonly lease: Lease; readonly checkpoint: { readonly epoch: number } },
  counts: { delivered: number; deadLettered: number; skipped: number },
): PartitionRun => {
  const { drain, sink, deadLetters, deadlineMs, leaseMs } = request;
  const { log, now } = deps;
  let lease = acquired.lease;
  /** The topic's incarnation (`Checkpoint.epoch`), part of every record id. */
  let epoch = acquired.checkpoint.epoch;
  const recordId = (offset: number): string =>
    toRecordId({ namespace: drain.idNamespace, topic: drain.topic, partition: key.partition, epoch, offset });
  let committed: number | undefined;
  let committedAtMs: number | undefined;
  /** A new partition (no checkpoint) whose starting offset is not stored yet. */
  let uncommittedStart = false;
  /** Delivered up to here but not committed yet (only with `commitIntervalMs` > 0). */
  let uncommittedOffset: number | undefined;
  let lastCommitAtMs = now();
  const abort = new AbortController();

  /**
   * Where a checkpoint write must have answered: within the run's cleanup window (the last commit comes
   * after the budget), and within the lease the write itself would give (an answer later than that is of no
   * use). Not within the current lease: a write tried after it expired is still safe (conditional on our
   * version, it fails if another run took over) and renews it if nobody did.
   */
  const storeCall = () => ({ deadlineMs: Math.min(request.cleanupDeadlineMs, now() + leaseMs) });

  const commit = async (
    nextOffset: number,
    extra: { readonly lastError?: CheckpointError; readonly skipped?: number; readonly epoch?: number } = {},
  ): Promise<void> => {
    lease = await deps.checkpoints.commit(
      lease,
      {
        nextOffset,
        ...(extra.lastError === undefined ? {} : { lastError: extra.lastError }),
        ...(extra.skipped === undefined ? {} : { skippedRecords: extra.skipped }),
        ...(extra.epoch === undefined ? {} : { epoch: extra.epoch }),
      },
      storeCall(),
    );
    if (extra.epoch !== undefined) epoch = extra.epoch;
    committed = nextOffset;
    uncommittedStart = false;
    uncommittedOffset = undefined;
    lastCommitAtMs = now();
    committedAtMs = lastCommitAtMs;
  };

  /** Commits what was delivered but not committed yet: every way out of the loop goes through here. */
  const flush = async (): Promise<void> => {
    if (uncommittedOffset !== undefined) await commit(uncommittedOffset);
  };

  // Renewing at half-life keeps the lease ahead of every sink call, whose own deadline is capped at the
  // lease expiry: a holder never delivers past the moment another run could take the partition.
  const ensureLease = async (): Promise<void> => {
    if (lease.expiresAtMs - now() < leaseMs / 2) lease = await deps.checkpoints.renew(lease, storeCall());
  };

  const fetchAt = (offset: number): Promise<Fetched> =>
    deps.kafka
      .fetch(drain.topic, key.partition, offset, {
        maxRecords: drain.batchSize,
        deadlineMs,
        signal: abort.signal,
      })
      .then(
        (records) => ({ records }),
        (error: unknown) => ({
          error: toAppError(error, ERROR_CODES.UPSTREAM_NETWORK, 'fetch from the Kafka REST proxy failed'),
        }),
      );

  /** Where a partition with no checkpoint starts: `latest` needs the log end; `earliest` tries 0 first. */
  const startingOffset = async (): Promise<number> => {
    if (drain.startFrom === 'earliest') {
      // Offset 0 is the log start unless retention moved it: one fetch tells, where probing the bounds
      // would cost a dozen requests. An out-of-range answer lands in `findLogStart`.
      uncommittedStart = true;
      return 0;
    }
    const bounds = await deps.kafka.logBounds(drain.topic, key.partition, { deadlineMs });
    log.info('partition has no checkpoint: starting at the log end', {
      ...key,
      offset: bounds.end,
      ...bounds,
    });
    // Persisted at once: a drain starting at `latest` that found nothing must not start at a later
    // `latest` next time, skipping what arrived in between.
    await commit(bounds.end);
    return bounds.end;
  };

  /** A new partition whose offset 0 is gone: starts at the log start (nothing of ours is skipped). */
  const findLogStart = async (): Promise<number> => {
    const bounds = await deps.kafka.logBounds(drain.topic, key.partition, { deadlineMs, near: 0 });
    log.info('partition has no checkpoint: starting at the log start', {
      ...key,
      offset: bounds.start,
      ...bounds,
    });
    await commit(bounds.start);
    return bounds.start;
  };

  /** Applies the reset policy; returns the new offset, or a stop for `fail`. */
  const reset = async (offset: number, cause: AppError): Promise<number | Stop> => {
    const bounds = await deps.kafka.logBounds(drain.topic, key.partition, { deadlineMs, near: offset });
    if (drain.resetPolicy === 'fail') {
      log.error('checkpoint outside the log and reset policy is fail: partition stops', {
        ...key,
        offset,
        ...bounds,
      });
      await commit(offset, { lastError: toLastError(cause) });
      return { outcome: 'failed', error: cause };
    }
    const target = drain.resetPolicy === 'latest' ? bounds.end : bounds.start;
    // Lost to retention (below the log start) plus what `latest` jumps over; a re-created topic read
    // from its start skips nothing.
    const skipped =
      (offset < bounds.start ? bounds.start - offset : 0) +
      (drain.resetPolicy === 'latest' ? bounds.end - bounds.start : 0);
    const skippedFrom = offset < bounds.start ? offset : bounds.start;
    // Past the log end: the topic was re-created (or lost its tail), so its offsets are being used again
    // by other records. A new epoch, in the same conditional write, keeps their ids from repeating.
    const recreated = offset > bounds.end;
    log.warn('checkpoint outside the log: offset reset', {
      ...key,
      policy: drain.resetPolicy,
      from: offset,
      to: target,
      logStart: bounds.start,
      logEnd: bounds.end,
      skipped,
      skippedRange: skipped > 0 ? [skippedFrom, target] : null,
      epoch: recreated ? epoch + 1 : epoch,
    });
    counts.skipped += skipped;
    await commit(target, { skipped, ...(recreated ? { epoch: epoch + 1 } : {}) });
    return target;
  };

  /**
   * A fetch that failed before the deadline: recorded on the item so `checkpoints list` shows why, the offset kept. One that
   * trying again cannot cure (`retriable: false`: e.g. a v1 proxy whose answers never reach the offset)
   * stops the partition, where the `PartitionsStopped` alarm sees it; a transient one fails the run.
   */
  const stopAtFetch = async (offset: number, error: AppError): Promise<Stop> => {
    // The time budget ran out during the read (the fetch's deadline is the run's): the run ends as at any
    // deadline, behind and saying so, with nothing wrong to record.
    if (error.code === ERROR_CODES.DEADLINE) {
      await flush();
      return { outcome: 'deadline' };
    }
    if (error.retriable) {
      await commit(offset, { lastError: toLastError(error) });
      return { outcome: 'failed', error };
    }
    await commit(offset, { lastError: toLastError(error, offset) });
    return { outcome: 'stopped', error, offset, unreadable: true };
  };

  const drainLoop = async (startOffset: number | undefined): Promise<Stop> => {
    let offset = startOffset ?? (await startingOffset());
    let pending = fetchAt(offset);
    let resets = 0;
    for (;;) {
      if (now() >= deadlineMs) {
        await flush();
        return { outcome: 'deadline' };
      }
      const fetched = await pending;
      if ('error' in fetched) {
        if (fetched.error.code === ERROR_CODES.OFFSET_OUT_OF_RANGE && uncommittedStart) {
          offset = await findLogStart();
          pending = fetchAt(offset);
          continue;
        }
        // At most two resets in a row: a log that keeps moving under us is a failure for a human to look at.
        if (fetched.error.code === ERROR_CODES.OFFSET_OUT_OF_RANGE && resets < 2) {
          resets += 1;
          const next = await reset(offset, fetched.error);
          if (typeof next !== 'number') return next;
          offset = next;
          pending = fetchAt(offset);
          continue;
        }
        return stopAtFetch(offset, fetched.error);
      }
      resets = 0;
      // The client drops records below the requested offset already; kept as our own guard because a
      // duplicate at this point would be forwarded twice.
      const records = fetched.records.filter((record) => record.offset >= offset);
      const last = records.at(-1);
      if (last === undefined && fetched.records.length > 0) {
        // Records, but none at or past the offset: not the log end, so never "caught up" (a partition
        // reported caught up while records past its checkpoint wait is a silent stall).
        return stopAtFetch(
          offset,
          new AppError(
            ERROR_CODES.UPSTREAM_PROTOCOL,
            `fetch ${drain.topic}/${key.partition} from offset ${offset} answered only records below it`,
            { retriable: false },
          ),
        );
      }
      if (last === undefined) {
        // Only an empty answer says the log end was reached.
        if (uncommittedStart) await commit(offset);
        else await flush();
        return { outcome: 'caught-up' };
      }
      pending = fetchAt(last.offset + 1);
      const delivery = await deliverBatch(records, offset);
      const { stop } = delivery;
      if (stop?.error !== undefined && (stop.outcome === 'stopped' || stop.outcome === 'failed')) {
        await commit(delivery.nextOffset, { lastError: toLastError(stop.error, stop.offset) });
      } else if (delivery.nextOffset > offset) {
        const due = stop !== undefined || now() - lastCommitAtMs >= drain.commitIntervalMs;
        if (due) await commit(delivery.nextOffset);
        else uncommittedOffset = delivery.nextOffset;
      } else if (stop !== undefined) {
        await flush();
      }
      offset = delivery.nextOffset;
      if (delivery.stop !== undefined) return delivery.stop;
    }
  };

  /** Delivers `records` in chunks the sink accepts; `nextOffset` is the first record not delivered. */
  const deliverBatch = async (
    records: readonly FetchedRecord[],
    offset: number,
  ): Promise<{ nextOffset: number; stop?: Stop }> => {
    const chunkSize = Math.max(1, sink.maxBatchRecords);
    let nextOffset = offset;
    for (let start = 0; start < records.length; start += chunkSize) {
      const chunk = records.slice(start, start + chunkSize);
      const result = await deliverChunk(chunk);
      nextOffset = result.nextOffset;
      if (result.stop !== undefined) return { nextOffset, stop: result.stop };
    }
    return { nextOffset };
  };

  /**
   * Delivers one chunk, retrying what failed (only that, in offset order) with full-jitter backoff and
   * the sink's `retryAfterMs`, until each record is delivered, dead-lettered, or the partition stops.
   */
  const deliverChunk = async (
    chunk: readonly FetchedRecord[],
  ): Promise<{ nextOffset: number; stop?: Stop }> => {
    const toSink = (record: FetchedRecord): SinkRecord => ({
      id: recordId(record.offset),
      topic: drain.topic,
      partition: key.partition,
      offset: record.offset,
      key: record.key,
      value: record.value,
      ...(record.headers === undefined ? {} : { headers: record.headers }),
    });
    const done = new Array<boolean>(chunk.length).fill(false);
    const attempts = new Array<number>(chunk.length).fill(0);
    let stopAt = chunk.length;
    let stop: Stop | undefined;

    const remaining = (): number[] => {
      const indexes: number[] = [];
      for (let index = 0; index < stopAt; index += 1) if (!done[index]) indexes.push(index);
      return indexes;
    };
    const stopHere = (index: number, next: Stop) => {
      if (index < stopAt) {
        stopAt = index;
        stop = next;
      }
    };

    for (let round = remaining(); round.length > 0; round = remaining()) {
      if (now() >= deadlineMs) {
        stopHere(round[0] ?? 0, { outcome: 'deadline' });
        break;
      }
      await ensureLease();
      const callDeadlineMs = Math.min(deadlineMs, lease.expiresAtMs);
      const outcomes = await deliverSafely(
        sink,
        round.map((index) => toSink(chunk[index] as FetchedRecord)),
        callDeadlineMs,
      );
      let waitMs = 0;
      let backoffAttempt = 0;
      for (const [position, index] of round.entries()) {
        // deliverSafely answers exactly one outcome per record sent.
        const outcome = outcomes[position] as DeliveryOutcome;
        if (outcome.ok) {
          done[index] = true;
          counts.delivered += 1;
          continue;
        }
        if (outcome.attempted !== false) attempts[index] = (attempts[index] ?? 0) + 1;
        const tries = attempts[index] ?? 0;
        const record = chunk[index] as FetchedRecord;
        if ((outcome.permanent && outcome.attempted !== false) || tries >= drain.maxAttempts) {
          if (index >= stopAt) continue;
          const poison = await handlePoison(record, tries, outcome.error);
          if (poison === undefined) done[index] = true;
          else stopHere(index, poison);
          continue;
        }
        backoffAttempt = Math.max(backoffAttempt, tries);
        waitMs = Math.max(waitMs, outcome.retryAfterMs ?? 0);
      }
      if (remaining().length === 0) break;
      const delayMs = Math.max(waitMs, backoffMs(drain, Math.max(1, backoffAttempt), deps.random));
      if (now() + delayMs >= deadlineMs) {
        stopHere(remaining()[0] ?? 0, { outcome: 'deadline' });
        break;
      }
      await deps.sleep(delayMs);
    }

    // The checkpoint moves to the first record not done: everything below it reached the sink (or the DLQ).
    const firstOpen = done.indexOf(false);
    const nextOffset =
      firstOpen === -1 ? (chunk.at(-1)?.offset ?? -1) + 1 : (chunk[firstOpen] as FetchedRecord).offset;
    return stop === undefined ? { nextOffset } : { nextOffset, stop };
  };

  /** Undefined: the record is in the DLQ and the partition moves on; otherwise why it stops. */
  const handlePoison = async (
    record: FetchedRecord,
    attempts: number,
    error: AppError,
  ): Promise<Stop | undefined> => {
    const where = { ...key, offset: record.offset, attempts, code: error.code };
    if (deadLetters === undefined) {
      return { outcome: 'stopped', error, offset: record.offset };
    }
    try {
      await deadLetters.send(
        {
          drainId: drain.id,
          id: recordId(record.offset),
          topic: drain.topic,
          partition: key.partition,
          offset: record.offset,
          key: record.key,
          value: record.value,
          attempts,
          lastError: { code: error.code, message: error.message },
        },
        { deadlineMs },
      );
    } catch (dlqError) {
      const appError = toAppError(dlqError, ERROR_CODES.SINK_FAILED, 'dead-letter queue send failed');
      log.error('dead-letter queue send failed: partition stops at the record', {
        ...where,
        dlqCode: appError.code,
      });
      return { outcome: 'failed', error: appError, offset: record.offset };
    }
    counts.deadLettered += 1;
    log.warn('poison record sent to the dead-letter queue', where);
    return undefined;
  };

  return {
    drain: async (startOffset) => {
      try {
        return await drainLoop(startOffset);
      } catch (error) {
        const appError = toAppError(
          error,
          ERROR_CODES.UPSTREAM_NETWORK,
          'partition drain failed unexpectedly',
        );
        return {
          outcome: appError.code === ERROR_CODES.LEASE_LOST ? 'lease-lost' : 'failed',
          error: appError,
        };
      } finally {
        // A prefetch still in flight is of no use once we stop; cut it rather than leave it running.
        abort.abort();
      }
    },
    lease: () => lease,
    committedOffset: () => committed,
    committedAtMs: () => committedAtMs,
  };
};

/** A sink that throws (it should not) is treated as a retriable failure of every record, not a crash. */
const deliverSafely = async (
  sink: Sink,
  records: readonly SinkRecord[],
  deadlineMs: number,
): Promise<readonly DeliveryOutcome[]> => {
  try {
    const outcomes = await sink.deliver(records, { deadlineMs });
    if (outcomes.length === records.length) return outcomes;
    const error = toAppError(
      undefined,
      ERROR_CODES.SINK_FAILED,
      `sink answered ${outcomes.length} outcomes for ${records.length} records`,
    );
    return records.map(() => ({ ok: false, permanent: false, error }));
  } catch (thrown) {
    const error = toAppError(thrown, ERROR_CODES.SINK_FAILED, 'sink delivery threw');
    return records.map(() => ({ ok: false, permanent: false, error }));
  }
};

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads retries of many runs. */
export const backoffMs = (
  settings: Pick<DrainSettings, 'retryBaseMs' | 'retryMaxMs'>,
  attempt: number,
  random: () => number,
): number => Math.floor(random() * Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempt - 1)));
