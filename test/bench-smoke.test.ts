import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROPOSED_EXTERNALS, SERVERLESS_ESBUILD_OPTIONS, stubUndiciHttp2 } from '../bench/lib/bundles.js';
import { formatSummary, isMet, type SummaryRow } from '../bench/lib/report.js';
import { median, quantile } from '../bench/lib/stats.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = fileURLToPath(new URL('../bench/lib/cold-start-probe.mjs', import.meta.url));

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

describe('the proposed bundle settings keep the client working', () => {
  let server: KafkaRestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startKafkaRestServer({ topics: { demo: 1 }, recordRequests: false });
    dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a bundle without the non-SIMD llhttp, fetch bodies and HTTP/2 still produces over a real socket', async () => {
    // Prepare
    const undiciLib = join(ROOT, 'node_modules', 'undici', 'lib');
    const middleOf = (file: string): string => {
      const text = readFileSync(join(undiciLib, file), 'utf8');
      return text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 48);
    };
    const outfile = join(dir, 'client.mjs');
    await build({
      ...SERVERLESS_ESBUILD_OPTIONS,
      sourcemap: false,
      external: [...SERVERLESS_ESBUILD_OPTIONS.external, ...PROPOSED_EXTERNALS],
      plugins: [stubUndiciHttp2],
      stdin: {
        contents: `
          import { noAuth } from './lib/kafka-rest/auth.js';
          import { createKafkaRest } from './lib/kafka-rest/client.js';
          const client = createKafkaRest({ baseUrl: process.argv[2], allowHttp: true, auth: noAuth() });
          const results = await client.produce('demo', [{ value: Buffer.from('bundled') }], { deadlineMs: Date.now() + 10_000 });
          await client.close();
          console.log(JSON.stringify(results));`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      outfile,
      logLevel: 'error',
    });
    const bundle = readFileSync(outfile, 'utf8');

    // Act
    const { stdout } = await run(process.execPath, [outfile, server.url]);

    // Assess
    expect(bundle).toContain(middleOf('llhttp/llhttp_simd-wasm.js'));
    expect(bundle).not.toContain(middleOf('llhttp/llhttp-wasm.js'));
    expect(bundle).not.toContain('HTTP/2: stream half-closed');
    expect(bundle).not.toContain('Response object has been garbage collected');
    expect(JSON.parse(stdout)).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    expect(server.records('demo', 0).map((record) => record.value?.toString())).toEqual(['bundled']);
  });
});

describe('the cold-start probe', () => {
  let dir: string;

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a handler module, invokes it with the event, and reports figures and the outcome', async () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'bench-probe-'));
    const handler = join(dir, 'handler.mjs');
    writeFileSync(
      handler,
      'let calls = 0;\nexport const handler = async (event) => ({ statusCode: event.want, calls: ++calls });\n',
    );
    const eventFile = join(dir, 'event.json');
    writeFileSync(eventFile, JSON.stringify({ want: 202 }));

    // Act
    const { stdout } = await run(process.execPath, [PROBE, pathToFileURL(handler).href, eventFile, '3']);

    // Assess
    const line = stdout.split('\n').find((text) => text.startsWith('@@probe '));
    const probe = JSON.parse((line ?? '').slice('@@probe '.length)) as Record<string, unknown>;
    expect(probe.outcome).toBe('status 202');
    for (const key of ['bootMs', 'importMs', 'invokeMs', 'cpuMs', 'peakRssMiB']) {
      expect(probe[key]).toEqual(expect.any(Number));
    }
  });
});
