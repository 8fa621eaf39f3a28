import { randomBytes, randomUUID } from 'node:crypto';
import {
  checkSqsEntry,
  createDeduplicationWindow,
  type DeduplicationWindow,
  deduplicationIdOf,
  invalidParameter,
  md5Hex,
  md5OfAttributes,
  SQS_DEFAULT_MAX_MESSAGE_BYTES,
  SQS_MAX_BATCH_BYTES,
  type SqsAttribute,
  type SqsEntry,
  type SqsEntryFault,
  SqsError,
} from './sqs-rules.js';

/**
 * The queues of the local SQS server, in memory: visibility timeouts, receipt handles that change on every
 * receive, FIFO order and group locks, deduplication, retention and redrive to a dead-letter queue.
 */

export const LOCAL_ACCOUNT = '000000000000';

export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

/** A message as a queue holds it. */
export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, SqsAttribute>>;
  readonly md5OfBody: string;
  readonly md5OfAttributes: string | undefined;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  readonly sequenceNumber: string | undefined;
  readonly sentMs: number;
  /** The queue a redrive moved it from: `DeadLetterQueueSourceArn`. */
  readonly deadLetterSourceArn: string | undefined;
  receiveCount: number;
  firstReceiveMs: number | undefined;
  /** Invisible until then: delayed, or in flight after a receive. */
  visibleAtMs: number;
  /** The handle of the latest receive; only it deletes the message. */
  receiptHandle: string | undefined;
}

export interface Queue {
  readonly name: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly createdMs: number;
  attributes: QueueAttributes;
  /** In the order the queue accepted them (a FIFO queue's order). */
  messages: StoredMessage[];
  readonly deduplication: DeduplicationWindow;
  sequence: number;
  lastPurgeMs: number | undefined;
}

export interface QueueAttributes {
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly maxMessageBytes: number;
  readonly delaySeconds: number;
  readonly receiveWaitSeconds: number;
  readonly contentBasedDeduplication: boolean;
  readonly redrivePolicy: RedrivePolicy | undefined;
}

/** CreateQueue's attribute names, as the API spells them, to SQS's own defaults. */
const SETTABLE = [
  'FifoQueue',
  'ContentBasedDeduplication',
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'MaximumMessageSize',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'SqsManagedSseEnabled',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'Policy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
] as const;

const QUEUE_NAME = /^[\w-]{1,80}$/;

export interface AcceptedMessage {
  readonly messageId: string;
  readonly md5OfBody: string;
  readonly md5OfAttributes: string | undefined;
  readonly sequenceNumber: string | undefined;
}

export interface QueueStore {
  create(name: string, attributes: Readonly<Record<string, string>>): Queue;
  get(name: string): Queue;
  find(name: string): Queue | undefined;
  byArn(arn: string): Queue | undefined;
  all(): Queue[];
  /** Accepts one entry, or answers why not (a duplicate is accepted with the first message's id). */
  send(queue: Queue, entry: SqsEntry): AcceptedMessage | SqsEntryFault;
  /** Up to `max` visible messages, now in flight for `visibilitySeconds`; moves over-received ones to the DLQ. */
  receive(queue: Queue, max: number, visibilitySeconds: number): StoredMessage[];
  /** Deletes the message `receiptHandle` names if it is its latest; throws ReceiptHandleIsInvalid if no message's. */
  delete(queue: Queue, receiptHandle: string): void;
  changeVisibility(queue: Queue, receiptHandle: string, seconds: number): void;
  /**
   * Moves a message to the end of `target`, never received there; `deadLetter`: `target` is `from`'s DLQ
   * (the message remembers `from` as its `DeadLetterQueueSourceArn`).
   */
  moveMessage(from: Queue, message: StoredMessage, target: Queue, deadLetter: boolean): void;
  /** Drops the messages past their retention period. */
  expire(queue: Queue): void;
}

const parseInt10 = (name: string, value: string | undefined, fallback: number, min: number, max: number) => {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new SqsError(
      400,
      'InvalidAttributeValue',
      `Invalid value for the parameter ${name}: ${min} to ${max}`,
    );
  }
  return number;
};

const parseBool = (name: string, value: string | undefined): boolean => {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new SqsError(400, 'InvalidAttributeValue', `Invalid value for the parameter ${name}: true or false`);
};

