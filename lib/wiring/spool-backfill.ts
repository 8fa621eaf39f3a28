import { createLog } from '../core/log.js';
import { toProduceLimits } from '../ingest/plan.js';
import type { BackfillDeps } from '../ingest/spool/backfill.js';
import { createSourceDeps } from './ingest-source.js';
import type { SpoolFunctionConfig } from './settings/spool.js';
import { createSpoolClients } from './spool.js';

export interface BackfillHandlerDeps extends BackfillDeps {
  readonly deadlineMarginMs: number;
}

export const createBackfillDeps = (config: SpoolFunctionConfig): BackfillHandlerDeps => ({
  ...createSourceDeps(config, createLog(config.logLevel)),
  ...createSpoolClients(config.spool, config.secrets.region, Date.now),
  now: Date.now,
  limits: toProduceLimits(config.kafka),
  concurrency: config.concurrency,
});
