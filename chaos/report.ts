import type { TopicTally } from './reconcile.js';
import { type ChaosReport, PIPELINES } from './scenarios.js';

const count = (value: number): string => value.toLocaleString('en-US');

const row = (label: string, value: string, note = ''): string =>
  `  ${label.padEnd(32)}${value.padStart(10)}${note === '' ? '' : `   ${note}`}`;

const tally = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .filter(([, value]) => value > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key} ${count(value)}`)
    .join(' · ');

/** The per-configuration columns the README publishes; `–` where the configuration promises nothing. */
const COLUMNS: readonly {
  readonly title: string;
  readonly value: (t: TopicTally, ordered: boolean) => string;
}[] = [
  { title: 'events', value: (t) => count(t.sent) },
  { title: 'acknowledged', value: (t) => count(t.acknowledged) },
  { title: 'lost', value: (t) => count(t.lost) },
  { title: 'reordered in Kafka', value: (t) => count(t.reorderedInKafka) },
  {
    title: 'reordered at sink',
    value: (t, ordered) => (ordered ? count(t.reorderedAtSink) : `(${count(t.reorderedUnpromised)})`),
  },
  { title: 'dup. in Kafka', value: (t) => count(t.duplicatedInKafka) },
  { title: 'dup. at sink', value: (t) => count(t.duplicatedAtSink) },
  { title: "DLQ'd", value: (t) => count(t.deadLettered) },
  { title: 'idempotency broken', value: (t) => count(t.idempotencyBroken) },
  { title: 'undrained', value: (t) => count(t.undrained) },
];

const NAME_WIDTH = Math.max(...PIPELINES.map((pipeline) => pipeline.name.length)) + 2;

/** One line per ingestion path → sink of the run, its verdicts in columns. */
export const formatPipelineTable = (report: ChaosReport): string[] => {
  const widths = COLUMNS.map((column) => Math.max(column.title.length, 7) + 2);
  const cells = (values: readonly string[]) =>
    values.map((value, i) => value.padStart(widths[i] ?? 0)).join('');
  return [
    `  ${'configuration'.padEnd(NAME_WIDTH)}${cells(COLUMNS.map((column) => column.title))}`,
    ...PIPELINES.map((pipeline) => {
      const topic = report.reconciliation.byTopic[pipeline.topic];
      const values =
        topic === undefined
          ? COLUMNS.map(() => '?')
          : COLUMNS.map((column) => column.value(topic, pipeline.orderedSink));
      return `  ${pipeline.name.padEnd(NAME_WIDTH)}${cells(values)}`;
    }),
    '  (n): reorders at a sink that promises no order (SQS standard, EventBridge), counted, not a failure',
  ];
};

/** The table `npm run chaos` prints per configuration: inputs, faults by kind, and the reconciliation's verdicts. */
export const formatChaosReport = (report: ChaosReport): string => {
  const r = report.reconciliation;
  const acknowledged = Object.values(r.inputs).reduce((sum, source) => sum + source.acknowledged, 0);
  const lines = [
    `Chaos run, configuration ${report.configuration}, seed ${report.seed}: ${count(report.eventsIn)} events in ${(report.durationMs / 1000).toFixed(1)} s`,
    '',
    ...formatPipelineTable(report),
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
    row('fan-out groups invoked', count(report.scenarios.fanOutGroups), 'scheduled runs fanning out'),
    row('lease expired mid-run', count(report.scenarios.leaseExpiredMidRun)),
    row('resent after the first 2xx', count(report.scenarios.resentAfterAck), 'idempotent deliveries'),
    row('sent twice at once', count(report.scenarios.sentTwiceAtOnce), 'idempotent deliveries'),
    '',
    'observed',
    row('proxy answers', '', tally(report.proxyAnswers)),
    row('proxy reads', '', tally(report.proxyReads)),
    row('HTTP sink answers', '', tally(report.sinkAnswers)),
    row('SQS/EventBridge answers', '', tally(report.awsSinkAnswers)),
    row('idempotent route answers', '', tally(report.idempotentAnswers)),
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
    row('  in Kafka, per FIFO group', count(r.reorderedInKafkaAt.length)),
    row('  at ordered sinks', count(r.reorderedAt.length)),
    row('reordered, order not promised', count(r.reorderedUnpromised), 'SQS standard, EventBridge'),
    row('overtaken across keys', count(r.overtakenAcrossKeys), 'ordering "key": allowed, in key order'),
    row(
      'idempotency broken',
      count(r.idempotencyViolations.length),
      r.idempotencyViolations.length === 0 ? 'must be 0: ok' : 'MUST BE 0',
    ),
    row('not drained at the end', count(r.undrained), r.undrained === 0 ? 'must be 0: ok' : 'MUST BE 0'),
  ];
  const examples = [
    [
      'first losses',
      [...r.lostAcknowledged, ...r.wrongAcknowledgements, ...r.lostBelowCheckpoint, ...r.alteredAtSink],
    ],
    ['first reorders', [...r.reorderedInKafkaAt, ...r.reorderedAt]],
    ['first idempotency violations', r.idempotencyViolations],
  ] as const;
  for (const [title, found] of examples) {
    if (found.length > 0) lines.push('', `${title}: ${found.slice(0, 10).join(', ')}`);
  }
  return lines.join('\n');
};

/**
 * The run passes when nothing was lost, nothing broke a promised order, no idempotent delivery was
 * produced again after its 2xx, and the drains reached the end of every partition.
 */
export const isChaosClean = (report: ChaosReport): boolean =>
  report.reconciliation.lost === 0 &&
  report.reconciliation.reordered === 0 &&
  report.reconciliation.idempotencyViolations.length === 0 &&
  report.reconciliation.undrained === 0;
