/**
 * The two SQS queue types as a Lambda event source mapping delivers from them, reduced to what the
 * guarantees depend on: which messages come in one batch, and what comes back after `batchItemFailures`.
 * - standard: any messages, in any order; a failed message comes back later, behind the others;
 * - FIFO: a group is locked while a batch holds any of its messages, a batch holds each group's oldest
 *   messages in order, and after the answer the group's failed messages come back first, in order. The
 *   messages the answer did not report are deleted, wherever they were in the group: a handler that
 *   acknowledges a message after a failed one of its group thus gets the failed one redelivered after it,
 *   as SQS would do it.
 * A message failed `maxReceives` times moves to the queue's own DLQ (it leaves, not acknowledged).
 */

export interface QueuedMessage {
  readonly id: string;
  /** FIFO only: the MessageGroupId, and the message's place in its group as sent. */
  readonly group?: { readonly id: string; readonly seq: number };
  /** Receives so far (the next delivery's `ApproximateReceiveCount` once taken). */
  receives: number;
}

export interface SimulatedQueue {
  /** Up to `max` messages for one batch, their receive counts up; [] when none can be delivered now. */
  take(max: number): QueuedMessage[];
  /** The handler's answer to a batch; returns the messages that left the queue and whether they were acknowledged. */
  settle(
    batch: readonly QueuedMessage[],
    failed: ReadonlySet<string>,
  ): { message: QueuedMessage; acknowledged: boolean }[];
  /** Messages not yet acknowledged or moved to the DLQ. */
  outstanding(): number;
}

const leaves = (message: QueuedMessage, failed: ReadonlySet<string>, maxReceives: number) =>
  !failed.has(message.id) || message.receives >= maxReceives;

export const createStandardQueue = (messages: QueuedMessage[], maxReceives: number): SimulatedQueue => {
  const waiting = [...messages];
  let outstanding = waiting.length;
  return {
    take: (max) => {
      const batch = waiting.splice(0, max);
      for (const message of batch) message.receives += 1;
      return batch;
    },
    settle: (batch, failed) => {
      const left: { message: QueuedMessage; acknowledged: boolean }[] = [];
      for (const message of batch) {
        if (!leaves(message, failed, maxReceives)) {
          waiting.push(message);
          continue;
        }
        outstanding -= 1;
        left.push({ message, acknowledged: !failed.has(message.id) });
      }
      return left;
    },
    outstanding: () => outstanding,
  };
};

export const createFifoQueue = (messages: QueuedMessage[], maxReceives: number): SimulatedQueue => {
  const groups = new Map<string, QueuedMessage[]>();
  for (const message of messages) {
    const id = message.group?.id ?? '';
    groups.set(id, [...(groups.get(id) ?? []), message]);
  }
  const locked = new Set<string>();
  let outstanding = messages.length;
  // Groups take turns, so a batch mixes groups as Lambda's batches from a FIFO queue do.
  let turn = 0;
  return {
    take: (max) => {
      const batch: QueuedMessage[] = [];
      const names = [...groups.keys()];
      for (let i = 0; i < names.length && batch.length < max; i++) {
        const name = names[(turn + i) % names.length] as string;
        const waiting = groups.get(name) ?? [];
        if (locked.has(name) || waiting.length === 0) continue;
        locked.add(name);
        // A group's share of a batch: its oldest few, so batches hold several groups.
        batch.push(...waiting.slice(0, Math.min(4, max - batch.length)));
      }
      turn += 1;
      for (const message of batch) message.receives += 1;
      return batch;
    },
    settle: (batch, failed) => {
      const left: { message: QueuedMessage; acknowledged: boolean }[] = [];
      for (const message of batch) {
        const name = message.group?.id ?? '';
        locked.delete(name);
        if (!leaves(message, failed, maxReceives)) continue;
        const waiting = groups.get(name) ?? [];
        waiting.splice(waiting.indexOf(message), 1);
        outstanding -= 1;
        left.push({ message, acknowledged: !failed.has(message.id) });
      }
      return left;
    },
    outstanding: () => outstanding,
  };
};
