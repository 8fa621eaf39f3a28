/** Small numeric and text helpers shared by the benchmark scripts. */

/** The value at quantile `q` (0..1) of `values`, nearest-rank on a sorted copy; NaN for an empty list. */
export const quantile = (values: readonly number[], q: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
};

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** `12,345` (integers), `12.3` / `1.23` / `0.123` (three significant digits below 100). */
export const formatNumber = (value: number): string => {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
};

export const formatKiB = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** A plain-text table: first column left-aligned, the others right-aligned. */
export const formatTable = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
};

/** Peak resident set size of this process so far, in MiB (`ru_maxrss`). */
export const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** Records moved in a measured stretch of wall time. */
export interface Sample {
  readonly records: number;
  readonly ms: number;
}

export const perSecond = (sample: Sample): number => (sample.records * 1000) / sample.ms;

/** Times `work`, which moves `records` records. */
export const time = async (records: number, work: () => Promise<void>): Promise<Sample> => {
  const start = performance.now();
  await work();
  return { records, ms: performance.now() - start };
};

/**
 * The most events (each of `weights`, 1 when absent) less than `windowMs` apart: a window sliding over
 * `times`, which must be ascending.
 */
export const mostWithinWindow = (
  times: readonly number[],
  windowMs: number,
  weights?: readonly number[],
): number => {
  const weight = (i: number): number => weights?.[i] ?? 1;
  let most = 0;
  let inWindow = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    inWindow += weight(end);
    while ((times[end] as number) - (times[start] as number) >= windowMs) {
      inWindow -= weight(start);
      start += 1;
    }
    most = Math.max(most, inWindow);
  }
  return most;
};
