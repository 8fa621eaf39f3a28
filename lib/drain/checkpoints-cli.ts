import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createEnvReader } from '../env-reader.js';
import { isAppError } from '../errors.js';
import { createCheckpointStore } from './checkpoint-store.js';
import { runCheckpointsCommand } from './checkpoints-command.js';
import { parseDrainsConfig } from './config.js';

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
  try {
    return await runCheckpointsCommand(
      {
        store: createCheckpointStore({ client, tableName, leaseMs: drains.leaseMs, now: Date.now }),
        drains: drains.drains,
        now: Date.now,
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
  }
};

process.exitCode = await main();
