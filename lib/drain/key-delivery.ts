import { type AppError, ERROR_CODES, toAppError } from '../core/errors.js';
import type { FetchedRecord } from '../kafka-rest/types.js';
import type { DeliveryOutcome } from '../sinks/types.js';
import type { Delivered, LeaseHolder, PartitionRunContext, Stop } from './partition-types.js';
import { handlePoison } from './poison-records.js';
import { callSink, isGivenUp, recordsPerCall, retryDelayMs, toSinkRecord } from './sink-calls.js';

/**
 * The records after a round's first batch, for lanes to run on into rather than wait for the round's
 * slowest lane (without it a batch costs ⌈batchSize / maxInFlight⌉ round trips and the next one waits).
 */
export interface KeyStream {
  /** The next fetched batch, in offset order after the last one; undefined: none now, or the round is full. */
  next(): Promise<readonly FetchedRecord[] | undefined>;
  /** Every record below `nextOffset` of the round was delivered (or dead-lettered): it may be committed. */
  progressed(nextOffset: number): Promise<void>;
}

/**
 * `ordering: "key"`: records in lanes, one lane per key, up to `maxInFlight` sink calls at once. A lane has
 * at most one call in flight, and its records go in offset order, each only once the one before it was
 * delivered (or dead-lettered): per-key order at the sink. Records without a key have no order to keep
 * (Kafka's own partitioner scatters them), so each is a lane of its own. With a `stream`, batches fetched
 * meanwhile join the lanes whenever slots would otherwise be idle, and each batch boundary the delivered
 * records pass is reported, so commits keep their pace.
 *
 * The answer's `nextOffset` is the first record not delivered, whatever was delivered above it: the
 * checkpoint never passes an undelivered record, and a crash redelivers, never skips.
 */
export const deliverByKey = async (
  run: PartitionRunContext,
  holder: LeaseHolder,
  records: readonly FetchedRecord[],
  stream?: KeyStream,
): Promise<Delivered> => {
  const state = new KeyDelivery(run, records);
  return state.deliverAll(holder, stream);
};

interface Lane {
  /** Indexes into the batch, in offset order. */
  readonly indexes: number[];
  /** Position in `indexes` of the lane's first record not done. */
  next: number;
  /** Epoch ms before which the lane's next attempt waits (its backoff). */
  notBeforeMs: number;
}

interface Entry {
  readonly lane: Lane;
  readonly index: number;
}

