import type { SQSEvent } from 'aws-lambda';
import type { QueueConfig } from './config.js';
import { type IngestDeps, logOutcomes, type ProduceItemsSummary, produceItems } from './produce.js';
import { parseSqsEvent } from './sqs.js';
import type { ProduceLimits } from './types.js';

export interface QueueDeps extends IngestDeps {
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
  const summary = await produceItems(deps, parseSqsEvent(event, deps.queue), {
    deadlineMs,
    limits: deps.limits,
    concurrency: deps.queue.concurrency,
  });
  logOutcomes(deps.log, summary, 'queue');
  return summary;
};
