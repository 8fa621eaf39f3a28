/**
 * Cold start and bundle size of each function, measured honestly: a fresh `node` process imports the
 * bundled handler (the `serverless package` artifact, packaged afresh for every run, AWS SDK resolved from
 * this repo's node_modules as Lambda's runtime provides it) and serves its first invocation against local
 * servers: the Kafka REST server, a Secrets Manager endpoint (`SECRETS_SOURCE=sdk`: one signed call) or a stand-in of the
 * Parameters and Secrets Lambda Extension (`SECRETS_SOURCE=extension`), and for the drain dynalite and an
 * HTTP sink. Median of several processes per configuration, interleaved so drift hits every configuration
 * alike, beside two yardsticks: an empty module and `require('undici')`.
 *
 * Targets: import + first invocation ≤ 0.75 × `require('undici')` in the same run, with either secret
 * source (issue #18; design §8's 150 ms is looser here); bundle ≤ 250 KB minified without the AWS SDK;
 * peak RSS within a 128 MB Lambda.
 *
 *   npx tsx bench/cold-start.ts [--quick] [--only=<text>] [--load=<n>] [--cpu-prof=<dir>] [--bundle=<fn>:<file.mjs>]
 *
 * `--load=<n>`: invocations after the first in one process per configuration (peak RSS under load).
 * `--bundle=webhook:/path/to/webhook.mjs` adds a bundle of your own (an experiment, run with either
 * secret source, e.g. an older commit's for a before/after in one run) to the scenario table, not to the
 * summary; it must sit under this repo's node_modules (or next to one) so that it finds the AWS SDK.
 * `--only=<text>` measures only the configurations whose label contains <text>; `--cpu-prof=<dir>` keeps a
 * V8 CPU profile of every probe process in <dir>, sampled every 100 µs (Node's 1 ms default leaves a few
 * dozen samples for a first invocation); open them in Chrome DevTools.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureTable, SPOOL_KEYS_TABLE_KEYS } from '../dev/dynamodb-table.js';
import { startHttpSink } from '../dev/http-sink.js';
import { encodeSpoolMessage } from '../lib/ingest/spool/message.js';
import { httpApiEvent } from '../test/fixtures/api-gateway.js';
import { eventBridgeEvent } from '../test/fixtures/eventbridge.js';
import { sqsEvent, sqsRecord } from '../test/fixtures/sqs.js';
import { startDynalite } from '../test/helpers/dynalite.js';
import { startSecretsManager } from '../test/helpers/secrets-manager.js';
import { type BundleInfo, FUNCTIONS, type FunctionName, packageFunctions } from './lib/bundles.js';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { startSecretsExtension } from './lib/secrets-extension.js';
import { formatNumber, formatTable, median } from './lib/stats.js';

// Lambda's Node 22 has no such warning; this machine's Node 20 would print one per process.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const QUICK = process.argv.includes('--quick');
const EXTRA_BUNDLES = process.argv
  .filter((arg) => arg.startsWith('--bundle='))
  .map((arg) => {
    const [fn = '', ...file] = arg.slice('--bundle='.length).split(':');
    if (!(FUNCTIONS as readonly string[]).includes(fn)) throw new Error(`--bundle: unknown function ${fn}`);
    return { fn: fn as FunctionName, file: file.join(':') };
  });
const ONLY = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const CPU_PROF_DIR = process.argv.find((arg) => arg.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
/** Fresh processes per configuration; the median is reported. */
const SAMPLES = QUICK ? 3 : 11;
/** Invocations after the first, in one process per configuration: the load behind the peak RSS figure. */
const LOAD_INVOCATIONS = Number(
  process.argv.find((arg) => arg.startsWith('--load='))?.slice('--load='.length) ?? (QUICK ? 20 : 200),
);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SPOOL_KEYS_TABLE = 'bench-spool-keys';
const WORK_DIR = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
const PROBE = fileURLToPath(new URL('./lib/cold-start-probe.mjs', import.meta.url));
/** Issue #18: every cold start, with either secret source, at most this share of `require('undici')`. */
const TARGET_UNDICI_RATIO = 0.75;
/**
 * Probes run with the heap limits Lambda's Node.js bootstrap derives from the memory size (new space =
 * memory / 10, half of it per semi-space; old space = memory − new space), here for the 128 MB the RSS
 * target names: V8 sized for this 23 GiB machine would grow its heap far more lazily than in Lambda.
 */
