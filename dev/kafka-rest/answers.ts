import type { Exchange } from './exchange.js';
import { send, sendError } from './exchange.js';
import type { BodyError } from './produce-request.js';

/** Kafka REST error codes this server sends (protocol doc §3). */
export const KAFKA_REST_ERROR_CODES = {
  UNAUTHORIZED: 40101,
  FORBIDDEN: 40301,
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  KAFKA_ERROR: 50002,
  KAFKA_RETRIABLE_ERROR: 50003,
  CONSUMER_INSTANCE_NOT_FOUND: 40403,
  PAYLOAD_ERROR: 42206,
} as const;

/** The message of an injected or chaos record error that names none. */
export const DEFAULT_RECORD_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  [KAFKA_REST_ERROR_CODES.KAFKA_ERROR]: 'Kafka error (simulated non-retriable failure)',
  [KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR]: 'This server is not the leader for that topic-partition.',
  [KAFKA_REST_ERROR_CODES.UNAUTHORIZED]: 'Authentication failed',
  [KAFKA_REST_ERROR_CODES.FORBIDDEN]: 'Not authorized to access topics',
};

export const notFound = (x: Exchange): void => sendError(x, 404, 404, 'HTTP 404 Not Found');
export const topicNotFound = (x: Exchange): void =>
  sendError(x, 404, KAFKA_REST_ERROR_CODES.TOPIC_NOT_FOUND, 'Topic not found.');
export const partitionNotFound = (x: Exchange): void =>
  sendError(x, 404, KAFKA_REST_ERROR_CODES.PARTITION_NOT_FOUND, 'Partition not found.');
export const internalError = (x: Exchange): void => sendError(x, 500, 500, 'Internal Server Error');
export const unsupportedMediaType = (x: Exchange): void =>
  sendError(x, 415, 415, 'HTTP 415 Unsupported Media Type');
/** Jersey's 406 carries no entity and no Content-Type. */
export const notAcceptable = (x: Exchange): void => send(x, 406, undefined, undefined);

export const sendBodyError = (x: Exchange, error: BodyError): void => {
  // rest-utils of the v1 era answered Jackson parse failures in plain text, not in the envelope.
  if (error.kind === 'text') send(x, 400, 'text/plain', error.text);
  else sendError(x, error.status, error.errorCode, error.message);
};
