import { createKafkaRest } from '../kafka-rest/client.js';
import type { KafkaRestClient } from '../kafka-rest/types.js';
import { type KafkaRestFromConfigOptions, kafkaRestOptionsFromConfig } from './kafka-rest.js';
import type { CoreConfig } from './settings/core.js';

/**
 * `createKafkaRest` (the client that reads too: the drain, the operator tools) with every option from the
 * settings. A file of its own so that the produce-only functions' bundles carry no reader. Throws
 * `ConfigError` (`ERR_CONFIG`) if the settings are inconsistent (already checked by the settings loader).
 */
export const createKafkaRestFromConfig = (
  config: CoreConfig,
  options: KafkaRestFromConfigOptions = {},
): KafkaRestClient => createKafkaRest(kafkaRestOptionsFromConfig(config, options));
