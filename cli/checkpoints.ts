import { isAppError } from '../lib/core/errors.js';
import { runCheckpointsCommand } from './checkpoints-command.js';
import { createOperatorDeps, osUser } from './operator-deps.js';

/**
 * Who runs the command, for the audit trail: the OS user, and the AWS profile or access key id in use (an
 * identifier, not a secret: its last four characters, as the IAM console shows them). No STS call: the
 * command must work where the caller may not call it.
 */
const operatorName = (): string => {
  const profile = process.env.AWS_PROFILE;
  const keyId = process.env.AWS_ACCESS_KEY_ID;
  return [
    `os:${osUser()}`,
    ...(profile === undefined ? [] : [`aws-profile:${profile}`]),
    ...(keyId === undefined ? [] : [`aws-key:…${keyId.slice(-4)}`]),
  ].join(' ');
};

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
