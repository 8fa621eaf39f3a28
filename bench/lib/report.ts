import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { formatNumber, formatTable } from './stats.js';

/**
 * One line of the summary table `npm run bench` prints: a figure, the baseline measured in the same run
 * (when there is one), and the design §8 target it answers to.
 */
export interface SummaryRow {
  readonly scenario: string;
  /** What the figure measures, with its unit: `records/s`, `p50 ms`, `KiB`. */
  readonly metric: string;
  readonly figure: number;
  readonly baseline?: { readonly label: string; readonly value: number };
  readonly target?: Target;
  readonly note?: string;
}

/**
 * - `ratio-at-least`: figure / baseline ≥ value (throughput against the raw limit).
 * - `ratio-at-most`: figure / baseline ≤ value (cold start against a yardstick measured in the same run).
 * - `overhead-at-most`: figure − baseline ≤ value (latency added over the raw call).
 * - `at-most`: figure ≤ value (cold start ms, bundle KiB, RSS MiB).
 */
export type Target =
  | { readonly kind: 'ratio-at-least'; readonly value: number }
  | { readonly kind: 'ratio-at-most'; readonly value: number }
  | { readonly kind: 'overhead-at-most'; readonly value: number; readonly unit: string }
  | { readonly kind: 'at-most'; readonly value: number; readonly unit: string };

/** The variable through which `bench/run.ts` asks a scenario process for its rows (a JSON-lines file). */
export const REPORT_ENV = 'BENCH_REPORT';

/** Hands rows to `bench/run.ts` when it started this process; standalone runs only print. */
export const reportRows = (rows: readonly SummaryRow[]): void => {
  const file = process.env[REPORT_ENV];
  if (file === undefined || file === '' || rows.length === 0) return;
  appendFileSync(file, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
};

export const readRows = (file: string): SummaryRow[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as SummaryRow)
    : [];

/** `yes` / `no`, or `—` when the row has no target or no baseline to compare with. */
export const isMet = (row: SummaryRow): boolean | undefined => {
  const target = row.target;
  if (target === undefined) return undefined;
  if (target.kind === 'at-most') return row.figure <= target.value;
  if (row.baseline === undefined) return undefined;
  if (target.kind === 'ratio-at-least') return row.figure / row.baseline.value >= target.value;
  if (target.kind === 'ratio-at-most') return row.figure / row.baseline.value <= target.value;
  return row.figure - row.baseline.value <= target.value;
};

const describeTarget = (target: Target | undefined): string => {
  if (target === undefined) return '';
  if (target.kind === 'ratio-at-least') return `ratio ≥ ${target.value}`;
  if (target.kind === 'ratio-at-most') return `ratio ≤ ${target.value}`;
  if (target.kind === 'overhead-at-most') return `+${target.value} ${target.unit} max`;
  return `≤ ${formatNumber(target.value)} ${target.unit}`;
};

/** The table: scenario | figure | baseline | ratio | target | met?, then the notes under it. */
export const formatSummary = (rows: readonly SummaryRow[]): string => {
  const notes: string[] = [];
  const cells = rows.map((row) => {
    const met = isMet(row);
    let note = '';
    if (row.note !== undefined) {
      // Rows that share a note share its number.
      if (!notes.includes(row.note)) notes.push(row.note);
      note = ` [${notes.indexOf(row.note) + 1}]`;
    }
    const overhead =
      row.target?.kind === 'overhead-at-most' && row.baseline !== undefined
        ? ` (+${formatNumber(row.figure - row.baseline.value)})`
        : '';
    return [
      `${row.scenario}${note}`,
      `${formatNumber(row.figure)} ${row.metric}${overhead}`,
      row.baseline === undefined ? '' : `${formatNumber(row.baseline.value)} ${row.baseline.label}`,
      row.baseline === undefined || row.baseline.value === 0
        ? ''
        : (row.figure / row.baseline.value).toFixed(2),
      describeTarget(row.target),
      met === undefined ? '—' : met ? 'yes' : 'NO',
    ];
  });
  const table = formatTable(['scenario', 'figure', 'baseline', 'ratio', 'target', 'met?'], cells);
  return notes.length === 0
    ? table
    : `${table}\n\n${notes.map((note, i) => `[${i + 1}] ${note}`).join('\n')}`;
};
