import { SQSClient } from '@aws-sdk/client-sqs';
import { createLog } from '../lib/core/log.js';
import type { DrainConfig } from '../lib/drain/config.js';
import { createSink, type Sink } from '../lib/sinks/index.js';
import { sdkClientsFor } from '../lib/wiring/aws.js';
import { createSecretsCacheFromConfig } from '../lib/wiring/secrets.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader, type Env } from '../lib/wiring/settings/env.js';
import { createDlqQueues, type DlqQueues } from './dlq-queue.js';
import { coreConfigOf, sdkConfigOf } from './operator-deps.js';

/** What `npm run dlq` reads and redelivers through, beside the checkpoint store. */
export interface DlqDeps {
  /** `DRAINS` as the drain parses it (problems are its caller's to warn). */
  readonly drains: readonly DrainConfig[];
  readonly queues: DlqQueues;
  /** The sink the drain itself builds from its settings, one per drain, closed by `close`. */
  readonly sinkFor: (drain: Pick<DrainConfig, 'id' | 'sink'>) => Sink;
  close(): Promise<void>;
}

/**
 * The DLQs' SQS client and the drains' sinks from the drain's settings in `env` (`SQS_ENDPOINT`,
 * `EVENTBRIDGE_ENDPOINT` locally, `AWS_REGION`, the sinks' secrets), shared by `npm run dlq` and the local
 * console so that both read and redrive through the same code. Nothing connects until the first call.
 */
export const createDlqDeps = (env: Env, warn: (line: string) => void): DlqDeps => {
  const settings = parseDrainsConfig(createEnvReader(env));
  const sqs = new SQSClient(sdkConfigOf(env, settings.sqsEndpoint));
  const log = createLog('ERROR');
  const aws = sdkClientsFor({
    region: env.AWS_REGION,
    sqs: settings.sqsEndpoint,
    eventBridge: settings.eventBridgeEndpoint,
  });
  // The sinks' signing secrets, read as the drain reads them; without the settings, a sink that signs
  // cannot be built and says so.
  const core = coreConfigOf(env, warn);
  const secrets = core === undefined ? undefined : createSecretsCacheFromConfig(core, { log });
  const sinkDeps = { aws, log, now: Date.now, ...(secrets === undefined ? {} : { secrets }) };
  // One sink per drain, as the drain keeps one per container: the console redrives again and again.
  const sinks = new Map<string, Sink>();
  return {
    drains: settings.drains,
    queues: createDlqQueues(sqs),
    sinkFor: (drain) => {
      const sink = sinks.get(drain.id) ?? createSink(drain.sink, sinkDeps);
      sinks.set(drain.id, sink);
      return sink;
    },
    close: async () => {
      for (const sink of sinks.values()) await sink.close?.();
      sinks.clear();
      aws.destroy();
      sqs.destroy();
    },
  };
};
