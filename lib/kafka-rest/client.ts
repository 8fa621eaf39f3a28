import type { CoreConfig } from '../config-core.js';
import { createKafkaRestClient } from './client-core.js';
import { type KafkaRestFromConfigOptions, kafkaRestOptionsFromConfig } from './from-config.js';
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

/**
 * `createKafkaRest` with every option from the settings (`kafkaRestOptionsFromConfig`). Throws
 * `ConfigError` (`ERR_CONFIG`) if the settings are inconsistent (already checked by the settings loader).
 */
export const createKafkaRestFromConfig = (
  config: CoreConfig,
  options: KafkaRestFromConfigOptions = {},
): KafkaRestClient => createKafkaRest(kafkaRestOptionsFromConfig(config, options));
