import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkDependencies,
  checkExactPins,
  diffAllowList,
  flattenTree,
  formatAllowList,
  installScriptOf,
  isClean,
  parseAllowList,
} from '../scripts/check-deps.js';

const ROOT = resolve(import.meta.dirname, '..');
const ALLOW_LIST = join(ROOT, 'scripts', 'deps-allowlist.txt');

describe('dependency hygiene rules', () => {
  it.each([
    { name: 'an exact version', spec: '1.2.3', pinned: true },
    { name: 'an exact pre-release', spec: '1.2.3-beta.1', pinned: true },
    { name: 'an npm alias to an exact version', spec: 'npm:osls@4.3.1', pinned: true },
    { name: 'a scoped npm alias to an exact version', spec: 'npm:@scope/pkg@2.0.0', pinned: true },
    { name: 'a caret range', spec: '^1.2.3', pinned: false },
    { name: 'a tilde range', spec: '~1.2.3', pinned: false },
    { name: 'an x-range', spec: '1.2.x', pinned: false },
    { name: 'a comparator range', spec: '>=1.0.0', pinned: false },
    { name: 'any version', spec: '*', pinned: false },
    { name: 'a dist-tag', spec: 'latest', pinned: false },
    { name: 'an npm alias to a range', spec: 'npm:osls@^4.3.1', pinned: false },
    { name: 'a git URL', spec: 'git+https://github.com/org/repo.git', pinned: false },
    { name: 'a local path', spec: 'file:../pkg', pinned: false },
  ])('$name ($spec) counts as pinned: $pinned', ({ spec, pinned }) => {
    const problems = checkExactPins({ dependencies: { pkg: spec }, devDependencies: { dev: spec } });
    expect(problems).toHaveLength(pinned ? 0 : 2);
    if (!pinned) expect(problems[0]).toContain('dependencies.pkg');
  });

  it('flattens the npm ls tree to unique sorted name@version, skipping uninstalled optional peers', () => {
    const tree = {
      dependencies: {
        b: { version: '2.0.0', dependencies: { c: { version: '1.0.0' }, 'missing-peer': {} } },
        a: { version: '1.0.0', dependencies: { c: { version: '1.0.0' }, d: { version: '3.1.0' } } },
      },
    };
    expect(flattenTree(tree)).toEqual(['a@1.0.0', 'b@2.0.0', 'c@1.0.0', 'd@3.1.0']);
  });

  it('reports packages added to and removed from the allow-list', () => {
    const allowed = parseAllowList('# header\n\na@1.0.0\nb@1.0.0\n');
    expect(diffAllowList(['a@1.0.0', 'b@1.1.0', 'c@1.0.0'], allowed)).toEqual({
      added: ['b@1.1.0', 'c@1.0.0'],
      removed: ['b@1.0.0'],
    });
  });

  describe('install scripts', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'check-deps-'));
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it.each([
      { name: 'postinstall', manifest: { scripts: { postinstall: 'node x.js' } }, gyp: false, runs: true },
      { name: 'preinstall', manifest: { scripts: { preinstall: 'sh y' } }, gyp: false, runs: true },
      { name: 'implicit node-gyp', manifest: {}, gyp: true, runs: true },
      { name: 'gypfile opted out', manifest: { gypfile: false }, gyp: true, runs: false },
      {
        name: 'only dev scripts',
        manifest: { scripts: { test: 'x', prepare: 'y' } },
        gyp: false,
        runs: false,
      },
    ])('$name: runs at install = $runs', ({ name, manifest, gyp, runs }) => {
      const packageDir = join(dir, name.replaceAll(' ', '-'));
      mkdirSync(packageDir, { recursive: true });
      writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: 'x', ...manifest }));
      if (gyp) writeFileSync(join(packageDir, 'binding.gyp'), '{}');
      expect(installScriptOf(packageDir) !== undefined).toBe(runs);
    });
  });
});

describe('this project', () => {
  it('pins exactly, has no runtime install script, and matches the committed allow-list', () => {
    const report = checkDependencies(ROOT, ALLOW_LIST);

    expect(report.pinProblems).toEqual([]);
    expect(report.installScripts).toEqual([]);
    expect(report.diff).toEqual({ added: [], removed: [] });
    expect(report.installed).toContain('undici@7.30.2');
    // Dev tools never count as runtime packages.
    expect(report.installed.some((entry) => entry.startsWith('vitest@'))).toBe(false);
    expect(isClean(report)).toBe(true);
  });

  it('keeps the committed allow-list sorted and in the generated format', () => {
    const text = readFileSync(ALLOW_LIST, 'utf8');
    const entries = parseAllowList(text);
    expect(entries).toEqual([...entries].sort());
    expect(text).toBe(formatAllowList(entries));
  });

  it('fails the CI command when the tree has a package the list does not name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-deps-list-'));
    try {
      const entries = parseAllowList(readFileSync(ALLOW_LIST, 'utf8'));
      const dropped = entries.find((entry) => entry.startsWith('undici@')) as string;
      const list = join(dir, 'list.txt');
      writeFileSync(list, formatAllowList([...entries.filter((e) => e !== dropped), 'left-pad@1.3.0']));

      const result = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'scripts', 'check-deps.ts'), '--allow-list', list],
        { cwd: ROOT },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
      );

      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`added (not on the allow-list): ${dropped}`);
      expect(result.stderr).toContain('removed (still on the allow-list): left-pad@1.3.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
