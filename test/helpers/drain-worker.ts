import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One invocation sent to a worker process. */
export interface DrainInvocation {
  readonly id: number;
  readonly event: unknown;
  readonly remainingMs: number;
  readonly requestId: string;
}

export type DrainWorkerReply =
  | { readonly id: number; readonly ok: true; readonly report: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface DrainWorker {
  /** Runs one invocation; resolves with the handler's answer, or its error message, or the exit. */
  invoke(event: unknown, remainingMs: number): Promise<DrainWorkerReply>;
  /** SIGKILL, as a crashed or timed-out Lambda container ends: no cleanup, no lease released. */
  kill(): void;
  close(): Promise<void>;
}

/**
 * The whole environment of a drain function container against the local stand-ins: the Kafka REST server
 * (no auth), dynalite, the fake Invoke API and fake credentials, with fan-out on when
 * `partitionsPerInvocation` is given. `drains` is the `DRAINS` list; `extra` overrides any of it.
 */
export const localDrainEnv = (options: {
  readonly kafkaRestUrl: string;
  readonly dynamo: { readonly endpoint: string; readonly tableName: string };
  readonly drains: readonly unknown[];
  readonly functionName: string;
  readonly lambdaEndpoint: string;
  readonly partitionsPerInvocation?: number | undefined;
  readonly extra?: Readonly<Record<string, string>>;
}): Record<string, string> => ({
  KAFKA_REST_URL: options.kafkaRestUrl,
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  LOG_LEVEL: 'ERROR',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  CHECKPOINT_TABLE: options.dynamo.tableName,
  DYNAMODB_ENDPOINT: options.dynamo.endpoint,
  DRAINS: JSON.stringify(options.drains),
  DRAIN_PARTITIONS_PER_INVOCATION: options.partitionsPerInvocation?.toString() ?? '',
  AWS_LAMBDA_FUNCTION_NAME: options.functionName,
  LAMBDA_ENDPOINT: options.lambdaEndpoint,
  ...options.extra,
});

const CHILD = fileURLToPath(new URL('./drain-worker-child.ts', import.meta.url));
let requests = 0;

/**
 * A drain function container in a process of its own: the handler module (a source file run through tsx,
 * or a bundled `.mjs`) with `env` as its whole environment, like a Lambda's. Resolves once it has loaded
 * the module; rejects when it exits first.
 */
export const startDrainWorker = async (options: {
  readonly handlerModule: string;
  readonly env: Readonly<Record<string, string>>;
}): Promise<DrainWorker> => {
  const child: ChildProcess = fork(CHILD, [options.handlerModule], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (reply: DrainWorkerReply) => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('exit', (code, signal) => {
    for (const [id, resolve] of waiting) resolve({ id, ok: false, error: `exited (${signal ?? code})` });
    waiting.clear();
  });
  child.on('message', (reply: DrainWorkerReply) => {
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  const reply = (id: number) => new Promise<DrainWorkerReply>((resolve) => waiting.set(id, resolve));
  const ready = await reply(0);
  if (!ready.ok) throw new Error(`the drain worker did not start: ${ready.error}`);
  let next = 1;
  return {
    invoke: (event, remainingMs) => {
      const id = next++;
      const answer = reply(id);
      child.send({
        id,
        event,
        remainingMs,
        requestId: `worker-${process.pid}-${++requests}`,
      } satisfies DrainInvocation);
      return answer;
    },
    kill: () => {
      child.kill('SIGKILL');
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null && child.connected) child.disconnect();
      await exited;
    },
  };
};
