import { randomBytes } from 'node:crypto';
import { sendByDeadline } from '../../aws/dynamodb-errors.js';
import { AwsServiceError } from '../../aws/errors.js';
import type { AwsJsonClient } from '../../aws/json-client.js';
import type { S3Objects } from '../../aws/s3-objects.js';
import { AppError, ERROR_CODES } from '../../core/errors.js';
import { describeError, type Log } from '../../core/log.js';
import type { ProduceRecord } from '../../kafka-rest/types.js';
import {
  encodeSpoolMessage,
  type OrderMarker,
  type SpoolObjectRef,
  sha256Hex,
  spoolOrderOf,
} from './message.js';
import type { OrderMarkers } from './order-markers.js';

/** What the caller is told about a spooled record, and what the idempotency table keeps for its repeats. */
export interface SpoolReceipt {
  readonly receipt: string;
  readonly topic: string;
}

export interface SpoolEntry {
  readonly route: string;
  readonly topic: string;
  readonly record: ProduceRecord;
  readonly requestId: string;
}

/** The webhook's side of the spool. */
export interface Spool {
  /**
   * Whether the record's key has spooled records not yet produced: then it must be spooled behind them.
   * Throws store errors (the caller spools when it cannot tell: spooling never breaks the order).
   */
  holdsKeyOf(entry: SpoolEntry, deadlineMs: number): Promise<boolean>;
  /**
   * Keeps the record durably (the body in the bucket first when the message would be too large, then the
   * key's order marker, then the FIFO message) and answers its receipt. Throws `ERR_SPOOL_FAILED` when any
   * step fails or the deadline comes first, after undoing what it can: then nothing is kept, or what is
   * kept is never produced without its message.
   */
  write(entry: SpoolEntry, deadlineMs: number): Promise<SpoolReceipt>;
}

/** The keys table and the bucket, as both the webhook and the backfill use them. */
export interface SpoolClients {
  readonly markers: OrderMarkers;
  /** Undefined without `SPOOL_BUCKET`: a body too large for one message then gets the 503. */
  readonly objects: { readonly s3: S3Objects; readonly bucket: string } | undefined;
}

export interface SpoolDeps extends SpoolClients {
  readonly sqs: AwsJsonClient;
  readonly queueUrl: string;
  readonly maxMessageBytes: number;
  readonly retentionSeconds: number;
  readonly log: Log;
  readonly now: () => number;
}

/**
 * SQS counts the body and every message attribute; the spool sends none, but leaves room for the JSON's
 * own growth being misjudged by a few bytes rather than hit the limit exactly.
 */
const MESSAGE_SLACK_BYTES = 1_024;

/** `spl_` + 128 random bits, base64url: unguessable, and within SQS's deduplication id alphabet. */
const newReceipt = (): string => `spl_${randomBytes(16).toString('base64url')}`;

const spoolFailed = (why: string, cause?: unknown): AppError =>
  new AppError(ERROR_CODES.SPOOL_FAILED, `the record could not be spooled: ${why}`, { cause });

export const createSpool = (deps: SpoolDeps): Spool => {
  const { log, now } = deps;
  const bounded = <T>(what: string, deadlineMs: number, send: (signal: AbortSignal) => Promise<T>) =>
    sendByDeadline(what, { deadlineMs, now }, send);

  /**
   * Best effort: a marker left behind holds its key in the spool until it expires. An object of an unsent
   * message is left to the bucket's lifecycle rule: the webhook may put objects, never delete them.
   */
  const releaseMarker = async (marker: OrderMarker): Promise<void> => {
    await deps.markers.release(marker, now() + 2_000).catch((error: unknown) => {
      log.warn('spool: order marker of an unsent message not released (it expires)', describeError(error));
    });
  };

  return {
    holdsKeyOf: async (entry, deadlineMs) => {
      const { orderKey } = spoolOrderOf(entry.route, entry.record, '');
      return orderKey !== undefined && (await deps.markers.held(orderKey, deadlineMs));
    },
    write: async (entry, deadlineMs) => {
      const receipt = newReceipt();
      const { group, orderKey } = spoolOrderOf(entry.route, entry.record, receipt);
      const spooledAtMs = now();
      const base = {
        receipt,
        route: entry.route,
        topic: entry.topic,
        record: entry.record,
        requestId: entry.requestId,
        spooledAt: new Date(spooledAtMs).toISOString(),
      };
      // The marker's size is fixed, so measuring with a stand-in of its length is exact enough.
      const probeMarker =
        orderKey === undefined ? {} : { marker: { k: orderKey, m: `${'0'.repeat(12)}#${receipt}` } };
      let objectRef: SpoolObjectRef | undefined;
      if (
        Buffer.byteLength(encodeSpoolMessage({ ...base, ...probeMarker })) + MESSAGE_SLACK_BYTES >
        deps.maxMessageBytes
      ) {
        if (deps.objects === undefined) {
          throw spoolFailed(
            `its message would exceed ${deps.maxMessageBytes} bytes and no SPOOL_BUCKET is set`,
          );
        }
        const value = entry.record.value ?? new Uint8Array(0);
        objectRef = {
          key: `spool/${entry.route}/${receipt}`,
          bytes: value.byteLength,
          sha256: sha256Hex(value),
        };
        const { s3 } = deps.objects;
        const key = objectRef.key;
        try {
          await bounded('writing a spool object', deadlineMs, (abortSignal) =>
            s3.put(key, value, { abortSignal }),
          );
        } catch (error) {
          throw spoolFailed('the spool bucket refused the body', error);
        }
      }
      let marker: OrderMarker | undefined;
      try {
        if (orderKey !== undefined) {
          marker = await deps.markers.hold(
            orderKey,
            receipt,
            spooledAtMs + deps.retentionSeconds * 1000,
            deadlineMs,
          );
        }
        const body = encodeSpoolMessage({
          ...base,
          ...(objectRef === undefined ? {} : { valueObject: objectRef }),
          ...(marker === undefined ? {} : { marker }),
        });
        if (Buffer.byteLength(body) > deps.maxMessageBytes) {
          throw spoolFailed(`its message is ${Buffer.byteLength(body)} bytes, over ${deps.maxMessageBytes}`);
        }
        await bounded('sending to the spool queue', deadlineMs, (abortSignal) =>
          deps.sqs.call(
            'SendMessage',
            {
              QueueUrl: deps.queueUrl,
              MessageBody: body,
              MessageGroupId: group,
              // A retried send whose first answer was lost is dropped by SQS, not backfilled twice.
              MessageDeduplicationId: receipt,
            },
            { abortSignal },
          ),
        );
      } catch (error) {
        // Only a refusal says the message is not in the queue. After a lost answer it may be, and then its
        // marker must keep holding the key until the backfill produces it (or it expires).
        if (error instanceof AwsServiceError && marker !== undefined) await releaseMarker(marker);
        throw error instanceof AppError && error.code === ERROR_CODES.SPOOL_FAILED
          ? error
          : spoolFailed('the spool queue or keys table did not take it', error);
      }
      return { receipt, topic: entry.topic };
    },
  };
};
