import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Dependency hygiene, run by CI (`npx tsx scripts/check-deps.ts`). The registry's advisory endpoint cannot
 * be reached from here (`npm audit` answers 405), so a new runtime package must instead be a reviewed
 * decision: the runtime tree is compared with a committed allow-list, and any difference fails the build.
 *
 * 1. Every `dependencies`/`devDependencies` entry of package.json is an exact version (or an npm alias to
 *    one, `npm:osls@4.3.1`): a range would let `npm install` pick a version nobody reviewed.
 * 2. `npm ls --omit=dev --all` flattened to `name@version` equals `scripts/deps-allowlist.txt`.
 * 3. No runtime package has an install script (`preinstall`, `install`, `postinstall`, or a `binding.gyp`,
 *    which npm builds with an implicit `node-gyp rebuild`): that code would run on every `npm ci`.
 *
 * Regenerate the list after a reviewed change with `npx tsx scripts/check-deps.ts --write`. Exit status:
 * 0 clean, 1 any problem (each printed on its own line).
 */

const SEMVER_EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NPM_ALIAS = /^npm:((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)@(.+)$/;
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;

/** A node of `npm ls --json`: deduplicated and missing optional peers come without a version. */
export interface NpmLsNode {
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, NpmLsNode>>;
}

/** Every installed package below the root as `name@version`, sorted and unique. */
export const flattenTree = (root: NpmLsNode): string[] => {
  const found = new Set<string>();
  const walk = (node: NpmLsNode): void => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      // A missing optional peer (e.g. `@middy/core` under Powertools) is listed as `{}`: nothing installed.
      if (child.version !== undefined) found.add(`${name}@${child.version}`);
      walk(child);
    }
  };
  walk(root);
  return [...found].sort();
};

/** One problem per dependency whose version is not exact. */
export const checkExactPins = (manifest: {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}): string[] => {
  const problems: string[] = [];
  for (const field of ['dependencies', 'devDependencies'] as const) {
    for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
      const alias = NPM_ALIAS.exec(spec);
      const version = alias === null ? spec : alias[2];
      if (version === undefined || !SEMVER_EXACT.test(version)) {
        problems.push(`${field}.${name} is "${spec}": pin an exact version (e.g. 1.2.3 or npm:pkg@1.2.3)`);
      }
    }
  }
  return problems;
};

/** Parses the allow-list: one `name@version` a line; blank lines and `#` comments are ignored. */
export const parseAllowList = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

export interface TreeDiff {
  /** Installed but not on the list: a new (or upgraded) package nobody reviewed. */
  readonly added: string[];
  /** On the list but not installed: the list is stale. */
  readonly removed: string[];
}

export const diffAllowList = (installed: readonly string[], allowed: readonly string[]): TreeDiff => {
  const allowedSet = new Set(allowed);
  const installedSet = new Set(installed);
  return {
    added: installed.filter((entry) => !allowedSet.has(entry)),
    removed: allowed.filter((entry) => !installedSet.has(entry)),
  };
};

/** Whether a package directory runs code at install time, and how. Undefined when it does not. */
export const installScriptOf = (packageDir: string): string | undefined => {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
    gypfile?: boolean;
  };
  for (const name of INSTALL_SCRIPTS) {
    const script = manifest.scripts?.[name];
    if (script !== undefined) return `${name}: ${script}`;
  }
  // npm runs `node-gyp rebuild` for a binding.gyp unless the package opts out with "gypfile": false.
  if (manifest.gypfile !== false && existsSync(join(packageDir, 'binding.gyp'))) {
    return 'install: node-gyp rebuild (binding.gyp)';
  }
  return undefined;
};

export const ALLOW_LIST_HEADER = [
  '# The runtime dependency tree (`npm ls --omit=dev --all`), one name@version a line, sorted.',
  '# scripts/check-deps.ts fails CI when the installed tree differs: a new transitive package is a reviewed',
  '# decision. After reviewing a change, regenerate with `npx tsx scripts/check-deps.ts --write`.',
];

export const formatAllowList = (entries: readonly string[]): string =>
  `${[...ALLOW_LIST_HEADER, ...entries].join('\n')}\n`;

export interface DepsReport {
  readonly pinProblems: string[];
  readonly diff: TreeDiff;
  readonly installScripts: string[];
  readonly installed: string[];
}

const runNpmLs = (root: string, args: readonly string[]): string => {
  try {
    return execFileSync('npm', ['ls', '--omit=dev', '--all', ...args], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    // `npm ls` exits 1 on peer or extraneous problems but still prints the tree; the tree is what we check.
    const stdout = (error as { stdout?: unknown }).stdout;
    if (typeof stdout === 'string' && stdout !== '') return stdout;
    throw error;
  }
};

/** Runs every check against the project at `root`. Throws when `npm ls` cannot run at all. */
export const checkDependencies = (root: string, allowListPath: string): DepsReport => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Parameters<
    typeof checkExactPins
  >[0];
  const installed = flattenTree(JSON.parse(runNpmLs(root, ['--json'])) as NpmLsNode);
  const allowed = existsSync(allowListPath) ? parseAllowList(readFileSync(allowListPath, 'utf8')) : [];
  const rootDir = resolve(root);
  const installScripts: string[] = [];
  for (const line of runNpmLs(root, ['--parseable']).split('\n')) {
    const dir = line.trim();
    if (dir === '' || resolve(dir) === rootDir) continue;
    const script = installScriptOf(dir);
    if (script !== undefined) installScripts.push(`${dir.slice(rootDir.length + 1)}: ${script}`);
  }
  return {
    pinProblems: checkExactPins(manifest),
    diff: diffAllowList(installed, allowed),
    installScripts,
    installed,
  };
};

export const isClean = (report: DepsReport): boolean =>
  report.pinProblems.length === 0 &&
  report.diff.added.length === 0 &&
  report.diff.removed.length === 0 &&
  report.installScripts.length === 0;

/** Human-readable lines for CI's log. */
export const toReportLines = (report: DepsReport): string[] => {
  const lines: string[] = [];
  for (const problem of report.pinProblems) lines.push(`not pinned: ${problem}`);
  for (const entry of report.diff.added) lines.push(`added (not on the allow-list): ${entry}`);
  for (const entry of report.diff.removed) lines.push(`removed (still on the allow-list): ${entry}`);
  for (const entry of report.installScripts) lines.push(`runtime install script: ${entry}`);
  if (lines.length === 0) {
    lines.push(`dependencies OK: ${report.installed.length} runtime packages, all on the allow-list`);
  }
  return lines;
};

const main = (): number => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  // `--allow-list <path>`: another list (tests use it to prove a difference fails the check).
  const at = process.argv.indexOf('--allow-list');
  const allowListPath =
    at === -1 ? join(root, 'scripts', 'deps-allowlist.txt') : resolve(process.argv[at + 1] ?? '');
  const report = checkDependencies(root, allowListPath);
  if (process.argv.includes('--write')) {
    writeFileSync(allowListPath, formatAllowList(report.installed));
    console.log(`wrote ${report.installed.length} entries to ${allowListPath}`);
    return 0;
  }
  const lines = toReportLines(report);
  const clean = isClean(report);
  for (const line of lines) (clean ? console.log : console.error)(line);
  return clean ? 0 : 1;
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(`check-deps failed to run: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
