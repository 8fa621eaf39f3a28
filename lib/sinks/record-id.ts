import { createHash } from 'node:crypto';
import { AppError, ERROR_CODES } from '../core/errors.js';

/**
 * What makes a Kafka record unique beyond one cluster and one life of its topic: `namespace` names the
 * stage and cluster (a drain setting), `epoch` the topic's incarnation (it changes when the topic is
 * re-created and its offsets start again at 0).
 */
export interface RecordIdParts {
  readonly namespace: string;
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly offset: number;
}

export const RECORD_NAMESPACE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `<namespace>/<topic>/<partition>/<epoch>/<offset>`: the record's identity downstream (HTTP
 * `Idempotency-Key`, the SQS `kafka-record-id` attribute, the EventBridge event's `Resources`, the DLQ
 * letter). Neither a namespace nor a topic name can hold a `/`, so the id splits back into its parts and
 * two different records never share one. Throws `ERR_CONFIG` for a namespace outside
 * {@link RECORD_NAMESPACE_PATTERN}, and a plain `Error` for parts no Kafka record can have.
 */
export const toRecordId = ({ namespace, topic, partition, epoch, offset }: RecordIdParts): string => {
  if (!RECORD_NAMESPACE_PATTERN.test(namespace)) {
    throw new AppError(
      ERROR_CODES.CONFIG,
      'a record id namespace must be 1 to 64 characters of letters, digits, ".", "_" or "-"',
    );
  }
  if (topic === '' || topic.includes('/')) throw new Error('a record id needs a topic name without "/"');
  for (const [name, value] of [
    ['partition', partition],
    ['epoch', epoch],
    ['offset', offset],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`a record id needs a non-negative integer ${name}`);
    }
  }
  return `${namespace}/${topic}/${partition}/${epoch}/${offset}`;
};

const SQS_ID_MAX = 128;
const SQS_ID_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * An SQS `MessageDeduplicationId` for a record id: the id itself when SQS accepts it (at most 128
 * characters, alphanumerics and punctuation), else `sha256:<base64url of the id's SHA-256>` (50
 * characters). The two forms never meet: a record id has four `/` and base64url none. Deterministic, so a
 * resend carries the same id and SQS drops the copy within its 5-minute window.
 */
export const toSqsDeduplicationId = (recordId: string): string =>
  recordId.length <= SQS_ID_MAX && SQS_ID_CHARACTERS.test(recordId)
    ? recordId
    : `sha256:${createHash('sha256').update(recordId).digest('base64url')}`;

/**
 * A {@link toRecordId} id without its offset: records that share it are offsets of one partition in one
 * life of its topic.
 */
export const toRecordStream = (recordId: string): string => recordId.slice(0, recordId.lastIndexOf('/'));

/**
 * `<namespace>/<topic>/<partition>/<epoch>/<first offset>-<last offset>`: the identity of a batch of
 * consecutive records of one stream (see {@link toRecordStream}), e.g. an HTTP batch's `Idempotency-Key`.
 * Throws when the two ids belong to different streams: such records never share a batch.
 */
export const toRecordRangeId = (firstId: string, lastId: string): string => {
  const stream = toRecordStream(firstId);
  if (toRecordStream(lastId) !== stream) throw new Error('a record range must lie within one stream');
  return `${firstId}-${lastId.slice(stream.length + 1)}`;
};
