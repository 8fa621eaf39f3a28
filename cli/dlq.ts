import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError, isAppError } from '../lib/core/errors.js';
import { createLog } from '../lib/core/log.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { createSink, type SecretReader } from '../lib/sinks/index.js';
import { sdkClientsFor } from '../lib/wiring/aws.js';
import { createSecretsCacheFromConfig } from '../lib/wiring/secrets.js';
import { loadSections } from '../lib/wiring/settings/core.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { runDlqCommand } from './dlq-command.js';
import { createDlqQueues } from './dlq-queue.js';
import { operatorName } from './operator.js';

/**
 * The sinks' signing secrets, read as the drain reads them, when the function's settings are here; absent
 * (a warning on stderr), a sink that signs cannot be built and says so.
 */
const secretReader = (log: ReturnType<typeof createLog>): SecretReader | undefined => {
  try {
    return createSecretsCacheFromConfig(
      loadSections(process.env, () => ({})),
      { log },
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`warning: ${problem}\n`);
    return undefined;
  }
};

// Operator entry point (`npm run dlq -- …`): the one place here that reads process.env; the commands are
// in dlq-command.ts, over the drain's own sinks and checkpoint store.
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
  const log = createLog('ERROR');
  const region = process.env.AWS_REGION;
  const sqs = new SQSClient({
    ...(settings.sqsEndpoint === undefined ? {} : { endpoint: settings.sqsEndpoint.toString() }),
  });
  const dynamo = new DynamoDBClient({
    ...(settings.dynamodbEndpoint === undefined ? {} : { endpoint: settings.dynamodbEndpoint.toString() }),
  });
  const aws = sdkClientsFor({ region, sqs: settings.sqsEndpoint, eventBridge: settings.eventBridgeEndpoint });
  const secrets = secretReader(log);
  const sinkDeps = { aws, log, now: Date.now, ...(secrets === undefined ? {} : { secrets }) };
  const sinks: { close?(): Promise<void> }[] = [];
  let stopRequested = false;
  process.on('SIGINT', () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('stopping after the record in hand (Ctrl-C again to quit at once)\n');
  });
  try {
    return await runDlqCommand(
      {
        queues: createDlqQueues(sqs),
        drains: settings.drains,
        sinkFor: (drain) => {
          const sink = createSink(drain.sink, sinkDeps);
          sinks.push(sink);
          return sink;
        },
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
    for (const sink of sinks) await sink.close?.();
    aws.destroy();
    sqs.destroy();
    dynamo.destroy();
  }
};

process.exitCode = await main();
