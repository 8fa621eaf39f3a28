import { createHash } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { sendByDeadline } from '../../aws/dynamodb-errors.js';
import type { AwsJsonClient } from '../../aws/json-client.js';
import { type AppError, ERROR_CODES } from '../../core/errors.js';

/**
 * Failures a redelivery cannot mend: the message is not one the webhook wrote (or its object is not the
 * body it spooled), the proxy refused the record for good, or the function lacks the bucket it names.
 * Waiting for `spoolMaxReceiveCount` receives would hold the message's FIFO group, its key's later
 * records, behind it for hours; the spool function dead-letters such a message at once instead.
 */
const FOR_GOOD: ReadonlySet<string> = new Set([
  ERROR_CODES.PAYLOAD_INVALID,
  ERROR_CODES.RECORD_REJECTED,
  ERROR_CODES.CONFIG,
]);

/** `retriable` too: a message held back behind its group's failed one says `ERR_RECORD_REJECTED`, retriable. */
export const isForGood = (error: AppError): boolean => FOR_GOOD.has(error.code) && !error.retriable;

/** SQS caps a string attribute at the message size; a reason this long says all it can. */
const MAX_REASON_CHARS = 512;

export interface SpoolDeadLetters {
  /**
   * Sends `message` to the spool DLQ as it came (its body unchanged, so a redrive puts the very message
   * back in the spool), in its FIFO group, with why as attributes. Throws what SQS throws, or `ERR_DEADLINE`.
   */
  send(message: SQSRecord, error: AppError, deadlineMs: number): Promise<void>;
}

export const createSpoolDeadLetters = (deps: {
  readonly sqs: AwsJsonClient;
  readonly queueUrl: string;
  readonly now: () => number;
}): SpoolDeadLetters => ({
  send: async (message, error, deadlineMs) => {
    await sendByDeadline('sending to the spool DLQ', { deadlineMs, now: deps.now }, (abortSignal) =>
      deps.sqs.call(
        'SendMessage',
        {
          QueueUrl: deps.queueUrl,
          MessageBody: message.body,
          MessageGroupId: message.attributes.MessageGroupId ?? 'unordered',
          // The same message dead-lettered twice (a retry after a lost answer) is dropped by SQS.
          MessageDeduplicationId: createHash('sha256').update(message.messageId).digest('hex'),
          MessageAttributes: {
            'spool.error.code': { DataType: 'String', StringValue: error.code },
            'spool.error.message': {
              DataType: 'String',
              StringValue: error.message.slice(0, MAX_REASON_CHARS),
            },
          },
        },
        { abortSignal },
      ),
    );
  },
});
