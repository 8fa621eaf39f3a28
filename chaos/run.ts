import { parseArgs } from 'node:util';
import { formatChaosReport, isChaosClean } from './report.js';
import { FULL_PRESET, runChaos } from './scenarios.js';

/**
 * `npm run chaos [-- --seed N --scale F]`: the full fault-injection run (thousands of events, about a
 * minute). Prints the reconciliation table and exits 1 when anything was lost or reordered.
 */
const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    scale: { type: 'string' },
  },
});
const seed = values.seed === undefined ? FULL_PRESET.seed : Number(values.seed);
const scale = values.scale === undefined ? 1 : Number(values.scale);
if (!Number.isInteger(seed) || !(scale > 0)) {
  console.error('usage: npm run chaos -- [--seed <integer>] [--scale <number > 0>]');
  process.exit(2);
}

const started = Date.now();
const report = await runChaos({
  ...FULL_PRESET,
  seed,
  webhooks: Math.round(FULL_PRESET.webhooks * scale),
  queueMessages: Math.round(FULL_PRESET.queueMessages * scale),
  events: Math.round(FULL_PRESET.events * scale),
  progress: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
});
console.log(`\n${formatChaosReport(report)}`);
process.exitCode = isChaosClean(report) ? 0 : 1;
