import { DEFAULT_QUEUE_CONCURRENCY } from '../../ingest/config.js';
import type { SpoolSettings } from '../../ingest/spool/config.js';
import { type CoreConfig, loadSections } from './core.js';
import type { Env } from './env.js';
import { parseSpoolSettings } from './webhook.js';

export type SpoolFunctionConfig = CoreConfig & {
  readonly spool: SpoolSettings & { readonly keysTable: string };
  /** `SPOOL_DLQ_URL`: where messages that fail for good go at once; unset, they wait out their receives. */
  readonly deadLetterQueueUrl: string | undefined;
  /** `SPOOL_CONCURRENCY`: produce requests in flight at once (a group's records stay one at a time). */
  readonly concurrency: number;
};

/**
 * The backfill function's settings (see `loadSections`): the spool's own (the keys table is required: the
 * backfill releases the markers the webhook wrote) and the produce concurrency.
 */
export const loadSpoolConfig = (env: Env): SpoolFunctionConfig =>
  loadSections(env, (read) => {
    const spool = parseSpoolSettings(read, []);
    const { keysTable } = spool;
    if (keysTable === undefined) {
      read.problems.push(
        'SPOOL_KEYS_TABLE is required for the spool function: the DynamoDB table of spooled keys',
      );
    }
    const concurrency = read.int('SPOOL_CONCURRENCY', DEFAULT_QUEUE_CONCURRENCY, { min: 1, max: 64 });
    // A missing table is a problem above: loading fails with every problem listed, so '' is never used.
    const deadLetterQueue = read.url('SPOOL_DLQ_URL');
    if (deadLetterQueue !== undefined && !deadLetterQueue.pathname.endsWith('.fifo')) {
      read.problems.push(
        "SPOOL_DLQ_URL must name a FIFO queue (its name ends in .fifo): the spool queue's DLQ",
      );
    }
    return {
      spool: { ...spool, keysTable: keysTable ?? '' },
      deadLetterQueueUrl: deadLetterQueue?.href,
      concurrency,
    };
  });
