/**
 * Webhook handler overhead: p50/p99 latency of the real handler (`makeHandler(createWebhookDeps(config))`,
 * real config, real Powertools logger, the proxy key read once from a local Secrets Manager endpoint and
 * cached) invoked with API Gateway HTTP API v2 events, beside a raw undici POST of the same record (same
 * body bytes, same headers, same server) measured in the same run, and a raw POST that builds that body
 * from the webhook's text at each request in the shortest code (`raw POST, encoding`: what any bridge
 * must do, a yardstick). Requests go one at a time, as one Lambda instance serves them; the paths
 * alternate in blocks so drift hits them alike.
 *
 * The measuring runs in a worker process whose stdout is /dev/null: the handler logs one JSON line per
 * request there, as it would to CloudWatch. The local Kafka REST server runs in a process of its own.
 *
 * Design §8 target: handler − raw ≤ 1 ms at p50, ≤ 3 ms at p99.
 *
 *   npx tsx bench/webhook.ts [--quick]
 */
import { fork } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BASE64_SLICE_BYTES } from '../lib/kafka-rest/v1.js';
import { startKafkaRestProcess } from './lib/kafka-rest-process.js';
import { reportRows, type SummaryRow } from './lib/report.js';
import { formatNumber, formatTable, quantile } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const TOPIC = 'bench';
const PARTITIONS = 3;
const API_KEY = 'bench-api-key-not-a-secret';
const API_KEY_SECRET_ID = 'bench/kafka-rest-api-key';
const GITHUB_SECRET_ID = 'bench/github-signing-secret';
const GITHUB_SECRET = 'bench-signing-secret-not-a-secret';
interface BodySize {
  readonly name: string;
  readonly bytes: number;
  readonly requests: number;
  readonly warmup: number;
  readonly block: number;
}

/** 1 KB is the common webhook; 500 KB and 1 MB (the default record limit, key included) are the large ones. */
const SIZES: readonly BodySize[] = [
  { name: '1 KB', bytes: 1_024, requests: QUICK ? 400 : 4_000, warmup: QUICK ? 300 : 1_000, block: 50 },
  { name: '500 KB', bytes: 500_000, requests: QUICK ? 40 : 400, warmup: QUICK ? 20 : 100, block: 10 },
  { name: '1 MB', bytes: 1_000_000, requests: QUICK ? 20 : 200, warmup: QUICK ? 10 : 50, block: 10 },
];

type PathName = 'handler (verify none)' | 'handler (verify github)' | 'raw POST' | 'raw POST, encoding';
const PATHS: readonly PathName[] = [
  'handler (verify none)',
  'handler (verify github)',
  'raw POST',
  'raw POST, encoding',
];
const HANDLER_PATHS = ['handler (verify none)', 'handler (verify github)'] as const;
const isRaw = (path: PathName): boolean => path.startsWith('raw POST');
const byPath = <T>(make: () => T): Record<PathName, T> =>
  Object.fromEntries(PATHS.map((path) => [path, make()])) as Record<PathName, T>;

interface SizeResult {
  readonly latenciesMs: Record<PathName, number[]>;
  readonly statuses: Record<PathName, number[]>;
  /** By verification: the CPU no handler avoids (see {@link encodingFloorMs}). */
  readonly floorMs: Record<'none' | 'github', number[]>;
}

/**
 * The work no webhook handler can skip for a text body, timed alone: its UTF-8 bytes, for `github` their
 * HMAC-SHA256, and their base64 written into a body buffer, in the fastest way measured (Node's native
 * base64 in the encoder's slices, written as latin1). No HTTP, no JSON, no checks.
 */
const encodingFloorMs = (body: string, hmacKey: string | undefined): number => {
  const start = performance.now();
  const bytes = Buffer.from(body, 'utf8');
  if (hmacKey !== undefined) createHmac('sha256', hmacKey).update(bytes).digest();
  const out = Buffer.allocUnsafe(Math.ceil(bytes.length / 3) * 4);
  let at = 0;
  for (let from = 0; from < bytes.length; from += BASE64_SLICE_BYTES) {
    at += out.write(
      bytes.toString('base64', from, Math.min(from + BASE64_SLICE_BYTES, bytes.length)),
      at,
      'latin1',
    );
  }
  return performance.now() - start;
};

/** Worker → parent: the result, or a request to empty the topic; parent → worker: `reset-done`. */
type WorkerMessage =
  | { readonly kind: 'result'; readonly result: WorkerResult }
  | { readonly kind: 'reset' }
  | { readonly kind: 'reset-done' };

interface WorkerResult {
  /** By {@link BodySize.name}. */
  readonly sizes: Record<string, SizeResult>;
  readonly peakRssMiB: number;
}

