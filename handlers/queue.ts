import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLog } from '../lib/core/log.js';
import { lazyDeps } from '../lib/deps.js';
import { assertQueueConfigUsable, loadQueueConfig, type QueueFunctionConfig } from '../lib/ingest/config.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import { ingestQueueBatch, type QueueDeps } from '../lib/ingest/queue.js';
import { toBatchResponse } from '../lib/ingest/sqs.js';
import { carriesRecordHeaders } from '../lib/kafka-rest/flavors.js';
import { createIngestMetrics } from '../lib/metrics.js';
import { createKafkaRestProducerFromConfig } from '../lib/wiring/kafka-rest.js';

export interface QueueHandlerDeps extends QueueDeps {
  readonly deadlineMarginMs: number;
}

/** Throws `ConfigError` (`ERR_CONFIG`) when the queue function has no topic to send to. */
export const createQueueDeps = (config: QueueFunctionConfig): QueueHandlerDeps => {
  assertQueueConfigUsable(config.queue);
  const log = createLog(config.logLevel);
  const kafka = createKafkaRestProducerFromConfig(config, { log });
  return {
    kafka,
    log,
    metrics: createIngestMetrics({ log, kafkaStats: kafka.stats }),
    now: Date.now,
    queue: config.queue,
    limits: toProduceLimits(config.kafka),
    // Where the proxy keeps record headers, a message's X-Ray trace travels on as a W3C traceparent.
    recordHeaders: carriesRecordHeaders(config.kafka),
    deadlineMarginMs: config.deadlineMarginMs,
  };
};

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