const LAMBDA_MEMORY_MB = 128;
const LAMBDA_HEAP_FLAGS = [
  `--max-semi-space-size=${Math.floor(LAMBDA_MEMORY_MB / 20)}`,
  `--max-old-space-size=${LAMBDA_MEMORY_MB - Math.floor(LAMBDA_MEMORY_MB / 10)}`,
];
const TARGET_BUNDLE_KB = 250;
const API_KEY = 'bench-api-key-not-a-secret';
const SECRET_ID = 'bench/kafka-rest-api-key';
const SESSION_TOKEN = 'bench-session-token-not-a-secret';
const DRAIN_RECORDS = 50;

type SecretSource = 'sdk' | 'extension';

interface Configuration {
  readonly label: string;
  /** Module to import: a bundle's file URL, `undici`, or a module of the benchmark's own. */
  readonly target: string;
  /** The event its handler is invoked with, when it is not a function's (a yardstick that invokes). */
  readonly eventFile?: string;
  readonly fn?: FunctionName;
  readonly secrets?: SecretSource;
  readonly bundle?: BundleInfo;
  /** `experiment`: a `--bundle=` of the caller's, in the scenario table only. */
  readonly kind: 'baseline' | 'packaged' | 'experiment';
}

interface Probe {
  readonly bootMs: number;
  readonly importMs: number;
  readonly invokeMs: number;
  /** CPU time (user + system) of import and first invocation: less sensitive to other load than wall time. */
  readonly cpuMs: number;
  readonly outcome: string;
  readonly peakRssMiB: number;
}

