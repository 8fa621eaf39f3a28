import { isAppError } from '../lib/core/errors.js';
import { parseAdminConfig } from '../lib/wiring/settings/admin.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { createTopicAdminFromConfig } from '../lib/wiring/topic-admin.js';
import { EXIT_CODES, parseTopicsArgs, runTopicsCommand, TOPICS_USAGE } from './topics-command.js';

// Operator entry point (`npm run topics -- …`): like a handler, the one place here that reads process.env;
// the work is in topics-command.ts, against the same Kafka REST client and settings as the functions.
const main = async (): Promise<number> => {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const parsed = parseTopicsArgs(process.argv.slice(2));
  if (parsed.kind === 'help') {
    out(TOPICS_USAGE);
    return EXIT_CODES.OK;
  }
  if (parsed.kind === 'usage-error') {
    err(`topics: ${parsed.message.replaceAll('\n', '\ntopics: ')}\n\n${TOPICS_USAGE}`);
    return EXIT_CODES.USAGE;
  }

  // Both sets of problems at once, so one run shows everything to fix.
  const read = createEnvReader(process.env);
  const adminConfig = parseAdminConfig(read);
  const problems = [...read.problems];
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!isAppError(error)) throw error;
    problems.unshift(...('problems' in error ? (error.problems as string[]) : [error.message]));
  }
  if (config === undefined || problems.length > 0) {
    err(`ERR_CONFIG: invalid configuration:\n- ${problems.join('\n- ')}`);
    return EXIT_CODES.USAGE;
  }

  const admin = createTopicAdminFromConfig(config, adminConfig);
  try {
    return await runTopicsCommand({ admin, out, err }, parsed.command);
  } finally {
    await admin.close();
  }
};

process.exitCode = await main();
