import { ERROR_CODES, UpstreamError } from '../core/errors.js';

/** What an error needs of an answer. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * The errors Kafka REST answers turn into, worded once for every call. Each carries a snippet of the body
 * (or of the record's message) cut by `snippet`, which redacts the credential.
 */
export interface AnswerErrors {
  /** A non-2xx answer to `what`. */
  status(
    reply: Answer,
    kafkaErrorCode: number | null,
    what: string,
    retriable: boolean,
    retryAfterMs?: number,
  ): UpstreamError;
  /** The credential refused again after it was read anew. */
  auth(reply: Answer, kafkaErrorCode: number | null, what: string): UpstreamError;
  /** A 2xx whose body is not `expected`. */
  protocol(reply: Answer, what: string, expected: string): UpstreamError;
  /** A produce request refused whole (400, 422): its records are rejected. */
  requestRejected(reply: Answer, kafkaErrorCode: number | null, what: string): UpstreamError;
  /**
   * One record's failure in a produce answer: `final` (the server defines the code as final), `not-final`
   * (not resent, yet it may succeed later) or `retried` (a retriable code, until the retries ran out).
   */
  record(
    kind: 'final' | 'not-final' | 'retried',
    topic: string,
    code: unknown,
    message: unknown,
    status: number,
  ): UpstreamError;
}

export const createAnswerErrors = (snippet: (text: string) => string): AnswerErrors => ({
  status: (reply, kafkaErrorCode, what, retriable, retryAfterMs) =>
    new UpstreamError(
      ERROR_CODES.UPSTREAM_STATUS,
      `Kafka REST proxy answered ${reply.status}${kafkaErrorCode === null ? '' : ` (error_code ${kafkaErrorCode})`} to ${what}`,
      {
        status: reply.status,
        kafkaErrorCode,
        bodySnippet: snippet(reply.body),
        retriable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    ),
  auth: (reply, kafkaErrorCode, what) =>
    new UpstreamError(
      ERROR_CODES.UPSTREAM_AUTH,
      `Kafka REST proxy refused the credential (${reply.status}) for ${what}, also after reading it again`,
      { status: reply.status, kafkaErrorCode, bodySnippet: snippet(reply.body) },
    ),
  protocol: (reply, what, expected) =>
    new UpstreamError(
      ERROR_CODES.UPSTREAM_PROTOCOL,
      `Kafka REST proxy answered ${reply.status} to ${what} with a body that is not ${expected}`,
      { status: reply.status, bodySnippet: snippet(reply.body) },
    ),
  requestRejected: (reply, code, what) =>
    new UpstreamError(
      ERROR_CODES.RECORD_REJECTED,
      `Kafka REST proxy rejected the request to ${what} (${reply.status}${code === null ? '' : `, error_code ${code}`})`,
      { status: reply.status, kafkaErrorCode: code, bodySnippet: snippet(reply.body), retriable: false },
    ),
  record: (kind, topic, code, message, status) =>
    new UpstreamError(
      kind === 'final' ? ERROR_CODES.RECORD_REJECTED : ERROR_CODES.UPSTREAM_STATUS,
      RECORD_MESSAGES[kind](topic, String(code)),
      {
        status,
        kafkaErrorCode: typeof code === 'number' ? code : null,
        bodySnippet: typeof message === 'string' ? snippet(message) : '',
        retriable: kind !== 'final',
      },
    ),
});

const RECORD_MESSAGES = {
  final: (topic: string, code: string) =>
    `Kafka REST proxy rejected the record for topic ${topic} (error_code ${code})`,
  'not-final': (topic: string, code: string) =>
    `Kafka REST proxy failed the record for topic ${topic} with error_code ${code}, which the server does not define as final`,
  retried: (topic: string, code: string) =>
    `Kafka REST proxy failed the record for topic ${topic} with retriable error_code ${code}, until retries ran out`,
} as const;
