import type { SinkConfig } from './config.js';
import { createEventBridgeSink } from './eventbridge-sink.js';
import { createHttpSink } from './http-sink.js';
import { createSqsSink } from './sqs-sink.js';
import type { Sink, SinkDeps } from './types.js';

export type {
  DlqConfig,
  EventBridgeSinkConfig,
  HttpSinkConfig,
  SinkConfig,
  SqsSinkConfig,
} from './config.js';
export { parseDlqConfig, parseSinkConfig } from './config.js';
export type { DeadLetterBody } from './dead-letter-queue.js';
export { createDeadLetterQueue } from './dead-letter-queue.js';
export { createEventBridgeSink } from './eventbridge-sink.js';
export { createHttpSink, toSignatureHeaders } from './http-sink.js';
export type { RecordIdParts } from './record-id.js';
export {
  RECORD_NAMESPACE_PATTERN,
  toRecordId,
  toRecordRangeId,
  toRecordStream,
  toSqsDeduplicationId,
} from './record-id.js';
export { createSqsSink } from './sqs-sink.js';
export type {
  DeadLetter,
  DeadLetterQueue,
  DeliveryOutcome,
  SecretReader,
  Sink,
  SinkDeps,
  SinkRecord,
} from './types.js';

/**
 * The sink a drain's config names. Creating one makes no connection and loads no AWS SDK package; that
 * happens on the first `deliver`. Throws `ERR_CONFIG` for an HTTP sink that signs without `deps.secrets`.
 */
export const createSink = (config: SinkConfig, deps: SinkDeps): Sink => {
  switch (config.type) {
    case 'http':
      return createHttpSink(config, deps);
    case 'sqs':
      return createSqsSink(config, deps);
    case 'eventbridge':
      return createEventBridgeSink(config, deps);
  }
};
