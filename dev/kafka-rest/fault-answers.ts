import type { OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Exchange } from './exchange.js';
import { envelope, send, sendError } from './exchange.js';
import type { FrontFault } from './faults.js';
import { createPrng } from './faults.js';
import type { Lifecycle } from './lifecycle.js';
import { MEDIA_TYPES } from './media-types.js';
import type { ChaosOptions } from './types.js';

/** The `drop` fault: the connection breaks with no answer. */
export const drop = (x: Exchange): void => {
  x.res.socket?.destroy();
};

/** The `cut` fault: the answer starts with `parts[0..keep)` and the connection breaks once they are out. */
export const cutOff = (
  x: Exchange,
  status: number,
  contentType: string,
  parts: readonly string[],
  keep: number,
): void => {
  x.res.writeHead(status, { 'content-type': contentType });
  x.res.write(parts.slice(0, keep).join(''), () => x.res.socket?.destroy());
};

/** The `oversized-answer` fault: `bytes` of body, written as fast as the client takes them. */
const oversized = (x: Exchange, status: number, bytes: number, declareLength: boolean): void => {
  x.res.writeHead(status, {
    'content-type': MEDIA_TYPES.JSON,
    ...(declareLength ? { 'content-length': bytes } : {}),
  });
  const chunk = Buffer.alloc(64 * 1024, ' ');
  let left = bytes - 1;
  x.res.write('[');
  const pump = (): void => {
    while (left > 0 && !x.res.destroyed) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!x.res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        x.res.once('drain', pump);
        return;
      }
    }
    if (!x.res.destroyed) x.res.end();
  };
  pump();
};

const throttled = (x: Exchange, retryAfterSeconds: number): void =>
  sendError(x, 429, 429, 'Too Many Requests', { 'retry-after': String(retryAfterSeconds) });

/** A scripted status answer: the fault's body (text, or JSON in the error Content-Type) and headers. */
const scriptedStatus = (x: Exchange, fault: Extract<FrontFault, { kind: 'status' }>): void => {
  const headers: OutgoingHttpHeaders = {};
  let contentType: string;
  let body: string;
  if (typeof fault.body === 'string') {
    contentType = 'text/plain';
    body = fault.body;
  } else {
    contentType = x.errorContentType;
    body =
      fault.body === undefined
        ? envelope(fault.status, STATUS_CODES[fault.status] ?? 'Error')
        : JSON.stringify(fault.body);
  }
  for (const [name, value] of Object.entries(fault.headers ?? {})) {
    if (name.toLowerCase() === 'content-type') contentType = value;
    else headers[name.toLowerCase()] = value;
  }
  send(x, fault.status, contentType, body, headers);
};

export interface FaultAnswers {
  /** Answers (or drops) the request as a consumed front fault says. */
  readonly applyFront: (x: Exchange, fault: FrontFault) => void;
  /** Chaos before handling; true when it answered (or dropped) the request. */
  readonly applyChaos: (x: Exchange) => boolean;
  /** The chaos draw for one record: true when it fails (retriable) before it is written. */
  readonly recordFails: () => boolean;
}

export const createFaultAnswers = (
  lifecycle: Pick<Lifecycle, 'every'>,
  chaos: ChaosOptions | undefined,
): FaultAnswers => {
  // One sequence for the request draws and the record draws, in arrival order (same seed, same faults).
  const random = chaos === undefined ? undefined : createPrng(chaos.seed);

  /** The `trickle` fault: 200, then one byte per interval for as long as the connection lasts. */
  const trickle = (x: Exchange, intervalMs: number): void => {
    x.res.writeHead(200, { 'content-type': MEDIA_TYPES.JSON });
    x.res.write('[');
    const stop = lifecycle.every(intervalMs, () => x.res.write(' '));
    x.res.once('close', stop);
  };

  return {
    applyFront: (x, fault) => {
      if (fault.kind === 'drop') return drop(x);
      if (fault.kind === 'trickle') return trickle(x, fault.intervalMs);
      if (fault.kind === 'oversized-answer') {
        return oversized(x, fault.status ?? 200, fault.bytes, fault.declareLength === true);
      }
      if (fault.kind === 'throttle') return throttled(x, fault.retryAfterSeconds);
      scriptedStatus(x, fault);
    },
    applyChaos: (x) => {
      if (chaos === undefined || random === undefined) return false;
      const roll = random();
      let edge = chaos.dropRate ?? 0;
      if (roll < edge) {
        drop(x);
        return true;
      }
      edge += chaos.throttleRate ?? 0;
      if (roll < edge) {
        throttled(x, chaos.retryAfterSeconds ?? 0);
        return true;
      }
      edge += chaos.statusRate ?? 0;
      if (roll < edge) {
        sendError(x, 503, 503, 'Service Unavailable');
        return true;
      }
      return false;
    },
    recordFails: () =>
      random !== undefined && chaos?.recordErrorRate !== undefined && random() < chaos.recordErrorRate,
  };
};
