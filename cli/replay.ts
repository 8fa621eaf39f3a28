import { isAppError } from '../lib/core/errors.js';
import { createDrainDeps } from '../lib/wiring/drain.js';
import { loadDrainConfig } from '../lib/wiring/settings/drain.js';
import { operatorName } from './operator.js';
import { EXIT_INTERRUPTED, REPLAY_USAGE, runReplayCommand } from './replay-command.js';

// Operator entry point (`npm run replay -- …`): like a handler, the one place here that reads process.env
// and the signals; the replay itself is in replay-command.ts, on the drain function's own dependencies.
const main = async (): Promise<number> => {
  const argv = process.argv.slice(2);
  // Usage needs no settings: it must work where none are set.
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  try {
    // The drain's info lines (one per run) would bury the progress: warnings and errors only, unless asked.
    const config = loadDrainConfig({ LOG_LEVEL: 'WARN', ...process.env });
    const deps = createDrainDeps(config);
    const stop = new AbortController();
    process.once('SIGINT', () => {
      stop.abort();
      process.stderr.write(
        'stopping once the batch in hand is delivered and committed; Ctrl-C again quits at once (the records of a call then unanswered are sent again by the next run)\n',
      );
      process.once('SIGINT', () => process.exit(EXIT_INTERRUPTED));
    });
    try {
      return await runReplayCommand(
        {
          ...deps,
          proxy: config.kafka,
          newOwnerId: () => deps.newOwnerId('replay'),
          operator: operatorName(),
          stop: stop.signal,
          out: (line) => process.stdout.write(`${line}\n`),
          err: (line) => process.stderr.write(`${line}\n`),
        },
        argv,
      );
    } finally {
      await deps.close();
    }
  } catch (error) {
    process.stderr.write(`${isAppError(error) ? `${error.code}: ${error.message}` : String(error)}\n`);
    return 1;
  }
};

process.exitCode = await main();
