export { KAFKA_REST_ERROR_CODES } from './answers.js';
export type { DevKafkaRestErrorCode } from './errors.js';
export { DEV_KAFKA_REST_ERROR_CODES, DevKafkaRestError } from './errors.js';
export type { Flavor } from './flavors.js';
export { FLAVORS, toFlavorRecordCode } from './flavors.js';
export { MEDIA_TYPES } from './media-types.js';
export { MURMUR2_SEED, murmur2, partitionForKey } from './murmur2.js';
export { startKafkaRestServer } from './server.js';
export type {
  ChaosOptions,
  Fault,
  FaultMatch,
  KafkaRestServer,
  KafkaRestServerOptions,
  RecordedRequest,
  StoredHeader,
  StoredRecord,
  UnknownTopicMode,
} from './types.js';
export { UNKNOWN_TOPIC_MODES } from './types.js';
