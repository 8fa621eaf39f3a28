/**
 * Child-process entry of `startDynaliteProcess`: dynalite on its own event loop and core. DynamoDB runs
 * elsewhere than the function in Lambda, so its CPU must not share the measured loop's thread.
 */
import { startDynalite } from '../../dev/dynalite.js';
import { serveParent } from './child-ipc.js';
import { cpuMsOfThisProcess } from './cpu.js';
import type { DynaliteChildCommand } from './dynalite-process.js';

const dynamo = await startDynalite(process.argv[2]);

serveParent(
  { endpoint: dynamo.endpoint, tableName: dynamo.tableName },
  (command: DynaliteChildCommand & { readonly id: number }) =>
    command.op === 'cpu' ? cpuMsOfThisProcess() : undefined,
  () => dynamo.close(),
);
