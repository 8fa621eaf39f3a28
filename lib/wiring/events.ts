import { createLog } from '../core/log.js';
import type { EventsDeps } from '../ingest/events.js';
import { toProduceLimits } from '../ingest/plan.js';
import { createSourceDeps } from './ingest-source.js';
import { assertEventsConfigUsable, type EventsFunctionConfig } from './settings/events.js';

export interface EventsHandlerDeps extends EventsDeps {
  readonly deadlineMarginMs: number;
  readonly now: () => number;
}

/** Throws `ConfigError` (`ERR_CONFIG`) when `EVENTS_TOPIC` is unset. */
export const createEventsDeps = (config: EventsFunctionConfig): EventsHandlerDeps => {
  const topic = assertEventsConfigUsable(config.events);
  return {
    ...createSourceDeps(config, createLog(config.logLevel)),
    topic,
    key: config.events.key,
    limits: toProduceLimits(config.kafka),
    envelope: config.events.envelope,
    now: Date.now,
  };
};
