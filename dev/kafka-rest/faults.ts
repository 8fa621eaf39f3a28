import { DevKafkaRestError } from './errors.js';
import type { ChaosOptions, Fault, FaultMatch } from './types.js';

export type FrontFault = Extract<
  Fault,
  { kind: 'status' | 'throttle' | 'drop' | 'trickle' | 'oversized-answer' }
>;
type RecordErrorsFault = Extract<Fault, { kind: 'record-errors' }>;
type AfterWriteFault = Extract<Fault, { kind: 'after-write' }>;

export interface FrontDecision {
  /** Sum of the matching `delay` faults. */
  readonly delayMs: number;
  readonly fault: FrontFault | undefined;
  /** A matching `restart-consumers` fault was consumed: drop every consumer instance first. */
  readonly restartConsumers: boolean;
  /** A matching `unassign` fault was consumed: the addressed v2 instance loses its assignment first. */
  readonly unassign: boolean;
}

export interface WriteDecision {
  readonly recordErrors: RecordErrorsFault | undefined;
  readonly afterWrite: AfterWriteFault | undefined;
}

/** Scripted faults, consumed in injection order (see `Fault`). */
export interface FaultQueue {
  /** Throws `ERR_INVALID_ARG` for a malformed fault. */
  inject(fault: Fault): void;
  clear(): void;
  /** Consumes what applies before handling: delays add up, then the first status/throttle/drop. */
  takeFront(method: string, path: string): FrontDecision;
  /** Consumes what applies to a produce about to write: the first of each write-stage kind. */
  takeWrite(method: string, path: string): WriteDecision;
}

interface Queued {
  readonly fault: Fault;
  remaining: number;
}

const FRONT_KINDS: ReadonlySet<Fault['kind']> = new Set([
  'status',
  'throttle',
  'drop',
  'trickle',
  'oversized-answer',
]);
/** Faults that change consumer state before the request is handled; any number of kinds per request. */
const STATE_KINDS: ReadonlySet<Fault['kind']> = new Set(['restart-consumers', 'unassign']);

const matches = (match: FaultMatch | undefined, method: string, path: string): boolean => {
  if (match === undefined) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : match.path.test(path);
};

const isNonNegative = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;

const checkFault = (fault: Fault): void => {
  const bad = (why: string): never => {
    throw new DevKafkaRestError('ERR_INVALID_ARG', `invalid ${fault.kind} fault: ${why}`);
  };
  if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1))
    bad('times must be a positive integer');
  switch (fault.kind) {
    case 'status':
      if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599)
        bad('status must be an HTTP status');
      return;
    case 'throttle':
      if (!isNonNegative(fault.retryAfterSeconds)) bad('retryAfterSeconds must be >= 0');
      return;
    case 'delay':
      if (!isNonNegative(fault.ms)) bad('ms must be >= 0');
      return;
    case 'trickle':
      if (!(typeof fault.intervalMs === 'number' && fault.intervalMs >= 1)) bad('intervalMs must be >= 1');
      return;
    case 'oversized-answer':
      if (!(Number.isInteger(fault.bytes) && fault.bytes >= 1)) bad('bytes must be a positive integer');
      if (
        fault.status !== undefined &&
        !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 299)
      )
        bad('status must be a 2xx status');
      return;
    case 'record-errors':
      for (const [index, error] of Object.entries(fault.errors)) {
        if (!/^\d+$/.test(index) || !Number.isInteger(error.code))
          bad('errors must map record indexes to { code }');
      }
      return;
    case 'after-write':
      if (fault.action !== 'drop' && fault.action !== 'delay' && fault.action !== 'cut')
        bad("action must be 'drop', 'delay' or 'cut'");
      if (fault.ms !== undefined && !isNonNegative(fault.ms)) bad('ms must be >= 0');
      if (fault.reports !== undefined && !(Number.isInteger(fault.reports) && fault.reports >= 0))
        bad('reports must be an integer >= 0');
      return;
    case 'drop':
    case 'restart-consumers':
    case 'unassign':
      return;
    default:
      bad('unknown kind');
  }
};

export const createFaultQueue = (): FaultQueue => {
  let queue: Queued[] = [];

  const consume = (entry: Queued): void => {
    entry.remaining -= 1;
    if (entry.remaining === 0) queue = queue.filter((e) => e !== entry);
  };

  return {
    inject: (fault) => {
      checkFault(fault);
      queue.push({ fault, remaining: fault.times ?? 1 });
    },
    clear: () => {
      queue = [];
    },
    takeFront: (method, path) => {
      let delayMs = 0;
      let fault: FrontFault | undefined;
      const stateKinds = new Set<Fault['kind']>();
      const decision = (): FrontDecision => ({
        delayMs,
        fault,
        restartConsumers: stateKinds.has('restart-consumers'),
        unassign: stateKinds.has('unassign'),
      });
      if (queue.length === 0) return decision();
      for (const entry of [...queue]) {
        if (!matches(entry.fault.match, method, path)) continue;
        if (entry.fault.kind === 'delay') {
          // Delays queued behind the fault that answers this request stay for later requests.
          if (fault !== undefined) continue;
          delayMs += entry.fault.ms;
          consume(entry);
        } else if (STATE_KINDS.has(entry.fault.kind)) {
          // One of each kind per request: a second one of the same kind waits for the next request.
          if (!stateKinds.has(entry.fault.kind)) consume(entry);
          stateKinds.add(entry.fault.kind);
        } else if (FRONT_KINDS.has(entry.fault.kind) && fault === undefined) {
          fault = entry.fault as FrontFault;
          consume(entry);
        }
      }
      return decision();
    },
    takeWrite: (method, path) => {
      let recordErrors: RecordErrorsFault | undefined;
      let afterWrite: AfterWriteFault | undefined;
      if (queue.length === 0) return { recordErrors, afterWrite };
      for (const entry of [...queue]) {
        if (!matches(entry.fault.match, method, path)) continue;
        if (entry.fault.kind === 'record-errors' && recordErrors === undefined) {
          recordErrors = entry.fault;
          consume(entry);
        } else if (entry.fault.kind === 'after-write' && afterWrite === undefined) {
          afterWrite = entry.fault;
          consume(entry);
        }
      }
      return { recordErrors, afterWrite };
    },
  };
};

/** mulberry32: tiny, fast, and the same sequence for the same seed on every platform. */
export const createPrng = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Lists what is wrong with chaos options (empty when nothing is). */
export const checkChaos = (chaos: ChaosOptions): string[] => {
  const problems: string[] = [];
  if (!Number.isInteger(chaos.seed)) problems.push('chaos.seed must be an integer');
  for (const name of ['statusRate', 'throttleRate', 'recordErrorRate', 'dropRate'] as const) {
    const rate = chaos[name];
    if (rate !== undefined && !(typeof rate === 'number' && rate >= 0 && rate <= 1)) {
      problems.push(`chaos.${name} must be a number in [0, 1]`);
    }
  }
  if (chaos.retryAfterSeconds !== undefined && !isNonNegative(chaos.retryAfterSeconds)) {
    problems.push('chaos.retryAfterSeconds must be >= 0');
  }
  return problems;
};
