import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleInfo, FUNCTIONS, packageFunctions } from '../bench/lib/bundles.js';
import { renderBarChart, renderLineChart } from '../bench/lib/charts.js';
import { formatSummary, isMet, type SummaryRow } from '../bench/lib/report.js';
import { type LocalSecretsExtension, startSecretsExtension } from '../bench/lib/secrets-extension.js';
import { type CheckingSinkProcess, startCheckingSink } from '../bench/lib/sink-process.js';
import { median, mostWithinWindow, quantile } from '../bench/lib/stats.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { httpApiEvent } from './fixtures/api-gateway.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = fileURLToPath(new URL('../bench/lib/cold-start-probe.mjs', import.meta.url));
const API_KEY = 'smoke-api-key-not-a-secret';
const SECRET_ID = 'smoke/kafka-rest-api-key';
const SESSION_TOKEN = 'smoke-session-token-not-a-secret';

describe('bench summary: targets are judged, never asserted', () => {
  it.each([
    {
      name: 'a throughput ratio at the target',
      row: { figure: 90, baseline: 100, target: { kind: 'ratio-at-least', value: 0.9 } },
      met: true,
    },
    {
      name: 'a throughput ratio below it',
      row: { figure: 89, baseline: 100, target: { kind: 'ratio-at-least', value: 0.9 } },
      met: false,
    },
    {
      name: 'a cold start at its share of the yardstick',
      row: { figure: 75, baseline: 100, target: { kind: 'ratio-at-most', value: 0.75 } },
      met: true,
    },
    {
      name: 'a cold start over it',
      row: { figure: 76, baseline: 100, target: { kind: 'ratio-at-most', value: 0.75 } },
      met: false,
    },
    {
      name: 'a latency overhead within the budget',
      row: { figure: 1.4, baseline: 0.5, target: { kind: 'overhead-at-most', value: 1, unit: 'ms' } },
      met: true,
    },
    {
      name: 'a latency overhead over it',
      row: { figure: 1.6, baseline: 0.5, target: { kind: 'overhead-at-most', value: 1, unit: 'ms' } },
      met: false,
    },
    {
      name: 'a ceiling kept',
      row: { figure: 150, target: { kind: 'at-most', value: 150, unit: 'ms' } },
      met: true,
    },
    {
      name: 'a ceiling passed',
      row: { figure: 151, target: { kind: 'at-most', value: 150, unit: 'ms' } },
      met: false,
    },
    {
      name: 'a ratio without a baseline',
      row: { figure: 1, target: { kind: 'ratio-at-least', value: 0.9 } },
    },
    { name: 'no target', row: { figure: 1 } },
  ] as const)('$name → $met', ({ row, met }) => {
    // Prepare
    const summaryRow: SummaryRow = {
      scenario: 's',
      metric: 'x',
      figure: row.figure,
      ...('baseline' in row ? { baseline: { label: 'raw', value: row.baseline } } : {}),
      ...('target' in row ? { target: row.target } : {}),
    };

    // Act
    const verdict = isMet(summaryRow);

    // Assess
    expect(verdict).toBe(met);
  });

  it('prints one line per row with ratio, target, verdict and numbered notes', () => {
    // Act
    const text = formatSummary([
      {
        scenario: 'produce 1 KB',
        metric: 'rec/s',
        figure: 45_000,
        baseline: { label: 'raw', value: 50_000 },
        target: { kind: 'ratio-at-least', value: 0.9 },
      },
      {
        scenario: 'rss',
        metric: 'MiB',
        figure: 140,
        target: { kind: 'at-most', value: 128, unit: 'MiB' },
        note: 'n',
      },
    ]);

    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+figure\s+baseline\s+ratio\s+target\s+met\?$/);
    expect(lines[2]).toMatch(/^produce 1 KB\s+45,000 rec\/s\s+50,000 raw\s+0\.90\s+ratio ≥ 0\.9\s+yes$/);
    expect(lines[3]).toMatch(/^rss \[1\]\s+140 MiB\s+≤ 128 MiB\s+NO$/);
    expect(lines.at(-1)).toBe('[1] n');
  });

  it('gives rows that share a note one number', () => {
    // Arrange
    const row = (scenario: string, note: string): SummaryRow => ({ scenario, metric: 'ms', figure: 1, note });

    // Act
    const text = formatSummary([row('a', 'shared'), row('b', 'own'), row('c', 'shared')]);

    // Assess
    const lines = text.split('\n');
    expect(lines.slice(2, 5).map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'a [1]',
      'b [2]',
      'c [1]',
    ]);
    expect(lines.slice(-2)).toEqual(['[1] shared', '[2] own']);
  });

  it.each([
    { name: 'median of an odd count', values: [5, 1, 3], q: 0.5, expected: 3 },
    { name: 'median of an even count (lower middle)', values: [4, 1, 3, 2], q: 0.5, expected: 2 },
    {
      name: 'p99 of 100 values',
      values: Array.from({ length: 100 }, (_, i) => 100 - i),
      q: 0.99,
      expected: 99,
    },
    { name: 'an empty list', values: [], q: 0.5, expected: Number.NaN },
  ])('quantile: $name', ({ values, q, expected }) => {
    // Act
    const value = q === 0.5 ? median(values) : quantile(values, q);

    // Assess
    expect(value).toBe(expected);
  });
});