const worker = async (): Promise<void> => {
  const [{ Pool }, { makeHandler }, { createWebhookDeps }, { loadConfig }, { V1_MEDIA }, fixtures, sm, sign] =
    await Promise.all([
      import('undici'),
      import('../handlers/webhook.js'),
      import('../lib/wiring/webhook.js'),
      import('../lib/wiring/settings/all.js'),
      import('../lib/kafka-rest/v1.js'),
      import('../test/fixtures/api-gateway.js'),
      import('../test/helpers/secrets-manager.js'),
      import('../lib/formats/webhook-signature.js'),
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
  const pool = new Pool(url, { connections: config.kafka.connections, pipelining: 1 });
  const rawHeaders = {
    'content-type': V1_MEDIA.produceContentType,
    accept: V1_MEDIA.accept,
    'x-auth-token': API_KEY,
  };
  // The server keeps every record: past a few hundred large ones it would hold gigabytes. The parent owns
  // it, so the worker asks it to empty the topic between blocks (not timed).
  const resetServer = (): Promise<void> =>
    new Promise((resolve) => {
      process.once('message', () => resolve());
      process.send?.({ kind: 'reset' } satisfies WorkerMessage);
    });

  const measure = async (size: BodySize): Promise<SizeResult> => {
    const body = JSON.stringify({ event: 'order.created', padding: 'x'.repeat(size.bytes - 40) });
    const signature = sign.signGithub(GITHUB_SECRET, body);
    // API Gateway builds the event; building it is not the handler's cost, so it happens before timing.
    const event = (route: 'plain' | 'signed') =>
      fixtures.httpApiEvent(
        `/hooks/${route}`,
        body,
        route === 'signed' ? { headers: { 'x-hub-signature-256': signature } } : {},
      );
    const rawBody = Buffer.from(
      `{"records":[{"value":"${Buffer.from(body).toString('base64')}"}]}`,
      'latin1',
    );
    const latenciesMs = byPath<number[]>(() => []);
    const statuses = byPath<number[]>(() => []);
    const rawPost = async (requestBody: string | Buffer): Promise<number> => {
      const response = await pool.request({
        path: `/topics/${TOPIC}`,
        method: 'POST',
        headers: rawHeaders,
        body: requestBody,
      });
      await response.body.text();
      return response.statusCode;
    };
    // The shortest code that does what any bridge must with a webhook received as text: its UTF-8 bytes
    // in base64, in a JSON body, built at each request.
    const rawPostEncoding = (): Promise<number> =>
      rawPost(JSON.stringify({ records: [{ value: Buffer.from(body, 'utf8').toString('base64') }] }));
    /** One request of `path`, ready to send: the handler's event is built before the clock starts. */
    const prepare = (path: PathName): (() => Promise<number>) => {
      if (path === 'raw POST') return () => rawPost(rawBody);
      if (path === 'raw POST, encoding') return rawPostEncoding;
      const input = event(path === 'handler (verify none)' ? 'plain' : 'signed');
      return async () => (await handler(input, context)).statusCode ?? 0;
    };
    const run = async (total: number, record: boolean): Promise<void> => {
      for (let done = 0; done < total; done += size.block) {
        const n = Math.min(size.block, total - done);
        for (const path of PATHS) {
          for (let i = 0; i < n; i++) {
            const send = prepare(path);
            const start = performance.now();
            const status = await send();
            const elapsedMs = performance.now() - start;
            if (record) {
              latenciesMs[path].push(elapsedMs);
              statuses[path].push(status);
            }
          }
        }
        if (size.bytes > 64 * 1024) await resetServer();
      }
    };
    // The first call reads the secrets and connects; JIT settles during the rest of the warm-up.
    await run(size.warmup, false);
    await run(size.requests, true);
    const floorMs = { none: [] as number[], github: [] as number[] };
    for (let i = 0; i < size.warmup + size.requests; i++) {
      const none = encodingFloorMs(body, undefined);
      const github = encodingFloorMs(body, GITHUB_SECRET);
      if (i >= size.warmup) {
        floorMs.none.push(none);
        floorMs.github.push(github);
      }
    }
    return { latenciesMs, statuses, floorMs };
  };

  const sizes: Record<string, SizeResult> = {};
  try {
    for (const size of SIZES) sizes[size.name] = await measure(size);
  } finally {
    await pool.close();
    await deps.kafka.close();
    await secrets.close();
  }
  const result: WorkerResult = { sizes, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.send?.({ kind: 'result', result } satisfies WorkerMessage);
};

const main = async (): Promise<void> => {
  const server = await startKafkaRestProcess({ topics: { [TOPIC]: PARTITIONS }, apiKey: API_KEY });
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
      child.on('message', (message: WorkerMessage) => {
        if (message.kind === 'result') resolve(message.result);
        else void server.reset(TOPIC, PARTITIONS).then(() => child.send({ kind: 'reset-done' }), reject);
      });
      child.once('exit', (code) => reject(new Error(`the webhook worker exited (${code}) without a result`)));
    });
  } finally {
    await server.close();
  }

  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  for (const size of SIZES) {
    const measured = result.sizes[size.name] as SizeResult;
    for (const path of PATHS) {
      const wrong = measured.statuses[path].filter((status) => status !== (isRaw(path) ? 200 : 202));
      if (wrong.length > 0) {
        throw new Error(`${size.name} ${path}: ${wrong.length} unexpected statuses, e.g. ${wrong[0]}`);
      }
    }
    const at = (path: PathName, q: number): number => quantile(measured.latenciesMs[path], q);
    const over = (path: PathName, base: PathName, q: number): string =>
      path === base || (isRaw(path) && base !== 'raw POST') ? '' : formatNumber(at(path, q) - at(base, q));
    for (const path of PATHS) {
      rows.push([
        size.name,
        path,
        String(measured.latenciesMs[path].length),
        formatNumber(at(path, 0.5)),
        formatNumber(at(path, 0.99)),
        over(path, 'raw POST', 0.5),
        over(path, 'raw POST', 0.99),
        over(path, 'raw POST, encoding', 0.5),
        over(path, 'raw POST, encoding', 0.99),
      ]);
    }
    for (const verify of ['none', 'github'] as const) {
      const floor = measured.floorMs[verify];
      rows.push([
        size.name,
        `CPU floor (verify ${verify})`,
        String(floor.length),
        formatNumber(quantile(floor, 0.5)),
        formatNumber(quantile(floor, 0.99)),
        '',
        '',
        '',
        '',
      ]);
      if (size.bytes > 64 * 1024) {
        summary.push({
          scenario: `webhook ${size.name} (verify ${verify}): CPU floor p50`,
          metric: 'ms',
          figure: quantile(floor, 0.5),
          note: FLOOR_NOTE,
        });
      }
    }
    for (const path of HANDLER_PATHS) {
      for (const [q, label, limit] of [
        [0.5, 'p50', 1],
        [0.99, 'p99', 3],
      ] as const) {
        summary.push({
          scenario: `webhook ${size.name} ${path.replace('handler ', '')} ${label}`,
          metric: 'ms',
          figure: at(path, q),
          baseline: { label: 'raw', value: at('raw POST', q) },
          target: { kind: 'overhead-at-most', value: limit, unit: 'ms' },
        });
        if (size.bytes > 64 * 1024) {
          summary.push({
            scenario: `webhook ${size.name} ${path.replace('handler ', '')} ${label}, beside raw encoding`,
            metric: 'ms',
            figure: at(path, q),
            baseline: { label: 'raw, encoding', value: at('raw POST, encoding', q) },
            note: ENCODING_NOTE,
          });
        }
      }
    }
  }
  console.log(
    formatTable(
      [
        'body',
        'path',
        'requests',
        'p50 ms',
        'p99 ms',
        'over raw p50',
        'over raw p99',
        'over (raw, encoding) p50',
        'over (raw, encoding) p99',
      ],
      rows,
    ),
  );
  console.log(
    `\nJSON bodies, one request at a time, paths alternating in blocks (${SIZES.map((s) => `${s.name}: ${s.block}`).join(', ')}); ` +
      'over raw = handler percentile − raw percentile (the target); raw POST, encoding builds its body from the text at each request; ' +
      'CPU floor: UTF-8 bytes (+ HMAC-SHA256 for github) and base64 into a body buffer, timed alone. ' +
      `Worker peak RSS ${result.peakRssMiB.toFixed(0)} MiB.${QUICK ? ' (--quick)' : ''}`,
  );
  summary.push({
    scenario: 'webhook: peak RSS (handler worker)',
    metric: 'MiB',
    figure: result.peakRssMiB,
    note: 'Worker with tsx, the raw baseline pool and an in-process Secrets Manager fake; see the bundle rows.',
  });
  reportRows(summary);
};

const ENCODING_NOTE =
  'No target: the raw POST, encoding yardstick builds its body from the webhook text at each request ' +
  '(UTF-8 bytes, base64, JSON) in the shortest code, the work any bridge must do: handler − (raw, encoding) is what the handler costs beyond that code, negative where it does the same work faster.';

const FLOOR_NOTE =
  'No target: the CPU of what no handler can skip for that body, timed alone in the worker (UTF-8 bytes, ' +
  'with github their HMAC-SHA256, their base64 into a body buffer); the raw POST sends bytes built before the run, ' +
  'so an overhead target below this floor cannot be met by any handler.';

if (process.argv.includes('--worker')) await worker();
else await main();
