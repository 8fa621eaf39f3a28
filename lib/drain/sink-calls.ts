import { ERROR_CODES, toAppError, UpstreamError } from '../core/errors.js';
import { backoffMs } from '../http/retry.js';
import type { FetchedRecord } from '../kafka-rest/types.js';
import type { DeliveryOutcome, SinkRecord } from '../sinks/types.js';
import type { PartitionDrainRequest, PartitionRunContext } from './partition-types.js';

/**
 * What both delivery orders share: the record as the sink gets it, one paced call to the sink, when a
 * failed record is given up on, and how long it waits before its next attempt.
 */

export const toSinkRecord = (run: PartitionRunContext, record: FetchedRecord): SinkRecord => ({
  id: run.recordId(record.offset),
  topic: run.request.drain.topic,
  partition: run.key.partition,
  offset: record.offset,
  key: record.key,
  value: record.value,
  ...(record.headers === undefined ? {} : { headers: record.headers }),
});

/**
 * How many records one sink call may carry: the sink's batch limit, cut to the throttle's bucket, and to
 * one under a rate limit when the sink sends a request per record (each request paced on its own).
 */
export const recordsPerCall = (request: PartitionDrainRequest): number => {
  const bucket = request.throttle?.maxCallRecords ?? Number.POSITIVE_INFINITY;
  if (request.sink.requestPerRecord === true && Number.isFinite(bucket)) return 1;
  return Math.max(1, Math.min(request.sink.maxBatchRecords, bucket));
};

/**
 * One sink call under the drain's throttle; exactly one outcome per record. Undefined when the throttle
 * could not admit the call before `deadlineMs` (nothing was sent). A sink that throws (it should not), or
 * answers the wrong number of outcomes, fails every record retriably rather than crashing the run. A sink
 * that says it is overloaded (`429`, `Retry-After`) pauses the whole drain, not only this partition.
 */
export const callSink = async (
  run: PartitionRunContext,
  records: readonly SinkRecord[],
  deadlineMs: number,
): Promise<readonly DeliveryOutcome[] | undefined> => {
  const { sink, throttle } = run.request;
  const deliver = async (): Promise<readonly DeliveryOutcome[]> => {
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
  if (throttle === undefined) return deliver();
  const called = await throttle.run(records.length, deadlineMs, async () => {
    const outcomes = await deliver();
    // Before the call's slot is freed: the call waiting for it must see the pause.
    const pauseMs = overloadPauseMs(run, outcomes);
    if (pauseMs > 0) throttle.pauseUntil(run.deps.now() + pauseMs);
    return outcomes;
  });
  return called?.value;
};

/** The longest `Retry-After` of a call, or a backoff for a `429` without one; 0 when the sink is not overloaded. */
const overloadPauseMs = (run: PartitionRunContext, outcomes: readonly DeliveryOutcome[]): number => {
  let pauseMs = 0;
  for (const outcome of outcomes) {
    if (outcome.ok) continue;
    if (outcome.retryAfterMs !== undefined) pauseMs = Math.max(pauseMs, outcome.retryAfterMs);
    else if (outcome.error instanceof UpstreamError && outcome.error.status === 429) {
      pauseMs = Math.max(pauseMs, retryDelayMs(run, 1));
    }
  }
  return pauseMs;
};

/** A failed record that no later attempt should get: rejected for good, or out of attempts. */
export const isGivenUp = (
  outcome: Extract<DeliveryOutcome, { ok: false }>,
  tries: number,
  maxAttempts: number,
): boolean => (outcome.permanent && outcome.attempted !== false) || tries >= maxAttempts;

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads retries of many runs. */
export const retryDelayMs = (run: PartitionRunContext, attempt: number, retryAfterMs = 0): number =>
  Math.max(
    retryAfterMs,
    backoffMs(Math.max(1, attempt), {
      backoffBaseMs: run.request.drain.retryBaseMs,
      backoffMaxMs: run.request.drain.retryMaxMs,
      random: run.deps.random,
    }),
  );
