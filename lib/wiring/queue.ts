import { createLog } from '../core/log.js';
import { toProduceLimits } from '../ingest/plan.js';
import type { QueueDeps } from '../ingest/queue.js';
import { createSourceDeps } from './ingest-source.js';
import { assertQueueConfigUsable, type QueueFunctionConfig } from './settings/queue.js';

export interface QueueHandlerDeps extends QueueDeps {
  readonly deadlineMarginMs: number;
}

/** Throws `ConfigError` (`ERR_CONFIG`) when the queue function has no topic to send to. */
export const createQueueDeps = (config: QueueFunctionConfig): QueueHandlerDeps => {
  assertQueueConfigUsable(config.queue);
  return {
    ...createSourceDeps(config, createLog(config.logLevel)),
    now: Date.now,
    queue: config.queue,
    limits: toProduceLimits(config.kafka),
  };
};
