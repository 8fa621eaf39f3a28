import { fileURLToPath } from 'node:url';
import { TEST_CREDENTIALS } from '../../dev/dynalite.js';
import { createDynamoDb, type DynamoDb } from '../../lib/aws/dynamodb.js';
import { forkChildServer } from './child-ipc.js';

export type DynaliteChildCommand = { readonly op: 'cpu' };

export interface DynaliteProcess {
  readonly endpoint: string;
  readonly tableName: string;
  /** The signed client the functions use, pointed at the child (its first call connects). */
  readonly client: DynamoDb;
  /** The child's CPU time so far (user + system), in ms. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./dynalite-child.ts', import.meta.url));

/**
 * Starts dynalite with the checkpoint table in a child process (`dev/dynalite.ts`, the same server the
 * tests use). Throws when the child cannot start.
 */
export const startDynaliteProcess = async (tableName = 'checkpoints'): Promise<DynaliteProcess> => {
  const child = await forkChildServer<DynaliteChildCommand, { endpoint: string; tableName: string }>(
    CHILD,
    [tableName],
    'dynalite',
  );
  const { endpoint } = child.ready;
  return {
    endpoint,
    tableName: child.ready.tableName,
    client: createDynamoDb({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS }),
    cpuMs: () => child.call({ op: 'cpu' }),
    close: child.close,
  };
};
