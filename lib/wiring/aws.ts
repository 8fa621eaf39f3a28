import { createDynamoDb, type DynamoDb } from '../aws/dynamodb.js';
import type { AwsJsonClient, AwsJsonClientOptions } from '../aws/json-client.js';
import { createLambdaInvoker, type LambdaInvoker } from '../aws/lambda-invoke.js';
import { type AwsClients, createAwsClients } from '../aws/sdk-clients.js';
import { createSecretsManagerClient } from '../secrets/secrets-manager.js';

/**
 * The one place a function's AWS clients are built, so region and endpoints are decided once.
 *
 * Where a function's AWS calls go: its region (`AWS_REGION`; unset, the clients read it themselves) and,
 * locally, each stand-in's endpoint (unset in AWS). Credentials are the execution role's, read from the
 * environment at each call, so they never pass through here.
 */
export interface AwsTargets {
  readonly region: string | undefined;
  readonly dynamodb?: string | URL | undefined;
  readonly secretsManager?: string | URL | undefined;
  readonly sqs?: string | URL | undefined;
  readonly eventBridge?: string | URL | undefined;
  readonly lambda?: string | URL | undefined;
}

/** How one client's calls are bounded and retried; the defaults are the signed client's own. */
export type AwsCallTuning = Omit<AwsJsonClientOptions, 'region' | 'endpoint'>;

// One function per client rather than one object of them: a bundle keeps only the clients it builds (the
// queue function's holds no DynamoDB code).

/** Signed DynamoDB calls over a pool of their own; nothing connects until the first call. */
export const dynamoDbFor = (targets: AwsTargets, tuning: AwsCallTuning = {}): DynamoDb =>
  createDynamoDb({ ...tuning, region: targets.region, endpoint: targets.dynamodb });

/** Signed Secrets Manager calls over a pool of their own; nothing connects until the first read. */
export const secretsManagerFor = (targets: AwsTargets): AwsJsonClient =>
  createSecretsManagerClient({ region: targets.region, endpoint: targets.secretsManager });

/** Signed asynchronous Lambda invokes over a pool of their own; nothing connects until the first invoke. */
export const lambdaFor = (targets: AwsTargets): LambdaInvoker =>
  createLambdaInvoker({ region: targets.region, endpoint: targets.lambda });

/** The SQS and EventBridge SDK clients, each loaded on first use. */
export const sdkClientsFor = (targets: AwsTargets): AwsClients =>
  createAwsClients({
    region: targets.region,
    sqsEndpoint: targets.sqs,
    eventBridgeEndpoint: targets.eventBridge,
  });
