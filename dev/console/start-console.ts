import { setTimeout as sleep } from 'node:timers/promises';
import { createDlqDeps } from '../../cli/dlq-deps.js';
import { osUser } from '../../cli/operator.js';
import { createOperatorDeps } from '../../cli/operator-deps.js';
import type { Env } from '../../lib/wiring/settings/env.js';
import { LOCAL } from '../local-stage.js';
import { createDlqPanel } from './dlq-panel.js';
import { type ConsoleServer, startConsoleServer } from './server.js';

/**
 * The local console on the drain's settings in `env` (`CHECKPOINT_TABLE`, `DYNAMODB_ENDPOINT`, `DRAINS`,
 * `KAFKA_REST_*`, with `SQS_ENDPOINT` for the DLQs), built exactly as `npm run checkpoints` and `npm run
 * dlq` build their deps; the audit trail names its actions `console:<os user>`. Throws when the table or
 * the proxy is not configured.
 */
export const startConsole = async (options: {
  readonly port: number;
  readonly env: Env;
  readonly warn: (line: string) => void;
}): Promise<ConsoleServer> => {
  const deps = createOperatorDeps(options.env, `console:${osUser()}`, options.warn);
  if ('problem' in deps) throw new Error(`the console cannot start: ${deps.problem}`);
  const { kafka } = deps;
  if (kafka === undefined) {
    await deps.close();
    throw new Error(
      'the console cannot start: it reads the topics through KAFKA_REST_URL, which is not usable',
    );
  }
  const dlqDeps = createDlqDeps(options.env, options.warn);
  const close = async () => {
    await dlqDeps.close();
    await deps.close();
  };
  const dlq = createDlqPanel({
    queues: dlqDeps.queues,
    sinkFor: dlqDeps.sinkFor,
    drains: dlqDeps.drains,
    store: deps.store,
    now: deps.now,
    operator: deps.operator,
    sleep: async (ms) => {
      await sleep(ms);
    },
  });
  const server = await startConsoleServer({
    port: options.port,
    sources: { kafka, store: deps.store, drains: deps.drains, now: deps.now, dlq },
    actions: deps,
    dlq,
  }).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await close();
    },
  };
};

/**
 * The drain's settings as `npm start` gives them to its functions (`params`: the stage parameters it
 * passes serverless offline), for the console. v3 has no consume API: the console reads the local
 * server's v1, which it serves beside v3.
 */
export const localConsoleEnv = (params: Readonly<Record<string, string>>): Env => ({
  CHECKPOINT_TABLE: LOCAL.checkpointTable,
  DYNAMODB_ENDPOINT: params.dynamodbEndpoint,
  AWS_REGION: LOCAL.region,
  AWS_ACCESS_KEY_ID: LOCAL.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL.credentials.secretAccessKey,
  DRAINS: params.drains,
  DRAIN_DLQ_URL: params.drainDlqUrl,
  SQS_ENDPOINT: params.sqsEndpoint,
  KAFKA_REST_URL: params.kafkaRestUrl,
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_DIALECT: params.kafkaRestDialect === 'v3' ? 'v1' : params.kafkaRestDialect,
  KAFKA_REST_FLAVOR: params.kafkaRestFlavor,
  ...(params.kafkaRestAuth === 'none'
    ? { KAFKA_REST_AUTH: 'none' }
    : { KAFKA_REST_AUTH: 'api-key', KAFKA_REST_API_KEY: LOCAL.apiKey }),
});