export const createQueueStore = (options: { readonly region: string; readonly now: () => number }) => {
  const { now } = options;
  const queues = new Map<string, Queue>();

  const byArn = (arn: string) => [...queues.values()].find((queue) => queue.arn === arn);

  const parseRedrive = (raw: string | undefined, fifo: boolean): RedrivePolicy | undefined => {
    if (raw === undefined || raw === '') return undefined;
    let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    try {
      policy = JSON.parse(raw) as typeof policy;
    } catch {
      throw new SqsError(400, 'InvalidAttributeValue', 'RedrivePolicy must be JSON');
    }
    const target =
      typeof policy.deadLetterTargetArn === 'string' ? byArn(policy.deadLetterTargetArn) : undefined;
    if (target === undefined) {
      throw new SqsError(
        400,
        'InvalidAttributeValue',
        'RedrivePolicy: deadLetterTargetArn names no existing queue',
      );
    }
    if (target.fifo !== fifo) {
      throw new SqsError(
        400,
        'InvalidAttributeValue',
        'RedrivePolicy: a FIFO queue needs a FIFO dead-letter queue',
      );
    }
    const count = Number(policy.maxReceiveCount);
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw new SqsError(400, 'InvalidAttributeValue', 'RedrivePolicy: maxReceiveCount must be 1 to 1000');
    }
    return { deadLetterTargetArn: target.arn, maxReceiveCount: count };
  };

  const toAttributes = (raw: Readonly<Record<string, string>>, fifo: boolean): QueueAttributes => {
    const unknown = Object.keys(raw).filter((name) => !(SETTABLE as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new SqsError(400, 'InvalidAttributeName', `Unknown Attribute ${unknown.join(', ')}.`);
    }
    const contentBasedDeduplication = parseBool('ContentBasedDeduplication', raw.ContentBasedDeduplication);
    if (contentBasedDeduplication && !fifo) {
      throw new SqsError(400, 'InvalidAttributeName', 'ContentBasedDeduplication is only for FIFO queues');
    }
    return {
      visibilityTimeoutSeconds: parseInt10('VisibilityTimeout', raw.VisibilityTimeout, 30, 0, 43_200),
      retentionSeconds: parseInt10(
        'MessageRetentionPeriod',
        raw.MessageRetentionPeriod,
        345_600,
        60,
        1_209_600,
      ),
      maxMessageBytes: parseInt10(
        'MaximumMessageSize',
        raw.MaximumMessageSize,
        SQS_DEFAULT_MAX_MESSAGE_BYTES,
        1_024,
        SQS_MAX_BATCH_BYTES,
      ),
      delaySeconds: parseInt10('DelaySeconds', raw.DelaySeconds, 0, 0, 900),
      receiveWaitSeconds: parseInt10(
        'ReceiveMessageWaitTimeSeconds',
        raw.ReceiveMessageWaitTimeSeconds,
        0,
        0,
        20,
      ),
      contentBasedDeduplication,
      redrivePolicy: parseRedrive(raw.RedrivePolicy, fifo),
    };
  };

  const get = (name: string): Queue => {
    const queue = queues.get(name);
    if (queue === undefined) {
      throw new SqsError(400, 'QueueDoesNotExist', 'The specified queue does not exist.');
    }
    return queue;
  };

  // A handle names its message, so that one of an earlier receive is told apart from garbage.
  const newHandle = (messageId: string) =>
    Buffer.from(`${messageId} ${randomBytes(12).toString('hex')}`).toString('base64url');
  const messageOfHandle = (queue: Queue, handle: string): StoredMessage | undefined => {
    const messageId = Buffer.from(handle, 'base64url').toString('utf8').split(' ')[0];
    if (typeof handle !== 'string' || handle === '' || messageId === undefined || messageId.length !== 36) {
      throw new SqsError(404, 'ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not valid.`);
    }
    return queue.messages.find((message) => message.messageId === messageId);
  };

  const expire = (queue: Queue): void => {
    const oldestMs = now() - queue.attributes.retentionSeconds * 1000;
    queue.messages = queue.messages.filter((message) => message.sentMs > oldestMs);
  };

  const moveMessage = (from: Queue, message: StoredMessage, target: Queue, deadLetter: boolean): void => {
    from.messages = from.messages.filter((held) => held !== message);
    target.messages.push({
      ...message,
      receiveCount: 0,
      firstReceiveMs: undefined,
      visibleAtMs: now(),
      receiptHandle: undefined,
      deadLetterSourceArn: deadLetter ? from.arn : undefined,
      sequenceNumber: target.fifo ? nextSequence(target) : undefined,
    });
  };

  const nextSequence = (queue: Queue): string => {
    queue.sequence += 1;
    return String(queue.sequence).padStart(20, '0');
  };

  return {
    create: (name, raw) => {
      const fifo = raw.FifoQueue === 'true';
      const base = name.endsWith('.fifo') ? name.slice(0, -'.fifo'.length) : name;
      if (!QUEUE_NAME.test(base) || name.length > 80 || fifo !== name.endsWith('.fifo')) {
        throw invalidParameter(
          'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length; a FIFO queue (FifoQueue=true) and only it ends in .fifo',
        );
      }
      const attributes = toAttributes(raw, fifo);
      const existing = queues.get(name);
      if (existing !== undefined) {
        if (JSON.stringify(existing.attributes) !== JSON.stringify(attributes)) {
          throw new SqsError(
            400,
            'QueueNameExists',
            `A queue already exists with the same name and different attributes: ${name}`,
          );
        }
        return existing;
      }
      const queue: Queue = {
        name,
        arn: `arn:aws:sqs:${options.region}:${LOCAL_ACCOUNT}:${name}`,
        fifo,
        createdMs: now(),
        attributes,
        messages: [],
        deduplication: createDeduplicationWindow(now),
        sequence: 0,
        lastPurgeMs: undefined,
      };
      queues.set(name, queue);
      return queue;
    },
    get,
    find: (name) => queues.get(name),
    byArn,
    all: () => [...queues.values()],
    send: (queue, entry) => {
      const fault = checkSqsEntry(entry, {
        fifo: queue.fifo,
        contentBasedDeduplication: queue.attributes.contentBasedDeduplication,
        maxMessageBytes: queue.attributes.maxMessageBytes,
      });
      if (fault !== undefined) return fault;
      const md5OfBody = md5Hex(entry.MessageBody);
      const md5 = md5OfAttributes(entry.MessageAttributes);
      const deduplicationId = queue.fifo ? deduplicationIdOf(entry) : undefined;
      if (deduplicationId !== undefined) {
        const first = queue.deduplication.duplicateOf(deduplicationId);
        // SQS answers a duplicate as a success, with the first message's id, and enqueues nothing.
        if (first !== undefined) {
          return { messageId: first, md5OfBody, md5OfAttributes: md5, sequenceNumber: undefined };
        }
      }
      const messageId = randomUUID();
      if (deduplicationId !== undefined) queue.deduplication.remember(deduplicationId, messageId);
      const sentMs = now();
      const sequenceNumber = queue.fifo ? nextSequence(queue) : undefined;
      queue.messages.push({
        messageId,
        body: entry.MessageBody,
        attributes: entry.MessageAttributes,
        md5OfBody,
        md5OfAttributes: md5,
        groupId: entry.MessageGroupId,
        deduplicationId,
        sequenceNumber,
        sentMs,
        deadLetterSourceArn: undefined,
        receiveCount: 0,
        firstReceiveMs: undefined,
        visibleAtMs: sentMs + (entry.DelaySeconds ?? queue.attributes.delaySeconds) * 1000,
        receiptHandle: undefined,
      });
      return { messageId, md5OfBody, md5OfAttributes: md5, sequenceNumber };
    },
    receive: (queue, max, visibilitySeconds) => {
      expire(queue);
      const at = now();
      const policy = queue.attributes.redrivePolicy;
      const deadLetters = policy === undefined ? undefined : byArn(policy.deadLetterTargetArn);
      const taken: StoredMessage[] = [];
      // A FIFO group with a message invisible (in flight, or delayed) hands out none after it: order per group.
      const blocked = new Set<string>();
      for (const message of [...queue.messages]) {
        if (taken.length >= max) break;
        const group = message.groupId;
        if (queue.fifo && group !== undefined && blocked.has(group)) continue;
        if (message.visibleAtMs > at) {
          if (queue.fifo && group !== undefined) blocked.add(group);
          continue;
        }
        // SQS moves a message to the DLQ on the receive that would exceed maxReceiveCount.
        if (
          policy !== undefined &&
          deadLetters !== undefined &&
          message.receiveCount >= policy.maxReceiveCount
        ) {
          moveMessage(queue, message, deadLetters, true);
          continue;
        }
        message.receiveCount += 1;
        message.firstReceiveMs ??= at;
        message.visibleAtMs = at + visibilitySeconds * 1000;
        message.receiptHandle = newHandle(message.messageId);
        taken.push(message);
      }
      return taken;
    },
    delete: (queue, handle) => {
      const message = messageOfHandle(queue, handle);
      // SQS answers a stale handle (of an earlier receive) with success, and deletes nothing.
      if (message !== undefined && message.receiptHandle === handle) {
        queue.messages = queue.messages.filter((held) => held !== message);
      }
    },
    changeVisibility: (queue, handle, seconds) => {
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
        throw invalidParameter(
          `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: 0 to 43200.`,
        );
      }
      const message = messageOfHandle(queue, handle);
      if (message === undefined || message.receiptHandle !== handle) {
        throw new SqsError(
          404,
          'ReceiptHandleIsInvalid',
          `The input receipt handle "${handle}" is not valid.`,
        );
      }
      if (message.visibleAtMs <= now()) {
        throw new SqsError(400, 'MessageNotInflight', 'The message referred to is not in flight.');
      }
      message.visibleAtMs = now() + seconds * 1000;
    },
    moveMessage,
    expire,
  } satisfies QueueStore;
};
