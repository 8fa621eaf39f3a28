import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { CORRELATION_ID, type Log, toPayloadPreview } from '../core/log.js';
import type { QueueConfig } from './config.js';
import { logOutcomes, type ProduceItemsSummary, produceItemsTimed, type SourceDeps } from './produce.js';
import { parseSqsEvent, traceparentOf } from './sqs.js';
import type { ParsedItem, ProduceLimits } from './types.js';

export interface QueueDeps extends SourceDeps {
  readonly queue: QueueConfig;
  readonly limits: ProduceLimits;
}

/**
 * One SQS batch → records; answers one outcome per message, in batch order (map it with
 * `toBatchResponse`). Never throws for a message's failure: a throw makes SQS redeliver the whole batch,
 * duplicating every record already acknowledged.
 */
export const ingestQueueBatch = async (
  deps: QueueDeps,
  event: SQSEvent,
  deadlineMs: number,
): Promise<ProduceItemsSummary> => {
  const parsed = parseSqsEvent(event, { ...deps.queue, recordHeaders: deps.recordHeaders });
  const { metrics } = deps;
  const summary = await produceItemsTimed(deps, parsed, {
    deadlineMs,
    limits: deps.limits,
    concurrency: deps.queue.concurrency,
  });
  logOutcomes(deps.log, summary, 'queue');
  logMessages(deps.log, summary, parsed, event.Records);
  if (metrics !== undefined) {
    let failed = 0;
    for (const outcome of summary.outcomes) {
      metrics.record(outcome.topic, outcome.ok);
      if (!outcome.ok) failed += 1;
    }
    // Every failed outcome is one entry of `batchItemFailures` (see `toBatchResponse`).
    metrics.sqsMessagesFailed(failed);
  }
  return summary;
};

/**
 * One line per message whose `correlation_id` is its SQS message id, so that a message can be followed
 * from the queue to its offset (or to why it failed); the batch lines above carry the invocation's.
 * Acknowledged messages at debug (payload previews only when debug was configured), failed ones at warn:
 * they come back, or go to the queue's DLQ. A message sent with X-Ray tracing names its trace (`traceId`,
 * the W3C form) whether or not the proxy can carry it on.
 */
const logMessages = (
  log: Log,
  summary: ProduceItemsSummary,
  parsed: readonly ParsedItem[],
  messages: readonly SQSRecord[],
): void => {
  summary.outcomes.forEach((outcome, index) => {
    const message = messages[index];
    const traceparent = message === undefined ? undefined : traceparentOf(message);
    const trace = traceparent === undefined ? {} : { traceId: traceparent.slice(3, 35) };
    if (outcome.ok) {
      const item = parsed[index];
      log.debug('queue message produced', {
        [CORRELATION_ID]: outcome.id,
        topic: outcome.topic,
        partition: outcome.partition,
        offset: outcome.offset,
        ...trace,
        ...(log.logsPayloads === true && item?.ok === true
          ? { key: toPayloadPreview(item.record.key), value: toPayloadPreview(item.record.value) }
          : {}),
      });
    } else {
      log.warn('queue message not acknowledged', {
        [CORRELATION_ID]: outcome.id,
        topic: outcome.topic,
        code: outcome.error.code,
        retriable: outcome.error.retriable,
        ...trace,
      });
    }
  });
};
