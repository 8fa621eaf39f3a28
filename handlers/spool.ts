import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { backfillSpoolBatch } from '../lib/ingest/spool/backfill.js';
import { lazyDeps } from '../lib/wiring/lazy-deps.js';
import { loadSpoolConfig } from '../lib/wiring/settings/spool.js';
import { type BackfillHandlerDeps, createBackfillDeps } from '../lib/wiring/spool-backfill.js';

// The spool queue's event source mapping has ReportBatchItemFailures on: only the listed ids come back.
export const makeHandler =
  (getDeps: () => BackfillHandlerDeps) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const deps = getDeps();
    deps.log.startInvocation?.(context, context.awsRequestId);
    try {
      const deadlineMs = deps.now() + context.getRemainingTimeInMillis() - deps.deadlineMarginMs;
      return (await backfillSpoolBatch(deps, event, deadlineMs)).response;
    } finally {
      deps.metrics?.flush();
    }
  };

export const handler = makeHandler(lazyDeps(loadSpoolConfig, createBackfillDeps));
