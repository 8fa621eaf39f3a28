import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type LocalDynamo, TEST_CREDENTIALS } from '../../dev/dynalite.js';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../../dev/dynamodb-fault-proxy.js';

// Started from dev/, so that the chaos runs start the same dynalite without importing test helpers.
export { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from '../../dev/dynalite.js';

export interface FaultyDynamo {
  readonly proxy: DynamoFaultProxy;
  /** An SDK client pointed at the proxy, with the drain's settings (three attempts). */
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * The DynamoDB fault proxy (dev/dynamodb-fault-proxy.ts) in front of `dynamo`, and a client that goes
 * through it with the SDK's three attempts, so a lost answer is retried into our own write.
 */
export const startFaultyDynamo = async (dynamo: LocalDynamo): Promise<FaultyDynamo> => {
  const proxy = await startDynamoFaultProxy(dynamo.endpoint);
  const client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    maxAttempts: 3,
  });
  return {
    proxy,
    client,
    close: async () => {
      client.destroy();
      await proxy.close();
    },
  };
};
