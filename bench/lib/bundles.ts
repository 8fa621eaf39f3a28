import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const run = promisify(execFile);

export const FUNCTIONS = ['webhook', 'queue', 'events', 'drain'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/**
 * The esbuild options of `serverless.yml` (`custom.esbuild`), restated for builds run from the benchmark:
 * keep the two in step. serverless-esbuild turns `exclude` into `external`.
 */
export const SERVERLESS_ESBUILD_OPTIONS = {
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  target: 'node22',
  platform: 'node',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  banner: {
    js: "import { createRequire as __bridgeCreateRequire } from 'node:module'; const require = __bridgeCreateRequire(import.meta.url);",
  },
  external: ['@aws-sdk/*'],
} as const satisfies BuildOptions;

/**
 * Bundle-time settings this benchmark proposes for `serverless.yml` (the lead applies them there):
 *
 * - `*∕llhttp-wasm.js` (the non-SIMD llhttp build, 72 KB of base64): undici's `client-h1.js` loads it only
 *   when compiling the SIMD build throws, or under Jest (`JEST_WORKER_ID`). Node 22 on Lambda (x86_64 and
 *   arm64) compiles wasm SIMD, so the fallback never runs there; if it ever did, the left-over `require`
 *   would fail loudly (MODULE_NOT_FOUND), not silently.
 * - `*∕web/fetch/body.js` (and with it undici's fetch, FormData, webidl: ≈45 KB): `client-h1.js` and
 *   `client-h2.js` require it only for a FormData request body. The bridge sends strings and buffers.
 *
 * Both stay `require` calls in the bundle, so the code paths that would need them fail with
 * MODULE_NOT_FOUND instead of misbehaving.
 */
export const PROPOSED_EXTERNALS = ['*/llhttp-wasm.js', '*/web/fetch/body.js'] as const;

/**
 * An esbuild plugin that replaces undici's HTTP/2 client (`dispatcher/client-h2.js`, 10 KB, and the
 * `node:http2` module it loads at import) with a stub. undici negotiates h2 only when a dispatcher is
 * created with `allowH2: true`, which the bridge never does; were it ever set, connecting would throw.
 * `serverless.yml` can load the same plugin through serverless-esbuild's `plugins` setting.
 */
export const stubUndiciHttp2: Plugin = {
  name: 'stub-undici-http2',
  setup: (pluginBuild) => {
    pluginBuild.onResolve({ filter: /(^|[\\/])client-h2\.js$/ }, (args) =>
      args.importer.includes('undici')
        ? { path: 'undici-client-h2-stub', namespace: 'stub-undici-http2' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'stub-undici-http2' }, () => ({
      contents:
        "module.exports = function connectH2() { throw new Error('HTTP/2 (allowH2) is not bundled with this function'); };",
      loader: 'js',
    }));
  },
};

export interface BundleInfo {
  readonly fn: FunctionName;
  /** Absolute path of the `.mjs` entry. */
  readonly file: string;
  readonly bytes: number;
}

/** Newest modification time (ms) of the sources a bundle is built from. */
const newestSourceMs = (root: string): number => {
  let newest = 0;
  const visit = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (/\.(ts|js|mjs|json|ya?ml)$/.test(path)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const entry of ['handlers', 'lib', 'package.json', 'package-lock.json', 'serverless.yml']) {
    const path = join(root, entry);
    if (existsSync(path)) visit(path);
  }
  return newest;
};

/**
 * The `serverless package` zips, packaged again first when one is missing or older than a source. Returns
 * what was done, or throws with the packager's output when it fails.
 */
export const ensurePackaged = async (root: string): Promise<'fresh' | 'packaged'> => {
  const zips = FUNCTIONS.map((fn) => join(root, '.serverless', `${fn}.zip`));
  const sourcesMs = newestSourceMs(root);
  if (zips.every((zip) => existsSync(zip) && statSync(zip).mtimeMs >= sourcesMs)) return 'fresh';
  try {
    await run('npx', ['serverless', 'package', '--stage', 'dev'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`serverless package failed:\n${`${stdout ?? ''}\n${stderr ?? ''}`.trim().slice(-2_000)}`);
  }
  return 'packaged';
};

/** Unzips each function's zip into `dir/<fn>/` and returns its `.mjs` entry. Throws when one is missing. */
export const unzipPackaged = async (root: string, dir: string): Promise<BundleInfo[]> => {
  const bundles: BundleInfo[] = [];
  for (const fn of FUNCTIONS) {
    const target = join(dir, fn);
    mkdirSync(target, { recursive: true });
    await run('unzip', ['-o', '-q', join(root, '.serverless', `${fn}.zip`), '-d', target]);
    const file = join(target, 'handlers', `${fn}.mjs`);
    if (!existsSync(file)) {
      throw new Error(`${relative(root, file)} is not in ${fn}.zip: has the bundle's extension changed?`);
    }
    bundles.push({ fn, file, bytes: statSync(file).size });
  }
  return bundles;
};

/** Builds each handler with esbuild directly (the options above, plus `external`), into `dir/<fn>/`. */
export const buildBundles = async (
  root: string,
  dir: string,
  extraExternal: readonly string[],
  plugins: readonly Plugin[] = [],
): Promise<BundleInfo[]> => {
  const bundles: BundleInfo[] = [];
  for (const fn of FUNCTIONS) {
    const outdir = join(dir, fn, 'handlers');
    await build({
      ...SERVERLESS_ESBUILD_OPTIONS,
      external: [...SERVERLESS_ESBUILD_OPTIONS.external, ...extraExternal],
      plugins: [...plugins],
      entryPoints: [join(root, 'handlers', `${fn}.ts`)],
      outdir,
      logLevel: 'error',
    });
    const file = join(outdir, `${fn}.mjs`);
    bundles.push({ fn, file, bytes: statSync(file).size });
  }
  return bundles;
};
