import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The layout docs/architecture.md draws, checked: which folder may import which, no import circle, no
// overlong module. A new folder must be placed in LAYERS before anything may import it.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each folder and the folders it may import (besides itself), lowest floor first. */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  'lib/core': [],
  'lib/http': ['lib/core'],
  'lib/aws': ['lib/core', 'lib/http'],
  'lib/secrets': ['lib/core', 'lib/http', 'lib/aws'],
  'lib/kafka-rest': ['lib/core', 'lib/http', 'lib/secrets'],
  'lib/formats': ['lib/core', 'lib/kafka-rest'],
  'lib/sinks': ['lib/core', 'lib/http', 'lib/aws', 'lib/formats'],
  'lib/admin': ['lib/core', 'lib/http', 'lib/kafka-rest'],
  'lib/ingest': ['lib/core', 'lib/http', 'lib/aws', 'lib/secrets', 'lib/kafka-rest', 'lib/formats'],
  'lib/drain': ['lib/core', 'lib/http', 'lib/aws', 'lib/kafka-rest', 'lib/formats', 'lib/sinks'],
  'lib/wiring': [
    'lib/core',
    'lib/http',
    'lib/aws',
    'lib/secrets',
    'lib/kafka-rest',
    'lib/formats',
    'lib/sinks',
    'lib/admin',
    'lib/ingest',
    'lib/drain',
  ],
  handlers: ['lib/core', 'lib/ingest', 'lib/drain', 'lib/wiring'],
  cli: ['lib/core', 'lib/kafka-rest', 'lib/admin', 'lib/drain', 'lib/sinks', 'lib/wiring'],
  // The other side of the protocol: it must not borrow the client's understanding of it.
  'dev/kafka-rest': [],
  // The local AWS stand-ins are the services' side too: written from their APIs, not from our clients.
  'dev/aws-local': [],
  // cli: the local console's buttons run the operator commands' own code (cli/partition-actions.ts, the
  // dlq command), and its DLQ panel reads as npm run dlq does.
  dev: [
    'cli',
    'lib/core',
    'lib/aws',
    'lib/kafka-rest',
    'lib/ingest',
    'lib/drain',
    'lib/wiring',
    'dev/kafka-rest',
    'dev/aws-local',
    'test/fixtures',
  ],
};

/** The longest module, in lines, that needs no reason stated at its top. */
const MAX_LINES = 400;
const LONG_FILE_REASON = /^\/\/ Longer than 400 lines because /m;

const sourceFiles = (folder: string): string[] =>
  readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));

const sourceDocs = (folder: string): string[] =>
  readdirSync(join(ROOT, folder))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `${folder}/${name}`);

const FILES = ['lib', 'handlers', 'cli', 'dev'].flatMap(sourceFiles);

/** The folder of LAYERS a file belongs to: the longest key that prefixes its path. */
const folderOf = (file: string): string | undefined =>
  Object.keys(LAYERS)
    .filter((folder) => file.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length)[0];

const IMPORT =
  /(?:^|\s)(?:import|export)\b[^'";]*?from\s*'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

const importsOf = (file: string): string[] =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)].map((match) =>
    normalize(join(dirname(file), match[1] ?? match[2] ?? '')).replace(/\.js$/, '.ts'),
  );

const GRAPH = new Map(FILES.map((file) => [file, importsOf(file)]));

describe('the layout of the code (docs/architecture.md)', () => {
  it('puts every module in a folder with a place in the layers', () => {
    expect(FILES.filter((file) => folderOf(file) === undefined && !file.startsWith('handlers/'))).toEqual([]);
    expect(FILES.filter((file) => /^lib\/[^/]+\.ts$/.test(file))).toEqual([]);
  });

  it('imports only downward: each folder from the folders below it', () => {
    const upward: string[] = [];
    for (const [file, targets] of GRAPH) {
      const from = folderOf(file);
      if (from === undefined) continue;
      for (const target of targets) {
        const to = folderOf(target) ?? dirname(target);
        if (to !== from && !(LAYERS[from] ?? []).includes(to)) upward.push(`${file} imports ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import circle', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...trail.slice(trail.indexOf(file)), file].join(' > '));
        return;
      }
      state.set(file, 'open');
      for (const target of GRAPH.get(file) ?? []) if (GRAPH.has(target)) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of GRAPH.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });

  it(`keeps lib/ and dev/ modules within ${MAX_LINES} lines, or says why at the top`, () => {
    const overlong = FILES.filter((file) => /^(lib|dev)\//.test(file))
      .map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }))
      .filter(({ text }) => text.split('\n').length - 1 > MAX_LINES && !LONG_FILE_REASON.test(text))
      .map(({ file }) => file);
    expect(overlong).toEqual([]);
  });

  it('cites only sections that exist in docs/ (design §N, protocol doc §N.M)', () => {
    const documents = { design: 'docs/design.md', 'protocol doc': 'docs/kafka-rest-protocol.md' } as const;
    const cited = new Set<string>();
    for (const file of [...FILES, ...sourceFiles('test'), ...sourceFiles('bench'), ...sourceFiles('chaos')]) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/\b(design|protocol doc) §(\d+(?:\.\d+)?)/g)) {
        cited.add(`${match[1]} §${match[2]}`);
      }
    }
    const missing = [...cited].filter((citation) => {
      const [, name, section] = /^(.*) §(.*)$/.exec(citation) ?? [];
      const doc = readFileSync(join(ROOT, documents[name as keyof typeof documents]), 'utf8');
      const [major, minor] = (section ?? '').split('.');
      const body = doc.split(new RegExp(`^## ${major}\\. .*$`, 'm'))[1]?.split(/^## /m)[0];
      if (body === undefined) return true;
      // A minor number is a `### N.M` heading, or else item M of the section's numbered list.
      return minor !== undefined && !new RegExp(`^(### ${major}\\.${minor} |${minor}\\. )`, 'm').test(body);
    });
    expect(cited.size).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('names only files that exist, in the README and the maintainer notes', () => {
    const documents = ['README.md', 'bench/RESULTS.md', 'peers/README.md', ...sourceDocs('docs')];
    const missing = documents.flatMap((document) =>
      [
        ...readFileSync(join(ROOT, document), 'utf8').matchAll(
          /`((?:lib|dev|handlers|cli|bench|test|chaos|scripts|peers)\/[\w./-]+\.(?:ts|mjs|cjs|sh|md))`/g,
        ),
      ]
        .map((match) => match[1] ?? '')
        .filter((path) => !existsSync(join(ROOT, path)))
        .map((path) => `${document}: ${path}`),
    );
    expect(missing).toEqual([]);
  });

  it('finds the imports it checks (the checks above would pass on nothing otherwise)', () => {
    expect(GRAPH.get('handlers/webhook.ts')).toContain('lib/wiring/webhook.ts');
    expect(FILES.length).toBeGreaterThan(100);
  });
});
