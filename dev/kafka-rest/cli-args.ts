import { parseArgs } from 'node:util';
import { isBasicCredential } from './auth.js';
import type { Flavor } from './flavors.js';
import { FLAVORS } from './flavors.js';
import type { KafkaRestServerOptions, UnknownTopicMode } from './types.js';
import { UNKNOWN_TOPIC_MODES } from './types.js';

export const CLI_USAGE = `Usage: npm run kafka-rest -- [options]
  --port N                 listen port (default 8082, 0 = any free port)
  --host HOST              listen address (default 127.0.0.1)
  --topics LIST            name:partitions,... (default demo:3)
  --api-key KEY            require this X-Auth-Token (401 otherwise)
  --basic-auth USER:PASS   require this HTTP Basic credential (401 otherwise; with
                           --api-key, either one is accepted)
  --data-dir DIR           persist logs here (default: in memory)
  --latency-ms N           added to every request (default 0)
  --max-record-bytes N     larger records fail with 50002 (default 1048576)
  --unknown-topic MODE     ${UNKNOWN_TOPIC_MODES.join(' | ')} (default 404)
  --flavor NAME            v2 quirks of ${FLAVORS.join(' | ')} (default confluent)
  --cluster-id ID          the only v3 cluster id answered, as on Confluent Cloud (default: any)
  --consumer-idle-ms N     consumer instances expire after N ms unused (default 300000)
  --consumer-request-timeout-ms N
                           an empty consumer read waits up to N ms for records, like a
                           real proxy's long poll (default 0: answer at once)
  --v1-whole-batches       v1 reads answer from the start of the batch holding the
                           offset, count records from there (IBM / CP 2.x over
                           compressed batches)
  --quiet                  no per-request log lines
  --help`;

export type CliArgs =
  | {
      readonly ok: true;
      readonly help: boolean;
      readonly quiet: boolean;
      readonly options: KafkaRestServerOptions;
    }
  | { readonly ok: false; readonly problems: readonly string[] };

const nonNegativeInt = (name: string, raw: string | undefined, problems: string[]): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) {
    problems.push(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return Number(raw);
};

const parseTopics = (raw: string, problems: string[]): Record<string, number> => {
  const topics: Record<string, number> = {};
  for (const item of raw.split(',')) {
    const match = /^([^:\s]+):([1-9]\d*)$/.exec(item.trim());
    if (match === null) {
      problems.push(
        `--topics entries look like name:partitions (partitions >= 1), got ${JSON.stringify(item)}`,
      );
      continue;
    }
    topics[match[1] as string] = Number(match[2]);
  }
  return topics;
};

/**
 * Turns the CLI's argv (without node and script) into server options; every problem is listed, none
 * thrown, so the CLI can print them all and exit 2. The api key and the basic credential are never echoed
 * in a problem.
 */
export const parseCliArgs = (argv: readonly string[]): CliArgs => {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        topics: { type: 'string' },
        'api-key': { type: 'string' },
        'basic-auth': { type: 'string' },
        'data-dir': { type: 'string' },
        'latency-ms': { type: 'string' },
        'max-record-bytes': { type: 'string' },
        'unknown-topic': { type: 'string' },
        flavor: { type: 'string' },
        'cluster-id': { type: 'string' },
        'consumer-idle-ms': { type: 'string' },
        'consumer-request-timeout-ms': { type: 'string' },
        'v1-whole-batches': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] };
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const problems: string[] = [];

  const port = nonNegativeInt('port', str('port'), problems) ?? 8082;
  if (port > 65535) problems.push('--port must be at most 65535');
  const latencyMs = nonNegativeInt('latency-ms', str('latency-ms'), problems);
  const maxRecordBytes = nonNegativeInt('max-record-bytes', str('max-record-bytes'), problems);
  if (maxRecordBytes === 0) problems.push('--max-record-bytes must be at least 1');
  const unknownTopic = str('unknown-topic');
  if (unknownTopic !== undefined && !(UNKNOWN_TOPIC_MODES as readonly string[]).includes(unknownTopic)) {
    problems.push(`--unknown-topic must be one of ${UNKNOWN_TOPIC_MODES.join(', ')}`);
  }
  const flavor = str('flavor');
  if (flavor !== undefined && !(FLAVORS as readonly string[]).includes(flavor)) {
    problems.push(`--flavor must be one of ${FLAVORS.join(', ')}`);
  }
  const clusterId = str('cluster-id');
  if (clusterId === '') problems.push('--cluster-id must not be empty');
  const consumerIdleMs = nonNegativeInt('consumer-idle-ms', str('consumer-idle-ms'), problems);
  if (consumerIdleMs === 0) problems.push('--consumer-idle-ms must be at least 1');
  const consumerRequestTimeoutMs = nonNegativeInt(
    'consumer-request-timeout-ms',
    str('consumer-request-timeout-ms'),
    problems,
  );
  const apiKey = str('api-key');
  if (apiKey === '') problems.push('--api-key must not be empty');
  const basicAuth = str('basic-auth');
  if (basicAuth !== undefined && !isBasicCredential(basicAuth)) {
    problems.push('--basic-auth must look like user:password');
  }
  const topics = str('topics') === undefined ? { demo: 3 } : parseTopics(str('topics') as string, problems);
  if (problems.length > 0) return { ok: false, problems };

  const options: Record<string, unknown> = { port, topics, host: str('host') ?? '127.0.0.1' };
  if (apiKey !== undefined) options.apiKey = apiKey;
  if (basicAuth !== undefined) options.basicAuth = basicAuth;
  if (str('data-dir') !== undefined) options.dataDir = str('data-dir');
  if (latencyMs !== undefined) options.latencyMs = latencyMs;
  if (maxRecordBytes !== undefined) options.maxRecordBytes = maxRecordBytes;
  if (unknownTopic !== undefined) options.unknownTopic = unknownTopic as UnknownTopicMode;
  if (flavor !== undefined) options.flavor = flavor as Flavor;
  if (clusterId !== undefined) options.clusterId = clusterId;
  if (consumerIdleMs !== undefined) options.consumerIdleMs = consumerIdleMs;
  if (consumerRequestTimeoutMs !== undefined) options.consumerRequestTimeoutMs = consumerRequestTimeoutMs;
  if (values['v1-whole-batches'] === true) options.v1WholeBatches = true;
  return {
    ok: true,
    help: values.help === true,
    quiet: values.quiet === true,
    options: options as KafkaRestServerOptions,
  };
};
