import type { Context } from 'aws-lambda';
import { createLog } from '../lib/core/log.js';
import { lazyDeps } from '../lib/deps.js';
import {
  assertEventsConfigUsable,
  type EventsFunctionConfig,
  loadEventsConfig,
} from '../lib/ingest/config.js';
import { type AnyEventBridgeEvent, type EventsDeps, ingestEvent } from '../lib/ingest/events.js';
import { toProduceLimits } from '../lib/ingest/plan.js';
import { carriesRecordHeaders } from '../lib/kafka-rest/flavors.js';
import { createIngestMetrics } from '../lib/metrics.js';
import { createKafkaRestProducerFromConfig } from '../lib/wiring/kafka-rest.js';

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

// A throw is the failure signal for an asynchronous invocation: Lambda retries the event, then hands it
// to the function's on-failure destination. Returning would acknowledge an event that was never produced.
export const makeHandler =
  (getDeps: () => EventsHandlerDeps) =>
  async (
    event: AnyEventBridgeEvent,
    context: Context,
  ): Promise<{ topic: string; partition: number; offset: number }> => {
    const deps = getDeps();
    // The event's id survives Lambda's retries and the on-failure destination: one id for every attempt.
    deps.log.startInvocation?.(context, event?.id ?? context.awsRequestId);
    try {
      const deadlineMs = deps.now() + context.getRemainingTimeInMillis() - deps.deadlineMarginMs;
      const { topic, partition, offset } = await ingestEvent(deps, event, deadlineMs);
      return { topic, partition, offset };
    } finally {
      deps.metrics?.flush();
    }
  };

export const handler = makeHandler(lazyDeps(loadEventsConfig, createEventsDeps));
