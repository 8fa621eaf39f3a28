import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';

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
