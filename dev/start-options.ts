import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  KAFKA_REST_DIALECTS,
  KAFKA_REST_FLAVORS,
  type KafkaRestDialect,
  type KafkaRestFlavor,
} from '../lib/kafka-rest/flavors.js';
import { LOCAL } from './local-stage.js';

/** The ports `npm start` listens on, each a flag and a key of the local file. */
export const PORTS = {
  httpPort: { flag: 'http-port', serves: 'webhooks (serverless offline)' },
  lambdaPort: { flag: 'lambda-port', serves: 'the offline Lambda API' },
  kafkaRestPort: { flag: 'kafka-rest-port', serves: 'the local Kafka REST server' },
  dynamoPort: { flag: 'dynamo-port', serves: 'dynalite (DynamoDB)' },
  sinkPort: { flag: 'sink-port', serves: 'the local HTTP sink' },
  docsPort: { flag: 'docs-port', serves: 'the OpenAPI document (docs/openapi.yaml)' },
  sqsPort: { flag: 'sqs-port', serves: 'the local SQS' },
  s3Port: { flag: 's3-port', serves: 'the local S3' },
  consolePort: { flag: 'console-port', serves: 'the local console' },
} as const;
export type PortName = keyof typeof PORTS;

export interface StartOptions {
  /** `strimzi`: the functions talk to the real Kafka and Strimzi bridge of peers/ instead of our server. */
  readonly peers: 'strimzi' | undefined;
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
  readonly verbose: boolean;
  readonly ports: Readonly<Record<PortName, number>>;
  /** `WEBHOOK_ROUTES` instead of the local stage's, when given. */
  readonly routes: string | undefined;
}

/** The git-ignored file of a developer's own defaults (ports, routes), beside package.json. */
export const LOCAL_FILE = 'local.json';

export const USAGE = `Usage: npm start [-- options]

  --dialect v1|v2|v3        the API the functions speak (default v1; the local server speaks all three)
  --flavor confluent|redpanda|karapace|strimzi   the server's and the client's quirks (default confluent)
  --peers strimzi           the real Apache Kafka and Strimzi Kafka Bridge (peers/: a JDK >= 21, Maven, a
                            bridge release) instead of the local Kafka REST server; implies v2/strimzi
  --verbose                 every log line in full (JSON), instead of one short line per event
  --http-port N             webhooks (default ${LOCAL.httpPort})
  --lambda-port N           the offline Lambda API (default ${LOCAL.lambdaPort})
  --kafka-rest-port N       the local Kafka REST server (default ${LOCAL.kafkaRestPort})
  --dynamo-port N           dynalite (default ${LOCAL.dynamoPort})
  --sink-port N             the local HTTP sink (default ${LOCAL.sinkPort})
  --docs-port N             GET /openapi.yaml, the webhook API's description (default ${LOCAL.docsPort})
  --sqs-port N              the local SQS (default ${LOCAL.sqsPort})
  --s3-port N               the local S3 (default ${LOCAL.s3Port})
  --console-port N          the local console, a web page on 127.0.0.1 (default ${LOCAL.consolePort})
  --routes JSON             WEBHOOK_ROUTES instead of the local ones

The same keys (httpPort, lambdaPort, kafkaRestPort, dynamoPort, sinkPort, docsPort, sqsPort, s3Port, consolePort,
routes, dialect, flavor) can be set in ${LOCAL_FILE} beside package.json (git-ignored); flags win.`;

const isPort = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) > 0 && (value as number) < 65_536;

/**
 * Reads `npm start`'s flags over the local file's values over the embedded defaults. Returns every
 * problem at once (naming the flag or key and what it expects) instead of options when there is any.
 */
export const parseStartOptions = (
  args: readonly string[],
  localFile: string | undefined,
): { readonly options: StartOptions } | { readonly problems: string[]; readonly help: boolean } => {
  const problems: string[] = [];
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        dialect: { type: 'string' },
        flavor: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        peers: { type: 'string' },
        help: { type: 'boolean', default: false },
        routes: { type: 'string' },
        ...Object.fromEntries(Object.values(PORTS).map(({ flag }) => [flag, { type: 'string' as const }])),
      },
    }).values;
  } catch (error) {
    return { problems: [(error as Error).message], help: false };
  }
  if (values.help === true) return { problems: [], help: true };

  let file: Record<string, unknown> = {};
  if (localFile !== undefined) {
    try {
      const parsed: unknown = JSON.parse(localFile);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        file = parsed as Record<string, unknown>;
      else problems.push(`${LOCAL_FILE} must hold a JSON object`);
    } catch {
      problems.push(`${LOCAL_FILE} is not valid JSON`);
    }
  }

  const choose = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = values[name] ?? file[name] ?? fallback;
    if (allowed.includes(value as T)) return value as T;
    problems.push(`--${name} must be one of ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
    return fallback;
  };
  const peers = values.peers === undefined ? undefined : choose('peers', ['strimzi'] as const, 'strimzi');
  // The real bridge speaks only its own v2: the flavor follows.
  const dialect = choose('dialect', KAFKA_REST_DIALECTS, peers === undefined ? 'v1' : 'v2');
  const flavor = choose('flavor', KAFKA_REST_FLAVORS, peers === undefined ? 'confluent' : 'strimzi');
  if (peers !== undefined && (dialect !== 'v2' || flavor !== 'strimzi')) {
    problems.push(
      '--peers strimzi talks to the Strimzi bridge: leave --dialect and --flavor out (v2, strimzi)',
    );
  }

  const ports = {} as Record<PortName, number>;
  for (const [name, { flag }] of Object.entries(PORTS) as [PortName, (typeof PORTS)[PortName]][]) {
    const given = values[flag] ?? file[name];
    const port = given === undefined ? LOCAL[name] : Number(given);
    if (!isPort(port))
      problems.push(
        `--${flag} (${LOCAL_FILE}: ${name}) must be a port from 1 to 65535, got ${JSON.stringify(given)}`,
      );
    ports[name] = port;
  }
  const taken = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    const other = taken.get(port);
    if (other !== undefined) problems.push(`${other} and ${name} are both ${port}: give each its own port`);
    taken.set(port, name);
  }

  const routesValue = values.routes ?? file.routes;
  let routes: string | undefined;
  if (routesValue !== undefined) {
    routes = typeof routesValue === 'string' ? routesValue : JSON.stringify(routesValue);
    try {
      JSON.parse(routes);
    } catch {
      problems.push('--routes must be JSON (the WEBHOOK_ROUTES object)');
    }
  }

  if (problems.length > 0) return { problems, help: false };
  return { options: { peers, dialect, flavor, verbose: values.verbose === true, ports, routes } };
};

/** The local file's text, when the developer has one. */
export const readLocalFile = (root: URL): string | undefined => {
  const path = new URL(LOCAL_FILE, root);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
};
