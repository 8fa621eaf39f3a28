import type { FetchedRecord } from '../kafka-rest/types.js';
import type { DeliveryOutcome } from '../sinks/types.js';
import { deliverByKey, type KeyStream } from './key-delivery.js';
import type { Delivered, LeaseHolder, PartitionRunContext, Stop } from './partition-types.js';
import { handlePoison } from './poison-records.js';
import { callSink, isGivenUp, recordsPerCall, retryDelayMs, toSinkRecord } from './sink-calls.js';

/**
 * Delivers one fetched batch in the drain's order: `partition`, in chunks the sink accepts, one call at a
 * time; `key`, in lanes per key ({@link deliverByKey}), running on into the batches `stream` gives.
 * `nextOffset` is the first record not delivered.
 */
export const deliverBatch = async (
  run: PartitionRunContext,
  holder: LeaseHolder,
  records: readonly FetchedRecord[],
  offset: number,
  stream?: KeyStream,
): Promise<Delivered> => {
  if (run.request.drain.ordering === 'key') return deliverByKey(run, holder, records, stream);
  const chunkSize = recordsPerCall(run.request);
  let nextOffset = offset;
  for (let start = 0; start < records.length; start += chunkSize) {
    const chunk = records.slice(start, start + chunkSize);
    const result = await deliverChunk(run, holder, chunk);
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
  run: PartitionRunContext,
  holder: LeaseHolder,
  chunk: readonly FetchedRecord[],
): Promise<Delivered> => {
  const { deps, counts } = run;
  const { drain, deadlineMs } = run.request;
  const { now } = deps;
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
    const lease = await holder.ensureLease();
    const callDeadlineMs = Math.min(deadlineMs, lease.expiresAtMs);
    const outcomes = await callSink(
      run,
      round.map((index) => toSinkRecord(run, chunk[index] as FetchedRecord)),
      callDeadlineMs,
    );
    if (outcomes === undefined) {
      // The drain's throttle could not admit the call before the deadline: nothing was sent.
      stopHere(round[0] ?? 0, { outcome: 'deadline' });
      break;
    }
    let waitMs = 0;
    let backoffAttempt = 0;
    for (const [position, index] of round.entries()) {
      // callSink answers exactly one outcome per record sent.
      const outcome = outcomes[position] as DeliveryOutcome;
      if (outcome.ok) {
        done[index] = true;
        counts.delivered += 1;
        continue;
      }
      if (outcome.attempted !== false) attempts[index] = (attempts[index] ?? 0) + 1;
      const tries = attempts[index] ?? 0;
      const record = chunk[index] as FetchedRecord;
      if (isGivenUp(outcome, tries, drain.maxAttempts)) {
        if (index >= stopAt) continue;
        const poison = await handlePoison(run, record, tries, outcome.error);
        if (poison === undefined) done[index] = true;
        else stopHere(index, poison);
        continue;
      }
      backoffAttempt = Math.max(backoffAttempt, tries);
      waitMs = Math.max(waitMs, outcome.retryAfterMs ?? 0);
    }
    if (remaining().length === 0) break;
    const delayMs = retryDelayMs(run, backoffAttempt, waitMs);
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
