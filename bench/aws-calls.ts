/**
 * What one DynamoDB call costs a cold function, per way of making it: a fresh `node` process imports a
 * module and makes its first `GetItem` against dynalite (the drain's first checkpoint read), through
 * - `@aws-sdk/client-dynamodb` (external, as Lambda's runtime provides it), as the stores did until #18;
 * - `lib/aws/` (SigV4 on node:crypto over undici's Pool), bundled and minified as the functions are;
 * - `aws4` signing over the same Pool, when `--aws4=<dir with node_modules/aws4>` is given (the package
 *   the issue measured; install it anywhere, it is bundled in);
 * - undici's Pool alone with an unsigned POST: the share every bundle already pays, for scale.
 * Median of several processes per way, interleaved. Prints import, first call, CPU and bundle size.
 *
 *   npx tsx bench/aws-calls.ts [--samples=<n>] [--aws4=<dir>]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startDynalite } from '../test/helpers/dynalite.js';
import { formatNumber, formatTable, median } from './lib/stats.js';

// Lambda's Node 22 has no such warning; dynalite's table setup here would print it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = Number(process.argv.find((arg) => arg.startsWith('--samples='))?.slice(10) ?? 11);
const AWS4_DIR = process.argv.find((arg) => arg.startsWith('--aws4='))?.slice(7);
// Inside the repo's node_modules (ignored by git), so the SDK variant resolves its package.
const WORK_DIR = mkdtempSync(join(ROOT, 'node_modules', '.bench-aws-calls-'));

const GET_ITEM = `{ TableName: process.env.TABLE, Key: { pk: { S: 'cold#t#0' } }, ConsistentRead: true }`;

/** Each way as a module whose `call()` makes the first GetItem; bundled unless `external`. */
const WAYS: Record<string, { readonly source: string; readonly bundle: boolean }> = {
  '@aws-sdk/client-dynamodb': {
    bundle: false,
    source: `import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({ endpoint: process.env.ENDPOINT, region: 'us-east-1' });
export const call = async () => { await client.send(new GetItemCommand(${GET_ITEM})); client.destroy(); };`,
  },
  'lib/aws (SigV4 on node:crypto + undici Pool)': {
    bundle: true,
    source: `import { createDynamoDb } from ${JSON.stringify(join(ROOT, 'lib/aws/dynamodb.ts'))};
const client = createDynamoDb({ endpoint: process.env.ENDPOINT, region: 'us-east-1' });
export const call = async () => { await client.call('GetItem', ${GET_ITEM}); await client.close(); };`,
  },
  ...(AWS4_DIR === undefined
    ? {}
    : {
        'aws4 + undici Pool': {
          bundle: true,
          source: `import aws4 from 'aws4';
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
const url = new URL(process.env.ENDPOINT);
const pool = new Pool(url.origin);
export const call = async () => {
  const body = JSON.stringify(${GET_ITEM});
  const signed = aws4.sign({ host: url.host, path: '/', method: 'POST', service: 'dynamodb', region: 'us-east-1', body,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem' } });
  const answer = await request.call(pool, { origin: url.origin, path: '/', method: 'POST', headers: signed.headers, body });
  if (answer.statusCode !== 200) throw new Error('GetItem answered ' + answer.statusCode);
  await answer.body.text(); await pool.close();
};`,
        },
      }),
  'undici Pool alone, unsigned (for scale)': {
    bundle: true,
    source: `import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
const url = new URL(process.env.ENDPOINT);
const pool = new Pool(url.origin);
export const call = async () => {
  const answer = await request.call(pool, { origin: url.origin, path: '/', method: 'POST', body: JSON.stringify(${GET_ITEM}),
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem' } });
  await answer.body.text(); await pool.close();
};`,
  },
};

const PROBE = `import { performance } from 'node:perf_hooks';
const started = performance.now();
const cpu = process.cpuUsage();
const mod = await import(process.argv[2]);
const imported = performance.now();
await mod.call();
const called = performance.now();
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ importMs: imported - started, callMs: called - imported, cpuMs: (used.user + used.system) / 1000 }));`;

interface Probe {
  readonly importMs: number;
  readonly callMs: number;
  readonly cpuMs: number;
}

const probe = (file: string, env: NodeJS.ProcessEnv): Promise<Probe> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(WORK_DIR, 'probe.mjs'), pathToFileURL(file).href], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as Probe);
      else
        reject(new Error(`probe of ${file} exited ${code}: ${err.trim().split('\n').slice(-5).join('\n')}`));
    });
  });

const main = async (): Promise<void> => {
  writeFileSync(join(WORK_DIR, 'probe.mjs'), PROBE);
  symlinkSync(join(ROOT, 'node_modules'), join(WORK_DIR, 'node_modules'), 'dir');
  const files = new Map<string, { file: string; bytes: number | undefined }>();
  for (const [label, way] of Object.entries(WAYS)) {
    const name = String(files.size);
    const entry = join(WORK_DIR, `${name}.entry.mjs`);
    writeFileSync(entry, way.source);
    if (!way.bundle) {
      files.set(label, { file: entry, bytes: undefined });
      continue;
    }
    const file = join(WORK_DIR, `${name}.mjs`);
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      nodePaths: [
        join(ROOT, 'node_modules'),
        ...(AWS4_DIR === undefined ? [] : [join(AWS4_DIR, 'node_modules')]),
      ],
      // undici's CommonJS requires node built-ins: the functions' bundles get the same banner.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'error',
    });
    files.set(label, { file, bytes: statSync(file).size });
  }

  const dynamo = await startDynalite('bench-aws-calls');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'bench-session-token',
    ENDPOINT: dynamo.endpoint,
    TABLE: dynamo.tableName,
  };
  const probes = new Map<string, Probe[]>([...files.keys()].map((label) => [label, []]));
  try {
    for (let sample = 0; sample < SAMPLES; sample++) {
      for (const [label, { file }] of files) probes.get(label)?.push(await probe(file, env));
    }
  } finally {
    await dynamo.close();
  }
  const of = (label: string, pick: (p: Probe) => number): string =>
    formatNumber(median((probes.get(label) ?? []).map(pick)));
  console.log(
    formatTable(
      ['first GetItem through', 'bundle KB', 'import ms', '1st call ms', 'import+call ms', 'CPU ms'],
      [...files].map(([label, { bytes }]) => [
        label,
        bytes === undefined ? '(SDK external)' : formatNumber(bytes / 1000),
        of(label, (p) => p.importMs),
        of(label, (p) => p.callMs),
        of(label, (p) => p.importMs + p.callMs),
        of(label, (p) => p.cpuMs),
      ]),
    ),
  );
  console.log(
    `\nMedian of ${SAMPLES} fresh processes each (Node ${process.versions.node}), against dynalite.`,
  );
};

try {
  await main();
} finally {
  rmSync(WORK_DIR, { recursive: true, force: true });
}
