import type { ChaosReport } from './scenarios.js';

const count = (value: number): string => value.toLocaleString('en-US');

const row = (label: string, value: string, note = ''): string =>
  `  ${label.padEnd(32)}${value.padStart(10)}${note === '' ? '' : `   ${note}`}`;

const tally = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .filter(([, value]) => value > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key} ${count(value)}`)
    .join(' · ');

/** The table `npm run chaos` prints: inputs, faults by kind, and the reconciliation's verdicts. */
export const formatChaosReport = (report: ChaosReport): string => {
  const r = report.reconciliation;
  const acknowledged = Object.values(r.inputs).reduce((sum, source) => sum + source.acknowledged, 0);
  const lines = [
    `Chaos run, seed ${report.seed}: ${count(report.eventsIn)} events in ${(report.durationMs / 1000).toFixed(1)} s`,
    '',
    'events in',
    ...Object.entries(r.inputs).map(([source, { sent, acknowledged: acked }]) =>
      row(source, count(sent), `acknowledged ${count(acked)}`),
    ),
    row('total', count(report.eventsIn), `acknowledged ${count(acknowledged)}`),
    '',
    'faults injected',
    ...Object.entries(report.faultsInjected).map(([kind, value]) => row(kind, count(value))),
    row('drain killed before commit', count(report.scenarios.killedAfterDelivery), 'partitions'),
    row('drains racing', count(report.scenarios.racingRuns), 'invocations'),
    row('lease expired mid-run', count(report.scenarios.leaseExpiredMidRun)),
    '',
    'observed',
    row('proxy answers', '', tally(report.proxyAnswers)),
    row('proxy reads', '', tally(report.proxyReads)),
    row('sink answers', '', tally(report.sinkAnswers)),
    row(
      'client retries',
      count(report.clientStats.retries),
      `of ${count(report.clientStats.requests)} requests`,
    ),
    row('ambiguous resends', count(report.clientStats.ambiguousResends)),
    row('drain invocations', count(report.drainInvocations), tally(report.partitionOutcomes)),
    '',
    'reconciliation',
    row('lost', count(r.lost), r.lost === 0 ? 'must be 0: ok' : 'MUST BE 0'),
    row('  acknowledged, not in Kafka', count(r.lostAcknowledged.length)),
    row('  acknowledged elsewhere', count(r.wrongAcknowledgements.length)),
    row('  below checkpoint, nowhere', count(r.lostBelowCheckpoint.length)),
    row('  altered at the sink', count(r.alteredAtSink.length)),
    row('duplicated in Kafka', count(r.duplicatedInKafka), 'at-least-once ingestion'),
    row('duplicated at the sink', count(r.duplicatedAtSink), 'at-least-once delivery'),
    row('written, not acknowledged', count(r.writtenUnacknowledged)),
    row('delivered', count(r.delivered)),
    row("DLQ'd", count(r.deadLettered), `${count(r.deliveredAndDeadLettered)} also delivered late`),
    row('reordered', count(r.reordered), r.reordered === 0 ? 'must be 0: ok' : 'MUST BE 0'),
    row('not drained at the end', count(r.undrained)),
  ];
  const examples = [
    ...r.lostAcknowledged,
    ...r.wrongAcknowledgements,
    ...r.lostBelowCheckpoint,
    ...r.alteredAtSink,
  ];
  if (examples.length > 0) lines.push('', `first losses: ${examples.slice(0, 10).join(', ')}`);
  return lines.join('\n');
};

/** The run passes when nothing was lost or reordered: the two guarantees that must hold under any fault. */
export const isChaosClean = (report: ChaosReport): boolean =>
  report.reconciliation.lost === 0 && report.reconciliation.reordered === 0;
