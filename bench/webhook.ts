/**
 * Webhook handler overhead: p50/p99 latency of the real handler (`makeHandler(createWebhookDeps(config))`,
 * real config, real Powertools logger, the proxy key read once from a local Secrets Manager endpoint and
 * cached) invoked with API Gateway HTTP API v2 events, beside a raw undici POST of the same record (same
 * body bytes, same headers, same server) measured in the same run. Requests go one at a time, as one
 * Lambda instance serves them; the three paths alternate in blocks so drift hits them alike.
 *
 * The measuring runs in a worker process whose stdout is /dev/null: the handler logs one JSON line per
 * request there, as it would to CloudWatch. The local Kafka REST server runs in a process of its own.
 *
 * Design §8 target: handler − raw ≤ 1 ms at p50, ≤ 3 ms at p99.
 *
 *   npx tsx bench/webhook.ts [--quick]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable, quantile } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const TOPIC = 'bench';
const API_KEY = 'bench-api-key-not-a-secret';
const API_KEY_SECRET_ID = 'bench/kafka-rest-api-key';
const GITHUB_SECRET_ID = 'bench/github-signing-secret';
const GITHUB_SECRET = 'bench-signing-secret-not-a-secret';
const BODY_BYTES = 1_024;
const REQUESTS = QUICK ? 400 : 4_000;
const WARMUP = QUICK ? 300 : 1_000;
const BLOCK = 50;

type PathName = 'handler (verify none)' | 'handler (verify github)' | 'raw POST';
const PATHS: readonly PathName[] = ['handler (verify none)', 'handler (verify github)', 'raw POST'];

interface WorkerResult {
  readonly latenciesMs: Record<PathName, number[]>;
  readonly peakRssMiB: number;
  readonly statuses: Record<PathName, number[]>;
}

const worker = async (): Promise<void> => {
  const [{ Pool }, { createWebhookDeps, makeHandler }, { loadConfig }, { V1_MEDIA }, fixtures, sm, sign] =
    await Promise.all([
      import('undici'),
      import('../handlers/webhook.js'),
      import('../lib/config.js'),
      import('../lib/kafka-rest/v1.js'),
      import('../test/fixtures/api-gateway.js'),
      import('../test/helpers/secrets-manager.js'),
      import('../lib/webhook/verify/sign.js'),
    ]);
  const url = process.env.BENCH_KAFKA_REST_URL as string;
  const secrets = await sm.startSecretsManager({
    [API_KEY_SECRET_ID]: API_KEY,
    [GITHUB_SECRET_ID]: GITHUB_SECRET,
  });
  const config = loadConfig({
    KAFKA_REST_URL: url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_SECRET_ID: API_KEY_SECRET_ID,
    SECRETS_MANAGER_ENDPOINT: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'INFO',
    WEBHOOK_ROUTES: JSON.stringify({
      plain: { topic: TOPIC, verify: { scheme: 'none' } },
      signed: { topic: TOPIC, verify: { scheme: 'github', secretId: GITHUB_SECRET_ID } },
    }),
  });
  const deps = createWebhookDeps(config);
  const handler = makeHandler(() => deps);
  const context = fixtures.lambdaContext(29_000);
  const body = JSON.stringify({ event: 'order.created', padding: 'x'.repeat(BODY_BYTES - 40) });
  const signature = sign.signGithub(GITHUB_SECRET, body);
  // API Gateway builds the event; building it is not the handler's cost, so it happens before timing.
  const events = (route: string, count: number) =>
    Array.from({ length: count }, () =>
      fixtures.httpApiEvent(
        `/hooks/${route}`,
        body,
        route === 'signed' ? { headers: { 'x-hub-signature-256': signature } } : {},
      ),
    );
  const pool = new Pool(url, { connections: config.kafka.connections, pipelining: 1 });
  const rawBody = Buffer.from(`{"records":[{"value":"${Buffer.from(body).toString('base64')}"}]}`, 'latin1');
  const rawHeaders = {
    'content-type': V1_MEDIA.produceContentType,
    accept: V1_MEDIA.accept,
    'x-auth-token': API_KEY,
  };

  const latenciesMs: Record<PathName, number[]> = {
    'handler (verify none)': [],
    'handler (verify github)': [],
    'raw POST': [],
  };
  const statuses: Record<PathName, number[]> = {
    'handler (verify none)': [],
    'handler (verify github)': [],
    'raw POST': [],
  };
  const one = async (path: PathName, plain: () => unknown, signed: () => unknown): Promise<number> => {
    if (path === 'raw POST') {
      const response = await pool.request({
        path: `/topics/${TOPIC}`,
        method: 'POST',
        headers: rawHeaders,
        body: rawBody,
      });
      await response.body.text();
      return response.statusCode;
    }
    const event = (path === 'handler (verify none)' ? plain() : signed()) as ReturnType<
      typeof fixtures.httpApiEvent
    >;
    return (await handler(event, context)).statusCode ?? 0;
  };
  const run = async (total: number, record: boolean): Promise<void> => {
    const plainEvents = events('plain', total);
    const signedEvents = events('signed', total);
    let plainAt = 0;
    let signedAt = 0;
    const plain = () => plainEvents[plainAt++];
    const signed = () => signedEvents[signedAt++];
    for (let done = 0; done < total; done += BLOCK) {
      const n = Math.min(BLOCK, total - done);
      for (const path of PATHS) {
        for (let i = 0; i < n; i++) {
          const start = performance.now();
          const status = await one(path, plain, signed);
          const elapsedMs = performance.now() - start;
          if (record) {
            latenciesMs[path].push(elapsedMs);
            statuses[path].push(status);
          }
        }
      }
    }
  };
  try {
    // The first call reads the secrets and connects; JIT settles during the rest of the warm-up.
    await run(WARMUP, false);
    await run(REQUESTS, true);
  } finally {
    await pool.close();
    await deps.kafka.close();
    await secrets.close();
  }
  const result: WorkerResult = { latenciesMs, statuses, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.send?.(result);
};

const main = async (): Promise<void> => {
  const server = await startKafkaRestProcess({ topics: { [TOPIC]: 3 }, apiKey: API_KEY });
  let result: WorkerResult;
  try {
    const child = fork(fileURLToPath(import.meta.url), ['--worker', ...(QUICK ? ['--quick'] : [])], {
      execArgv: ['--import', 'tsx'],
      // stdout: the handler's log lines, one per request, as in CloudWatch: measured, not shown.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BENCH_KAFKA_REST_URL: server.url,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
      },
    });
    result = await new Promise<WorkerResult>((resolve, reject) => {
      child.once('message', (message) => resolve(message as WorkerResult));
      child.once('exit', (code) => reject(new Error(`the webhook worker exited (${code}) without a result`)));
    });
  } finally {
    await server.close();
  }

  for (const path of PATHS) {
    const wrong = result.statuses[path].filter((status) => status !== (path === 'raw POST' ? 200 : 202));
    if (wrong.length > 0) throw new Error(`${path}: ${wrong.length} unexpected statuses, e.g. ${wrong[0]}`);
  }
  const at = (path: PathName, q: number): number => quantile(result.latenciesMs[path], q);
  const rows = PATHS.map((path) => [
    path,
    String(result.latenciesMs[path].length),
    formatNumber(at(path, 0.5)),
    formatNumber(at(path, 0.99)),
    path === 'raw POST' ? '' : formatNumber(at(path, 0.5) - at('raw POST', 0.5)),
    path === 'raw POST' ? '' : formatNumber(at(path, 0.99) - at('raw POST', 0.99)),
  ]);
  console.log(formatTable(['path', 'requests', 'p50 ms', 'p99 ms', 'overhead p50', 'overhead p99'], rows));
  console.log(
    `\n${BODY_BYTES} B JSON bodies, one request at a time, blocks of ${BLOCK} alternating; overhead = handler percentile − raw percentile. ` +
      `Worker peak RSS ${result.peakRssMiB.toFixed(0)} MiB.${QUICK ? ' (--quick)' : ''}`,
  );

  const summary: SummaryRow[] = [];
  for (const path of ['handler (verify none)', 'handler (verify github)'] as const) {
    for (const [q, label, limit] of [
      [0.5, 'p50', 1],
      [0.99, 'p99', 3],
    ] as const) {
      summary.push({
        scenario: `webhook ${path.replace('handler ', '')} ${label}`,
        metric: 'ms',
        figure: at(path, q),
        baseline: { label: 'raw', value: at('raw POST', q) },
        target: { kind: 'overhead-at-most', value: limit, unit: 'ms' },
      });
    }
  }
  summary.push({
    scenario: 'webhook: peak RSS (handler worker)',
    metric: 'MiB',
    figure: result.peakRssMiB,
    note: 'Worker with tsx, the raw baseline pool and an in-process Secrets Manager fake; see the bundle rows.',
  });
  reportRows(summary);
};

if (process.argv.includes('--worker')) await worker();
else await main();
