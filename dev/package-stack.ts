import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// What `serverless package` does not read: build output, local data and the repository itself.
const NOT_COPIED = new Set([
  'node_modules',
  '.git',
  '.esbuild',
  '.serverless',
  '.build',
  '.data',
  'coverage',
  'dist',
  '.peers',
]);
/** Packaging takes 5–15 s here; far beyond that, something hangs. */
const PACKAGE_TIMEOUT_MS = 180_000;
/** How long the packager may take to exit once it has printed its error report. */
const EXIT_AFTER_ERROR_MS = 2_000;

/** Where and as what the stack is packaged: `--stage`, `--region`. */
export interface PackageTarget {
  readonly stage: string;
  readonly region?: string;
}

/**
 * Runs `serverless package --stage <stage> --package <out>` in `service`. Rejects with the tail of its output
 * when it fails. osls 4.3 with serverless-esbuild 1.57 prints its error report after a failed build (an
 * unresolved import, a syntax error) and then never exits: once the report's `Error:` heading is out, the
 * process group is stopped, and a timeout backs that up.
 */
const runPackager = (
  root: string,
  service: string,
  out: string,
  params: Readonly<Record<string, string>>,
  target: PackageTarget,
): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      join(root, 'node_modules', '.bin', 'serverless'),
      [
        'package',
        '--stage',
        target.stage,
        ...(target.region === undefined ? [] : ['--region', target.region]),
        '--package',
        out,
        ...Object.entries(params).flatMap(([name, value]) => ['--param', `${name}=${value}`]),
      ],
      {
        cwd: service,
        // A process group of its own, so that stopping it stops the esbuild service it started too.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', CI: '1' },
      },
    );
    let output = '';
    let stoppedBecause: string | undefined;
    const timers: NodeJS.Timeout[] = [];
    const stopAfter = (ms: number, because: string): void => {
      timers.push(
        setTimeout(() => {
          stoppedBecause = because;
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        }, ms),
      );
    };
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (timers.length === 1 && /^Error:$/m.test(output)) {
        stopAfter(EXIT_AFTER_ERROR_MS, 'reported an error and did not exit');
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    stopAfter(PACKAGE_TIMEOUT_MS, `did not finish within ${PACKAGE_TIMEOUT_MS / 1000} s`);
    child.once('error', reject);
    child.once('close', (code) => {
      for (const timer of timers) clearTimeout(timer);
      if (code === 0 && stoppedBecause === undefined) {
        resolve();
        return;
      }
      const what = stoppedBecause ?? `exited ${code}`;
      reject(new Error(`serverless package ${what}:\n${output.trim().slice(-2_000)}`));
    });
  });

/**
 * Packages the stack as `serverless package --stage <stage> --package <out>` would, from a copy of the project
 * in the OS temp dir (removed afterwards) with `node_modules` linked: serverless-esbuild writes `.esbuild/`
 * and `.serverless/` into the service folder, which would collide with `npm start` or another packaging
 * run in the shared work tree. `params` are stage parameters (`--param name=value`). Rejects with the tail
 * of the packager's output when packaging fails (within seconds when a build fails, where osls alone would
 * hang).
 */
export const packageStack = async (
  root: string,
  out: string,
  params: Readonly<Record<string, string>>,
  target: PackageTarget,
): Promise<void> => {
  const work = mkdtempSync(join(tmpdir(), 'package-stack-'));
  try {
    const service = join(work, 'service');
    for (const entry of readdirSync(root)) {
      if (!NOT_COPIED.has(entry)) cpSync(join(root, entry), join(service, entry), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(service, 'node_modules'), 'dir');
    await runPackager(root, service, out, params, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

/**
 * Packages the stack (as `packageStack`) into a temp dir of its own and returns the CloudFormation template
 * `serverless deploy` would send, parsed; the package itself is removed. Rejects as `packageStack` does.
 */
export const packageTemplate = async (
  root: string,
  params: Readonly<Record<string, string>>,
  target: PackageTarget,
): Promise<unknown> => {
  // The template is a function of these alone (the functions' code goes into the zips, not into it), so
  // one packaging serves every test file that asks for the same one within a run of the suite.
  const key = createHash('sha256').update(JSON.stringify({ params, target }));
  for (const file of TEMPLATE_INPUTS) key.update(readFileSync(join(root, file)));
  const cached = join(tmpdir(), `kafka-rest-bridge-template-${key.digest('hex').slice(0, 32)}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));
  const out = mkdtempSync(join(tmpdir(), 'package-template-'));
  try {
    await packageStack(root, out, params, target);
    const text = readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8');
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${cached}.${process.pid}`, text);
    renameSync(`${cached}.${process.pid}`, cached);
    return JSON.parse(text);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
};

/** What `serverless package` reads to write the template: the stack, its plugins, the packager's versions. */
const TEMPLATE_INPUTS = [
  'serverless.yml',
  'deploy/stage-checks.cjs',
  'esbuild-plugins.cjs',
  'package.json',
  'package-lock.json',
];