describe('bench: the peaks of a rate', () => {
  it.each([
    { name: 'no events', times: [], expected: 0 },
    { name: 'events exactly a window apart fall in two windows', times: [0, 1000, 2000], expected: 1 },
    { name: 'a burst inside one window', times: [0, 10, 999, 1500, 1998], expected: 3 },
  ])('mostWithinWindow: $name → $expected', ({ times, expected }) => {
    // Act
    const most = mostWithinWindow(times, 1000);

    // Assess
    expect(most).toBe(expected);
  });

  it('mostWithinWindow: weights count the records of each call', () => {
    // Act
    const most = mostWithinWindow([0, 400, 900, 1400], 1000, [100, 20, 20, 100]);

    // Assess
    expect(most).toBe(140);
  });
});

// The key-order scenario fails only through this check, so it is proven to see what it must.
describe('the checking sink of the drain scenarios', () => {
  let sink: CheckingSinkProcess;

  beforeAll(async () => {
    sink = await startCheckingSink();
  }, 30_000);
  afterAll(async () => {
    await sink?.close();
  });

  const post = async (partition: number, offset: number, key: string | null): Promise<void> => {
    const response = await fetch(sink.url, {
      method: 'POST',
      headers: {
        'kafka-topic': 't',
        'kafka-partition': String(partition),
        'kafka-offset': String(offset),
        ...(key === null ? {} : { 'kafka-key': Buffer.from(key).toString('base64') }),
      },
      body: 'v',
    });
    await response.text();
  };

  it('single mode: a key out of offset order, a duplicate and a missing record are each reported', async () => {
    // Prepare: key a at 0 and 2, key b at 1 and 3; a's 2 arrives before its 0; 3 never; 1 twice.
    for (const [offset, key] of [
      [2, 'a'],
      [0, 'a'],
      [1, 'b'],
      [1, 'b'],
      [4, null],
    ] as const) {
      await post(0, offset, key);
    }

    // Act
    const check = await sink.check({ topic: 't', counts: { 0: 5 } });

    // Assess
    expect(check).toMatchObject({ requests: 5, records: 5, duplicates: 1, missing: 1, orderViolations: 1 });
    expect(check.problems).toEqual([
      'partition 0 key a: offset 0 arrived after 2',
      'partition 0: 1 records never arrived, the first at offset 3',
    ]);
  });

  it('batch mode: the records of a JSON array, in order, with keys per partition', async () => {
    // Prepare: the same key on two partitions is two lanes; each in order.
    const item = (partition: number, offset: number) => ({
      topic: 't',
      partition,
      offset,
      key: Buffer.from('a').toString('base64'),
      value: null,
    });
    const body = JSON.stringify([item(0, 0), item(1, 0), item(0, 1), item(1, 1)]);
    const response = await fetch(sink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'kafka-topic': 't', 'kafka-record-count': '4' },
      body,
    });
    await response.text();

    // Act
    const check = await sink.check({ topic: 't', counts: { 0: 2, 1: 2 } });

    // Assess
    expect(check).toMatchObject({ requests: 1, records: 4, duplicates: 0, missing: 0, orderViolations: 0 });
    expect(check.problems).toEqual([]);
    expect(check.maxInAnySecond).toBe(4);
  });
});

