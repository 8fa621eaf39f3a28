import { ERROR_CODES, toAppError } from '../core/errors.js';
import type { FetchedRecord } from '../kafka-rest/types.js';
import type { DeliveryOutcome, Sink, SinkRecord } from '../sinks/types.js';
import type { DrainSettings } from './config.js';
import type { PartitionCommits } from './partition-commits.js';
import type { PartitionRunContext, Stop } from './partition-types.js';
import { handlePoison } from './poison-records.js';

export interface Delivered {
  /** The first record not delivered (nor dead-lettered). */
  readonly nextOffset: number;
  readonly stop?: Stop;
}

type LeaseHolder = Pick<PartitionCommits, 'ensureLease'>;

/** Delivers `records` in chunks the sink accepts; `nextOffset` is the first record not delivered. */
export const deliverBatch = async (
  run: PartitionRunContext,
  holder: LeaseHolder,
  records: readonly FetchedRecord[],
  offset: number,
): Promise<Delivered> => {
  const chunkSize = Math.max(1, run.request.sink.maxBatchRecords);
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
  const { deps, key, counts } = run;
  const { drain, sink, deadlineMs } = run.request;
  const { now } = deps;
  const toSink = (record: FetchedRecord): SinkRecord => ({
    id: run.recordId(record.offset),
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
    const lease = await holder.ensureLease();
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
        const poison = await handlePoison(run, record, tries, outcome.error);
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
const backoffMs = (
  settings: Pick<DrainSettings, 'retryBaseMs' | 'retryMaxMs'>,
  attempt: number,
  random: () => number,
): number => Math.floor(random() * Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempt - 1)));
