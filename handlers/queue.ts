import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ingestQueueBatch } from '../lib/ingest/queue.js';
import { toBatchResponse } from '../lib/ingest/sqs.js';
import { lazyDeps } from '../lib/wiring/lazy-deps.js';
import { createQueueDeps, type QueueHandlerDeps } from '../lib/wiring/queue.js';
import { loadQueueConfig } from '../lib/wiring/settings/queue.js';

// SQS retries only the listed ids when the event source mapping has ReportBatchItemFailures on.
export const makeHandler =
  (getDeps: () => QueueHandlerDeps) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const deps = getDeps();
    // The batch's lines carry the invocation's id; each message's own lines carry its message id.
    deps.log.startInvocation?.(context, context.awsRequestId);
    try {
      const deadlineMs = deps.now() + context.getRemainingTimeInMillis() - deps.deadlineMarginMs;
      return toBatchResponse((await ingestQueueBatch(deps, event, deadlineMs)).outcomes);
    } finally {
      deps.metrics?.flush();
    }
  };

export const handler = makeHandler(lazyDeps(loadQueueConfig, createQueueDeps));
