import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from './dynamodb-table.js';

// dynalite ships no types; this is the one call we use.
type CreateDynalite = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;
const createDynalite = createRequire(import.meta.url)('dynalite') as CreateDynalite;

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite (the DynamoDB API, in memory) on 127.0.0.1:0 with the checkpoint table created, and a
 * real SDK client pointed at it. Conditional writes are the heart of the lease: only a real
 * implementation of them proves it, so the store is never tested against a mock.
 */
export const startDynalite = async (tableName = 'checkpoints'): Promise<LocalDynamo> => {
  const server = createDynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  await ensureTable(client, tableName);
  return {
    endpoint,
    client,
    tableName,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
