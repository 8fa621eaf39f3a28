import { isAppError } from '../lib/core/errors.js';
import { runCheckpointsCommand } from './checkpoints-command.js';
import { operatorName } from './operator.js';
import { createOperatorDeps } from './operator-deps.js';

// Operator entry point (`npm run checkpoints -- …`): like a handler, the one place here that reads
// process.env; everything else is in checkpoints-command.ts, against the drain's own store.
const main = async (): Promise<number> => {
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  const deps = createOperatorDeps(process.env, operatorName(), warn);
  if ('problem' in deps) {
    warn(deps.problem);
    return 2;
  }
  try {
    return await runCheckpointsCommand(
      { ...deps, out: (line) => process.stdout.write(`${line}\n`), err: warn },
      process.argv.slice(2),
    );
  } catch (error) {
    warn(isAppError(error) ? `${error.code}: ${error.message}` : String(error));
    return 1;
  } finally {
    await deps.close();
  }
};

process.exitCode = await main();
