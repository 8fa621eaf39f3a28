import { createHash } from 'node:crypto';

/**
 * What SQS refuses and how it names the refusal, shared by the local SQS server and the send-side test fake
 * (`test/helpers/aws-fakes.ts`), so both hold senders to the same limits. Written from the SQS API reference
 * and the error shapes of `@aws-sdk/client-sqs` (`dist-cjs`, the `awsQueryError` trait of each).
 */

/** SQS drops a FIFO message whose deduplication id the queue accepted within the last 5 minutes. */
export const SQS_DEDUPLICATION_WINDOW_MS = 300_000;
/** The default `MaximumMessageSize`: body plus attributes. */
export const SQS_DEFAULT_MAX_MESSAGE_BYTES = 262_144;
/** One `SendMessageBatch` call, all entries together (and the largest `MaximumMessageSize`). */
export const SQS_MAX_BATCH_BYTES = 1_048_576;
export const SQS_MAX_BATCH_ENTRIES = 10;

const BODY_CHARS = /^[\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)(?!(?:AWS|Amazon)\.)[\w.-]{1,256}$/i;
const BATCH_ENTRY_ID = /^[\w-]{1,80}$/;

/**
 * The `x-amzn-query-error` code of each error SQS's model gives one (its `awsQueryError` trait); the errors
 * not listed (`InvalidParameterValue`, `MissingParameter`, `InvalidAttributeName`, …) answer their own name.
 */
const QUERY_CODES: Readonly<Record<string, string>> = {
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
  PurgeQueueInProgress: 'AWS.SimpleQueueService.PurgeQueueInProgress',
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  QueueNameExists: 'QueueAlreadyExists',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
};

/** The query-compatible code SQS puts in `x-amzn-query-error` for the error `type`. */
export const sqsQueryCode = (type: string): string => QUERY_CODES[type] ?? type;

/** A refused call, answered as `{__type: "com.amazonaws.sqs#<type>", message}` with `status`. */
export class SqsError extends Error {
  override readonly name = 'SqsError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** `InvalidParameterValue` (400), SQS's answer to most bad values. */
export const invalidParameter = (message: string): SqsError =>
  new SqsError(400, 'InvalidParameterValue', message);

export interface SqsAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Decoded from the base64 the JSON protocol carries. */
  readonly BinaryValue?: Buffer;
}

/** A send entry as the JSON protocol carries it (SendMessage is one entry without `Id`). */
export interface SqsEntry {
  readonly Id: string;
  readonly MessageBody: string;
  readonly MessageAttributes: Readonly<Record<string, SqsAttribute>>;
  readonly MessageGroupId?: string;
  readonly MessageDeduplicationId?: string;
  readonly DelaySeconds?: number;
}

export interface SqsEntryFault {
  readonly code: string;
  readonly senderFault: boolean;
  readonly message?: string;
}

/** The rules of the queue an entry goes to. */
export interface SqsQueueRules {
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  readonly maxMessageBytes: number;
}

/** Reads one entry of a JSON request body; anything missing becomes empty, for the checks to refuse. */
export const toSqsEntry = (raw: Record<string, unknown>): SqsEntry => {
  const attributes: Record<string, SqsAttribute> = {};
  for (const [name, value] of Object.entries(
    (raw.MessageAttributes ?? {}) as Record<string, Record<string, string>>,
  )) {
    attributes[name] = {
      DataType: value.DataType ?? '',
      ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(value.BinaryValue, 'base64') }),
    };
  }
  return {
    Id: String(raw.Id ?? ''),
    MessageBody: String(raw.MessageBody ?? ''),
    MessageAttributes: attributes,
    ...(typeof raw.MessageGroupId === 'string' ? { MessageGroupId: raw.MessageGroupId } : {}),
    ...(typeof raw.MessageDeduplicationId === 'string'
      ? { MessageDeduplicationId: raw.MessageDeduplicationId }
      : {}),
    ...(typeof raw.DelaySeconds === 'number' ? { DelaySeconds: raw.DelaySeconds } : {}),
  };
};

