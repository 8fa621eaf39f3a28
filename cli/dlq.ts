import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isAppError } from '../lib/core/errors.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { runDlqCommand } from './dlq-command.js';
import { createDlqDeps } from './dlq-deps.js';
import { operatorName } from './operator.js';

// Operator entry point (`npm run dlq -- …`): the one place here that reads process.env; the commands are
// in dlq-command.ts, over the drain's own sinks (dlq-deps.ts) and checkpoint store.
const main = async (): Promise<number> => {
  const read = createEnvReader(process.env);
  const settings = parseDrainsConfig(read);
  for (const problem of read.problems) process.stderr.write(`warning: ${problem}\n`);
  if (settings.checkpointTable === undefined) {
    process.stderr.write(
      'CHECKPOINT_TABLE is required: the DynamoDB checkpoint table name (for the audit trail)\n',
    );
    return 2;
  }
  const dlqDeps = createDlqDeps(process.env, (line) => process.stderr.write(`${line}\n`));
  const dynamo = new DynamoDBClient({
    ...(settings.dynamodbEndpoint === undefined ? {} : { endpoint: settings.dynamodbEndpoint.toString() }),
  });
  let stopRequested = false;
  process.on('SIGINT', () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('stopping after the record in hand (Ctrl-C again to quit at once)\n');
  });
  try {
    return await runDlqCommand(
      {
        queues: dlqDeps.queues,
        drains: settings.drains,
        sinkFor: dlqDeps.sinkFor,
        store: createCheckpointStore({
          client: dynamo,
          tableName: settings.checkpointTable,
          leaseMs: settings.leaseMs,
          now: Date.now,
        }),
        now: Date.now,
        operator: operatorName(),
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
        stopRequested: () => stopRequested,
        sleep: async (ms) => {
          await sleep(ms);
        },
      },
      process.argv.slice(2),
    );
  } catch (error) {
    process.stderr.write(
      `${isAppError(error) ? `${error.code}: ${error.message}` : `${(error as Error).name}: ${(error as Error).message}`}\n`,
    );
    return 1;
  } finally {
    await dlqDeps.close();
    dynamo.destroy();
  }
};

process.exitCode = await main();
