import { parseArgs } from 'node:util';
import { KAFKA_REST_FLAVORS } from '../lib/kafka-rest/flavors.js';
import { formatChaosReport, isChaosClean } from './report.js';
import { FULL_PRESET, runChaos } from './scenarios.js';

/**
 * `npm run chaos [-- --seed N --scale F --dialect v1|v2 --flavor confluent|redpanda|karapace]`: the full
 * fault-injection run (thousands of events, about a minute). Prints the reconciliation table and exits 1
 * when anything was lost or reordered.
 */
const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    scale: { type: 'string' },
    dialect: { type: 'string', default: 'v1' },
    flavor: { type: 'string', default: 'confluent' },
  },
});
const seed = values.seed === undefined ? FULL_PRESET.seed : Number(values.seed);
const scale = values.scale === undefined ? 1 : Number(values.scale);
const dialect = values.dialect === 'v1' || values.dialect === 'v2' ? values.dialect : undefined;
const flavor = KAFKA_REST_FLAVORS.find((name) => name === values.flavor);
if (!Number.isInteger(seed) || !(scale > 0) || dialect === undefined || flavor === undefined) {
  console.error(
    'usage: npm run chaos -- [--seed <integer>] [--scale <number > 0>] [--dialect v1|v2] [--flavor confluent|redpanda|karapace]',
  );
  process.exit(2);
}

const started = Date.now();
const report = await runChaos({
  ...FULL_PRESET,
  seed,
  webhooks: Math.round(FULL_PRESET.webhooks * scale),
  queueMessages: Math.round(FULL_PRESET.queueMessages * scale),
  events: Math.round(FULL_PRESET.events * scale),
  dialect: { dialect, flavor },
  progress: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
});
console.log(`\n${formatChaosReport(report)}`);
process.exitCode = isChaosClean(report) ? 0 : 1;
