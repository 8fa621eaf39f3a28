import { createHash } from 'node:crypto';
import type { MessageAttributeValue, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { createBatchSink, type Encoded, rejectTooLarge, toEntryFailure } from './aws-batch-sink.js';
import { SQS_MAX_BATCH_BYTES, type SqsSinkConfig } from './config.js';
import { DELIVERED, toSqsFifoId, toSqsText } from './outcomes.js';
import { toSqsDeduplicationId } from './record-id.js';
import type { DeliveryOutcome, Sink, SinkDeps, SinkRecord } from './types.js';

/** SendMessageBatch takes at most 10 entries. */
export const SQS_MAX_BATCH_ENTRIES = 10;

/** How the message body carries the record's value (the `kafka.value-encoding` attribute). */
export const SQS_VALUE_ENCODINGS = {
  UTF8: 'utf-8',
  BASE64: 'base64',
  /** A tombstone; the body is a one-character placeholder (SQS refuses empty bodies). */
  NULL: 'null',
  /** A zero-length value; the body is a one-character placeholder. */
  EMPTY: 'empty',
} as const;

const PLACEHOLDER_BODY = '-';

/**
 * Delivers records as SQS messages with `SendMessageBatch` (≤ 10 entries and ≤ 1 MiB per call, each message
 * ≤ `maxMessageBytes`, body plus attributes).
 *
 * Body: the value as text when it is valid UTF-8 of characters SQS accepts, else base64 (see
 * {@link SQS_VALUE_ENCODINGS}). Attributes: `kafka-record-id` (the record's id: what a consumer
 * deduplicates by), `kafka.topic`, `kafka.partition`, `kafka.offset`, `kafka.value-encoding`, and
 * `kafka.key` (Binary) unless the key is null (`kafka.key-empty: true` for a zero-length key, since SQS
 * refuses empty attribute values).
 *
 * FIFO queues: `MessageGroupId` = `topic-partition` (per key with a drain's `ordering: "key"`), `MessageDeduplicationId` = the record id (its
 * `sha256:` form past 128 characters), and delivery is ordered: a call carries at most one message per
 * group, so a group's next message is sent only once SQS accepted the one before (one message per call
 * for a drain's one partition). Standard queues keep no order and may deliver a message twice, so
 * delivery there is unordered: up to 10 messages per call, each outcome on its own, and a failed one is
 * resent after later ones. A message too large for the queue is rejected for good (`ERR_PAYLOAD_TOO_LARGE`)
 * without a call; a `Failed` entry with `SenderFault: true` is permanent (`ERR_SINK_REJECTED`), any other
 * is retriable (`ERR_SINK_FAILED`).
 */
export const createSqsSink = (config: SqsSinkConfig, deps: SinkDeps): Sink => {
  const groupOf = config.fifo ? groupIdOf(config) : undefined;
  return createBatchSink(
    {
      service: 'SQS SendMessageBatch',
      maxBatchRecords: config.maxBatchRecords,
      maxEntries: SQS_MAX_BATCH_ENTRIES,
      maxBytes: SQS_MAX_BATCH_BYTES,
      ordered: config.fifo,
      ...(groupOf === undefined ? {} : { groupOf }),
      encode: (record) => encodeRecord(record, config, groupOf),
      send: async (entries, signal) => {
        const sqs = await deps.aws.sqs();
        const withIds = entries.map((entry, position) => ({ ...entry, Id: `r${position}` }));
        const output = await sqs.sendMessageBatch(
          { QueueUrl: config.queueUrl, Entries: withIds },
          { abortSignal: signal },
        );
        return toEntryOutcomes(
          withIds.map((entry) => entry.Id),
          output,
        );
      },
    },
    deps,
  );
};

type SqsEntry = Omit<SendMessageBatchRequestEntry, 'Id'>;

/** The message attribute holding the record id, on sink messages and dead letters alike. */
export const SQS_RECORD_ID_ATTRIBUTE = 'kafka-record-id';

/**
 * `topic-partition`, or with `groupBy: "key"` `topic-partition-k<hash of the key>` (a key-less record is a
 * group of its own, `…-o<offset>`): a digest, because keys are bytes and a group id is at most 128
 * printable characters; two keys sharing a group only share an order, never lose one.
 */
const groupIdOf =
  (config: SqsSinkConfig) =>
  (record: SinkRecord): string => {
    if (config.groupBy !== 'key') return toSqsFifoId(record.topic, String(record.partition));
    const suffix =
      record.key === null
        ? `o${record.offset}`
        : `k${createHash('sha256').update(record.key).digest('base64url').slice(0, 22)}`;
    return toSqsFifoId(`${record.topic}-${record.partition}`, suffix);
  };

const encodeRecord = (
  record: SinkRecord,
  config: SqsSinkConfig,
  groupOf: ((record: SinkRecord) => string) | undefined,
): Encoded<SqsEntry> => {
  const { body, encoding } = toSqsBody(record.value);
  const attributes: Record<string, MessageAttributeValue> = {
    [SQS_RECORD_ID_ATTRIBUTE]: { DataType: 'String', StringValue: record.id },
    'kafka.topic': { DataType: 'String', StringValue: record.topic },
    'kafka.partition': { DataType: 'Number', StringValue: String(record.partition) },
    'kafka.offset': { DataType: 'Number', StringValue: String(record.offset) },
    'kafka.value-encoding': { DataType: 'String', StringValue: encoding },
  };
  if (record.key !== null && record.key.length > 0) {
    attributes['kafka.key'] = { DataType: 'Binary', BinaryValue: record.key };
  } else if (record.key !== null) {
    attributes['kafka.key-empty'] = { DataType: 'String', StringValue: 'true' };
  }
  const bytes = toSqsMessageBytes(body, attributes);
  if (bytes > config.maxMessageBytes) {
    return rejectTooLarge(
      `the record makes an SQS message of ${bytes} bytes, over the queue's limit of ${config.maxMessageBytes}`,
    );
  }
  const entry: SqsEntry = { MessageBody: body, MessageAttributes: attributes };
  if (groupOf !== undefined) {
    entry.MessageGroupId = groupOf(record);
    entry.MessageDeduplicationId = toSqsDeduplicationId(record.id);
  }
  return { entry, bytes };
};

/** The message body for a value, and how to read it back. */
export const toSqsBody = (
  value: Buffer | null,
): { body: string; encoding: (typeof SQS_VALUE_ENCODINGS)[keyof typeof SQS_VALUE_ENCODINGS] } => {
  if (value === null) return { body: PLACEHOLDER_BODY, encoding: SQS_VALUE_ENCODINGS.NULL };
  if (value.length === 0) return { body: PLACEHOLDER_BODY, encoding: SQS_VALUE_ENCODINGS.EMPTY };
  const text = toSqsText(value);
  return text === undefined
    ? { body: value.toString('base64'), encoding: SQS_VALUE_ENCODINGS.BASE64 }
    : { body: text, encoding: SQS_VALUE_ENCODINGS.UTF8 };
};

/** SQS counts a message as its body plus, per attribute, name + data type + value bytes. */
export const toSqsMessageBytes = (
  body: string,
  attributes: Record<string, MessageAttributeValue>,
): number => {
  let bytes = Buffer.byteLength(body);
  for (const [name, attribute] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType ?? '');
    bytes +=
      attribute.BinaryValue === undefined
        ? Buffer.byteLength(attribute.StringValue ?? '')
        : attribute.BinaryValue.length;
  }
  return bytes;
};

const SQS_NAMES = { service: 'SQS', refusal: 'SQS refused the message' };

/** One outcome per sent id from `Successful` / `Failed`. */
export const toEntryOutcomes = (
  ids: readonly string[],
  output: {
    Successful?: readonly { Id?: string | undefined }[] | undefined;
    Failed?:
      | readonly {
          Id?: string | undefined;
          SenderFault?: boolean | undefined;
          Code?: string | undefined;
          Message?: string | undefined;
        }[]
      | undefined;
  },
): DeliveryOutcome[] => {
  const succeeded = new Set((output.Successful ?? []).map((entry) => entry.Id));
  const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
  return ids.map((id) => {
    if (succeeded.has(id)) return DELIVERED;
    const failure = failed.get(id);
    return toEntryFailure(
      SQS_NAMES,
      failure === undefined
        ? undefined
        : {
            code: failure.Code ?? 'unknown',
            message: failure.Message,
            permanent: failure.SenderFault === true,
          },
    );
  });
};
