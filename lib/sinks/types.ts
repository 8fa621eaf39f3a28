import type { AwsClients } from '../aws/sdk-clients.js';
import type { AppError } from '../core/errors.js';
import type { Log } from '../core/log.js';

/** One Kafka record on its way out of the bridge, with the coordinates that make it unique. */
export interface SinkRecord {
  /**
   * `toRecordId(...)` of `record-id.ts`: unique across stages, clusters and re-created topics. Every sink
   * hands it to the receiver, so duplicates can be dropped without dropping real records.
   */
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The record's Kafka headers, in order, where the proxy hands them out (v2 on Strimzi); absent: none. */
  readonly headers?: readonly { readonly name: string; readonly value: Buffer | null }[];
}

/**
 * What happened to one record in one `deliver` call. `permanent` means no later attempt can succeed (the
 * sink rejected the record itself): the drain sends it to the DLQ at once instead of retrying.
 * `retryAfterMs` is the sink's own hint (`Retry-After`). `attempted: false` marks a record that was never
 * sent (an earlier record of an ordered sink failed, or the deadline came first), so the drain need not
 * count it as an attempt.
 */
export type DeliveryOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly permanent: boolean;
      readonly error: AppError;
      readonly retryAfterMs?: number;
      readonly attempted?: false;
    };

/**
 * One attempt per record, no retries inside (the drain loop owns retries, attempts and the DLQ decision);
 * outcomes in input order, same length. An ordered sink stops at the first failure and reports the rest as
 * failed with `permanent:false` (not attempted). `deliver` splits the input into as many requests as the
 * sink's limits need. It never throws for a delivery problem: every problem is an outcome.
 */
export interface Sink {
  deliver(records: readonly SinkRecord[], options: { deadlineMs: number }): Promise<DeliveryOutcome[]>;
  /** The most records the drain should hand to one `deliver` call. */
  readonly maxBatchRecords: number;
  /**
   * True: the sink keeps the input order and stops at the first failure, so its outcomes are a delivered
   * prefix (HTTP single and batch; SQS FIFO, where a call also carries at most one record per message
   * group). False: the target keeps no order anyway (SQS standard, EventBridge); outcomes are
   * independent, and a failed record is resent after later ones.
   */
  readonly ordered?: boolean;
  /**
   * True: each record is a request of its own, sent one after the other (HTTP `single`). Under a rate
   * limit the drain then hands it one record per call, so each request starts at its own admission rather
   * than behind the requests before it in the call.
   */
  readonly requestPerRecord?: boolean;
  /** Releases connections (HTTP pool). Lambda never needs it; tests and the local stack do. */
  close?(): Promise<void>;
}

/**
 * A record given up on, as the sink got it but for its headers: the drain moves past it only once this is
 * durably in the DLQ.
 */
export interface DeadLetter extends Omit<SinkRecord, 'headers'> {
  readonly drainId: string;
  readonly attempts: number;
  readonly lastError: { code: string; message: string };
}

export interface DeadLetterQueue {
  /** Throws (`ERR_SINK_FAILED`, `ERR_DEADLINE`) on failure; the drain then does not move the checkpoint. */
  send(letter: DeadLetter, options: { deadlineMs: number }): Promise<void>;
}

/** What a sink needs from the secrets cache of `lib/secrets/cache.ts` (structural, so any cache fits). */
export interface SecretReader {
  get(id: string): Promise<string>;
}

export interface SinkDeps {
  /** SDK clients, created on first use; one instance shared by every sink and the DLQ of a function. */
  readonly aws: AwsClients;
  /** Required when an HTTP sink signs its requests (`signingSecretId`). */
  readonly secrets?: SecretReader;
  readonly log: Log;
  /** Epoch ms; the same clock as the `deadlineMs` the drain passes in. */
  readonly now: () => number;
}
