import { createLog } from '../core/log.js';
import { assertEventsConfigUsable, type EventsFunctionConfig } from '../ingest/config.js';
import type { EventsDeps } from '../ingest/events.js';
import { createIngestMetrics } from '../ingest/metrics.js';
import { toProduceLimits } from '../ingest/plan.js';
import { carriesRecordHeaders } from '../kafka-rest/flavors.js';
import { createKafkaRestProducerFromConfig } from './kafka-rest.js';

export interface EventsHandlerDeps extends EventsDeps {
  readonly deadlineMarginMs: number;
  readonly now: () => number;
}

/** Throws `ConfigError` (`ERR_CONFIG`) when `EVENTS_TOPIC` is unset. */
export const createEventsDeps = (config: EventsFunctionConfig): EventsHandlerDeps => {
  const topic = assertEventsConfigUsable(config.events);
  const log = createLog(config.logLevel);
  const kafka = createKafkaRestProducerFromConfig(config, { log });
  return {
    kafka,
    log,
    metrics: createIngestMetrics({ log, kafkaStats: kafka.stats }),
    topic,
    key: config.events.key,
    limits: toProduceLimits(config.kafka),
    recordHeaders: carriesRecordHeaders(config.kafka),
    envelope: config.events.envelope,
    deadlineMarginMs: config.deadlineMarginMs,
    now: Date.now,
  };
};
