/**
 * Preloaded by `bench/run.ts` (`--import`) into scenario processes that do not report their own memory:
 * at exit, their peak RSS becomes a summary row. The whole process counts (tsx, servers run in-process),
 * so it is an upper bound of what the measured code needs.
 */
import { reportRows } from './report.js';

const scenario = process.env.BENCH_SCENARIO ?? 'scenario';
process.once('exit', () => {
  reportRows([
    {
      scenario: `${scenario}: peak RSS (whole process)`,
      metric: 'MiB',
      figure: process.resourceUsage().maxRSS / 1024,
      note: `${scenario}: the benchmark process, with tsx and any local servers it runs in-process.`,
    },
  ]);
});
