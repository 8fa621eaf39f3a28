import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError, isAppError } from '../lib/core/errors.js';
import { createLog } from '../lib/core/log.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { createSecretsCacheFromConfig } from '../lib/wiring/secrets.js';
import { loadSections } from '../lib/wiring/settings/core.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { runCheckpointsCommand } from './checkpoints-command.js';
import { operatorName } from './operator.js';

/**
 * The drain's own Kafka REST client, when its settings are here (`KAFKA_REST_URL` …), to check partitions
 * and offsets against the log; undefined, with the reason on stderr, when they are not.
 */
const proxyClient = (): KafkaRestClient | undefined => {
  if (process.env.KAFKA_REST_URL === undefined) return undefined;
  try {
    const config = loadSections(process.env, () => ({}));
    const log = createLog('ERROR');
    return createKafkaRestFromConfig(config, { log, secrets: createSecretsCacheFromConfig(config, { log }) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`warning: ${problem}\n`);
    return undefined;
  }
};

// Operator entry point (`npm run checkpoints -- …`): like a handler, the one place here that reads
// process.env; everything else is in checkpoints-command.ts, against the drain's own store.
const main = async (): Promise<number> => {
  const read = createEnvReader(process.env);
  const drains = parseDrainsConfig(read);
  const tableName = drains.checkpointTable;
  if (tableName === undefined) {
    process.stderr.write('CHECKPOINT_TABLE is required: the DynamoDB checkpoint table name\n');
    return 2;
  }
  // A DRAINS problem (say, a sink setting) must not keep an operator from fixing a checkpoint.
  for (const problem of read.problems) process.stderr.write(`warning: ${problem}\n`);
  const client = new DynamoDBClient({
    ...(drains.dynamodbEndpoint === undefined ? {} : { endpoint: drains.dynamodbEndpoint.toString() }),
  });
  const kafka = proxyClient();
  try {
    return await runCheckpointsCommand(
      {
        store: createCheckpointStore({ client, tableName, leaseMs: drains.leaseMs, now: Date.now }),
        drains: drains.drains,
        kafka,
        now: Date.now,
        operator: operatorName(),
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      },
      process.argv.slice(2),
    );
  } catch (error) {
    process.stderr.write(`${isAppError(error) ? `${error.code}: ${error.message}` : String(error)}\n`);
    return 1;
  } finally {
    client.destroy();
    await kafka?.close();
  }
};

process.exitCode = await main();
