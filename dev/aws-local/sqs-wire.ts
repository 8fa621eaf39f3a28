import { LOCAL_ACCOUNT, type Queue, type StoredMessage } from './sqs-queues.js';
import { invalidParameter, type SqsAttribute } from './sqs-rules.js';

/** The local SQS server's answers in the JSON protocol's shapes, and the reading of request parameters. */

const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'DeadLetterQueueSourceArn',
] as const;

export const intParam = (
  body: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
) => {
  const value = body[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(
      `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return value;
};

export const stringList = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

const toWireAttributes = (attributes: Readonly<Record<string, SqsAttribute>>) =>
  Object.fromEntries(
    Object.entries(attributes).map(([name, attribute]) => [
      name,
      {
        DataType: attribute.DataType,
        ...(attribute.StringValue === undefined ? {} : { StringValue: attribute.StringValue }),
        ...(attribute.BinaryValue === undefined
          ? {}
          : { BinaryValue: attribute.BinaryValue.toString('base64') }),
      },
    ]),
  );

/** `MessageAttributeNames`: names, `All` or `.*`, and prefixes such as `trace.*`. */
const selectAttributes = (attributes: Readonly<Record<string, SqsAttribute>>, wanted: readonly string[]) =>
  Object.fromEntries(
    Object.entries(attributes).filter(([name]) =>
      wanted.some(
        (pattern) =>
          pattern === 'All' ||
          pattern === '.*' ||
          pattern === name ||
          (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))),
      ),
    ),
  );

/** GetQueueAttributes' answer, every attribute (the caller selects). */
export const queueAttributes = (queue: Queue, at: number): Record<string, string> => {
  const { attributes } = queue;
  const inFlight = queue.messages.filter((m) => m.visibleAtMs > at && m.receiptHandle !== undefined).length;
  const delayed = queue.messages.filter((m) => m.visibleAtMs > at && m.receiptHandle === undefined).length;
  return {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(queue.messages.length - inFlight - delayed),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: String(delayed),
    CreatedTimestamp: String(Math.floor(queue.createdMs / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.createdMs / 1000)),
    VisibilityTimeout: String(attributes.visibilityTimeoutSeconds),
    MaximumMessageSize: String(attributes.maxMessageBytes),
    MessageRetentionPeriod: String(attributes.retentionSeconds),
    DelaySeconds: String(attributes.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(attributes.receiveWaitSeconds),
    SqsManagedSseEnabled: 'true',
    ...(attributes.redrivePolicy === undefined
      ? {}
      : { RedrivePolicy: JSON.stringify(attributes.redrivePolicy) }),
    ...(queue.fifo
      ? {
          FifoQueue: 'true',
          ContentBasedDeduplication: String(attributes.contentBasedDeduplication),
          DeduplicationScope: 'queue',
          FifoThroughputLimit: 'perQueue',
        }
      : {}),
  };
};

/** A received message as ReceiveMessage answers it, with the attributes the request names. */
export const toWireMessage = (queue: Queue, message: StoredMessage, body: Record<string, unknown>) => {
  const system = [...stringList(body.AttributeNames), ...stringList(body.MessageSystemAttributeNames)];
  const all = system.includes('All');
  const values: Record<string, string | undefined> = {
    SenderId: LOCAL_ACCOUNT,
    SentTimestamp: String(message.sentMs),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveMs),
    SequenceNumber: queue.fifo ? message.sequenceNumber : undefined,
    MessageDeduplicationId: message.deduplicationId,
    MessageGroupId: message.groupId,
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
  };
  const attributes = Object.fromEntries(
    SYSTEM_ATTRIBUTES.filter((name) => (all || system.includes(name)) && values[name] !== undefined).map(
      (name) => [name, values[name]],
    ),
  );
  const messageAttributes = selectAttributes(message.attributes, stringList(body.MessageAttributeNames));
  const hasAttributes = Object.keys(messageAttributes).length > 0;
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
    ...(hasAttributes && message.md5OfAttributes !== undefined
      ? {
          MD5OfMessageAttributes: message.md5OfAttributes,
          MessageAttributes: toWireAttributes(messageAttributes),
        }
      : {}),
  };
};
