import { createLog } from '../core/log.js';
import { assertQueueConfigUsable, type QueueFunctionConfig } from '../ingest/config.js';
import { createIngestMetrics } from '../ingest/metrics.js';
import { toProduceLimits } from '../ingest/plan.js';
import type { QueueDeps } from '../ingest/queue.js';
import { carriesRecordHeaders } from '../kafka-rest/flavors.js';
import { createKafkaRestProducerFromConfig } from './kafka-rest.js';

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
