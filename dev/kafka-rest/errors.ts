/** Codes of the errors the local server's own API throws at its caller (tests, CLI); never sent over HTTP. */
export const DEV_KAFKA_REST_ERROR_CODES = {
  INVALID_ARG: 'ERR_INVALID_ARG',
  UNKNOWN_TOPIC: 'ERR_UNKNOWN_TOPIC',
  UNKNOWN_PARTITION: 'ERR_UNKNOWN_PARTITION',
  TOPIC_EXISTS: 'ERR_TOPIC_EXISTS',
} as const;

export type DevKafkaRestErrorCode =
  (typeof DEV_KAFKA_REST_ERROR_CODES)[keyof typeof DEV_KAFKA_REST_ERROR_CODES];

/**
 * Misuse of the local Kafka REST server's programmatic API (bad options, unknown topic in `append`, ...).
 * Kept apart from the bridge's `AppError` family: this is dev tooling, not something the bridge handles.
 */
export class DevKafkaRestError extends Error {
  override name = 'DevKafkaRestError';
  readonly code: DevKafkaRestErrorCode;

  constructor(code: DevKafkaRestErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
