import type { Context } from 'aws-lambda';
import { parseDrainEvent } from '../lib/drain/event.js';
import { coordinateDrains } from '../lib/drain/fan-out.js';
import { type DrainRunReport, runDrains, toRunError } from '../lib/drain/run-drains.js';
import { createDrainDeps, type DrainHandlerDeps } from '../lib/wiring/drain.js';
import { lazyDeps } from '../lib/wiring/lazy-deps.js';
import { loadDrainConfig } from '../lib/wiring/settings/drain.js';

/**
 * The scheduled drain: every configured drain, or the one drain (and partitions) the event names; with
 * fan-out on, the schedule's event coordinates (`coordinateDrains`) and a group's event drains that group.
 * Throws when any partition failed, after every other partition drained and committed, so the
 * schedule's retries and alarms see it; throws `ERR_PAYLOAD_INVALID` for an event naming an unknown drain.
 */
export const makeHandler =
  (getDeps: () => DrainHandlerDeps) =>
  async (
    event: unknown,
    context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
  ): Promise<DrainRunReport> => {
    const deps = getDeps();
    const invocationEndMs = deps.now() + context.getRemainingTimeInMillis();
    const deadlineMs = invocationEndMs - deps.deadlineMarginMs;
    // Half the margin for what follows the work (consumer instance deletes, lag lookups, lease releases),
    // half for metrics and the answer.
    const cleanupDeadlineMs = invocationEndMs - deps.deadlineMarginMs / 2;
    // The lease owner names the run: every line of it, partition lines included, carries it.
    const owner = deps.newOwnerId(context.awsRequestId);
    deps.log.startInvocation?.(context, owner);
    const request = parseDrainEvent(event, deps.drains);
    const run = { owner, deadlineMs, cleanupDeadlineMs };
    // Only the schedule's own event coordinates: a group's event (`drainId`) is a worker's.
    const report =
      deps.fanOut !== undefined && request.drainId === undefined
        ? await coordinateDrains({ ...deps, fanOut: deps.fanOut }, run)
        : await runDrains(deps, request, run);
    deps.metrics.publish(report);
    const error = toRunError(report);
    if (error !== undefined) throw error;
    return report;
  };

export const handler = makeHandler(lazyDeps(loadDrainConfig, createDrainDeps));
