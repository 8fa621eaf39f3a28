import { requiredCredentials } from './auth.js';
import { CLI_USAGE, parseCliArgs } from './cli-args.js';
import { startKafkaRestServer } from './server.js';

// Foreground local Kafka REST server (v1 + v2 side by side, v3 produce): `npm run kafka-rest -- --port 8082 --topics demo:3,orders:1`.
// Exit codes: 0 after SIGINT/SIGTERM or --help, 1 when it cannot start, 2 for bad flags.

const args = parseCliArgs(process.argv.slice(2));
if (!args.ok) {
  process.stderr.write(`kafka-rest: ${args.problems.join('\n kafka-rest: ')}\n\n${CLI_USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${CLI_USAGE}\n`);
  process.exit(0);
}

const writeLine = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

try {
  const server = await startKafkaRestServer(args.quiet ? args.options : { ...args.options, log: writeLine });
  const topics = Object.entries(args.options.topics ?? {})
    .map(([name, partitions]) => `${name}:${partitions}`)
    .join(',');
  // The secrets never reach the output, only which credential is required.
  const required = requiredCredentials(args.options);
  writeLine(
    `Kafka REST v1/v2/v3 (${args.options.flavor ?? 'confluent'}) listening on ${server.url} (topics ${topics}${required === undefined ? '' : `, ${required} required`}${args.options.dataDir === undefined ? ', in memory' : `, data in ${args.options.dataDir}`})`,
  );
  const shutdown = (signal: NodeJS.Signals): void => {
    writeLine(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  process.stderr.write(`kafka-rest: cannot start: ${(error as Error).message}\n`);
  process.exit(1);
}
