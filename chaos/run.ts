import { parseArgs } from 'node:util';
import { CHAOS_CONFIGURATION_NAMES, isChaosConfigurationName } from './configurations.js';
import { formatChaosReport, formatPipelineTable, isChaosClean } from './report.js';
import { type ChaosReport, eventsOf, FULL_PRESET, runChaos } from './scenarios.js';

/**
 * `npm run chaos [-- --config all|<name>[,<name>…] --seed N --scale F]`: the full fault-injection run,
 * 10,000 events per configuration at scale 1, one configuration after another (a few minutes for all).
 * Prints each configuration's table as it ends, then every configuration's verdicts together, and exits 1
 * when anything was lost, reordered against a promise, produced again after an idempotent 2xx, or left
 * undrained.
 */
const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'all' },
    seed: { type: 'string' },
    scale: { type: 'string' },
  },
});
const seed = values.seed === undefined ? FULL_PRESET.seed : Number(values.seed);
const scale = values.scale === undefined ? 1 : Number(values.scale);
const requested = values.config === 'all' ? CHAOS_CONFIGURATION_NAMES : values.config.split(',');
const configurations = requested.filter(isChaosConfigurationName);
if (!Number.isInteger(seed) || !(scale > 0) || configurations.length !== requested.length) {
  console.error(
    `usage: npm run chaos -- [--config all|${CHAOS_CONFIGURATION_NAMES.join('|')}[,…]] [--seed <integer>] [--scale <number > 0>]`,
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
console.log(`All configurations, seed ${seed}, scale ${scale}:`);
for (const report of reports) {
  console.log(`\n${report.configuration}: ${isChaosClean(report) ? 'clean' : 'NOT CLEAN'}`);
  for (const line of formatPipelineTable(report)) console.log(line);
}
process.exitCode = reports.every(isChaosClean) ? 0 : 1;