class KeyDelivery {
  private readonly records: FetchedRecord[] = [];
  private readonly done: number[] = [];
  private readonly attempts: number[] = [];
  private readonly lanes = new Map<string | number, Lane>();
  /** Where each batch after the first begins (indexes), until the delivered records pass it. */
  private readonly boundaries: number[] = [];
  /** Lanes with a record to send and nothing in flight, oldest first. */
  private ready: Lane[] = [];
  private readyHead = 0;
  /** Lanes backing off after a failure. */
  private waiting: Lane[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Lowest index not done. */
  private low = 0;
  private stop: Stop | undefined;
  private stopIndex = Number.POSITIVE_INFINITY;
  /** Calls in a row in which nothing was delivered: the sink itself is failing, so the partition backs off. */
  private failedCallsInARow = 0;
  private pausedUntilMs = 0;
  private readonly perCall: number;
  private readonly ordered: boolean;

  constructor(
    private readonly run: PartitionRunContext,
    records: readonly FetchedRecord[],
  ) {
    this.perCall = recordsPerCall(run.request);
    // An ordered sink stops at a call's first failure, so a call may carry several records of one lane;
    // any other sink must not, since it would resend a failed record after the next one of its key.
    this.ordered = run.request.sink.ordered === true;
    this.append(records);
  }

  /** Records after those already held, into their lanes; a lane that had run dry is ready again. */
  private append(records: readonly FetchedRecord[]): void {
    for (const record of records) {
      const index = this.records.length;
      this.records.push(record);
      this.done.push(0);
      this.attempts.push(0);
      // Bytes as latin1 text is lossless; a key-less record is keyed by its offset, a number, so it never
      // meets a real key.
      const key = record.key === null ? record.offset : record.key.toString('latin1');
      let lane = this.lanes.get(key);
      if (lane === undefined) {
        lane = { indexes: [], next: 0, notBeforeMs: 0 };
        this.lanes.set(key, lane);
      }
      // A lane with nothing left is in no queue and has no call in flight: it needs queueing again. One
      // with records left is queued, waiting, or in flight, and takes the new one in its turn.
      if (lane.next === lane.indexes.length) this.ready.push(lane);
      lane.indexes.push(index);
    }
  }

  async deliverAll(holder: LeaseHolder, stream?: KeyStream): Promise<Delivered> {
    const { deps, request } = this.run;
    const { deadlineMs } = request;
    const maxInFlight = request.drain.maxInFlight;
    let leaseError: unknown;
    /** The stream's next batch while it is being read; `streamEnded` once it gave none. */
    let reading: Promise<void> | undefined;
    let streamEnded = stream === undefined;
    const readMore = (): void => {
      if (reading !== undefined || streamEnded || stream === undefined) return;
      reading = stream.next().then(
        (records) => {
          reading = undefined;
          if (records === undefined || records.length === 0) streamEnded = true;
          else {
            this.boundaries.push(this.records.length);
            this.append(records);
          }
        },
        () => {
          // The stream leaves its failures for the partition's loop to read and report.
          reading = undefined;
          streamEnded = true;
        },
      );
    };
    for (;;) {
      await this.reportProgress(stream);
      const nowMs = deps.now();
      if (nowMs >= deadlineMs) this.stopHere(this.low, { outcome: 'deadline' });
      if (leaseError === undefined) {
        this.wakeDueLanes(nowMs);
        if (this.inFlight.size < maxInFlight && this.readyCount() > 0 && nowMs >= this.pausedUntilMs) {
          try {
            // One renewal at a time, from this loop only: two concurrent conditional writes on one version
            // would fail one of them as a lost lease.
            const lease = await holder.ensureLease();
            const callDeadlineMs = Math.min(deadlineMs, lease.expiresAtMs);
            while (this.inFlight.size < maxInFlight && this.readyCount() > 0) {
              // A call takes its share of the ready lanes over all the slots, rounded up (a remainder left
              // for a later wave would cost a round trip): over the free slots only, one slot freed beside
              // a new batch would take all of it, one record after another.
              const lanes = Math.ceil(this.readyCount() / maxInFlight);
              this.startCall(lanes, callDeadlineMs);
            }
          } catch (error) {
            // Nothing more goes to the sink; what is in flight is let finish, then the loss is reported.
            leaseError = error;
          }
        }
      }
      const stopping = leaseError !== undefined || this.stop !== undefined;
      if (stopping) streamEnded = true;
      // More records once the lanes at hand could not fill every slot.
      else if (this.readyCount() + this.inFlight.size < maxInFlight) readMore();
      if (this.inFlight.size === 0) {
        if (reading !== undefined && this.readyCount() === 0) {
          await reading;
          continue;
        }
        if (leaseError !== undefined || (this.readyCount() === 0 && this.waiting.length === 0)) break;
        const wakeMs = this.nextWakeMs();
        if (wakeMs >= deadlineMs) {
          this.stopHere(this.low, { outcome: 'deadline' });
          break;
        }
        await deps.sleep(Math.max(0, wakeMs - deps.now()));
        continue;
      }
      const canStartMore = leaseError === undefined && this.inFlight.size < maxInFlight;
      const wakeMs = canStartMore ? this.nextWakeMs() : Number.POSITIVE_INFINITY;
      const wakers: Promise<unknown>[] = [...this.inFlight];
      if (canStartMore && reading !== undefined) wakers.push(reading);
      if (wakeMs !== Number.POSITIVE_INFINITY) wakers.push(deps.sleep(Math.max(0, wakeMs - deps.now())));
      await Promise.race(wakers);
    }
    if (leaseError !== undefined) throw leaseError;
    const nextOffset = this.firstUndelivered();
    return this.stop === undefined ? { nextOffset } : { nextOffset, stop: this.stop };
  }

  private firstUndelivered(): number {
    const first = this.records[this.low];
    return first === undefined ? (this.records.at(-1)?.offset ?? -1) + 1 : first.offset;
  }

  /** Tells the stream each batch boundary the delivered records passed (the first record not delivered). */
  private async reportProgress(stream: KeyStream | undefined): Promise<void> {
    if (stream === undefined || this.boundaries.length === 0 || (this.boundaries[0] as number) > this.low)
      return;
    while (this.boundaries.length > 0 && (this.boundaries[0] as number) <= this.low) this.boundaries.shift();
    await stream.progressed(this.firstUndelivered());
  }

  /** Ready lanes, once those at or past a stop are dropped: below a stop, records still go out. */
  private readyCount(): number {
    while (this.readyHead < this.ready.length && !this.open(this.ready[this.readyHead] as Lane)) {
      this.readyHead += 1;
    }
    return this.ready.length - this.readyHead;
  }

  /** A lane with a record to send below the stop (if any). */
  private open(lane: Lane): boolean {
    return lane.next < lane.indexes.length && (lane.indexes[lane.next] as number) < this.stopIndex;
  }

  /** When a lane's backoff or the partition's pause ends, whichever comes first and matters. */
  private nextWakeMs(): number {
    let wakeMs = this.readyCount() > 0 ? this.pausedUntilMs : Number.POSITIVE_INFINITY;
    for (const lane of this.waiting)
      wakeMs = Math.min(wakeMs, Math.max(lane.notBeforeMs, this.pausedUntilMs));
    return wakeMs;
  }

  private wakeDueLanes(nowMs: number): void {
    if (this.waiting.length === 0) return;
    const stillWaiting: Lane[] = [];
    for (const lane of this.waiting) {
      if (!this.open(lane)) continue;
      if (lane.notBeforeMs <= nowMs) this.ready.push(lane);
      else stillWaiting.push(lane);
    }
    this.waiting = stillWaiting;
  }

  /** A call of up to `lanes` ready lanes' next records (the sink's batch limit holds). */
  private startCall(lanes: number, callDeadlineMs: number): void {
    const entries: Entry[] = [];
    for (let taken = 0; taken < lanes && entries.length < this.perCall && this.readyCount() > 0; taken += 1) {
      const lane = this.ready[this.readyHead++] as Lane;
      let position = lane.next;
      do {
        entries.push({ lane, index: lane.indexes[position] as number });
        position += 1;
      } while (
        this.ordered &&
        entries.length < this.perCall &&
        position < lane.indexes.length &&
        (lane.indexes[position] as number) < this.stopIndex
      );
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    const call = this.deliver(entries, callDeadlineMs)
      .catch((error: unknown) => {
        // Never expected (every part answers outcomes); kept so one bug cannot leave a lane in flight forever.
        const appError = toAppError(error, ERROR_CODES.SINK_FAILED, 'key-ordered delivery failed');
        this.stopHere(entries[0]?.index ?? this.low, { outcome: 'failed', error: appError });
      })
      .finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
  }

  private async deliver(entries: readonly Entry[], callDeadlineMs: number): Promise<void> {
    const sent = entries.map((entry) => toSinkRecord(this.run, this.records[entry.index] as FetchedRecord));
    const outcomes = await callSink(this.run, sent, callDeadlineMs);
    if (outcomes === undefined) {
      // The throttle could not admit the call before the deadline: nothing was sent.
      this.stopHere(this.low, { outcome: 'deadline' });
      return;
    }
    const { counts, deps } = this.run;
    /** Each lane of the call that failed, with how long its next attempt waits. */
    const failed = new Map<Lane, number>();
    let delivered = false;
    let attemptedFailures = 0;
    for (const [position, entry] of entries.entries()) {
      const outcome = outcomes[position] as DeliveryOutcome;
      const { lane, index } = entry;
      if (failed.has(lane)) continue;
      if (outcome.ok) {
        delivered = true;
        this.markDone(lane, index);
        counts.delivered += 1;
        continue;
      }
      if (outcome.attempted !== false) {
        this.attempts[index] = (this.attempts[index] ?? 0) + 1;
        attemptedFailures += 1;
      }
      const tries = this.attempts[index] ?? 0;
      if (isGivenUp(outcome, tries, this.run.request.drain.maxAttempts)) {
        const poison = index < this.stopIndex ? await this.poison(index, tries, outcome.error) : undefined;
        if (index < this.stopIndex && poison === undefined) this.markDone(lane, index);
        else {
          if (poison !== undefined) this.stopHere(index, poison);
          failed.set(lane, 0);
        }
        continue;
      }
      // A record the sink never tried (an earlier one of the call failed) waits for nothing.
      failed.set(lane, outcome.attempted === false ? 0 : retryDelayMs(this.run, tries, outcome.retryAfterMs));
    }
    if (delivered) this.failedCallsInARow = 0;
    else if (attemptedFailures > 0) {
      this.failedCallsInARow += 1;
      this.pausedUntilMs = deps.now() + retryDelayMs(this.run, this.failedCallsInARow);
    }
    const nowMs = deps.now();
    const lanes = new Set(entries.map((entry) => entry.lane));
    for (const lane of lanes) {
      if (!this.open(lane)) continue;
      const waitMs = failed.get(lane) ?? 0;
      if (waitMs > 0) {
        lane.notBeforeMs = nowMs + waitMs;
        this.waiting.push(lane);
      } else this.ready.push(lane);
    }
  }

  private poison(index: number, tries: number, error: AppError): Promise<Stop | undefined> {
    return handlePoison(this.run, this.records[index] as FetchedRecord, tries, error);
  }

  private markDone(lane: Lane, index: number): void {
    this.done[index] = 1;
    while (lane.next < lane.indexes.length && this.done[lane.indexes[lane.next] as number] === 1)
      lane.next += 1;
    while (this.low < this.records.length && this.done[this.low] === 1) this.low += 1;
  }

  /** Nothing at or past `index` goes to the sink any more; what is below it still does. */
  private stopHere(index: number, next: Stop): void {
    if (index >= this.stopIndex) return;
    this.stopIndex = index;
    // A poison record found further on keeps its report when the deadline comes: the error is recorded
    // now, and the partition stops there again next time.
    if (this.stop === undefined || next.outcome !== 'deadline') this.stop = next;
  }
}
