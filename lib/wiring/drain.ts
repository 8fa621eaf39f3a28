import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from '../core/errors.js';
import { createLog } from '../core/log.js';
import { createCheckpointStore } from '../drain/checkpoint-store.js';
import { createFanOutMetrics, type FanOutDeps } from '../drain/fan-out.js';
import { createDrainMetrics, type DrainMetrics } from '../drain/metrics.js';
import type { DrainRunDeps } from '../drain/run-drains.js';
import type { SinkConfig } from '../sinks/config.js';
import { createDeadLetterQueue, createSink } from '../sinks/index.js';
import type { DeadLetterQueue, Sink } from '../sinks/types.js';
import { dynamoDbFor, lambdaFor, sdkClientsFor } from './aws.js';
import { createKafkaRestFromConfig } from './kafka-rest-reader.js';
import { createSecretsCacheFromConfig } from './secrets.js';
import type { DrainFunctionConfig } from './settings/drain.js';

export interface DrainHandlerDeps extends DrainRunDeps {
  /** Kept back from the Lambda's remaining time, so the last commit and the release still fit. */
  readonly deadlineMarginMs: number;
  /** The lease holder's name for one invocation: unique even when Lambda retries with the same request id. */
  newOwnerId(requestId: string | undefined): string;
  readonly metrics: DrainMetrics;
  /** Set when the scheduled run fans its partitions out over invocations (`DRAIN_PARTITIONS_PER_INVOCATION`). */
  readonly fanOut?: FanOutDeps | undefined;
  /** Closes every client (Lambda never needs it; tests and the local stack do). */
  close?(): Promise<void>;
}

/** What the operator's replay needs beyond the function's own dependencies. */
export interface DrainOperatorDeps extends DrainHandlerDeps {
  /** A sink outside `DRAINS` on the same clients and secrets (a replay's target), closed by `close`. */
  sinkOf(config: SinkConfig): Sink;
  close(): Promise<void>;
}

/**
 * The drain function's dependencies, built once per cold start by `lazyDeps`: the checkpoint table
 * client (signed DynamoDB calls, no SDK), the Kafka REST client, and every drain's sink and DLQ (creating them connects nothing; the SQS
 * and EventBridge SDKs load on first use). Throws `ConfigError` when `CHECKPOINT_TABLE` is missing or a
 * sink cannot be built (e.g. signing without a secrets reader).
 */
export const createDrainDeps = (config: DrainFunctionConfig): DrainOperatorDeps => {
  const settings = config.drain;
  if (settings.checkpointTable === undefined) {
    throw new ConfigError([
      'CHECKPOINT_TABLE is required by the drain function: the DynamoDB checkpoint table name',
    ]);
  }
  const log = createLog(config.logLevel);
  const now = Date.now;
  // Signed calls with the execution role's credentials from the environment, over a pool of their own.
  const targets = {
    region: config.secrets.region,
    dynamodb: settings.dynamodbEndpoint,
    sqs: settings.sqsEndpoint,
    eventBridge: settings.eventBridgeEndpoint,
    lambda: config.fanOut?.lambdaEndpoint,
  };
  const dynamo = dynamoDbFor(targets);
  // One cache for the proxy credential and the sinks' signing secrets: one GetSecretValue per secret per TTL.
  const secrets = createSecretsCacheFromConfig(config, { log });
  const aws = sdkClientsFor(targets);
  const sinkDeps = { aws, secrets, log, now };
  const sinks = new Map<string, Sink>();
  const otherSinks: Sink[] = [];
  const deadLetters = new Map<string, DeadLetterQueue>();
  for (const drain of settings.drains) {
    sinks.set(drain.id, createSink(drain.sink, sinkDeps));
    if (drain.dlq !== undefined) deadLetters.set(drain.id, createDeadLetterQueue(drain.dlq, sinkDeps));
  }

  const kafka = createKafkaRestFromConfig(config, { log, secrets });
  const fanOutConfig = config.fanOut;
  const lambda = fanOutConfig === undefined ? undefined : lambdaFor(targets);
  const fanOut: FanOutDeps | undefined =
    fanOutConfig === undefined || lambda === undefined
      ? undefined
      : {
          partitionsPerInvocation: fanOutConfig.partitionsPerInvocation,
          invokeGroup: (event, { deadlineMs }) =>
            lambda.invokeAsync(fanOutConfig.functionName, event, {
              abortSignal: AbortSignal.timeout(Math.max(1, deadlineMs - now())),
            }),
          metrics: createFanOutMetrics({ log }),
        };
  return {
    kafka,
    checkpoints: createCheckpointStore({
      client: dynamo,
      tableName: settings.checkpointTable,
      leaseMs: settings.leaseMs,
      now,
    }),
    drains: settings.drains,
    leaseMs: settings.leaseMs,
    maxConcurrentPartitions: settings.maxConcurrentPartitions,
    sinkFor: (drain) => {
      const sink = sinks.get(drain.id);
      if (sink === undefined) throw new ConfigError([`drain ${drain.id} has no sink`]);
      return sink;
    },
    deadLettersFor: (drain) => deadLetters.get(drain.id),
    sinkOf: (sinkConfig) => {
      const sink = createSink(sinkConfig, sinkDeps);
      otherSinks.push(sink);
      return sink;
    },
    deadlineMarginMs: config.deadlineMarginMs,
    newOwnerId: (requestId) => `${requestId ?? 'local'}/${randomUUID().slice(0, 8)}`,
    metrics: createDrainMetrics({ log, now }),
    fanOut,
    log,
    now,
    sleep: async (ms) => {
      await delay(ms);
    },
    random: Math.random,
    close: async () => {
      for (const sink of [...sinks.values(), ...otherSinks]) await sink.close?.();
      await kafka.close();
      aws.destroy();
      await dynamo.close();
      await lambda?.close();
    },
  };
};
