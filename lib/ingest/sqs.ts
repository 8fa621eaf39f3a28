import type { SQSBatchResponse, SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { AppError, ERROR_CODES } from '../core/errors.js';
import { fromAwsTraceHeader } from '../formats/trace-context.js';
import type { ProduceRecord } from '../kafka-rest/types.js';
import { decodeBase64Strict } from './base64.js';
import type { QueueConfig } from './config.js';
import type { ItemOutcome, ParsedItem } from './types.js';

/** The queue settings that shape one message into one record. */
export type SqsParseSettings = Pick<
  QueueConfig,
  'topic' | 'allowedTopics' | 'topicAttribute' | 'keyAttribute' | 'encodingAttribute'
> & {
  /**
   * Whether the proxy keeps record headers (`carriesRecordHeaders`): then a message's X-Ray
   * `AWSTraceHeader` travels as a W3C `traceparent` record header. Absent: false.
   */
  readonly recordHeaders?: boolean | undefined;
};

// MIME-style line wrapping (RFC 2045 §6.8, what `base64` and `openssl base64` write) is not data; any other
// character outside the base64 alphabet is refused.
const LINE_BREAKS = /\r?\n/g;

/**
 * Turns an SQS event (standard or FIFO) into one item per message, in delivery order. Never throws: a
 * message that cannot become a record is returned as a rejection (`ERR_PAYLOAD_INVALID`, not retriable)
 * with the reason, so the caller reports it and the queue's redrive policy moves it to the DLQ.
 */
export const parseSqsEvent = (event: SQSEvent, settings: SqsParseSettings): ParsedItem[] =>
  event.Records.map((message) => parseSqsRecord(message, settings));

/** One message → one record: see {@link parseSqsEvent}. */
export const parseSqsRecord = (message: SQSRecord, settings: SqsParseSettings): ParsedItem => {
  // Only FIFO queues promise order; a standard queue's MessageGroupId (fair queues) is about fairness.
  const group = isFifo(message) ? message.attributes.MessageGroupId : undefined;
  const shaped = toRecord(message, settings, group);
  return 'reason' in shaped
    ? {
        ok: false,
        id: message.messageId,
        group,
        topic: shaped.topic,
        error: new AppError(ERROR_CODES.PAYLOAD_INVALID, shaped.reason),
      }
    : { ok: true, id: message.messageId, group, topic: shaped.topic, record: shaped.record };
};

type Shaped =
  | { readonly topic: string; readonly record: ProduceRecord }
  | { readonly topic: string | undefined; readonly reason: string };

const toRecord = (message: SQSRecord, settings: SqsParseSettings, group: string | undefined): Shaped => {
  const named = attribute(message, settings.topicAttribute);
  let topic = settings.topic;
  if (named !== undefined) {
    const name = named.stringValue;
    if (name === undefined || !isString(named)) {
      return {
        topic: undefined,
        reason: `message attribute ${settings.topicAttribute} must be a String naming a topic`,
      };
    }
    if (name !== settings.topic && !settings.allowedTopics.includes(name)) {
      return {
        topic: name,
        reason: `topic ${JSON.stringify(name)} (from attribute ${settings.topicAttribute}) is not allowed`,
      };
    }
    topic = name;
  }
  if (topic === undefined) {
    return {
      topic,
      reason: `message names no topic (attribute ${settings.topicAttribute}) and QUEUE_TOPIC is unset`,
    };
  }

  let value: Buffer;
  const encoding =
    settings.encodingAttribute === undefined ? undefined : attribute(message, settings.encodingAttribute);
  if (encoding?.stringValue?.trim().toLowerCase() === 'base64') {
    const decoded = decodeBase64Strict(message.body.replace(LINE_BREAKS, ''));
    if (decoded === undefined) {
      return {
        topic,
        reason: `body is not valid base64, as attribute ${settings.encodingAttribute} says it is`,
      };
    }
    value = decoded;
  } else {
    value = Buffer.from(message.body, 'utf8');
  }

  let key: Buffer | null = null;
  const keyAttribute =
    settings.keyAttribute === undefined ? undefined : attribute(message, settings.keyAttribute);
  if (keyAttribute !== undefined) {
    const bytes = attributeBytes(keyAttribute);
    if (typeof bytes === 'string') {
      return { topic, reason: `message attribute ${settings.keyAttribute} ${bytes}` };
    }
    key = bytes;
  } else if (group !== undefined) {
    key = Buffer.from(group, 'utf8');
  }
  const traceparent = settings.recordHeaders === true ? traceparentOf(message) : undefined;
  return {
    topic,
    record:
      traceparent === undefined
        ? { key, value }
        : { key, value, headers: [{ name: 'traceparent', value: Buffer.from(traceparent, 'utf8') }] },
  };
};

/**
 * The message's X-Ray trace (`AWSTraceHeader`, set when the sender traced with X-Ray) as a W3C
 * traceparent; undefined when it has none that is well-formed, which then is not passed on.
 */
export const traceparentOf = (message: SQSRecord): string | undefined =>
  fromAwsTraceHeader(message.attributes?.AWSTraceHeader);

/**
 * The partial batch response: exactly the messages whose records were not acknowledged. SQS deletes every
 * other message of the batch (only with `ReportBatchItemFailures` on the event source mapping).
 */
export const toBatchResponse = (outcomes: readonly ItemOutcome[]): SQSBatchResponse => ({
  batchItemFailures: outcomes
    .filter((outcome) => !outcome.ok)
    .map((outcome) => ({ itemIdentifier: outcome.id })),
});

export const isFifo = (message: SQSRecord): boolean => message.eventSourceARN.endsWith('.fifo');

const attribute = (message: SQSRecord, name: string): SQSMessageAttribute | undefined =>
  Object.hasOwn(message.messageAttributes ?? {}, name) ? message.messageAttributes[name] : undefined;

// Data types may carry a custom suffix: `String.uuid`, `Number.int`, `Binary.gzip`.
const isString = (value: SQSMessageAttribute): boolean => /^(String|Number)(\.|$)/.test(value.dataType);
const isBinary = (value: SQSMessageAttribute): boolean => /^Binary(\.|$)/.test(value.dataType);

/** The attribute's bytes, or why it cannot be a key. */
const attributeBytes = (value: SQSMessageAttribute): Buffer | string => {
  if (isString(value) && value.stringValue !== undefined && value.stringValue !== '') {
    return Buffer.from(value.stringValue, 'utf8');
  }
  // Lambda delivers Binary attribute values base64-encoded; anything else is a corrupted event, and a key
  // decoded leniently from it would send the record to another partition than its siblings'.
  if (isBinary(value) && value.binaryValue !== undefined && value.binaryValue !== '') {
    return decodeBase64Strict(value.binaryValue) ?? 'is a Binary value that is not valid base64';
  }
  return 'has no value usable as a key';
};
