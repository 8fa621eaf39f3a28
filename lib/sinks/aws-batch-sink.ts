import { AppError, ERROR_CODES, UpstreamError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import {
  deadlineReached,
  notAttemptedAfterFailure,
  toFailedOutcome,
  toNotAttemptedOutcome,
} from './outcomes.js';
import type { DeliveryOutcome, Sink, SinkDeps, SinkRecord } from './types.js';

/** A record as one entry of a batch call, with the bytes it counts against the call's limit. */
export type Encoded<E> =
  | { readonly entry: E; readonly bytes: number }
  | { readonly rejected: DeliveryOutcome };

export interface BatchDelivery<E> {
  readonly service: string;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Ordered: stop at the first failure (FIFO); unordered: every entry stands alone. */
  readonly ordered: boolean;
  /**
   * The ordered group of a record (an SQS FIFO `MessageGroupId`). A call carries at most one record of a
   * group: the service judges each entry of a call on its own, so with two of one group it can refuse the
   * first and keep the second, and the resent first would then land after it.
   */
  readonly groupOf?: (record: SinkRecord) => string;
  readonly deadlineMs: number;
  readonly now: () => number;
  readonly log: Log;
  encode(record: SinkRecord): Encoded<E>;
  /** One call; answers one outcome per entry, same order. Throws when the call as a whole failed. */
  send(entries: E[], signal: AbortSignal): Promise<DeliveryOutcome[]>;
}

/** An AWS sink of batch calls (SQS SendMessageBatch, EventBridge PutEvents): its limits, its encoding, its call. */
export type BatchSinkSpec<E> = Omit<BatchDelivery<E>, 'deadlineMs' | 'now' | 'log'> & {
  /** The most records the drain should hand to one `deliver` call. */
  readonly maxBatchRecords: number;
};

export const createBatchSink = <E>(spec: BatchSinkSpec<E>, deps: SinkDeps): Sink => ({
  maxBatchRecords: spec.maxBatchRecords,
  ordered: spec.ordered,
  deliver: (records, { deadlineMs }) =>
    deliverInBatches({ ...spec, deadlineMs, now: deps.now, log: deps.log }, records),
});

/** A record too large for the service even alone: rejected for good, without a call. */
export const rejectTooLarge = (message: string): Encoded<never> => ({
  rejected: toFailedOutcome(new AppError(ERROR_CODES.PAYLOAD_TOO_LARGE, message), true),
});

/** An entry the call's answer says nothing about: retriable. */
const noEntryResult = (service: string): DeliveryOutcome =>
  toFailedOutcome(
    new UpstreamError(ERROR_CODES.UPSTREAM_PROTOCOL, `${service} returned no result for an entry`),
    false,
  );

/** How an entry was refused: the service's error code, its message, and whether the entry itself is wrong. */
export interface EntryRefusal {
  readonly code: string;
  readonly message: string | undefined;
  readonly permanent: boolean;
}

/**
 * An entry the call's answer does not report done: without a result at all (retriable), or refused
 * (`names.refusal`: e.g. "SQS refused the message"), permanent (`ERR_SINK_REJECTED`) when the service
 * says the entry itself is wrong, with the start of its message.
 */
export const toEntryFailure = (
  names: { readonly service: string; readonly refusal: string },
  refusal: EntryRefusal | undefined,
): DeliveryOutcome => {
  if (refusal === undefined) return noEntryResult(names.service);
  const { code, permanent } = refusal;
  const detail = (refusal.message ?? '').slice(0, 200);
  return toFailedOutcome(
    new UpstreamError(
      permanent ? ERROR_CODES.SINK_REJECTED : ERROR_CODES.SINK_FAILED,
      `${names.refusal}: ${code}${detail === '' ? '' : ` (${detail})`}`,
      { retriable: !permanent },
    ),
    permanent,
  );
};

/**
 * Packs records into as few calls as the limits allow (count, bytes and one record per ordered group, in
 * input order), sends them one call after another and maps the per-entry results back to the input
 * positions.
 *
 * After a failed call nothing more is sent: the next call would most likely fail the same way, and the
 * time is better left to the drain's backoff. Ordered delivery also stops at the first failed entry; an
 * entry of another group after it in the same call that the service accepted anyway is reported as not
 * delivered, so the outcomes stay a delivered prefix; its resend is dropped by SQS FIFO's deduplication
 * within 5 minutes (a duplicate after that, never a reordering: it is the only one of its group).
 */
export const deliverInBatches = async <E>(
  delivery: BatchDelivery<E>,
  records: readonly SinkRecord[],
): Promise<DeliveryOutcome[]> => {
  const { maxEntries, maxBytes, ordered, deadlineMs, now } = delivery;
  const outcomes: DeliveryOutcome[] = new Array(records.length);
  let stop: AppError | undefined;
  let batch: { index: number; entry: E }[] = [];
  let batchBytes = 0;
  const batchGroups = new Set<string>();

  const flush = async (): Promise<void> => {
    const current = batch;
    batch = [];
    batchBytes = 0;
    batchGroups.clear();
    if (current.length === 0) return;
    const remainingMs = deadlineMs - now();
    if (stop === undefined && remainingMs <= 0) stop = deadlineReached();
    if (stop !== undefined) {
      const skipped = toNotAttemptedOutcome(stop);
      for (const { index } of current) outcomes[index] = skipped;
      return;
    }
    const signal = AbortSignal.timeout(remainingMs);
    let results: DeliveryOutcome[];
    try {
      results = await delivery.send(
        current.map(({ entry }) => entry),
        signal,
      );
    } catch (error) {
      const failure = toAwsCallFailure(delivery.service, error, signal.aborted);
      delivery.log.warn(`${delivery.service} call failed`, {
        code: failure.code,
        status: failure.status,
        entries: current.length,
      });
      const failed = toFailedOutcome(failure, false);
      for (const { index } of current) outcomes[index] = failed;
      stop = notAttemptedAfterCallFailure(delivery.service);
      return;
    }
    let failedBefore = false;
    current.forEach(({ index }, position) => {
      const result = results[position] ?? noEntryResult(delivery.service);
      outcomes[index] = failedBefore ? toNotAttemptedOutcome(acceptedOutOfOrder()) : result;
      if (ordered && !result.ok) failedBefore = true;
    });
    if (failedBefore) stop = notAttemptedAfterFailure();
  };

  for (const [index, record] of records.entries()) {
    const encoded = delivery.encode(record);
    if ('rejected' in encoded) {
      if (ordered) {
        // Everything before the rejected record goes first; nothing after it goes at all.
        await flush();
        outcomes[index] = stop === undefined ? encoded.rejected : toNotAttemptedOutcome(stop);
        stop ??= notAttemptedAfterFailure();
      } else {
        outcomes[index] = encoded.rejected;
      }
      continue;
    }
    const group = delivery.groupOf?.(record);
    if (
      batch.length === maxEntries ||
      batchBytes + encoded.bytes > maxBytes ||
      (group !== undefined && batchGroups.has(group))
    ) {
      await flush();
    }
    batch.push({ index, entry: encoded.entry });
    batchBytes += encoded.bytes;
    if (group !== undefined) batchGroups.add(group);
  }
  await flush();
  return outcomes;
};

/**
 * A failed SDK call as our error: `ERR_UPSTREAM_TIMEOUT` when our deadline aborted it, `ERR_SINK_FAILED`
 * (with the status) when the service answered with an error, `ERR_UPSTREAM_NETWORK` when no answer came.
 * Only names and codes are kept in the message; the SDK error stays as `cause`.
 */
export const toAwsCallFailure = (service: string, error: unknown, timedOut: boolean): UpstreamError => {
  const { name, code, $metadata } = error as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (timedOut || name === 'AbortError') {
    return new UpstreamError(ERROR_CODES.UPSTREAM_TIMEOUT, `${service} did not answer before the deadline`, {
      cause: error,
    });
  }
  const status = $metadata?.httpStatusCode;
  // The SDK names a reset connection `TimeoutError` too, so only a status proves the service answered.
  if (typeof status === 'number') {
    return new UpstreamError(ERROR_CODES.SINK_FAILED, `${service} failed with ${status} (${String(name)})`, {
      cause: error,
      retriable: true,
      status,
    });
  }
  const reason = typeof code === 'string' ? code : typeof name === 'string' ? name : 'unknown error';
  return new UpstreamError(ERROR_CODES.UPSTREAM_NETWORK, `${service} request failed (${reason})`, {
    cause: error,
  });
};

const notAttemptedAfterCallFailure = (service: string): AppError =>
  new UpstreamError(
    ERROR_CODES.SINK_FAILED,
    `not attempted: an earlier ${service} call of this delivery failed`,
    {
      retriable: true,
    },
  );

const acceptedOutOfOrder = (): AppError =>
  new UpstreamError(
    ERROR_CODES.SINK_FAILED,
    'not counted: accepted after an earlier entry failed, so it is sent again after that one',
    { retriable: true },
  );
