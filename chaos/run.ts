import { parseArgs } from 'node:util';
import { CHAOS_CONFIGURATION_NAMES, isChaosConfigurationName } from './configurations.js';
import { OUTAGE_FULL, type OutageReport, runOutage } from './outage.js';
import { formatOutageReport, formatOutageRow, isOutageClean } from './outage-report.js';
import { formatChaosReport, formatPipelineTable, isChaosClean } from './report.js';
import { type ChaosReport, eventsOf, FULL_PRESET, runChaos } from './scenarios.js';

/**
 * `npm run chaos [-- --scenario all|pipelines|outage --config all|<name>[,<name>…] --seed N --scale F]`:
 * the full fault-injection run, 10,000 events per configuration at scale 1, one configuration after
 * another (a few minutes for all), then the webhook spool's outage scenario over v1 and v2 (5,000
 * webhooks through a minute of outage at scale 1; the scale shortens the outage with the webhooks, and
 * every time setting with it). Prints each run's table as it ends, then every verdict together, and exits
 * 1 when anything was lost, reordered against a promise, produced again after an idempotent 2xx, left
 * undrained, or answered other than 202 on a spooling route.
 */
const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    config: { type: 'string', default: 'all' },
    seed: { type: 'string' },
    scale: { type: 'string' },
  },
});
const seed = values.seed === undefined ? FULL_PRESET.seed : Number(values.seed);
const scale = values.scale === undefined ? 1 : Number(values.scale);
const requested = values.config === 'all' ? CHAOS_CONFIGURATION_NAMES : values.config.split(',');
const scenario = values.scenario;
const configurations = scenario === 'outage' ? [] : requested.filter(isChaosConfigurationName);
if (
  !Number.isInteger(seed) ||
  !(scale > 0) ||
  !['all', 'pipelines', 'outage'].includes(scenario) ||
  (scenario !== 'outage' && configurations.length !== requested.length)
) {
  console.error(
    `usage: npm run chaos -- [--scenario all|pipelines|outage] [--config all|${CHAOS_CONFIGURATION_NAMES.join('|')}[,…]] [--seed <integer>] [--scale <number > 0>]`,
  );
  process.exit(2);
}

const scaled = (value: number): number => Math.max(1, Math.round(value * scale));
const options = {
  ...FULL_PRESET,
  seed,
  webhooks: scaled(FULL_PRESET.webhooks),
  idempotentWebhooks: scaled(FULL_PRESET.idempotentWebhooks),
  queueMessages: scaled(FULL_PRESET.queueMessages),
  fifoMessages: scaled(FULL_PRESET.fifoMessages),
  events: scaled(FULL_PRESET.events),
};
if (configurations.length > 0)
  console.log(
    `${configurations.length} configuration(s), ${eventsOf(options).toLocaleString('en-US')} events each: ${configurations.join(', ')}`,
  );
const reports: ChaosReport[] = [];
for (const configuration of configurations) {
  const started = Date.now();
  const report = await runChaos({
    ...options,
    configuration,
    progress: (line) =>
      console.log(`[${configuration} ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
  });
  reports.push(report);
  console.log(`\n${formatChaosReport(report)}\n`);
}
const outages: OutageReport[] = [];
for (const dialect of scenario === 'pipelines' ? [] : (['v1', 'v2'] as const)) {
  const started = Date.now();
  const report = await runOutage({
    ...OUTAGE_FULL,
    seed,
    dialect,
    webhooks: scaled(OUTAGE_FULL.webhooks),
    outageMs: scaled(OUTAGE_FULL.outageMs),
    beforeMs: scaled(OUTAGE_FULL.beforeMs),
    afterMs: scaled(OUTAGE_FULL.afterMs),
    progress: (line) =>
      console.log(`[outage ${dialect} ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
  });
  outages.push(report);
  console.log(`\n${formatOutageReport(report)}\n`);
}
if (reports.length > 0) console.log(`All configurations, seed ${seed}, scale ${scale}:`);
for (const report of reports) {
  console.log(`\n${report.configuration}: ${isChaosClean(report) ? 'clean' : 'NOT CLEAN'}`);
  for (const line of formatPipelineTable(report)) console.log(line);
}
if (outages.length > 0) {
  console.log(
    `\nOutage, seed ${seed}, scale ${scale}: ${outages.every(isOutageClean) ? 'clean' : 'NOT CLEAN'}`,
  );
  console.log(
    '| dialect | webhooks | produced | spooled | p99 answer while open | spool empty after recovery | lost | order violations | duplicates |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const report of outages) console.log(formatOutageRow(report));
}
process.exitCode = reports.every(isChaosClean) && outages.every(isOutageClean) ? 0 : 1;
