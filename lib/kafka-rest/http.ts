import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import { AppError, ERROR_CODES, UpstreamError } from '../core/errors.js';
import { createTimedAbort } from '../timed-abort.js';
import { AnswerTooLargeError } from './errors.js';

/**
 * The HTTP layer under every dialect: one undici dispatcher, every body read, timeouts per request, and
 * failures turned into outcomes (never thrown) that say whether the request may have been processed.
 */
export interface Transport {
  send(request: TransportRequest): Promise<TransportOutcome>;
  /** Closes the pool this transport created; a dispatcher passed in belongs to the caller and stays open. */
  close(): Promise<void>;
}

export interface TransportRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, already including the base URL's own path prefix. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes are written as they are; a string would be measured and UTF-8 encoded on every attempt. */
  readonly body?: string | Uint8Array;
  /**
   * Bounds the whole exchange, headers and body, on one exact timer: undici's own body timeout is an idle
   * timeout, so a proxy that trickles its body would keep the call running past the caller's deadline.
   * Keep it at or below what is left of that deadline.
   */
  readonly timeoutMs: number;
  /**
   * The most a 2xx body may hold (bytes): past it the answer fails with `ERR_UPSTREAM_PROTOCOL`
   * ({@link AnswerTooLargeError}) and the rest is never read, so a proxy cannot make us buffer megabytes.
   */
  readonly maxBodyBytes: number;
  readonly signal?: AbortSignal | undefined;
  /** A 2xx whose body breaks off still answers with what arrived, and the failure as `cut`. */
  readonly keepPartialBody?: boolean;
}

export interface TransportReply {
  readonly ok: true;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The whole body of a 2xx; of any other status, at most its first {@link ERROR_BODY_MAX_BYTES}. */
  readonly body: string;
  /** Set when the connection failed while the 2xx body arrived (`keepPartialBody`): `body` is its start. */
  readonly cut?: TransportFailure;
}

export interface TransportFailure {
  readonly ok: false;
  /** `ERR_UPSTREAM_TIMEOUT`, `ERR_UPSTREAM_NETWORK`, or `ERR_DEADLINE` when the caller aborted. */
  readonly error: AppError;
  /** Worth another attempt (false for an abort, a closed client or a request undici refused to build). */
  readonly retriable: boolean;
  /**
   * The request may have reached the proxy and been processed: a timeout waiting for the answer, or a
   * connection that broke after the request was written. Resending such a produce can duplicate records.
   */
  readonly ambiguous: boolean;
}

export type TransportOutcome = TransportReply | TransportFailure;

export interface TransportOptions {
  readonly baseUrl: URL;
  readonly dispatcher?: Dispatcher | undefined;
  readonly connections: number;
  readonly connectTimeoutMs: number;
}

/** What is kept of a non-2xx body: enough for the error envelope and a snippet. */
export const ERROR_BODY_MAX_BYTES = 64 * 1024;