const spawnProbe = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<Probe> =>
  new Promise((resolve, reject) => {
    const nodeArgs = [
      ...LAMBDA_HEAP_FLAGS,
      ...(CPU_PROF_DIR === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${CPU_PROF_DIR}`]),
    ];
    const child = spawn(process.execPath, [...nodeArgs, PROBE, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const line = stdout.split('\n').find((text) => text.startsWith('@@probe '));
      if (line === undefined) {
        const tail = `${stderr}\n${stdout}`.trim().split('\n').slice(-12).join('\n');
        reject(new Error(`probe exited ${code} without a result:\n${tail}`));
        return;
      }
      resolve(JSON.parse(line.slice('@@probe '.length)) as Probe);
    });
  });

const main = async (): Promise<void> => {
  const packaged = await packageFunctions(ROOT, join(WORK_DIR, 'packaged'));
  const emptyModule = join(WORK_DIR, 'empty.mjs');
  writeFileSync(emptyModule, 'export {};\n');

  const kafkaRest = await startKafkaRestProcess({ topics: { bench: 1, drain: 1 }, apiKey: API_KEY });
  await kafkaRest.append('drain', 0, DRAIN_RECORDS, 256);
  const secretsManager = await startSecretsManager({ [SECRET_ID]: API_KEY });
  const extension = await startSecretsExtension({
    sessionToken: SESSION_TOKEN,
    secrets: { [SECRET_ID]: API_KEY },
  });
  const dynamo = await startDynalite('bench-checkpoints');
  await ensureTable(dynamo.client, SPOOL_KEYS_TABLE, SPOOL_KEYS_TABLE_KEYS);
  const sink = await startHttpSink({});
  // The drain's first invocation hands its records to the sink one POST each (an HTTP sink's default
  // `single` mode, in offset order): the same POSTs through undici alone, as a floor beside the drain.
  const rawDeliveries = join(WORK_DIR, 'raw-deliveries.mjs');
  writeFileSync(
    rawDeliveries,
    `import undici from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('undici')).href)};
const pool = new undici.Pool(${JSON.stringify(sink.url)});
const value = Buffer.alloc(256, 97);
export const handler = async () => {
  for (let i = 0; i < ${DRAIN_RECORDS}; i++) {
    const response = await pool.request({ path: '/records', method: 'POST', body: value, headers: { 'content-type': 'application/octet-stream' } });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error('sink answered ' + response.statusCode);
  }
};
`,
  );
  const rawDeliveriesEvent = join(WORK_DIR, 'raw-deliveries-event.json');
  writeFileSync(rawDeliveriesEvent, '{}');

  const body = JSON.stringify({ id: 'order-1', event: 'order.created', padding: 'x'.repeat(200) });
  const events: Record<FunctionName, unknown> = {
    webhook: httpApiEvent('/hooks/bench', body),
    queue: sqsEvent(Array.from({ length: 10 }, () => sqsRecord(body))),
    // A batch of the spool queue as the webhook writes it (FIFO, one group per key): what the spool
    // function backfills after an outage.
    spool: sqsEvent(
      Array.from({ length: 10 }, (_, n) =>
        sqsRecord(
          encodeSpoolMessage({
            receipt: `spl_bench${n}`,
            route: 'bench',
            topic: 'bench',
            record: { key: Buffer.from(`order-${n}`), value: Buffer.from(body) },
            requestId: `bench-${n}`,
            spooledAt: new Date(0).toISOString(),
          }),
          { groupId: `k-order-${n}` },
        ),
      ),
    ),
    events: eventBridgeEvent({ orderId: 'order-1', total: 42 }),
    drain: { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
  };
  const eventFiles = {} as Record<FunctionName, string>;
  for (const fn of FUNCTIONS) {
    eventFiles[fn] = join(WORK_DIR, `${fn}-event.json`);
    writeFileSync(eventFiles[fn], JSON.stringify(events[fn]));
  }

  let drainRuns = 0;
  const envFor = (config: Configuration): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      // Lambda's Node 22 has no such warning; this machine's Node 20 would print it and pay for it.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    if (config.fn === undefined) return env;
    Object.assign(env, {
      POWERTOOLS_SERVICE_NAME: 'kafka-rest-bridge',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(LAMBDA_MEMORY_MB),
      LOG_LEVEL: 'INFO',
      KAFKA_REST_URL: kafkaRest.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'api-key',
      KAFKA_REST_SECRET_ID: SECRET_ID,
      SECRETS_SOURCE: config.secrets ?? 'sdk',
      SECRETS_MANAGER_ENDPOINT: secretsManager.endpoint,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      WEBHOOK_ROUTES: JSON.stringify({ bench: { topic: 'bench', verify: { scheme: 'none' } } }),
      QUEUE_TOPIC: 'bench',
      EVENTS_TOPIC: 'bench',
      CHECKPOINT_TABLE: dynamo.tableName,
      SPOOL_KEYS_TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      // A drain id of its own per process: every run drains the same records from offset 0.
      DRAINS: JSON.stringify([
        {
          id: `cold-${drainRuns++}`,
          topic: 'drain',
          partitions: 'all',
          sink: { type: 'http', url: `${sink.url}/records`, allowHttp: true },
          batchSize: 100,
          resetPolicy: 'earliest',
        },
      ]),
    });
    return env;
  };

  const configurations: Configuration[] = [
    { label: 'empty module', target: pathToFileURL(emptyModule).href, kind: 'baseline' },
    { label: "require('undici')", target: 'undici', kind: 'baseline' },
    {
      label: `require('undici') + ${DRAIN_RECORDS} sink POSTs in a row`,
      target: pathToFileURL(rawDeliveries).href,
      eventFile: rawDeliveriesEvent,
      kind: 'baseline',
    },
  ];
  for (const bundle of packaged) {
    for (const secrets of ['sdk', 'extension'] as const) {
      configurations.push({
        label: `${bundle.fn} (packaged, secret via ${secrets})`,
        target: pathToFileURL(bundle.file).href,
        fn: bundle.fn,
        secrets,
        bundle,
        kind: 'packaged',
      });
    }
  }
  for (const extra of EXTRA_BUNDLES) {
    for (const secrets of ['sdk', 'extension'] as const) {
      configurations.push({
        label: `${extra.fn} (${extra.file.split('/').slice(-4).join('/')}, secret via ${secrets})`,
        target: pathToFileURL(extra.file).href,
        fn: extra.fn,
        secrets,
        bundle: { fn: extra.fn, file: extra.file, bytes: statSync(extra.file).size },
        kind: 'experiment',
      });
    }
  }
  if (ONLY !== undefined) {
    const kept = configurations.filter((config) => config.kind === 'baseline' || config.label.includes(ONLY));
    configurations.splice(0, configurations.length, ...kept);
  }
  const probes = new Map<Configuration, Probe[]>(configurations.map((config) => [config, []]));
  const failures = new Map<Configuration, string>();
  const secretPaths = new Map<Configuration, Set<string>>();
  try {
    for (let sample = 0; sample < SAMPLES; sample++) {
      for (const config of configurations) {
        if (failures.has(config)) continue;
        const args = [
          config.target,
          config.eventFile ?? (config.fn === undefined ? '-' : eventFiles[config.fn]),
          String(sample === 0 && config.fn !== undefined ? LOAD_INVOCATIONS : 0),
        ];
        try {
          const viaExtension = extension.requests.length;
          const viaSecretsManager = secretsManager.requests.length;
          const probe = await spawnProbe(args, envFor(config));
          probes.get(config)?.push(probe);
          // Which path the secret really took (a deps factory may ignore SECRETS_SOURCE).
          const used = secretPaths.get(config) ?? new Set<string>();
          if (extension.requests.length > viaExtension) used.add('extension');
          if (secretsManager.requests.length > viaSecretsManager) used.add('Secrets Manager');
          secretPaths.set(config, used);
        } catch (error) {
          failures.set(config, (error as Error).message);
        }
      }
    }
  } finally {
    await sink.close();
    await dynamo.close();
    await extension.close();
    await secretsManager.close();
    await kafkaRest.close();
  }

  const medianOf = (config: Configuration, pick: (probe: Probe) => number): number =>
    median((probes.get(config) ?? []).map(pick));
  const rows = configurations.map((config) => {
    const failure = failures.get(config);
    if (failure !== undefined) {
      return [config.label, '', '', '', '', '', '', '', '', `FAILED: ${failure.split('\n')[0]}`];
    }
    const list = probes.get(config) ?? [];
    return [
      config.label,
      config.bundle === undefined ? '' : formatNumber(config.bundle.bytes / 1000),
      formatNumber(medianOf(config, (probe) => probe.bootMs)),
      formatNumber(medianOf(config, (probe) => probe.importMs)),
      config.fn === undefined && config.eventFile === undefined
        ? ''
        : formatNumber(medianOf(config, (probe) => probe.invokeMs)),
      formatNumber(medianOf(config, (probe) => probe.importMs + probe.invokeMs)),
      formatNumber(medianOf(config, (probe) => probe.cpuMs)),
      formatNumber(Math.max(...list.map((probe) => probe.peakRssMiB))),
      config.fn === undefined ? '' : [...(secretPaths.get(config) ?? [])].join('+') || 'none',
      [...new Set(list.map((probe) => probe.outcome))].join(', '),
    ];
  });
  console.log(
    formatTable(
      [
        'module',
        'KB',
        'node boot ms',
        'import ms',
        '1st invoke ms',
        'import+invoke ms',
        'CPU ms',
        'peak RSS MiB',
        'secret read via',
        'outcome',
      ],
      rows,
    ),
  );
  for (const [config, failure] of failures) console.log(`\n${config.label} failed:\n${failure}`);
  console.log(
    `\nMedian of ${SAMPLES} fresh processes each (Node ${process.versions.node}; Lambda runs Node 22). ` +
      `"node boot" is process start → first line of the probe (the same for all; Lambda's runtime pays it too). ` +
      `Peak RSS after ${LOAD_INVOCATIONS} more invocations in one of them, heap limits of a ${LAMBDA_MEMORY_MB} MB Lambda (${LAMBDA_HEAP_FLAGS.join(' ')}). ` +
      `KB = 1000 bytes, minified .mjs without the AWS SDK, as \`serverless package --stage dev\` built it.${QUICK ? ' (--quick)' : ''}`,
  );

  const undici = configurations[1] as Configuration;
  const undiciMs = medianOf(undici, (probe) => probe.importMs);
  const floor = configurations[2] as Configuration;
  if (!failures.has(floor)) {
    const floorMs = medianOf(floor, (probe) => probe.importMs + probe.invokeMs);
    const drains = configurations.filter(
      (config) => config.kind === 'packaged' && config.fn === 'drain' && !failures.has(config),
    );
    const drainRatios = drains
      .map((config) => {
        const ms = medianOf(config, (probe) => probe.importMs + probe.invokeMs);
        return `${config.secrets}: ${(ms / floorMs).toFixed(2)} ×`;
      })
      .join(', ');
    console.log(
      `The drain's first invocation delivers ${DRAIN_RECORDS} records, one POST each in offset order (an HTTP sink's ` +
        `default single mode). Those POSTs alone, through raw undici after require('undici'), take ` +
        `${formatNumber(floorMs)} ms = ${(floorMs / undiciMs).toFixed(2)} × require('undici') (the drain's target for all ` +
        `of its work: ${TARGET_UNDICI_RATIO} ×). The whole drain (import, secret, partitions, lease, fetch, the ` +
        `${DRAIN_RECORDS} POSTs, commit, release) against them: ${drainRatios}.`,
    );
  }
  const summary: SummaryRow[] = [];
  for (const config of configurations) {
    if (config.kind !== 'packaged' || config.fn === undefined || failures.has(config)) continue;
    const used = [...(secretPaths.get(config) ?? [])].join('+') || 'none';
    summary.push({
      scenario: `cold start ${config.fn} (packaged, SECRETS_SOURCE=${config.secrets} → ${used})`,
      metric: 'ms',
      figure: medianOf(config, (probe) => probe.importMs + probe.invokeMs),
      baseline: { label: "require('undici')", value: undiciMs },
      target: { kind: 'ratio-at-most', value: TARGET_UNDICI_RATIO },
    });
  }
  for (const bundle of packaged) {
    summary.push({
      scenario: `bundle ${bundle.fn} (packaged)`,
      metric: 'KB',
      figure: bundle.bytes / 1000,
      target: { kind: 'at-most', value: TARGET_BUNDLE_KB, unit: 'KB' },
    });
  }
  for (const config of configurations) {
    if (config.kind !== 'packaged' || config.secrets !== 'extension') continue;
    const list = probes.get(config) ?? [];
    if (list.length === 0) continue;
    summary.push({
      scenario: `peak RSS ${config.fn} (bundle, ${LOAD_INVOCATIONS + 1} invocations)`,
      metric: 'MiB',
      figure: Math.max(...list.map((probe) => probe.peakRssMiB)),
      target: { kind: 'at-most', value: 128, unit: 'MiB' },
    });
  }
  reportRows(summary);
  if (failures.size > 0) process.exitCode = 1;
};

try {
  await main();
} finally {
  rmSync(WORK_DIR, { recursive: true, force: true });
}
