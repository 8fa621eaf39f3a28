import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageStack } from '../../dev/package-stack.js';

const run = promisify(execFile);

export const FUNCTIONS = ['webhook', 'queue', 'spool', 'events', 'drain'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export interface BundleInfo {
  readonly fn: FunctionName;
  /** Absolute path of the `.mjs` entry. */
  readonly file: string;
  readonly bytes: number;
}

/**
 * Runs `serverless package --stage local` on a copy of the project and unzips each function's artifact into
 * `dir/<fn>/`, so what is measured or tested is exactly what would deploy: `serverless.yml`'s
 * `custom.esbuild` settings and `esbuild-plugins.cjs`, applied by serverless-esbuild itself, with nothing
 * restated here that could drift from them.
 *
 * `dir/node_modules` links to the project's, so a bundle's `import '@aws-sdk/…'` resolves as Lambda's
 * runtime provides the SDK.
 *
 * Throws with the tail of the packager's output when packaging fails (within seconds when a build fails,
 * where osls alone would hang), or when a zip lacks its `.mjs` entry.
 */
export const packageFunctions = async (root: string, dir: string): Promise<BundleInfo[]> => {
  const work = mkdtempSync(join(tmpdir(), 'bench-package-'));
  try {
    const out = join(work, 'out');
    // The local stage needs no deployment parameters; the bundles are the same code on every stage.
    await packageStack(root, out, {}, { stage: 'local' });
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'node_modules'))) {
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    }
    const bundles: BundleInfo[] = [];
    for (const fn of FUNCTIONS) {
      const target = join(dir, fn);
      mkdirSync(target, { recursive: true });
      await run('unzip', ['-o', '-q', join(out, `${fn}.zip`), '-d', target]);
      const file = join(target, 'handlers', `${fn}.mjs`);
      if (!existsSync(file)) {
        throw new Error(`handlers/${fn}.mjs is not in ${fn}.zip: has the bundle's extension changed?`);
      }
      bundles.push({ fn, file, bytes: statSync(file).size });
    }
    return bundles;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};
