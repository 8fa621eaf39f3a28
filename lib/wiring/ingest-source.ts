import type { Log } from '../core/log.js';
import { createIngestMetrics, type IngestMetrics } from '../ingest/metrics.js';
import { carriesRecordHeaders } from '../kafka-rest/flavors.js';
import type { KafkaRestClient } from '../kafka-rest/types.js';
import type { SecretsCache } from '../secrets/types.js';
import { createKafkaRestProducerFromConfig } from './kafka-rest.js';
import type { CoreConfig } from './settings/core.js';

/** What every ingestion function (webhook, queue, events) builds alike from its settings. */
export interface SourceDeps {
  readonly kafka: KafkaRestClient;
  readonly log: Log;
  readonly metrics: IngestMetrics;
  /** Where the proxy keeps record headers, a request's or message's trace travels on as a W3C traceparent. */
  readonly recordHeaders: boolean;
  readonly deadlineMarginMs: number;
}

/** The produce-only client (sharing `secrets` when the function reads other secrets too) and its metrics. */
export const createSourceDeps = (config: CoreConfig, log: Log, secrets?: SecretsCache): SourceDeps => {
  const kafka = createKafkaRestProducerFromConfig(config, secrets === undefined ? { log } : { log, secrets });
  return {
    kafka,
    log,
    metrics: createIngestMetrics({ log, kafkaStats: kafka.stats }),
    recordHeaders: carriesRecordHeaders(config.kafka),
    deadlineMarginMs: config.deadlineMarginMs,
  };
};
