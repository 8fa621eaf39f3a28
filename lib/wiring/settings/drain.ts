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

/** The scheduled drain's fan-out across invocations (`lib/drain/fan-out.ts`); absent: off. */
export interface FanOutConfig {
  readonly partitionsPerInvocation: number;
  /** The drain function itself, as the Invoke API names it (name or ARN). */
  readonly functionName: string;
  /** A local stand-in of the Lambda API; unset in AWS. */
  readonly lambdaEndpoint: URL | undefined;
}

/** A function name, a partial ARN or a full ARN, as Lambda's Invoke accepts them. */
const FUNCTION_NAME = /^[A-Za-z0-9_:.-]{1,140}$/;

/**
 * Reads `DRAIN_PARTITIONS_PER_INVOCATION` (unset: no fan-out, one invocation drains every partition), the
 * function to invoke (`DRAIN_FUNCTION_NAME`, else `AWS_LAMBDA_FUNCTION_NAME`, which Lambda sets to the
 * running function's own) and `LAMBDA_ENDPOINT`. Pushes every problem onto `read.problems`.
 */
export const parseFanOutConfig = (read: EnvReader): FanOutConfig | undefined => {
  const partitionsPerInvocation = read.int('DRAIN_PARTITIONS_PER_INVOCATION', undefined, { min: 1 });
  const lambdaEndpoint = read.url('LAMBDA_ENDPOINT');
  if (partitionsPerInvocation === undefined) return undefined;
  const functionName = read.string('DRAIN_FUNCTION_NAME') ?? read.string('AWS_LAMBDA_FUNCTION_NAME');
  if (functionName === undefined) {
    read.problems.push(
      'DRAIN_PARTITIONS_PER_INVOCATION needs the drain function to invoke: set DRAIN_FUNCTION_NAME (Lambda sets AWS_LAMBDA_FUNCTION_NAME, which is used when it is unset)',
    );
    return undefined;
  }
  if (!FUNCTION_NAME.test(functionName)) {
    read.problems.push(
      'DRAIN_FUNCTION_NAME must be a Lambda function name or ARN (1 to 140 of A-Z a-z 0-9 _ - : .)',
    );
    return undefined;
  }
  return { partitionsPerInvocation, functionName, lambdaEndpoint };
};

export type DrainFunctionConfig = CoreConfig & {
  readonly drain: DrainsConfig;
  readonly fanOut?: FanOutConfig | undefined;
};

/** The drain function's settings (see `loadSections`). */
export const loadDrainConfig = (env: Env): DrainFunctionConfig =>
  loadSections(env, (read) => ({ drain: parseDrainsConfig(read), fanOut: parseFanOutConfig(read) }));
