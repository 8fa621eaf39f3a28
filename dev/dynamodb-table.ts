import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { toDynamoError } from '../lib/aws/dynamodb-errors.js';
import { AppError, ERROR_CODES } from '../lib/core/errors.js';

/** A table's string keys: `pk` alone (the checkpoint and idempotency tables), or a pair (the spool keys). */
export interface TableKeys {
  readonly partition: string;
  readonly sort?: string;
}

/** The spool keys table (`lib/ingest/spool/order-markers.ts`). */
export const SPOOL_KEYS_TABLE_KEYS: TableKeys = { partition: 'k', sort: 'm' };

/**
 * Creates a table keyed by string attributes (by default `pk`, the shape of both the checkpoint and the
 * idempotency tables), on demand, unless it exists, and waits until it is active. For local runs and tests:
 * deployments get their tables, with TTL and point-in-time recovery, from serverless.yml.
 * Throws `ERR_UPSTREAM_STATUS`/`ERR_UPSTREAM_NETWORK` when DynamoDB fails, `ERR_UPSTREAM_TIMEOUT` when the
 * table stays inactive.
 */
export const ensureTable = async (
  client: DynamoDBClient,
  tableName: string,
  keys: TableKeys = { partition: 'pk' },
): Promise<void> => {
  const names = keys.sort === undefined ? [keys.partition] : [keys.partition, keys.sort];
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: names.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: names.map((name, index) => ({
          AttributeName: name,
          KeyType: index === 0 ? 'HASH' : 'RANGE',
        })),
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
