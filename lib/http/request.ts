import type { Dispatcher, Pool as PoolType } from 'undici';
// Two undici internals instead of `import 'undici'`, which would evaluate every dispatcher, mock and cache
// store at cold start (design §8; types in ./undici-parts.d.ts).
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import { createTimedAbort, type TimedAbort } from './timed-abort.js';

/**
 * The undici calls every outbound client shares (Kafka REST, topic admin, the HTTP sink, AWS): one pool
 * per origin, a request bounded by one exact timer, and answer bodies read up to a cap.
 */

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
}

/**
 * A keep-alive pool for one origin. One request per connection at a time: pipelining a POST behind another
 * makes a failure of the first ambiguous for both.
 */
export const createPool = (origin: string, options: PoolOptions): PoolType =>
  new Pool(origin, {
    connections: options.connections,
    connectTimeout: options.connectTimeoutMs,
    pipelining: 1,
  });

export interface HttpRequest {
  /** The dispatcher's origin (an `Agent` needs it to pick a pool). */
  readonly origin: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | null;
}

export interface RequestBound {
  /** Bounds the whole exchange: the wait for a pooled connection, the headers and the body read. */
  readonly timeoutMs: number;
  /** The caller's abort, which ends the request with its own reason. */
  readonly signal?: AbortSignal | undefined;
  /** Also gives undici `timeoutMs` as its own headers and body timeouts (a backstop behind the timer). */
  readonly undiciTimeouts?: boolean;
}

/** What `read` returned, or what the request or `read` threw, and whether the timer had fired. */
export type Settled<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean };

/** The abort reason of the timer: undici rejects with it, which tells it apart from a caller's abort. */
const TIMED_OUT = Object.freeze(
  Object.assign(new Error('request timed out'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
);

/**
 * Sends `req` and hands the response to `read`, all under one exact timer (undici's own run on a coarse
 * clock, ≈0.5 s ticks, and its body timeout only bounds the gap between two chunks). `read` must consume
 * or destroy the body: an unread body keeps its connection out of the pool. Never throws.
 */
export const requestWithin = async <T>(
  dispatcher: Dispatcher,
  req: HttpRequest,
  bound: RequestBound,
  read: (response: Dispatcher.ResponseData, timer: Pick<TimedAbort, 'timedOut'>) => Promise<T>,
): Promise<Settled<T>> => {
  const timer = createTimedAbort(bound.timeoutMs, TIMED_OUT, bound.signal);
  try {
    // One object shape on every call, no spread of optional parts: undici's request setup is the hot path of
    // a one-record produce, and varying shapes cost it ≈20 % (bench/peers.ts, 1 record per request).
    const undiciTimeout = bound.undiciTimeouts === true ? bound.timeoutMs : null;
    const response = await request.call(dispatcher, {
      origin: req.origin,
      path: req.path,
      method: req.method,
      headers: req.headers,
      body: req.body ?? null,
      signal: timer.signal,
      headersTimeout: undiciTimeout,
      bodyTimeout: undiciTimeout,
    });
    return { ok: true, value: await read(response, timer) };
  } catch (error) {
    return { ok: false, error, timedOut: timer.timedOut() };
  } finally {
    timer.clear();
  }
};

/** A body read whole, or given up past its cap (the body destroyed: its connection is closed, not pooled). */
export type CappedBody =
  | { readonly tooLarge: false; readonly bytes: Buffer; readonly broken?: unknown }
  | { readonly tooLarge: true };

const TOO_LARGE: CappedBody = Object.freeze({ tooLarge: true });
/** What a body closed before its end and without an error breaks with, as `for await` would report it. */
const PREMATURE_CLOSE = Object.freeze(
  Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
);

/**
 * Reads `response`'s body up to `maxBytes` (its declared length checked first). A body that breaks off
 * throws, unless `keepPartial`: then what arrived comes back with the failure as `broken`. Read with
 * stream events rather than `for await`: the async iterator's promise per chunk and its end-of-stream
 * watcher cost ≈3 µs of CPU per request (a one-record produce, 8 in flight: 99 against 102 µs).
 */
export const readCapped = (
  response: Dispatcher.ResponseData,
  maxBytes: number,
  keepPartial = false,
): Promise<CappedBody> => {
  const { body } = response;
  if (Number(response.headers['content-length']) > maxBytes) {
    body.destroy();
    return Promise.resolve(TOO_LARGE);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const broken = (error: unknown): void => {
      if (keepPartial) resolve({ tooLarge: false, bytes: Buffer.concat(chunks, size), broken: error });
      else reject(error);
    };
    body.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      body.destroy();
      resolve(TOO_LARGE);
    });
    body.on('end', () => resolve({ tooLarge: false, bytes: Buffer.concat(chunks, size) }));
    body.on('error', broken);
    body.on('close', () => {
      if (!body.readableEnded) broken(PREMATURE_CLOSE);
    });
  });
};

/**
 * The first `maxBytes` of a body. Error bodies are only diagnosed (a code, a snippet), and a proxy or
 * gateway can send megabytes of HTML with a 502: buffering all of it once cost ≈200 MB of memory in a
 * 128 MB function. Leaving the loop early destroys the body, which closes that connection rather than
 * returning it to the pool with unread bytes on it.
 */
export const readHead = async (body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chunks.push(bytes);
    size += bytes.byteLength;
    if (size >= maxBytes) break;
  }
  return Buffer.concat(chunks, size).toString('utf8', 0, Math.min(size, maxBytes));
};
