// One cold start, in a fresh `node` process started by bench/cold-start.ts (plain JavaScript, so no loader
// such as tsx adds to what is measured):
//
//   node cold-start-probe.mjs <module file URL | "undici"> <event JSON file | "-"> <further invocations>
//
// Times the import of the module and its handler's first invocation, like Lambda's init and first invoke,
// then invokes it again (the load behind the peak RSS figure) and prints one line: `@@probe <json>`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const [target = '', eventFile = '-', further = '0'] = process.argv.slice(2);
// The runtime hands the event over; reading it is not the function's cost.
const event = eventFile === '-' ? undefined : JSON.parse(readFileSync(eventFile, 'utf8'));
const context = {
  awsRequestId: 'cold-start-0',
  functionName: 'kafka-rest-bridge-bench',
  getRemainingTimeInMillis: () => 29_000,
  callbackWaitsForEmptyEventLoop: false,
};

const bootMs = performance.now();
const cpuBefore = process.cpuUsage();
// `require('undici')` is design §8's yardstick: the whole package, every dispatcher and the fetch API.
const loaded = target === 'undici' ? createRequire(import.meta.url)('undici') : await import(target);
const importedMs = performance.now();

let outcome = 'imported';
let invokedMs = importedMs;
if (event !== undefined) {
  const summarise = (result) => {
    if (result === undefined || result === null) return 'ok';
    if (typeof result.statusCode === 'number') return `status ${result.statusCode}`;
    if (Array.isArray(result.batchItemFailures)) return `${result.batchItemFailures.length} failures`;
    if (typeof result.offset === 'number') return 'produced';
    return 'ok';
  };
  outcome = summarise(await loaded.handler(event, context));
  invokedMs = performance.now();
}
const cpu = process.cpuUsage(cpuBefore);
if (event !== undefined) {
  for (let i = 0; i < Number(further); i++) {
    await loaded.handler(event, { ...context, awsRequestId: `cold-start-${i + 1}` });
  }
}

process.stdout.write(
  `@@probe ${JSON.stringify({
    bootMs,
    importMs: importedMs - bootMs,
    invokeMs: invokedMs - importedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    outcome,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
// Keep-alive sockets and SDK timers would hold the process open; the figures are already out.
process.exit(0);
