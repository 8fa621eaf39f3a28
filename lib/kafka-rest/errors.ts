import { AppError, ERROR_CODES, isAppError, UpstreamError } from '../core/errors.js';

export interface OffsetOutOfRangeDetails {
  readonly topic: string;
  readonly partition: number;
  /** The offset asked for, when one was. */
  readonly offset?: number;
  readonly cause?: unknown;
}

/**
 * The requested offset is outside the partition's log: below its start (retention deleted it) or above its
 * end (the topic was re-created). v1 answers 500/50002 for both and does not say which side; use
 * `KafkaRest.logBounds` to find out. Code `ERR_OFFSET_OUT_OF_RANGE`, not retriable as is.
 */
export class OffsetOutOfRangeError extends AppError {
  override name = 'OffsetOutOfRangeError';
  readonly topic: string;
  readonly partition: number;
  readonly offset: number | undefined;

  constructor(message: string, details: OffsetOutOfRangeDetails) {
    super(
      ERROR_CODES.OFFSET_OUT_OF_RANGE,
      message,
      details.cause === undefined ? {} : { cause: details.cause },
    );
    this.topic = details.topic;
    this.partition = details.partition;
    this.offset = details.offset;
  }
}

/** Works across copies of the module, unlike `instanceof`. */
export const isOffsetOutOfRangeError = (value: unknown): value is OffsetOutOfRangeError =>
  isAppError(value) && value.name === 'OffsetOutOfRangeError';

/**
 * A 2xx answer larger than the client lets that answer be (a produce report for the records sent, a fetch
 * within its byte budget, metadata): `ERR_UPSTREAM_PROTOCOL`. Only its first `maxBytes` were read.
 */
export class AnswerTooLargeError extends UpstreamError {
  override name = 'AnswerTooLargeError';
  readonly maxBytes: number;

  constructor(message: string, details: { readonly status: number; readonly maxBytes: number }) {
    super(ERROR_CODES.UPSTREAM_PROTOCOL, message, { status: details.status });
    this.maxBytes = details.maxBytes;
  }
}

/** Works across copies of the module, unlike `instanceof`. */
export const isAnswerTooLargeError = (value: unknown): value is AnswerTooLargeError =>
  isAppError(value) && value.name === 'AnswerTooLargeError';
