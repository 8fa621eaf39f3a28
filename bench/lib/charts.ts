/**
 * A small SVG writer for the benchmark's charts (no plotting dependency): line charts of series over a
 * linear or log x axis, and horizontal bar charts. Files go to `bench/charts/` on a full run and to a
 * temporary folder with `--quick` (CI's figures are rough and must not dirty the work tree), or wherever
 * `BENCH_CHARTS_DIR` says.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNumber } from './stats.js';

export const CHARTS_ENV = 'BENCH_CHARTS_DIR';

export const chartsDir = (): string =>
  process.env[CHARTS_ENV] ??
  (process.argv.includes('--quick')
    ? join(tmpdir(), 'kafka-rest-bridge-charts')
    : fileURLToPath(new URL('../charts', import.meta.url)));

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xScale?: 'linear' | 'log';
  readonly series: readonly {
    readonly name: string;
    readonly points: readonly (readonly [number, number])[];
  }[];
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly { readonly label: string; readonly value: number; readonly kind?: 'yardstick' }[];
  /** A vertical line across the bars, e.g. a target. */
  readonly marker?: { readonly label: string; readonly value: number };
}

const WIDTH = 720;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const escapeXml = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const text = (x: number, y: number, content: string, attrs = ''): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(content)}</text>`;

/** Round tick values spanning [0, max]: 1, 2 or 5 × a power of ten apart. */
const linearTicks = (max: number): number[] => {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001 + step; v += step) {
    ticks.push(v);
    if (v >= max) break;
  }
  return ticks;
};

/** Whole numbers as they are (`0`, `10`, `200,000`); others with three significant digits. */
const tickLabel = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : formatNumber(value);

const svg = (title: string, height: number, body: string[]): string =>
  [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');

export const renderLineChart = (chart: LineChart): string => {
  const height = 420;
  const left = 80;
  const right = WIDTH - 170;
  const top = 40;
  const bottom = height - 50;
  const xs = chart.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = chart.series.flatMap((s) => s.points.map(([, y]) => y));
  const log = chart.xScale === 'log';
  const xf = (x: number): number => (log ? Math.log10(x) : x);
  const xMin = Math.min(...xs.map(xf));
  const xMax = Math.max(...xs.map(xf));
  const yTicks = linearTicks(Math.max(...ys, 1));
  const yMax = yTicks[yTicks.length - 1] as number;
  const px = (x: number): number =>
    xMax === xMin ? (left + right) / 2 : left + ((xf(x) - xMin) / (xMax - xMin)) * (right - left);
  const py = (y: number): number => bottom - (y / yMax) * (bottom - top);
  const body: string[] = [text(WIDTH / 2, 22, chart.title, 'text-anchor="middle" font-size="14"')];
  for (const tick of yTicks) {
    body.push(
      `<line x1="${left}" x2="${right}" y1="${py(tick).toFixed(1)}" y2="${py(tick).toFixed(1)}" stroke="#ddd"/>`,
      text(left - 6, py(tick) + 4, tickLabel(tick), 'text-anchor="end"'),
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    body.push(text(px(x), bottom + 18, tickLabel(x), 'text-anchor="middle"'));
  }
  body.push(
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>`,
    text(
      (left + right) / 2,
      height - 12,
      `${chart.xLabel}${log ? ' (log scale)' : ''}`,
      'text-anchor="middle"',
    ),
    text(
      18,
      (top + bottom) / 2,
      chart.yLabel,
      `text-anchor="middle" transform="rotate(-90 18 ${(top + bottom) / 2})"`,
    ),
  );
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const points = [...series.points].sort((a, b) => a[0] - b[0]);
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      ...points.map(
        ([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${color}"/>`,
      ),
      `<rect x="${right + 16}" y="${top + i * 22}" width="14" height="4" fill="${color}"/>`,
      text(right + 36, top + i * 22 + 6, series.name),
    );
  });
  return svg(chart.title, height, body);
};

export const renderBarChart = (chart: BarChart): string => {
  const rowHeight = 24;
  const top = 44;
  const left = 300;
  const right = WIDTH - 70;
  const height = top + chart.bars.length * rowHeight + 40;
  const ticks = linearTicks(Math.max(...chart.bars.map((b) => b.value), chart.marker?.value ?? 0, 1));
  const max = ticks[ticks.length - 1] as number;
  const px = (v: number): number => left + (v / max) * (right - left);
  const body: string[] = [text(WIDTH / 2, 22, chart.title, 'text-anchor="middle" font-size="14"')];
  const axisY = top + chart.bars.length * rowHeight;
  for (const tick of ticks) {
    body.push(
      `<line x1="${px(tick).toFixed(1)}" x2="${px(tick).toFixed(1)}" y1="${top - 6}" y2="${axisY}" stroke="#ddd"/>`,
      text(px(tick), axisY + 16, tickLabel(tick), 'text-anchor="middle"'),
    );
  }
  chart.bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    const color = bar.kind === 'yardstick' ? '#999' : (COLORS[0] as string);
    body.push(
      text(left - 8, y + 16, bar.label, 'text-anchor="end"'),
      `<rect x="${left}" y="${y + 4}" width="${(px(bar.value) - left).toFixed(1)}" height="${rowHeight - 8}" fill="${color}"/>`,
      text(px(bar.value) + 4, y + 16, `${formatNumber(bar.value)} ${chart.unit}`),
    );
  });
  if (chart.marker !== undefined) {
    const x = px(chart.marker.value).toFixed(1);
    body.push(
      `<line x1="${x}" x2="${x}" y1="${top - 8}" y2="${axisY}" stroke="#d62728" stroke-dasharray="4 3"/>`,
      text(Number(x), top - 12, chart.marker.label, 'text-anchor="middle" fill="#d62728"'),
    );
  }
  body.push(`<line x1="${left}" x2="${left}" y1="${top - 6}" y2="${axisY}" stroke="#333"/>`);
  return svg(chart.title, height, body);
};

/** Writes a chart (line when it has series, else bars) into {@link chartsDir}; returns the file's path. */
export const writeChart = (fileName: string, chart: LineChart | BarChart): string => {
  const dir = chartsDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, fileName);
  writeFileSync(file, 'series' in chart ? renderLineChart(chart) : renderBarChart(chart));
  return file;
};
