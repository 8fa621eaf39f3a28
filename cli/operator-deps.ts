import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../lib/core/errors.js';
import { createLog } from '../lib/core/log.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { createSecretsCacheFromConfig } from '../lib/wiring/secrets.js';
import { type CoreConfig, loadSections } from '../lib/wiring/settings/core.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader, type Env } from '../lib/wiring/settings/env.js';
import type { PartitionActionDeps } from './partition-actions.js';

export interface OperatorDeps extends PartitionActionDeps {
  /** The drain's own Kafka REST client; undefined without `KAFKA_REST_URL` (or with its settings invalid). */
  readonly kafka: KafkaRestClient | undefined;
  close(): Promise<void>;
}

/**
 * The functions' shared settings in `env`, for what needs the proxy or Secrets Manager; undefined, each
 * problem warned, when they are not usable (an operator command must still work on the table alone).
 */
export const coreConfigOf = (env: Env, warn: (line: string) => void): CoreConfig | undefined => {
  try {
    return loadSections(env, () => ({}));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) warn(`warning: ${problem}`);
    return undefined;
  }
};

/**
 * An AWS SDK client's region, endpoint and credentials from `env`, as the SDK reads them from process.env:
 * `env` need not be process.env (the local console builds its own). Unset, the SDK's own chain (a profile
 * …) finds them.
 */
export const sdkConfigOf = (env: Env, endpoint: URL | undefined) => {
  const {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
  } = env;
  return {
    ...(endpoint === undefined ? {} : { endpoint: endpoint.toString() }),
    ...(region === undefined ? {} : { region }),
    ...(accessKeyId === undefined || secretAccessKey === undefined
      ? {}
      : {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(sessionToken === undefined ? {} : { sessionToken }),
          },
        }),
  };
};

/**
 * The drain's own Kafka REST client, when its settings are in `env` (`KAFKA_REST_URL` …), to check
 * partitions and offsets against the log; undefined, with the reasons warned, when they are not.
 */
const proxyClient = (env: Env, warn: (line: string) => void): KafkaRestClient | undefined => {
  if (env.KAFKA_REST_URL === undefined) return undefined;
  const config = coreConfigOf(env, warn);
  if (config === undefined) return undefined;
  const log = createLog('ERROR');
  return createKafkaRestFromConfig(config, { log, secrets: createSecretsCacheFromConfig(config, { log }) });
};

/**
 * What the operator commands act through, from the drain's settings in `env`: its checkpoint store on
 * `CHECKPOINT_TABLE`, `DRAINS`, and its proxy client. Answers the problem instead when there is no table.
 * A `DRAINS` problem (say, a sink setting) is only warned: it must not keep an operator from fixing a
 * checkpoint.
 */
export const createOperatorDeps = (
  env: Env,
  operator: string,
  warn: (line: string) => void,
): OperatorDeps | { readonly problem: string } => {
  const read = createEnvReader(env);
  const drains = parseDrainsConfig(read);
  const tableName = drains.checkpointTable;
  if (tableName === undefined)
    return { problem: 'CHECKPOINT_TABLE is required: the DynamoDB checkpoint table name' };
  for (const problem of read.problems) warn(`warning: ${problem}`);
  const client = new DynamoDBClient(sdkConfigOf(env, drains.dynamodbEndpoint));
  const kafka = proxyClient(env, warn);
  return {
    store: createCheckpointStore({ client, tableName, leaseMs: drains.leaseMs, now: Date.now }),
    drains: drains.drains,
    kafka,
    now: Date.now,
    operator,
    close: async () => {
      client.destroy();
      await kafka?.close();
    },
  };
};
