import type { PartitionKey } from '../lib/drain/checkpoint.js';
import type { CheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { DrainConfig } from '../lib/drain/config.js';
import { type Sink, type SinkRecord, toSqsDeduplicationId } from '../lib/sinks/index.js';
import { byCoordinates, type HeldLetter, partitionOf } from './dlq-letters.js';
import type { DlqQueues } from './dlq-queue.js';
import { toAuditState } from './operator.js';

/**
 * A drain DLQ's redrive: each dead letter delivered to its drain's sink with its original coordinates and
 * record id, in offset order per partition. A message is deleted only once its record is delivered; a
 * record that fails again is sent back to the queue with its attempts raised and its new error, and only
 * then is the old message deleted (a lost answer leaves a duplicate letter, never none). Whatever was not
 * tried (stopped, or behind a failure on an ordered sink) is released as it was.
 */

export interface RedriveDeps {
  readonly queues: DlqQueues;
  readonly drains: readonly Pick<DrainConfig, 'id' | 'topic' | 'sink' | 'dlq'>[];
  /** The sink the drain itself builds from its settings. */
  readonly sinkFor: (drain: Pick<DrainConfig, 'id' | 'sink'>) => Sink;
  readonly store: Pick<CheckpointStore, 'audit' | 'get'>;
  readonly now: () => number;
  readonly operator: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** True once the operator asked to stop (Ctrl-C): the record in hand is finished, nothing else tried. */
  readonly stopRequested: () => boolean;
}

export interface RedriveTotals {
  delivered: number;
  failedAgain: number;
  /** Released untouched: not tried, or not redeliverable from the letter (payload left out). */
  kept: number;
}

/** How long one sink call may take. */
const DELIVER_MS = 30_000;
/** The longest a redrive goes without printing its progress. */
const PROGRESS_EVERY_MS = 1_000;
const MAX_ERROR_MESSAGE_CHARS = 1_000;

const toRecord = ({ letter }: HeldLetter): SinkRecord => ({
  id: letter.id,
  topic: letter.topic,
  partition: letter.partition,
  offset: letter.offset,
  key: letter.key === null ? null : Buffer.from(letter.key, 'base64'),
  value: letter.value === null ? null : Buffer.from(letter.value, 'base64'),
});

/** Redrives `letters` (already held and filtered); releases what it does not delete. */
export const redriveLetters = async (
  deps: RedriveDeps,
  letters: readonly HeldLetter[],
): Promise<RedriveTotals> => {
  const totals: RedriveTotals = { delivered: 0, failedAgain: 0, kept: 0 };
  const startedMs = deps.now();
  let printedMs = startedMs;
  const progress = (force: boolean) => {
    const nowMs = deps.now();
    if (!force && nowMs - printedMs < PROGRESS_EVERY_MS) return;
    printedMs = nowMs;
    const done = totals.delivered + totals.failedAgain + totals.kept;
    const rate = done / Math.max(0.001, (nowMs - startedMs) / 1000);
    deps.out(
      `redrive: ${done} of ${letters.length} records (${totals.delivered} delivered, ${totals.failedAgain} failed again, ${totals.kept} kept), ${rate.toFixed(1)}/s, ${letters.length - done} remaining`,
    );
  };

  const groups = new Map<string, HeldLetter[]>();
  for (const held of [...letters].sort(byCoordinates)) {
    const name = partitionOf(held.letter);
    groups.set(name, [...(groups.get(name) ?? []), held]);
  }
  const sinks = new Map<string, Sink>();
  for (const [name, group] of groups) {
    const first = group[0] as HeldLetter;
    const drain = deps.drains.find((candidate) => candidate.id === first.letter.drainId);
    const counts: RedriveTotals = { delivered: 0, failedAgain: 0, kept: 0 };
    const count = (kind: keyof RedriveTotals, n = 1) => {
      counts[kind] += n;
      totals[kind] += n;
    };
    let rest: HeldLetter[] = [];
    if (drain === undefined) {
      deps.err(`${name}: drain ${first.letter.drainId} is not in DRAINS: its ${group.length} letter(s) stay`);
      rest = group;
    } else {
      let sink = sinks.get(drain.id);
      if (sink === undefined) {
        sink = deps.sinkFor(drain);
        sinks.set(drain.id, sink);
      }
      for (const [index, held] of group.entries()) {
        if (deps.stopRequested()) {
          rest = group.slice(index);
          break;
        }
        if (held.letter.valueOmitted === true || held.letter.keyOmitted === true) {
          deps.err(
            `${name}@${held.letter.offset}: the letter holds no payload (too large for the queue): replay it from Kafka; it stays`,
          );
          await deps.queues.release([held.message]);
          count('kept');
          continue;
        }
        const [outcome] = await sink.deliver([toRecord(held)], { deadlineMs: deps.now() + DELIVER_MS });
        if (outcome?.ok === true) {
          await deps.queues.remove(held.message);
          count('delivered');
        } else if (outcome?.attempted === false) {
          rest = group.slice(index);
          break;
        } else {
          await keepWithAttempt(
            deps,
            held,
            outcome?.error ?? { code: 'ERR_SINK_FAILED', message: 'no outcome' },
          );
          count('failedAgain');
          // An ordered sink must not get a later record of the partition before this one.
          if (sink.ordered === true) {
            rest = group.slice(index + 1);
            break;
          }
        }
        progress(false);
      }
    }
    if (rest.length > 0) await deps.queues.release(rest.map((held) => held.message));
    count('kept', rest.length);
    const last = group[group.length - 1] as HeldLetter;
    await auditPartition(
      deps,
      { drainId: first.letter.drainId, topic: first.letter.topic, partition: first.letter.partition },
      `dlq redrive offsets ${first.letter.offset}-${last.letter.offset}: ${counts.delivered} delivered, ${counts.failedAgain} failed again, ${counts.kept} kept`,
    );
  }
  progress(true);
  return totals;
};

/** Sends the letter back with its attempts raised and the new error, then deletes the old message. */
const keepWithAttempt = async (
  deps: RedriveDeps,
  held: HeldLetter,
  error: { readonly code: string; readonly message: string },
): Promise<void> => {
  const attempts = held.letter.attempts + 1;
  const body = {
    ...held.letter,
    attempts,
    lastError: { code: error.code, message: error.message.slice(0, MAX_ERROR_MESSAGE_CHARS) },
    failedAt: new Date(deps.now()).toISOString(),
  };
  try {
    // Its own deduplication id: under the letter's first one, a FIFO DLQ would drop the resend.
    await deps.queues.resend(
      held.message,
      JSON.stringify(body),
      toSqsDeduplicationId(`${held.letter.drainId}/${held.letter.id}/attempt-${attempts}`),
    );
  } catch (sendError) {
    deps.err(
      `${partitionOf(held.letter)}@${held.letter.offset}: failed again (${error.code}) and could not be re-queued (${(sendError as Error).name}): the letter stays as it was`,
    );
    await deps.queues.release([held.message]);
    return;
  }
  await deps.queues.remove(held.message);
  deps.err(
    `${partitionOf(held.letter)}@${held.letter.offset}: failed again (${error.code}): back in the DLQ, attempt ${attempts}`,
  );
};

/**
 * The audit entry of a DLQ command on one partition. The command delivers or deletes beside the
 * checkpoint, never moving it: before and after are the partition's state as it stands.
 */
export const auditPartition = async (deps: RedriveDeps, key: PartitionKey, action: string): Promise<void> => {
  const state = toAuditState(await deps.store.get(key));
  await deps.store.audit({
    ...key,
    atMs: deps.now(),
    who: deps.operator,
    action,
    before: state,
    after: state,
  });
};
