import type { Context } from 'aws-lambda';
import { type AnyEventBridgeEvent, ingestEvent } from '../lib/ingest/events.js';
import { createEventsDeps, type EventsHandlerDeps } from '../lib/wiring/events.js';
import { lazyDeps } from '../lib/wiring/lazy-deps.js';
import { loadEventsConfig } from '../lib/wiring/settings/events.js';

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
