import { refusingReader } from './calls.js';
import { createKafkaRestClient } from './client-core.js';
import type { KafkaRestOptions } from './options.js';
import type { KafkaRestClient } from './types.js';

const PRODUCE_ONLY = refusingReader(
  'this Kafka REST client was built to produce only (createKafkaRestProducer): reading needs createKafkaRest',
);

/**
 * A Kafka REST client for the functions that only produce (webhook, queue, events): the same client as
 * `createKafkaRest` without the readers of any dialect, so their bundles carry none. `fetch` and
 * `logBounds` throw `ERR_CONFIG`.
 */
export const createKafkaRestProducer = (options: KafkaRestOptions): KafkaRestClient =>
  createKafkaRestClient(options, () => PRODUCE_ONLY);
