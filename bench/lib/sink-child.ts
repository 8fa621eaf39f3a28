/**
 * Child-process entry of `startCheckingSink`: `dev/http-sink.ts` answering 200 (after the set latency),
 * and the check of a round over what it recorded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type ReceivedRequest, startHttpSink } from '../../dev/http-sink.js';
import { serveParent } from './child-ipc.js';
import { cpuMsOfThisProcess } from './cpu.js';
import type { ExpectedRecords, SinkCheck, SinkChildCommand } from './sink-process.js';
import { mostWithinWindow } from './stats.js';

const sink = await startHttpSink();
const PROBLEMS_KEPT = 10;
const WINDOW_MS = 1_000;

interface Arrival {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Base64, as both formats carry it; null for a key-less record. */
  readonly key: string | null;
  readonly atMs: number;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The records of one request, in the order it carried them: `batch` mode's JSON array, or `single`'s headers. */
const arrivalsOf = (request: ReceivedRequest): Arrival[] => {
  const atMs = request.receivedAt;
  if (header(request.headers, 'kafka-record-count') !== undefined) {
    const items = JSON.parse(request.body.toString('utf8')) as {
      topic: string;
      partition: number;
      offset: number;
      key: string | null;
    }[];
    return items.map(({ topic, partition, offset, key }) => ({ topic, partition, offset, key, atMs }));
  }
  return [
    {
      topic: header(request.headers, 'kafka-topic') ?? '',
      partition: Number(header(request.headers, 'kafka-partition')),
      offset: Number(header(request.headers, 'kafka-offset')),
      key: header(request.headers, 'kafka-key') ?? null,
      atMs,
    },
  ];
};

/** The most arrivals in one of the consecutive windows counted from the first arrival. */
const mostInFixedWindow = (times: readonly number[]): number => {
  const windows = new Map<number, number>();
  const first = times[0] ?? 0;
  for (const atMs of times) {
    const window = Math.floor((atMs - first) / WINDOW_MS);
    windows.set(window, (windows.get(window) ?? 0) + 1);
  }
  return Math.max(0, ...windows.values());
};

const check = (expected: ExpectedRecords): SinkCheck => {
  const requests = sink.received.splice(0);
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < PROBLEMS_KEPT) problems.push(text);
  };
  const seen = new Map<number, Uint8Array>();
  for (const [partition, count] of Object.entries(expected.counts)) {
    seen.set(Number(partition), new Uint8Array(count));
  }
  /** Per partition and key: the highest offset received so far. */
  const lastOfKey = new Map<string, number>();
  const times: number[] = [];
  let refused = 0;
  let records = 0;
  let duplicates = 0;
  let orderViolations = 0;
  for (const request of requests) {
    if (request.status === null || request.status < 200 || request.status >= 300) {
      refused += 1;
      continue;
    }
    for (const arrival of arrivalsOf(request)) {
      records += 1;
      times.push(arrival.atMs);
      const { partition, offset, key } = arrival;
      const flags = arrival.topic === expected.topic ? seen.get(partition) : undefined;
      if (flags === undefined || !Number.isInteger(offset) || offset < 0 || offset >= flags.length) {
        problem(`stray record ${arrival.topic}/${partition}@${offset}`);
        continue;
      }
      if (flags[offset] === 1) {
        duplicates += 1;
        continue;
      }
      flags[offset] = 1;
      // A key-less record has no order to keep (each is a lane of its own).
      if (key === null) continue;
      const lane = `${partition}|${key}`;
      const last = lastOfKey.get(lane);
      if (last !== undefined && offset < last) {
        orderViolations += 1;
        problem(
          `partition ${partition} key ${Buffer.from(key, 'base64').toString('latin1')}: offset ${offset} arrived after ${last}`,
        );
      }
      if (last === undefined || offset > last) lastOfKey.set(lane, offset);
    }
  }
  let missing = 0;
  for (const [partition, flags] of seen) {
    const absent = flags.indexOf(0);
    if (absent === -1) continue;
    const count = flags.reduce((sum, flag) => sum + (flag === 0 ? 1 : 0), 0);
    missing += count;
    problem(`partition ${partition}: ${count} records never arrived, the first at offset ${absent}`);
  }
  return {
    requests: requests.length,
    refused,
    records,
    duplicates,
    missing,
    orderViolations,
    problems,
    firstAtMs: times[0] ?? null,
    lastAtMs: times.at(-1) ?? null,
    maxInAnySecond: mostWithinWindow(times, WINDOW_MS),
    maxInFixedSecond: mostInFixedWindow(times),
  };
};

const handle = (command: SinkChildCommand): unknown => {
  if (command.op === 'latency') {
    sink.clearFaults();
    // A delay "fault" that never runs out: every answer waits that long.
    if (command.ms > 0) sink.inject({ kind: 'delay', ms: command.ms, times: Number.POSITIVE_INFINITY });
    return undefined;
  }
  if (command.op === 'check') return check(command.expected);
  return cpuMsOfThisProcess();
};

serveParent<SinkChildCommand & { readonly id: number }>(sink.url, handle, () => sink.close());
