import type { MessageAttributeValue, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { AppError, ERROR_CODES, UpstreamError } from '../core/errors.js';
import { toAwsCallFailure } from './aws-batch-sink.js';
import type { DlqConfig } from './config.js';
import { toBase64, toSqsFifoId } from './outcomes.js';
import { toSqsDeduplicationId } from './record-id.js';
import { SQS_RECORD_ID_ATTRIBUTE, toSqsMessageBytes } from './sqs-sink.js';
import type { DeadLetter, DeadLetterQueue, SinkDeps } from './types.js';

/** The JSON body of a DLQ message. `key`/`value` are base64 (null: absent in Kafka, or omitted). */
export interface DeadLetterBody {
  readonly drainId: string;
  /** The record id (`record-id.ts`), as the sink sent it. */
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  /** Set when the value (then the key) was left out to fit the queue; the record stays readable in Kafka. */
  readonly valueOmitted?: true;
  readonly keyOmitted?: true;
  readonly valueBytes: number | null;
  readonly keyBytes: number | null;
  readonly attempts: number;
  readonly lastError: { readonly code: string; readonly message: string };
  /** ISO 8601. */
  readonly failedAt: string;
}

const MAX_ERROR_MESSAGE_CHARS = 1_000;

/**
 * Sends poison records to an SQS dead-letter queue, one message per record: a JSON {@link DeadLetterBody}
 * with attributes `kafka-record-id`, `kafka.topic`, `kafka.partition`, `kafka.offset` and `drain.id` for
 * filtering. On a FIFO DLQ the group is the drain's topic-partition and the deduplication id is
 * `<drain id>/<record id>` (its `sha256:` form past 128 characters), so a resend after a lost answer is
 * dropped by SQS, and neither two drains nor two lives of a topic drop each other's letters. A letter over `maxMessageBytes` goes without
 * the value (then without the key), flagged `valueOmitted`/`keyOmitted`: losing the letter would be worse.
 *
 * `send` throws `ERR_DEADLINE` when the deadline has passed, `ERR_UPSTREAM_TIMEOUT` when SQS did not answer
 * in time, `ERR_UPSTREAM_NETWORK` when the connection failed, and `ERR_SINK_FAILED` when SQS refused the
 * call or the entry; the drain then keeps its checkpoint.
 */
export const createDeadLetterQueue = (
  config: DlqConfig,
  deps: Pick<SinkDeps, 'aws' | 'log' | 'now'>,
): DeadLetterQueue => ({
  send: async (letter, { deadlineMs }) => {
    const remainingMs = deadlineMs - deps.now();
    if (remainingMs <= 0) {
      throw new AppError(ERROR_CODES.DEADLINE, 'the dead letter was not sent: the deadline was reached');
    }
    const attributes: Record<string, MessageAttributeValue> = {
      [SQS_RECORD_ID_ATTRIBUTE]: { DataType: 'String', StringValue: letter.id },
      'kafka.topic': { DataType: 'String', StringValue: letter.topic },
      'kafka.partition': { DataType: 'Number', StringValue: String(letter.partition) },
      'kafka.offset': { DataType: 'Number', StringValue: String(letter.offset) },
    };
    // SQS refuses empty attribute values.
    if (letter.drainId !== '') attributes['drain.id'] = { DataType: 'String', StringValue: letter.drainId };
    const body = toDeadLetterBody(letter, deps.now(), (text) => toSqsMessageBytes(text, attributes), config);
    if (body.valueOmitted || body.keyOmitted) {
      deps.log.warn('dead letter too large for the DLQ: sent without its payload', {
        drainId: letter.drainId,
        topic: letter.topic,
        partition: letter.partition,
        offset: letter.offset,
        valueBytes: body.valueBytes,
        keyBytes: body.keyBytes,
      });
    }
    const scope = `${letter.drainId}-${letter.topic}`;
    const entry = {
      Id: 'letter',
      MessageBody: JSON.stringify(body),
      MessageAttributes: attributes,
      ...(config.fifo
        ? {
            MessageGroupId: toSqsFifoId(scope, String(letter.partition)),
            MessageDeduplicationId: toSqsDeduplicationId(`${letter.drainId}/${letter.id}`),
          }
        : {}),
    };
    const signal = AbortSignal.timeout(remainingMs);
    let output: SendMessageBatchCommandOutput;
    try {
      const sqs = await deps.aws.sqs();
      output = await sqs.sendMessageBatch(
        { QueueUrl: config.queueUrl, Entries: [entry] },
        { abortSignal: signal },
      );
    } catch (error) {
      throw toAwsCallFailure('the DLQ (SQS SendMessageBatch)', error, signal.aborted);
    }
    if (output.Successful?.some((success) => success.Id === entry.Id)) return;
    const failure = output.Failed?.find((failed) => failed.Id === entry.Id);
    throw new UpstreamError(
      ERROR_CODES.SINK_FAILED,
      failure === undefined
        ? 'the DLQ returned no result for the dead letter'
        : `the DLQ refused the dead letter: ${failure.Code ?? 'unknown'}`,
      { retriable: true },
    );
  },
});

/** The letter's body, shrunk (value first, then key) until `measure` says it fits the queue. */
export const toDeadLetterBody = (
  letter: DeadLetter,
  nowMs: number,
  measure: (body: string) => number,
  config: Pick<DlqConfig, 'maxMessageBytes'>,
): DeadLetterBody => {
  const full: DeadLetterBody = {
    drainId: letter.drainId,
    id: letter.id,
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    key: toBase64(letter.key),
    value: toBase64(letter.value),
    keyBytes: letter.key?.length ?? null,
    valueBytes: letter.value?.length ?? null,
    attempts: letter.attempts,
    lastError: {
      code: letter.lastError.code,
      message: letter.lastError.message.slice(0, MAX_ERROR_MESSAGE_CHARS),
    },
    failedAt: new Date(nowMs).toISOString(),
  };
  const fits = (body: DeadLetterBody) => measure(JSON.stringify(body)) <= config.maxMessageBytes;
  if (fits(full)) return full;
  const withoutValue: DeadLetterBody =
    full.value === null ? full : { ...full, value: null, valueOmitted: true };
  if (fits(withoutValue)) return withoutValue;
  return { ...withoutValue, key: null, keyOmitted: true };
};