describe('bench charts: SVG written by the benchmark itself', () => {
  const pointsOf = (svg: string): [number, number][] =>
    [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);

  it('places the points of a line chart by value: higher is up, a log axis spaces decades evenly', () => {
    // Act
    const svg = renderLineChart({
      title: 'Throughput <batch> & "size"',
      xLabel: 'records per request',
      yLabel: 'records/s',
      xScale: 'log',
      series: [
        {
          name: 'client',
          points: [
            [1, 10],
            [100, 300],
            [10, 200],
          ],
        },
      ],
    });

    // Assess
    const [a, b, c] = pointsOf(svg) as [[number, number], [number, number], [number, number]];
    expect(a[0]).toBeLessThan(b[0]);
    expect(b[0] - a[0]).toBeCloseTo(c[0] - b[0], 5); // 1 → 10 → 100, sorted by x
    expect(a[1]).toBeGreaterThan(b[1]);
    expect(b[1]).toBeGreaterThan(c[1]);
    expect(svg).toContain('Throughput &lt;batch&gt; &amp; &quot;size&quot;');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('draws one bar per entry, as long as its value, with the target marker', () => {
    // Act
    const svg = renderBarChart({
      title: 'Cold start',
      unit: 'ms',
      bars: [
        { label: "require('undici')", value: 100, kind: 'yardstick' },
        { label: 'webhook', value: 50 },
      ],
      marker: { label: '0.75 × yardstick', value: 75 },
    });

    // Assess
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect(widths[0]).toBeCloseTo((widths[1] as number) * 2, 0);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('0.75 × yardstick');
  });
});

// What the benchmark measures is the `serverless package` artifact, so that is what is checked here: the
// undici code serverless.yml leaves out (exclude, esbuild-plugins.cjs) is really gone, and the trimmed
// client still works over a real socket.
describe('the packaged bundles, as the cold-start benchmark runs them', () => {
  let dir: string;
  let bundles: BundleInfo[];
  let server: KafkaRestServer;
  let extension: LocalSecretsExtension;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    server = await startKafkaRestServer({ topics: { demo: 1 }, apiKey: API_KEY });
    extension = await startSecretsExtension({
      sessionToken: SESSION_TOKEN,
      secrets: { [SECRET_ID]: API_KEY },
    });
    bundles = await packageFunctions(ROOT, join(dir, 'packaged'));
  }, 120_000);
  afterAll(async () => {
    await extension?.close();
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const undiciLib = join(ROOT, 'node_modules', 'undici', 'lib');
  /** 48 characters from the middle of an undici file: in a bundle only if that file was bundled. */
  const middleOf = (file: string): string => {
    const text = readFileSync(join(undiciLib, file), 'utf8');
    return text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 48);
  };

  it.each(FUNCTIONS.map((fn) => ({ name: fn })))(
    '$name: SIMD llhttp only, no HTTP/2 client, no fetch body encoder; the left-out files stay require calls',
    ({ name }) => {
      // Prepare
      const bundle = bundles.find((info) => info.fn === name);

      // Act
      const text = readFileSync(bundle?.file ?? '', 'utf8');

      // Assess
      expect(text).toContain(middleOf('llhttp/llhttp_simd-wasm.js'));
      expect(text).not.toContain(middleOf('llhttp/llhttp-wasm.js'));
      expect(text).not.toContain('HTTP/2: stream half-closed');
      expect(text).toContain('HTTP/2 (allowH2) is not bundled with this function');
      expect(text).not.toContain('Response object has been garbage collected');
      // Should undici ever take those paths, they fail loudly (MODULE_NOT_FOUND) instead of misbehaving.
      expect(text).toContain('"../llhttp/llhttp-wasm.js"');
      expect(text).toContain('"../web/fetch/body.js"');
    },
  );

  it.each([
    { fn: 'webhook', own: 'WEBHOOK_ROUTES', others: ['QUEUE_TOPIC', 'EVENTS_TOPIC', 'CHECKPOINT_TABLE'] },
    { fn: 'queue', own: 'QUEUE_TOPIC', others: ['WEBHOOK_ROUTES', 'EVENTS_TOPIC', 'CHECKPOINT_TABLE'] },
    { fn: 'events', own: 'EVENTS_TOPIC', others: ['WEBHOOK_ROUTES', 'QUEUE_TOPIC', 'CHECKPOINT_TABLE'] },
    { fn: 'drain', own: 'CHECKPOINT_TABLE', others: ['WEBHOOK_ROUTES', 'QUEUE_TOPIC', 'EVENTS_TOPIC'] },
  ])(
    '$fn: carries its own settings parser and no other function’s, and readers only if it reads',
    ({ fn, own, others }) => {
      // Act
      const text = readFileSync(bundles.find((info) => info.fn === fn)?.file ?? '', 'utf8');

      // Assess
      expect(text).toContain(own);
      for (const setting of others) expect(text, setting).not.toContain(setting);
      // The simple-consume and consumer-instance readers: the drain reads, the other three only produce.
      for (const readerText of [
        'held only records below the offset',
        'could not delete a Kafka REST consumer',
      ]) {
        expect(text.includes(readerText), readerText).toBe(fn === 'drain');
      }
    },
  );

  it.each(FUNCTIONS.map((fn) => ({ name: fn })))(
    '$name: imports neither the DynamoDB nor the Secrets Manager SDK (signed calls instead), whatever the secret source',
    ({ name }) => {
      // Act
      const text = readFileSync(bundles.find((info) => info.fn === name)?.file ?? '', 'utf8');

      // Assess
      expect(text).not.toContain('@aws-sdk/client-dynamodb');
      expect(text).not.toContain('@aws-sdk/client-secrets-manager');
      expect(text).toContain('AWS4-HMAC-SHA256');
      // Only the functions with a table sign DynamoDB calls (the spool function releases order markers):
      // the queue and events bundles carry none.
      expect(text.includes('DynamoDB_20120810')).toBe(
        name === 'webhook' || name === 'spool' || name === 'drain',
      );
    },
  );

  it('the webhook, started by the cold-start probe, reads its key through the extension and produces', async () => {
    // Prepare
    const webhook = bundles.find((info) => info.fn === 'webhook');
    const body = JSON.stringify({ id: 'order-1' });
    const eventFile = join(dir, 'webhook-event.json');
    writeFileSync(eventFile, JSON.stringify(httpApiEvent('/hooks/smoke', body)));
    const env = {
      PATH: process.env.PATH,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: 'ERROR',
      KAFKA_REST_URL: server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'api-key',
      KAFKA_REST_SECRET_ID: SECRET_ID,
      SECRETS_SOURCE: 'extension',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      WEBHOOK_ROUTES: JSON.stringify({ smoke: { topic: 'demo', verify: { scheme: 'none' } } }),
    };

    // Act: the first invocation and two more, as the benchmark's load does.
    const probeArgs = [PROBE, pathToFileURL(webhook?.file ?? '').href, eventFile, '2'];
    const { stdout } = await run(process.execPath, probeArgs, { env });

    // Assess
    const line = stdout.split('\n').find((text) => text.startsWith('@@probe '));
    const probe = JSON.parse((line ?? '').slice('@@probe '.length)) as Record<string, unknown>;
    expect(probe.outcome).toBe('status 202');
    for (const key of ['bootMs', 'importMs', 'invokeMs', 'cpuMs', 'peakRssMiB']) {
      expect(probe[key]).toEqual(expect.any(Number));
    }
    expect(server.records('demo', 0).map((record) => record.value?.toString())).toEqual([body, body, body]);
    expect(extension.requests.map((request) => [request.secretId, request.tokenMatched])).toEqual([
      [SECRET_ID, true],
    ]);
  });
});

describe('packageFunctions', () => {
  let root: string | undefined;

  afterAll(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  it('a handler that does not build: rejects with esbuild’s message, where osls alone would never exit', async () => {
    // Prepare
    root = mkdtempSync(join(tmpdir(), 'bench-broken-'));
    mkdirSync(join(root, 'handlers'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name: 'broken', type: 'module', private: true }),
    );
    writeFileSync(
      join(root, 'serverless.yml'),
      [
        'service: broken',
        "frameworkVersion: '>=3'",
        'plugins: [serverless-esbuild]',
        'provider: { name: aws, runtime: nodejs22.x }',
        'functions:',
        '  webhook: { handler: handlers/webhook.handler }',
        '',
      ].join('\n'),
    );
    writeFileSync(join(root, 'handlers', 'webhook.ts'), "export { handler } from '../lib/missing.js';\n");

    // Act
    const packaging = packageFunctions(root, join(root, 'out'));

    // Assess
    await expect(packaging).rejects.toThrow(
      /reported an error and did not exit:[\s\S]*Could not resolve "\.\.\/lib\/missing\.js"/,
    );
  }, 60_000);
});
