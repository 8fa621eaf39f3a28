import { createKafkaRestClient } from './client-core.js';
import type { KafkaRestOptions } from './options.js';
import { createReader } from './readers.js';
import type { KafkaRestClient } from './types.js';

export type { KafkaRestOptions } from './options.js';

/**
 * The Kafka REST client that produces and reads (see `createKafkaRestClient` for the options and the
 * behaviour): what the drain, the operator tools and the tests use. A function that only produces uses
 * `createKafkaRestProducer`, which bundles none of the readers.
 */
export const createKafkaRest = (options: KafkaRestOptions): KafkaRestClient =>
  createKafkaRestClient(options, createReader);
