import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { toDynamoError } from '../lib/aws/dynamodb-errors.js';
import { AppError, ERROR_CODES } from '../lib/core/errors.js';

/**
 * Creates a table keyed by the string `pk`, on demand (the shape of both the checkpoint and the
 * idempotency tables), unless it exists, and waits until it is active. For local runs and tests:
 * deployments get their tables, with TTL and point-in-time recovery, from serverless.yml.
 * Throws `ERR_UPSTREAM_STATUS`/`ERR_UPSTREAM_NETWORK` when DynamoDB fails, `ERR_UPSTREAM_TIMEOUT` when the
 * table stays inactive.
 */
export const ensureTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name !== 'ResourceInUseException') {
      throw toDynamoError(`creating table ${tableName}`, error);
    }
  }
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const output = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (output.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new AppError(ERROR_CODES.UPSTREAM_TIMEOUT, `table ${tableName} did not become active`);
};
