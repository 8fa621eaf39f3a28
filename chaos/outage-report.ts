import type { OutageReport } from './outage.js';
import { OUTAGE_PHASES } from './outage-reconcile.js';

const count = (value: number): string => value.toLocaleString('en-US');
const ms = (value: number): string => (Number.isNaN(value) ? '–' : `${value.toFixed(1)} ms`);

const row = (label: string, value: string, note = ''): string =>
  `  ${label.padEnd(34)}${value.padStart(10)}${note === '' ? '' : `   ${note}`}`;

const verdict = (value: number): string => (value === 0 ? 'must be 0: ok' : 'MUST BE 0');

/**
 * The scenario passes when every request was answered 202, every one is in Kafka exactly as sent (at the
 * offset a produced answer named), no key's order broke, and the spool emptied with nothing dead-lettered.
 * Duplicates and timings are figures, never verdicts.
 */
export const isOutageClean = (report: OutageReport): boolean => {
  const r = report.reconciliation;
  return (
    r.answered202 === r.sent &&
    r.lost.length === 0 &&
    r.altered.length === 0 &&
    r.wrongAnswers.length === 0 &&
    r.orderViolations.length === 0 &&
    report.undrained === 0 &&
    report.deadLettered === 0
  );
};

/** The README's row: dialect, webhooks, produced, spooled, p99 while open, drain, lost, order, duplicates. */
export const formatOutageRow = (report: OutageReport): string => {
  const r = report.reconciliation;
  return `| ${report.dialect} | ${count(r.sent)} | ${count(r.produced)} | ${count(r.spooled)} | ${ms(r.latencyOpen.p99)} | ${(report.drainMs / 1000).toFixed(1)} s | **${count(r.lost.length)}** | **${count(r.orderViolations.length)}** | ${count(r.duplicates)} |`;
};

export const formatOutageReport = (report: OutageReport): string => {
  const r = report.reconciliation;
  const { options } = report;
  const non202 = Object.entries(r.non202).reduce((sum, [, value]) => sum + value, 0);
  const lines = [
    `Outage run, ${report.dialect}, seed ${options.seed}: ${count(r.sent)} webhooks over ${options.instances} instances, proxy down ${(options.outageMs / 1000).toFixed(0)} s, ${(report.durationMs / 1000).toFixed(1)} s in all`,
    '',
    `  ${'phase'.padEnd(12)}${'sent'.padStart(8)}${'produced'.padStart(10)}${'spooled'.padStart(10)}   p50 / p99 while the breaker was open`,
    ...OUTAGE_PHASES.map((phase) => {
      const tally = r.byPhase[phase];
      const open = r.latencyOpenByPhase[phase];
      return `  ${phase.padEnd(12)}${count(tally.sent).padStart(8)}${count(tally.produced).padStart(10)}${count(tally.spooled).padStart(10)}   ${ms(open.p50)} / ${ms(open.p99)}`;
    }),
    '',
    'answers',
    row('202 produced', count(r.produced)),
    row('202 spooled', count(r.spooled), `${count(report.spooledLarge)} through the bucket`),
    row('not 202', count(non202), non202 === 0 ? 'must be 0: ok' : `MUST BE 0: ${JSON.stringify(r.non202)}`),
    row('answered while the breaker was open', count(r.breakerOpenAnswers)),
    row('  latency p50 / p99', `${ms(r.latencyOpen.p50)} / ${ms(r.latencyOpen.p99)}`),
    row('every answer p50 / p99', `${ms(r.latencyAll.p50)} / ${ms(r.latencyAll.p99)}`),
    row(
      'event loop delay p99 / max',
      `${ms(report.loopDelayMs.p99)} / ${ms(report.loopDelayMs.max)}`,
      'one process runs every server: its stalls are in every latency',
    ),
    '',
    'spool',
    row('empty after the recovery', `${(report.drainMs / 1000).toFixed(1)} s`),
    row('left in the spool queue', count(report.undrained), verdict(report.undrained)),
    row('dead-lettered', count(report.deadLettered), verdict(report.deadLettered)),
    row('order markers left', count(report.markersLeft)),
    row('bucket objects left', count(report.objectsLeft)),
    '',
    'reconciliation',
    row('lost', count(r.lost.length), verdict(r.lost.length)),
    row('altered (value bytes or key)', count(r.altered.length), verdict(r.altered.length)),
    row('produced answer names no copy', count(r.wrongAnswers.length), verdict(r.wrongAnswers.length)),
    row(
      'per-key order violations',
      count(r.orderViolations.length),
      `${verdict(r.orderViolations.length)} (${count(r.keysChecked)} keys)`,
    ),
    row('duplicates in Kafka', count(r.duplicates), 'allowed: produces given up after their write'),
    row('records nobody sent', count(r.unknownRecords)),
  ];
  const examples = [
    ['first losses', r.lost],
    ['first alterations', r.altered],
    ['first wrong answers', r.wrongAnswers],
    ['first order violations', r.orderViolations],
  ] as const;
  for (const [title, found] of examples) {
    if (found.length > 0) lines.push('', `${title}: ${found.slice(0, 10).join(', ')}`);
  }
  return lines.join('\n');
};
