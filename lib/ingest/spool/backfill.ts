import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sendByDeadline } from '../../aws/dynamodb-errors.js';
import { AwsServiceError } from '../../aws/errors.js';
import { AppError, ERROR_CODES, isAppError } from '../../core/errors.js';
import { CORRELATION_ID, describeError } from '../../core/log.js';
import { logOutcomes, type ProduceItemsSummary, produceItemsTimed, type SourceDeps } from '../produce.js';
import { isFifo } from '../sqs.js';
import type { ItemOutcome, ParsedItem, ProduceLimits } from '../types.js';
import { isForGood, type SpoolDeadLetters } from './dead-letters.js';
import { decodeSpoolMessage, type SpoolMessage, sha256Hex, toSpooledRecord } from './message.js';
import type { SpoolClients } from './spool.js';

export interface BackfillDeps extends SourceDeps, SpoolClients {
  /** The spool DLQ, for messages that fail for good (`isForGood`); absent, they wait out their receives. */
  readonly deadLetters?: SpoolDeadLetters | undefined;
  readonly limits: ProduceLimits;
  /** Produce requests in flight at once (groups run side by side; a group's records one after the other). */
  readonly concurrency: number;
}

/**
 * One batch of the spool queue → the records the webhook spooled, produced exactly as it would have
 * produced them, one outcome per message in batch order (map it with `toBatchResponse`). Never throws for
 * a message's failure.
 *
 * - A message's FIFO group is its route and key: `produceItems` produces a group's records one after the
 *   other and, once one fails, fails the rest of the group unsent, so SQS redelivers them in order.
 * - A body kept in the bucket is read first and checked against the size and digest the webhook wrote; a
 *   read that fails fails the message (and its group's later ones), to be redelivered.
 * - Once a record is acknowledged, its order marker is released (its key's new requests may go straight to
 *   Kafka again) and its object deleted. A missing object therefore means its record was produced by an
 *   earlier delivery of the message whose deletion was lost: the message is acknowledged without producing
 *   it again. (The bucket's lifecycle rule outlives the spool queue's and its DLQ's retention, so an
 *   object is never missing for any other reason.)
 * - A message that fails for good (`isForGood`: unreadable, its object altered, its record refused for
 *   good) is moved to the spool DLQ at once, rather than holding its group for every receive it has left;
 *   what may succeed later (the proxy down) comes back until it does, or its receives end in the DLQ.
 */
export interface BackfillResult {
  /** The messages produced or tried now, for logs and metrics. */
  readonly summary: ProduceItemsSummary;
  /** Exactly the messages to be delivered again: neither produced, nor produced earlier, nor dead-lettered. */
  readonly response: SQSBatchResponse;
}

export const backfillSpoolBatch = async (
  deps: BackfillDeps,
  event: SQSEvent,
  deadlineMs: number,
): Promise<BackfillResult> => {
  const decoded = event.Records.map((message) => decode(message));
  const values = await readObjects(deps, decoded, deadlineMs);
  const parsed: ParsedItem[] = [];
  const positions: number[] = [];
  decoded.forEach((item, index) => {
    const value = values[index];
    if (!item.ok) {
      positions.push(index);
      parsed.push(item);
      return;
    }
    if (value === ALREADY_PRODUCED) {
      deps.log.info('spool message already produced (its object is gone): acknowledged', {
        [CORRELATION_ID]: item.id,
        receipt: item.message.receipt,
      });
      return;
    }
    positions.push(index);
    if (value instanceof AppError) {
      parsed.push({ ok: false, id: item.id, group: item.group, topic: item.message.topic, error: value });
    } else {
      parsed.push({
        ok: true,
        id: item.id,
        group: item.group,
        topic: item.message.topic,
        record: toSpooledRecord(item.message, value),
      });
    }
  });
  const { metrics } = deps;
  const summary = await produceItemsTimed(deps, parsed, {
    deadlineMs,
    limits: deps.limits,
    concurrency: deps.concurrency,
  });
  const tried = summary.outcomes.map((outcome, position) => ({ outcome, index: positions[position] ?? -1 }));
  await settleProduced(deps, decoded, tried, deadlineMs);
  const deadLettered = await deadLetterForGood(deps, event.Records, tried, deadlineMs);
  logOutcomes(deps.log, summary, 'spool');
  const failedIds = summary.outcomes
    .filter((outcome) => !outcome.ok && !deadLettered.has(outcome.id))
    .map((outcome) => outcome.id);
  if (metrics !== undefined) {
    for (const outcome of summary.outcomes) metrics.record(outcome.topic, outcome.ok);
    metrics.sqsMessagesFailed(failedIds.length);
  }
  return {
    summary,
    response: { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) },
  };
};

/**
 * Moves the messages that failed for good to the spool DLQ, at once; the ids of those it moved. One that
 * cannot be moved stays failed: SQS delivers it again, and its receives still end in the same DLQ.
 */