/** Body plus, per attribute, name + data type + value bytes: how SQS sizes a message. */
export const sqsMessageBytes = (entry: Pick<SqsEntry, 'MessageBody' | 'MessageAttributes'>): number =>
  Buffer.byteLength(entry.MessageBody) +
  Object.entries(entry.MessageAttributes).reduce(
    (sum, [name, attribute]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(attribute.DataType) +
      (attribute.BinaryValue?.length ?? Buffer.byteLength(attribute.StringValue ?? '')),
    0,
  );

/**
 * The checks of a whole batch call (send, delete, change visibility): 1 to 10 entries, ids distinct and of
 * SQS's shape. Throws the {@link SqsError} SQS answers the call with.
 */
export const checkBatchEntries = (entries: readonly { readonly Id: string }[]): void => {
  if (entries.length === 0)
    throw new SqsError(400, 'EmptyBatchRequest', 'There should be at least one entry');
  if (entries.length > SQS_MAX_BATCH_ENTRIES) {
    throw new SqsError(
      400,
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${SQS_MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const ids = entries.map((entry) => entry.Id);
  if (new Set(ids).size !== ids.length) {
    throw new SqsError(400, 'BatchEntryIdsNotDistinct', 'Two or more batch entries have the same Id');
  }
  const bad = ids.find((id) => !BATCH_ENTRY_ID.test(id));
  if (bad !== undefined) {
    throw new SqsError(
      400,
      'InvalidBatchEntryId',
      `A batch entry id can only contain alphanumeric characters, hyphens and underscores (1 to 80): ${JSON.stringify(bad)}`,
    );
  }
};

/** {@link checkBatchEntries} plus the size of all entries together, for `SendMessageBatch`. */
export const checkSendBatch = (entries: readonly SqsEntry[]): void => {
  checkBatchEntries(entries);
  const total = entries.reduce((sum, entry) => sum + sqsMessageBytes(entry), 0);
  if (total > SQS_MAX_BATCH_BYTES) {
    throw new SqsError(
      400,
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${SQS_MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`,
    );
  }
};

/** Why SQS refuses one entry for the queue `rules` describe, or undefined when it accepts it. */
export const checkSqsEntry = (entry: SqsEntry, rules: SqsQueueRules): SqsEntryFault | undefined => {
  const invalid = (message: string): SqsEntryFault => ({
    code: 'InvalidParameterValue',
    senderFault: true,
    message,
  });
  if (entry.MessageBody === '') {
    return { code: 'MissingParameter', senderFault: true, message: 'The request must contain a MessageBody' };
  }
  if (!BODY_CHARS.test(entry.MessageBody)) {
    return {
      code: 'InvalidMessageContents',
      senderFault: true,
      message:
        'Invalid characters found in the message body (allowed: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF)',
    };
  }
  if (sqsMessageBytes(entry) > rules.maxMessageBytes) {
    return invalid(`Message must be shorter than ${rules.maxMessageBytes} bytes`);
  }
  const attributes = Object.entries(entry.MessageAttributes);
  if (attributes.length > 10) return invalid('Number of message attributes exceeds the limit of 10');
  for (const [name, attribute] of attributes) {
    if (!ATTRIBUTE_NAME.test(name))
      return invalid(`Message attribute name ${JSON.stringify(name)} is invalid`);
    if (!/^(String|Number|Binary)(\..+)?$/.test(attribute.DataType)) {
      return invalid(`The message attribute ${JSON.stringify(name)} has an invalid DataType`);
    }
    const size = attribute.BinaryValue?.length ?? attribute.StringValue?.length ?? 0;
    if (size === 0)
      return invalid(`The message attribute ${JSON.stringify(name)} must contain a non-empty value`);
  }
  if (entry.DelaySeconds !== undefined && (entry.DelaySeconds < 0 || entry.DelaySeconds > 900)) {
    return invalid('DelaySeconds must be between 0 and 900');
  }
  if (rules.fifo) {
    if (entry.MessageGroupId === undefined) {
      return {
        code: 'MissingParameter',
        senderFault: true,
        message: 'The request must contain MessageGroupId',
      };
    }
    if (entry.MessageDeduplicationId === undefined && !rules.contentBasedDeduplication) {
      return invalid(
        'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    }
    if (!FIFO_ID.test(entry.MessageGroupId)) return invalid('MessageGroupId is invalid');
    if (entry.MessageDeduplicationId !== undefined && !FIFO_ID.test(entry.MessageDeduplicationId)) {
      return invalid('MessageDeduplicationId is invalid');
    }
    if (entry.DelaySeconds !== undefined && entry.DelaySeconds !== 0) {
      return invalid('DelaySeconds per message is not supported by FIFO queues; set it on the queue');
    }
  } else if (entry.MessageDeduplicationId !== undefined) {
    return invalid('The request includes MessageDeduplicationId, only valid for FIFO queues');
  }
  return undefined;
};

/**
 * One queue's deduplication window: the id a FIFO entry is deduplicated by (explicit, or the SHA-256 of
 * the body under content-based deduplication), and the message id SQS answered when it first accepted it.
 */
export interface DeduplicationWindow {
  /** The message id of an accepted entry with the same deduplication id within the window, if any. */
  duplicateOf(deduplicationId: string): string | undefined;
  remember(deduplicationId: string, messageId: string): void;
}

export const createDeduplicationWindow = (now: () => number): DeduplicationWindow => {
  const accepted = new Map<string, { atMs: number; messageId: string }>();
  return {
    duplicateOf: (id) => {
      const previous = accepted.get(id);
      return previous !== undefined && now() - previous.atMs < SQS_DEDUPLICATION_WINDOW_MS
        ? previous.messageId
        : undefined;
    },
    remember: (id, messageId) => {
      accepted.set(id, { atMs: now(), messageId });
    },
  };
};

/** The id SQS deduplicates a FIFO entry by. */
export const deduplicationIdOf = (entry: SqsEntry): string =>
  entry.MessageDeduplicationId ?? createHash('sha256').update(entry.MessageBody).digest('hex');

export const md5Hex = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/**
 * `MD5OfMessageAttributes` as SQS computes it: the attributes by name, each as length-prefixed name, data
 * type, a transport byte (1 string, 2 binary) and length-prefixed value.
 */
export const md5OfAttributes = (attributes: Readonly<Record<string, SqsAttribute>>): string | undefined => {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const attribute = attributes[name] as SqsAttribute;
    field(Buffer.from(name));
    field(Buffer.from(attribute.DataType));
    if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      field(attribute.BinaryValue);
    } else {
      parts.push(Buffer.from([1]));
      field(Buffer.from(attribute.StringValue ?? ''));
    }
  }
  return md5Hex(Buffer.concat(parts));
};
