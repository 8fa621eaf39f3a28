import { randomUUID } from 'node:crypto';
import type { QueueStore, StoredMessage } from './sqs-queues.js';
import { invalidParameter, SqsError } from './sqs-rules.js';

/**
 * SQS's dead-letter queue redrive (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask): a
 * task moves the messages a DLQ held when it started, each to `DestinationArn` or else back to the queue it
 * was dead-lettered from, at most `MaxNumberOfMessagesPerSecond`, and reports its progress.
 */

type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

interface MoveTask {
  readonly handle: string;
  readonly sourceArn: string;
  readonly destinationArn: string | undefined;
  readonly maxPerSecond: number | undefined;
  readonly startedMs: number;
  readonly toMove: number;
  moved: number;
  status: MoveTaskStatus;
  failureReason: string | undefined;
}

/** Without a rate, as many a tick as a fast real task moves (SQS: "system optimized"). */
const TICK_MS = 10;
const DEFAULT_PER_TICK = 50;

export interface MoveTasks {
  start(sourceArn: string, destinationArn: string | undefined, maxPerSecond: number | undefined): string;
  /** The source queue's tasks, newest first, as ListMessageMoveTasks answers them. */
  list(sourceArn: string, maxResults: number): Record<string, unknown>[];
  /** Stops a running task; answers how many it moved. */
  cancel(handle: string): number;
  close(): void;
}

export const createMoveTasks = (store: QueueStore, now: () => number): MoveTasks => {
  const tasks: MoveTask[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const source = (arn: string) => {
    const queue = store.byArn(arn);
    if (queue === undefined) throw new SqsError(404, 'ResourceNotFoundException', `No queue ${arn}`);
    return queue;
  };

  const step = (task: MoveTask): void => {
    if (task.status !== 'RUNNING') return;
    const from = source(task.sourceArn);
    const perTick =
      task.maxPerSecond === undefined
        ? DEFAULT_PER_TICK
        : Math.max(1, Math.floor((task.maxPerSecond * TICK_MS) / 1000));
    const at = now();
    const ready = from.messages.filter((message) => message.visibleAtMs <= at);
    for (const message of ready.slice(0, Math.min(perTick, task.toMove - task.moved))) {
      const target = destinationOf(task, message);
      if (target === undefined) {
        task.status = 'FAILED';
        task.failureReason = 'CouldNotDetermineMessageSource';
        return;
      }
      store.moveMessage(from, message, target, false);
      task.moved += 1;
    }
    if (task.moved >= task.toMove || from.messages.length === 0) {
      task.status = 'COMPLETED';
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      step(task);
    }, TICK_MS);
    timers.add(timer);
  };

  const destinationOf = (task: MoveTask, message: StoredMessage) => {
    const arn = task.destinationArn ?? message.deadLetterSourceArn;
    return arn === undefined ? undefined : store.byArn(arn);
  };

  return {
    start: (sourceArn, destinationArn, maxPerSecond) => {
      const from = source(sourceArn);
      const isDeadLetterQueue = store
        .all()
        .some((queue) => queue.attributes.redrivePolicy?.deadLetterTargetArn === from.arn);
      if (!isDeadLetterQueue)
        throw invalidParameter('Source queue must be configured as a Dead Letter Queue.');
      if (destinationArn !== undefined && store.byArn(destinationArn) === undefined) {
        throw new SqsError(404, 'ResourceNotFoundException', `No queue ${destinationArn}`);
      }
      if (
        maxPerSecond !== undefined &&
        (!Number.isInteger(maxPerSecond) || maxPerSecond < 1 || maxPerSecond > 500)
      ) {
        throw invalidParameter('MaxNumberOfMessagesPerSecond must be between 1 and 500');
      }
      if (tasks.some((task) => task.sourceArn === sourceArn && task.status === 'RUNNING')) {
        throw invalidParameter(
          'There is already a task running. Only one active task is allowed for each source queue arn at a given time.',
        );
      }
      const task: MoveTask = {
        handle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
        sourceArn,
        destinationArn,
        maxPerSecond,
        startedMs: now(),
        toMove: from.messages.length,
        moved: 0,
        status: 'RUNNING',
        failureReason: undefined,
      };
      tasks.push(task);
      step(task);
      return task.handle;
    },
    list: (sourceArn, maxResults) => {
      source(sourceArn);
      if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10) {
        throw invalidParameter('MaxResults must be between 1 and 10');
      }
      return tasks
        .filter((task) => task.sourceArn === sourceArn)
        .reverse()
        .slice(0, maxResults)
        .map((task) => ({
          // SQS names the handle of running tasks only: the one a cancel takes.
          ...(task.status === 'RUNNING' ? { TaskHandle: task.handle } : {}),
          Status: task.status,
          SourceArn: task.sourceArn,
          ...(task.destinationArn === undefined ? {} : { DestinationArn: task.destinationArn }),
          ...(task.maxPerSecond === undefined ? {} : { MaxNumberOfMessagesPerSecond: task.maxPerSecond }),
          ApproximateNumberOfMessagesMoved: task.moved,
          ApproximateNumberOfMessagesToMove: task.toMove,
          ...(task.failureReason === undefined ? {} : { FailureReason: task.failureReason }),
          StartedTimestamp: task.startedMs,
        }));
    },
    cancel: (handle) => {
      const task = tasks.find((candidate) => candidate.handle === handle);
      if (task === undefined)
        throw new SqsError(404, 'ResourceNotFoundException', 'No task with this handle');
      if (task.status !== 'RUNNING')
        throw new SqsError(400, 'UnsupportedOperation', `The task is ${task.status}`);
      task.status = 'CANCELLED';
      return task.moved;
    },
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
};