const deadLetterForGood = async (
  deps: BackfillDeps,
  messages: readonly SQSRecord[],
  tried: readonly { readonly outcome: ItemOutcome; readonly index: number }[],
  deadlineMs: number,
): Promise<Set<string>> => {
  const moved = new Set<string>();
  const { deadLetters } = deps;
  if (deadLetters === undefined) return moved;
  await Promise.all(
    tried.map(async ({ outcome, index }) => {
      const message = messages[index];
      if (outcome.ok || message === undefined || !isForGood(outcome.error)) return;
      try {
        await deadLetters.send(message, outcome.error, deadlineMs);
        moved.add(outcome.id);
        deps.log.error('spool message failed for good: moved to the spool DLQ', {
          [CORRELATION_ID]: outcome.id,
          code: outcome.error.code,
          reason: outcome.error.message,
        });
      } catch (error) {
        deps.log.warn('spool message failed for good, and the spool DLQ did not take it: it comes back', {
          [CORRELATION_ID]: outcome.id,
          error: describeError(error),
        });
      }
    }),
  );
  return moved;
};

type Decoded =
  | {
      readonly ok: true;
      readonly id: string;
      readonly group: string | undefined;
      readonly message: SpoolMessage;
    }
  | (ParsedItem & { readonly ok: false });

const decode = (message: SQSRecord): Decoded => {
  const group = isFifo(message) ? message.attributes.MessageGroupId : undefined;
  try {
    return { ok: true, id: message.messageId, group, message: decodeSpoolMessage(message.body) };
  } catch (error) {
    return {
      ok: false,
      id: message.messageId,
      group,
      topic: undefined,
      error: isAppError(error) ? error : new AppError(ERROR_CODES.PAYLOAD_INVALID, String(error)),
    };
  }
};

const ALREADY_PRODUCED = Symbol('already produced');
type ObjectValue = Buffer | AppError | typeof ALREADY_PRODUCED | undefined;

/** Objects read at once: a batch is at most 10 messages, each at most one object. */
const readObjects = async (
  deps: BackfillDeps,
  decoded: readonly Decoded[],
  deadlineMs: number,
): Promise<ObjectValue[]> =>
  Promise.all(
    decoded.map(async (item): Promise<ObjectValue> => {
      const ref = item.ok ? item.message.valueObject : undefined;
      if (ref === undefined) return undefined;
      const s3 = deps.objects?.s3;
      if (s3 === undefined) {
        return new AppError(
          ERROR_CODES.CONFIG,
          'a spooled body is in the bucket, but SPOOL_BUCKET is not set',
        );
      }
      try {
        const bytes = await sendByDeadline(
          'reading a spool object',
          { deadlineMs, now: deps.now },
          (abortSignal) => s3.get(ref.key, { abortSignal }),
        );
        if (bytes.byteLength !== ref.bytes || sha256Hex(bytes) !== ref.sha256) {
          return new AppError(
            ERROR_CODES.PAYLOAD_INVALID,
            `the spool object ${ref.key} is not the body that was spooled`,
          );
        }
        return bytes;
      } catch (error) {
        if (error instanceof AwsServiceError && error.name === 'NoSuchKey') return ALREADY_PRODUCED;
        return new AppError(ERROR_CODES.UPSTREAM_NETWORK, 'the spool object could not be read', {
          cause: error,
        });
      }
    }),
  );

/**
 * After the produce: each acknowledged record's marker released and object deleted. A failure here is
 * logged, not reported: the record is in Kafka, and a redelivery would only duplicate it. A marker left
 * behind holds its key in the spool until it expires; an object, until the lifecycle rule removes it.
 */
const settleProduced = async (
  deps: BackfillDeps,
  decoded: readonly Decoded[],
  tried: readonly { readonly outcome: ItemOutcome; readonly index: number }[],
  deadlineMs: number,
): Promise<void> => {
  await Promise.all(
    tried.map(async ({ outcome, index }) => {
      const item = decoded[index];
      if (item === undefined || !item.ok || !outcome.ok) return;
      const { marker, valueObject, receipt } = item.message;
      const s3 = deps.objects?.s3;
      await Promise.all([
        marker === undefined
          ? undefined
          : deps.markers.release(marker, deadlineMs).catch((error: unknown) => {
              deps.log.warn('spool: order marker not released (it holds the key until it expires)', {
                receipt,
                error: describeError(error),
              });
            }),
        valueObject === undefined || s3 === undefined
          ? undefined
          : sendByDeadline('deleting a spool object', { deadlineMs, now: deps.now }, (abortSignal) =>
              s3.delete(valueObject.key, { abortSignal }),
            ).catch((error: unknown) => {
              deps.log.warn('spool: object not deleted (the lifecycle rule will)', {
                receipt,
                error: describeError(error),
              });
            }),
      ]);
    }),
  );
};
