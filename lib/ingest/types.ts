import type { AppError } from '../core/errors.js';
import type { ProduceRecord } from '../kafka-rest/types.js';

/** A message that became a record for a topic; `group` is set only where order must hold (FIFO). */
export interface IngestItem {
  /** The source's id for the message (SQS `messageId`), reported back when the message fails. */
  readonly id: string;
  /** FIFO message group: its records are produced one per request, each once the previous one is acknowledged. */
  readonly group: string | undefined;
  readonly topic: string;
  readonly record: ProduceRecord;
}

/** A message that can never become a record (bad encoding, topic not allowed): it fails for good. */
export interface RejectedItem {
  readonly id: string;
  readonly group: string | undefined;
  /** The topic it named or would have gone to, when known, for the log. */
  readonly topic: string | undefined;
  readonly error: AppError;
}

/** What parsing a source message gives: a record to send, or the reason it can never be one. */
export type ParsedItem = ({ readonly ok: true } & IngestItem) | ({ readonly ok: false } & RejectedItem);

/** Where one message ended up, in the order of the input. */
export type ItemOutcome = ItemAcknowledged | ItemFailed;

export interface ItemAcknowledged {
  readonly ok: true;
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface ItemFailed {
  readonly ok: false;
  readonly id: string;
  readonly topic: string | undefined;
  /** `error.retriable`: whether a redelivery of the message can succeed. */
  readonly error: AppError;
}

/** Produce request limits (design §4), from `config.kafka`. */
export interface ProduceLimits {
  /** Key plus value bytes of one record, before base64. */
  readonly maxRecordBytes: number;
  /** Bytes of one produce request body, after base64 and JSON. */
  readonly maxRequestBytes: number;
  readonly maxRequestRecords: number;
}
