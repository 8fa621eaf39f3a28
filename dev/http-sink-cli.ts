import { parseArgs } from 'node:util';
import { startHttpSink } from './http-sink.js';

// `tsx dev/http-sink-cli.ts --port 8090 [--host 127.0.0.1] [--quiet]`: a local endpoint for HTTP drains.
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8090' },
    host: { type: 'string', default: '127.0.0.1' },
    quiet: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`--port must be an integer from 0 to 65535, got ${JSON.stringify(values.port)}\n`);
  process.exit(2);
}

const sink = await startHttpSink({ port, host: values.host, print: !values.quiet });
process.stdout.write(`HTTP sink listening on ${sink.url} (answers 200; Ctrl-C to stop)\n`);
const stop = () => {
  void sink.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