/** The abort reason of an exact timeout; undici rejects with it, which tells it apart from a caller's abort. */
const TIMED_OUT = Object.freeze(
  Object.assign(new Error('request timed out'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
);

/** Failures where the request certainly never left: nothing can have been written. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const MAY_HAVE_BEEN_PROCESSED = '; the request may have been processed';
/** Our own mistakes or a closed client: trying again cannot help. */
const FINAL_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/**
 * Creates the transport: one keep-alive `Pool` per origin with `connections` bounded (or the given
 * dispatcher). Headers and body timeouts come with each request so they can shrink with the deadline.
 */
export const createUndiciTransport = (options: TransportOptions): Transport => {
  const origin = options.baseUrl.origin;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher: Dispatcher =
    options.dispatcher ??
    new Pool(origin, {
      connections: options.connections,
      connectTimeout: options.connectTimeoutMs,
      // One request per connection at a time: pipelining a POST behind another makes a failure of the first
      // ambiguous for both.
      pipelining: 1,
    });

  const send = async (req: TransportRequest): Promise<TransportOutcome> => {
    // Our own exact timer for headers and body together; undici's run on a coarse clock (ticks of ≈0.5 s)
    // and its body timeout only bounds the wait between two chunks.
    const timer = createTimedAbort(req.timeoutMs, TIMED_OUT, req.signal);
    const timedOut = (): boolean => timer.signal.reason === TIMED_OUT;
    try {
      const response = await request.call(dispatcher, {
        origin,
        path: req.path,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: timer.signal,
      });
      // Always consume the body, even of an error: an unread body keeps its connection out of the pool.
      const status = response.statusCode;
      if (status < 200 || status >= 300) {
        const body = await readErrorBody(response.body, ERROR_BODY_MAX_BYTES);
        return { ok: true, status, headers: response.headers, body };
      }
      const tooLarge = (): TransportFailure => {
        // Destroying the body closes this connection instead of reading (or pooling) the rest.
        response.body.destroy();
        return answerTooLarge(origin, status, req.maxBodyBytes);
      };
      const declared = Number(response.headers['content-length']);
      if (declared > req.maxBodyBytes) return tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      let cut: TransportFailure | undefined;
      try {
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          size += chunk.byteLength;
          if (size > req.maxBodyBytes) return tooLarge();
          chunks.push(chunk);
        }
      } catch (error) {
        if (req.keepPartialBody !== true) throw error;
        cut = timedOut() ? toFailure(TIMED_OUT, origin, undefined) : toFailure(error, origin, req.signal);
      }
      const body = Buffer.concat(chunks, size).toString('utf8');
      return { ok: true, status, headers: response.headers, body, ...(cut === undefined ? {} : { cut }) };
    } catch (error) {
      if (timedOut()) return toFailure(TIMED_OUT, origin, undefined);
      return toFailure(error, origin, req.signal);
    } finally {
      timer.clear();
    }
  };

  return {
    send,
    close: async () => {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
};

/**
 * The first `maxBytes` of an error body. Error bodies are only diagnosed (a code, a snippet), and a proxy
 * or gateway can send megabytes of HTML with a 502: buffering all of it once cost ≈200 MB of memory in a
 * 128 MB function. Leaving the loop early destroys the body, which closes that connection rather than
 * returning it to the pool with unread bytes on it.
 */
const readErrorBody = async (body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> => {
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

/**
 * A 2xx answer past its cap: not retried in the call (a produce it answers may have been written, and the
 * same request would get the same answer), reported as the protocol failure it is.
 */
const answerTooLarge = (origin: string, status: number, maxBytes: number): TransportFailure => ({
  ok: false,
  error: new AnswerTooLargeError(
    `Kafka REST proxy at ${origin} answered ${status} with a body larger than the ${maxBytes} bytes this answer may hold; the rest was not read`,
    { status, maxBytes },
  ),
  retriable: false,
  ambiguous: true,
});

const toFailure = (error: unknown, origin: string, signal: AbortSignal | undefined): TransportFailure => {
  const code = errorCode(error);
  if (
    signal?.aborted === true ||
    code === 'UND_ERR_ABORTED' ||
    (error as Error | undefined)?.name === 'AbortError'
  ) {
    return {
      ok: false,
      error: new AppError(ERROR_CODES.DEADLINE, `request to the Kafka REST proxy at ${origin} was aborted`, {
        cause: error,
        retriable: false,
      }),
      retriable: false,
      ambiguous: true,
    };
  }
  const label = code ?? (error as Error | undefined)?.name ?? 'unknown error';
  if (TIMEOUT_CODES.has(label)) {
    const ambiguous = label !== 'UND_ERR_CONNECT_TIMEOUT';
    return {
      ok: false,
      error: new UpstreamError(
        ERROR_CODES.UPSTREAM_TIMEOUT,
        `Kafka REST proxy at ${origin} did not answer in time (${label})${ambiguous ? MAY_HAVE_BEEN_PROCESSED : ''}`,
        { cause: error },
      ),
      retriable: true,
      ambiguous,
    };
  }
  const final = FINAL_CODES.has(label);
  const ambiguous = !final && !NOT_SENT_CODES.has(label);
  return {
    ok: false,
    error: new UpstreamError(
      ERROR_CODES.UPSTREAM_NETWORK,
      `connection to the Kafka REST proxy at ${origin} failed (${label})${ambiguous ? MAY_HAVE_BEEN_PROCESSED : ''}`,
      { cause: error, retriable: !final },
    ),
    retriable: !final,
    ambiguous,
  };
};

/** `code` of a Node or undici error; an AggregateError (happy eyeballs, several addresses) carries its own. */
const errorCode = (error: unknown): string | undefined => {
  const value = error as { code?: unknown; errors?: unknown[] } | undefined;
  if (typeof value?.code === 'string') return value.code;
  const first = value?.errors?.[0] as { code?: unknown } | undefined;
  return typeof first?.code === 'string' ? first.code : undefined;
};
