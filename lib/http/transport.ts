import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { AppError, ERROR_CODES, UpstreamError } from '../core/errors.js';
import { AnswerTooLargeError, errorCode } from './errors.js';
import { createPool, readCapped, readHead, requestWithin } from './request.js';

/**
 * The HTTP layer under the Kafka REST client and topic admin: one undici dispatcher, every body read,
 * timeouts per request, and failures turned into outcomes (never thrown) that say whether the request may
 * have been processed.
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
  readonly body?: string | Uint8Array | undefined;
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
  /** Who answers, for messages: `Kafka REST proxy` gives `Kafka REST proxy at https://… did not answer`. */
  readonly peer: string;
  readonly dispatcher?: Dispatcher | undefined;
  readonly connections: number;
  readonly connectTimeoutMs: number;
}

/** What is kept of a non-2xx body: enough for the error envelope and a snippet. */
export const ERROR_BODY_MAX_BYTES = 64 * 1024;

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
  const { peer } = options;
  const origin = options.baseUrl.origin;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher: Dispatcher = options.dispatcher ?? createPool(origin, options);

  const send = async (req: TransportRequest): Promise<TransportOutcome> => {
    const settled = await requestWithin(
      dispatcher,
      { origin, method: req.method, path: req.path, headers: req.headers, body: req.body ?? null },
      { timeoutMs: req.timeoutMs, signal: req.signal, undiciTimeouts: true },
      async (response, timer): Promise<TransportOutcome> => {
        const status = response.statusCode;
        if (status < 200 || status >= 300) {
          const body = await readHead(response.body, ERROR_BODY_MAX_BYTES);
          return { ok: true, status, headers: response.headers, body };
        }
        const read = await readCapped(response, req.maxBodyBytes, req.keepPartialBody === true);
        if (read.tooLarge) return answerTooLarge(peer, origin, status, req.maxBodyBytes);
        const body = read.bytes.toString('utf8');
        if (!('broken' in read)) return { ok: true, status, headers: response.headers, body };
        const cut = timer.timedOut()
          ? timeoutFailure(peer, origin)
          : toFailure(read.broken, peer, origin, req.signal);
        return { ok: true, status, headers: response.headers, body, cut };
      },
    );
    if (settled.ok) return settled.value;
    if (settled.timedOut) return timeoutFailure(peer, origin);
    return toFailure(settled.error, peer, origin, req.signal);
  };

  return {
    send,
    close: async () => {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
};

/**
 * A 2xx answer past its cap: not retried in the call (a produce it answers may have been written, and the
 * same request would get the same answer), reported as the protocol failure it is.
 */
const answerTooLarge = (
  peer: string,
  origin: string,
  status: number,
  maxBytes: number,
): TransportFailure => ({
  ok: false,
  error: new AnswerTooLargeError(
    `${peer} at ${origin} answered ${status} with a body larger than the ${maxBytes} bytes this answer may hold; the rest was not read`,
    { status, maxBytes },
  ),
  retriable: false,
  ambiguous: true,
});

/** Our own timer fired: reported as undici's headers timeout, the request possibly processed. */
const timeoutFailure = (peer: string, origin: string): TransportFailure =>
  toFailure(
    Object.assign(new Error('request timed out'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
    peer,
    origin,
    undefined,
  );

const toFailure = (
  error: unknown,
  peer: string,
  origin: string,
  signal: AbortSignal | undefined,
): TransportFailure => {
  const code = errorCode(error);
  if (
    signal?.aborted === true ||
    code === 'UND_ERR_ABORTED' ||
    (error as Error | undefined)?.name === 'AbortError'
  ) {
    return {
      ok: false,
      error: new AppError(ERROR_CODES.DEADLINE, `request to the ${peer} at ${origin} was aborted`, {
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
        `${peer} at ${origin} did not answer in time (${label})${ambiguous ? MAY_HAVE_BEEN_PROCESSED : ''}`,
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
      `connection to the ${peer} at ${origin} failed (${label})${ambiguous ? MAY_HAVE_BEEN_PROCESSED : ''}`,
      { cause: error, retriable: !final },
    ),
    retriable: !final,
    ambiguous,
  };
};
