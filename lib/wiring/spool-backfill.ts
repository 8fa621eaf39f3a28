import { createLog } from '../core/log.js';
import { toProduceLimits } from '../ingest/plan.js';
import type { BackfillDeps } from '../ingest/spool/backfill.js';
import { createSpoolDeadLetters } from '../ingest/spool/dead-letters.js';
import { createSourceDeps } from './ingest-source.js';
import type { SpoolFunctionConfig } from './settings/spool.js';
import { createSpoolClients, sqsFor } from './spool.js';

export interface BackfillHandlerDeps extends BackfillDeps {
  readonly deadlineMarginMs: number;
}

export const createBackfillDeps = (config: SpoolFunctionConfig): BackfillHandlerDeps => ({
  ...createSourceDeps(config, createLog(config.logLevel)),
  ...createSpoolClients(config.spool, config.secrets.region, Date.now),
  deadLetters:
    config.deadLetterQueueUrl === undefined
      ? undefined
      : createSpoolDeadLetters({
          sqs: sqsFor(config.spool, config.secrets.region),
          queueUrl: config.deadLetterQueueUrl,
          now: Date.now,
        }),
  now: Date.now,
  limits: toProduceLimits(config.kafka),
  concurrency: config.concurrency,
});
