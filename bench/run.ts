/**
 * `npm run bench [-- --quick]`: every scenario in a process of its own (so each has its own peak RSS and
 * none inherits another's heap or JIT state), its own table under a heading, then one summary table of
 * figure | baseline | ratio | target | met? for design §8. Scenarios start the local servers they need.
 * Nothing here asserts a timing: a missed target is printed, and only a scenario that crashes fails the run.
 *
 * `--quick` runs every scenario at a small size (CI runs it so the benchmarks never rot).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHARTS_ENV, chartsDir, writeChart } from './lib/charts.js';
import { formatSummary, REPORT_ENV, readRows, type SummaryRow } from './lib/report.js';

const QUICK = process.argv.includes('--quick');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Scenario {
  readonly name: string;
  readonly file: string;
  /** The script reports its own peak RSS rows; otherwise the whole process's is recorded at exit. */
  readonly reportsRss: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'produce throughput', file: 'bench/produce.ts', reportsRss: true },
  { name: 'produce against the published peer clients', file: 'bench/peers.ts', reportsRss: false },
  { name: 'webhook handler latency', file: 'bench/webhook.ts', reportsRss: true },
  { name: 'queue ingestion', file: 'bench/queue.ts', reportsRss: false },
  { name: 'drain, key-ordered delivery', file: 'bench/drain-key.ts', reportsRss: false },
  { name: 'drain, rate limits', file: 'bench/drain-rate.ts', reportsRss: false },
  { name: 'drain', file: 'bench/drain.ts', reportsRss: false },
  { name: 'drain fan-out across invocations', file: 'bench/fan-out.ts', reportsRss: false },
  { name: 'cold start and bundle size', file: 'bench/cold-start.ts', reportsRss: true },
];

const runScenario = (scenario: Scenario, reportFile: string): Promise<number | null> =>
  new Promise((resolve, reject) => {
    const rssHook = new URL('./lib/rss-at-exit.ts', import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        ...(scenario.reportsRss ? [] : ['--import', rssHook]),
        join(ROOT, scenario.file),
        ...(QUICK ? ['--quick'] : []),
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          [REPORT_ENV]: reportFile,
          [CHARTS_ENV]: chartsDir(),
          BENCH_SCENARIO: scenario.name,
          // Lambda's Node 22 has no such warning; on this machine's Node 20 the SDK prints one per process.
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });

/**
 * Cold start per function beside its yardstick, from the cold-start scenario's summary rows (`cold start
 * <function> (…)`, baseline `require('undici')`), with the target as a marker.
 */
const writeColdStartChart = (rows: readonly SummaryRow[]): string | undefined => {
  const cold = rows.filter((row) => row.scenario.startsWith('cold start ') && row.baseline !== undefined);
  const first = cold[0];
  if (first?.baseline === undefined) return undefined;
  const target = first.target;
  return writeChart('cold-start.svg', {
    title: 'Cold start: import of the packaged handler + first invocation (median of fresh processes)',
    unit: 'ms',
    bars: [
      { label: first.baseline.label, value: first.baseline.value, kind: 'yardstick' },
      ...cold.map((row) => ({ label: row.scenario.replace('cold start ', ''), value: row.figure })),
    ],
    ...(target?.kind === 'ratio-at-most'
      ? {
          marker: {
            label: `${target.value} × ${first.baseline.label}`,
            value: target.value * first.baseline.value,
          },
        }
      : {}),
  });
};

const main = async (): Promise<void> => {
  const workDir = mkdtempSync(join(tmpdir(), 'kafka-rest-bridge-bench-'));
  const reportFile = join(workDir, 'rows.jsonl');
  const loadBefore = loadavg();
  const startedMs = Date.now();
  const outcomes: string[] = [];
  try {
    for (const scenario of SCENARIOS) {
      console.log(`\n## ${scenario.name} (${scenario.file})\n`);
      if (!existsSync(join(ROOT, scenario.file))) {
        console.log(`skipped: ${scenario.file} does not exist yet`);
        outcomes.push(`${scenario.name}: skipped (no ${scenario.file})`);
        continue;
      }
      const scenarioStartMs = Date.now();
      const code = await runScenario(scenario, reportFile);
      const seconds = ((Date.now() - scenarioStartMs) / 1000).toFixed(1);
      outcomes.push(`${scenario.name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${seconds} s`);
    }
    const rows: SummaryRow[] = readRows(reportFile);
    console.log(
      `\n## summary (design §8 targets)${QUICK ? ', --quick: small sizes, figures are rough' : ''}\n`,
    );
    console.log(formatSummary(rows));
    const coldStart = writeColdStartChart(rows);
    if (coldStart !== undefined) console.log(`\nChart: ${coldStart}`);
    const cpu = cpus();
    console.log(
      `\nMachine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
        `Node ${process.versions.node}; load average ${loadBefore[0]?.toFixed(2)} before, ${loadavg()[0]?.toFixed(2)} after. ` +
        `Total ${((Date.now() - startedMs) / 1000).toFixed(0)} s.`,
    );
    console.log(outcomes.map((line) => `- ${line}`).join('\n'));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  if (outcomes.some((line) => line.includes('FAILED'))) process.exitCode = 1;
};

await main();
