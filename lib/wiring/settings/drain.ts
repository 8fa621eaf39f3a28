import { DRAIN_DEFAULTS, type DrainsConfig, NAMESPACE_SHAPE, parseDrains } from '../../drain/config.js';
import { RECORD_NAMESPACE_PATTERN } from '../../sinks/record-id.js';
import { type CoreConfig, loadSections } from './core.js';
import type { Env, EnvReader } from './env.js';

/**
 * Reads the drain function's settings: `DRAINS` (a JSON array of drains), `CHECKPOINT_TABLE`,
 * `DRAIN_LEASE_MS`, `DRAIN_CONCURRENCY`, `DRAIN_ID_NAMESPACE` (every drain's `idNamespace` unless it sets
 * its own), and the local endpoints `DYNAMODB_ENDPOINT`, `SQS_ENDPOINT`,
 * `EVENTBRIDGE_ENDPOINT`. Pushes every problem onto `read.problems`
 * (each naming the key and the expected shape); never throws.
 */
export const parseDrainsConfig = (read: EnvReader): DrainsConfig => {
  // The DLQ the stack creates; a drain opts into it with "dlq": "stack".
  const stackDlqUrl = read.string('DRAIN_DLQ_URL');
  let idNamespace = read.string('DRAIN_ID_NAMESPACE', DRAIN_DEFAULTS.idNamespace);
  if (!RECORD_NAMESPACE_PATTERN.test(idNamespace)) {
    read.problems.push(`DRAIN_ID_NAMESPACE must be ${NAMESPACE_SHAPE}`);
    // Said once here, not again for every drain that inherits it.
    idNamespace = DRAIN_DEFAULTS.idNamespace;
  }
  const drains = parseDrains(read.json('DRAINS'), 'DRAINS', { stackDlqUrl, idNamespace }, read.problems);
  const checkpointTable = read.string('CHECKPOINT_TABLE');
  if (read.raw('DRAINS') !== undefined && checkpointTable === undefined) {
    read.problems.push('CHECKPOINT_TABLE is required when DRAINS is set: the DynamoDB checkpoint table name');
  }
  return {
    drains,
    checkpointTable,
    dynamodbEndpoint: read.url('DYNAMODB_ENDPOINT'),
    sqsEndpoint: read.url('SQS_ENDPOINT'),
    eventBridgeEndpoint: read.url('EVENTBRIDGE_ENDPOINT'),
    leaseMs: read.int('DRAIN_LEASE_MS', DRAIN_DEFAULTS.leaseMs, { min: 1_000, max: 900_000 }),
    maxConcurrentPartitions: read.int('DRAIN_CONCURRENCY', DRAIN_DEFAULTS.maxConcurrentPartitions, {
      min: 1,
      max: 256,
    }),
  };
};

export type DrainFunctionConfig = CoreConfig & { readonly drain: DrainsConfig };

/** The drain function's settings (see `loadSections`). */
export const loadDrainConfig = (env: Env): DrainFunctionConfig =>
  loadSections(env, (read) => ({ drain: parseDrainsConfig(read) }));
