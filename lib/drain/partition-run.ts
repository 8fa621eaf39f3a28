import { AppError, ERROR_CODES, toAppError } from '../core/errors.js';
import type { FetchedRecord } from '../kafka-rest/types.js';
import { toRecordId } from '../sinks/record-id.js';
import type { Lease, PartitionKey } from './checkpoint.js';
import type { KeyStream } from './key-delivery.js';
import { createPartitionCommits, toLastError } from './partition-commits.js';
import { deliverBatch } from './partition-delivery.js';
import type {
  PartitionDrainDeps,
  PartitionDrainRequest,
  PartitionRunContext,
  RunCounts,
  Stop,
} from './partition-types.js';

export interface PartitionRun {
  drain(startOffset: number | undefined): Promise<Stop>;
  lease(): Lease;
  committedOffset(): number | undefined;
  /** When this run last committed (undefined: it did not). */
  committedAtMs(): number | undefined;
}

type Fetched = { readonly records: FetchedRecord[] } | { readonly error: AppError };

/** A key-ordered round runs on into at most this many fetched batches, or this many bytes of values. */
const ROUND_MAX_BATCHES = 32;
const ROUND_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The loop of one leased partition: fetch (the next batch prefetched while the current one is delivered),
 * deliver, commit, until caught up or the deadline; with the starting offset of a new partition and the
 * reset policy for a checkpoint outside the log.
 */
export const createPartitionRun = (
  deps: PartitionDrainDeps,
  request: PartitionDrainRequest,
  key: PartitionKey,
  acquired: { readonly lease: Lease; readonly checkpoint: { readonly epoch: number } },
  counts: RunCounts,
): PartitionRun => {
  const { drain, deadlineMs } = request;
  const { log, now } = deps;
  const commits = createPartitionCommits(deps, request, acquired);
  const { commit, flush } = commits;
  const run: PartitionRunContext = {
    deps,
    request,
    key,
    counts,
    recordId: (offset) =>
      toRecordId({
        namespace: drain.idNamespace,
        topic: drain.topic,
        partition: key.partition,
        epoch: commits.epoch(),
        offset,
      }),
  };
  const abort = new AbortController();

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

  /** A new partition starting at one end of the log: stored at once, so the next run starts there too. */
  const startAtLogBound = async (bound: 'start' | 'end', near?: number): Promise<number> => {
    const bounds = await deps.kafka.logBounds(drain.topic, key.partition, {
      deadlineMs,
      ...(near === undefined ? {} : { near }),
    });
    const offset = bounds[bound];
    log.info(`partition has no checkpoint: starting at the log ${bound}`, { ...key, offset, ...bounds });
    await commit(offset);
    return offset;
  };

  /** Where a partition with no checkpoint starts: `latest` needs the log end; `earliest` tries 0 first. */
  const startingOffset = async (): Promise<number> => {
    if (drain.startFrom === 'earliest') {
      // Offset 0 is the log start unless retention moved it: one fetch tells, where probing the bounds
      // would cost a dozen requests. An out-of-range answer lands in `startAtLogBound('start', 0)`.
      commits.startUnstored();
      return 0;
    }
    // Persisted at once: a drain starting at `latest` that found nothing must not start at a later
    // `latest` next time, skipping what arrived in between.
    return startAtLogBound('end');
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
    const epoch = commits.epoch();
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

  /** Where `pending` reads from. */
  let pendingOffset = 0;
  let pending: Promise<Fetched> = Promise.resolve({ records: [] });
  const fetchNext = (offset: number): void => {
    pendingOffset = offset;
    pending = fetchAt(offset);
  };

  /**
   * Key order: the batches prefetched while a round's lanes run, up to a round's worth, each taken only
   * when it holds records at the offset it was read from; anything else (a failure, the log end, records
   * only below) stays in `pending` for the loop to read and report. The round's commits follow its
   * progress, as they follow batches in partition order.
   */
  const keyStream = (from: number): KeyStream & { progressedTo(): number } => {
    let batches = 1;
    let bytes = 0;
    let progressedTo = from;
    return {
      next: async () => {
        if (batches >= ROUND_MAX_BATCHES || bytes >= ROUND_MAX_BYTES) return undefined;
        const expected = pendingOffset;
        const fetched = await pending;
        if ('error' in fetched || pendingOffset !== expected) return undefined;
        const records = fetched.records.filter((record) => record.offset >= expected);
        const last = records.at(-1);
        if (last === undefined) return undefined;
        batches += 1;
        for (const record of records) bytes += record.value?.length ?? 0;
        fetchNext(last.offset + 1);
        return records;
      },
      progressed: async (nextOffset) => {
        await commits.afterDelivery(progressedTo, nextOffset, undefined);
        progressedTo = nextOffset;
      },
      progressedTo: () => progressedTo,
    };
  };

  const drainLoop = async (startOffset: number | undefined): Promise<Stop> => {
    let offset = startOffset ?? (await startingOffset());
    fetchNext(offset);
    let resets = 0;
    for (;;) {
      if (now() >= deadlineMs || request.stop?.aborted === true) {
        await flush();
        return { outcome: 'deadline' };
      }
      const fetched = await pending;
      if ('error' in fetched) {
        if (fetched.error.code === ERROR_CODES.OFFSET_OUT_OF_RANGE && commits.startIsUnstored()) {
          // A new partition whose offset 0 is gone: starts at the log start (nothing of ours is skipped).
          offset = await startAtLogBound('start', 0);
          fetchNext(offset);
          continue;
        }
        // At most two resets in a row: a log that keeps moving under us is a failure for a human to look at.
        if (fetched.error.code === ERROR_CODES.OFFSET_OUT_OF_RANGE && resets < 2) {
          resets += 1;
          const next = await reset(offset, fetched.error);
          if (typeof next !== 'number') return next;
          offset = next;
          fetchNext(offset);
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
        // Only an empty answer says the log end was reached. A pipelined commit still in flight may be the
        // one that stores the start: waited for first, so the start is not written a second time.
        await commits.settle();
        if (commits.startIsUnstored()) await commit(offset);
        else await flush();
        return { outcome: 'caught-up' };
      }
      fetchNext(last.offset + 1);
      const stream = drain.ordering === 'key' ? keyStream(offset) : undefined;
      const delivery = await deliverBatch(run, commits, records, offset, stream);
      await commits.afterDelivery(stream?.progressedTo() ?? offset, delivery.nextOffset, delivery.stop);
      offset = delivery.nextOffset;
      if (delivery.stop !== undefined) return delivery.stop;
    }
  };

  return {
    drain: async (startOffset) => {
      try {
        return await drainLoop(startOffset);
      } catch (error) {
        // A commit still in flight decides which lease is ours to release; the first error is the one told.
        await commits.settle().catch(() => undefined);
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
    lease: commits.lease,
    committedOffset: commits.committedOffset,
    committedAtMs: commits.committedAtMs,
  };
};
