import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import { AppError, ERROR_CODES, UpstreamError } from '../errors.js';

/**
 * HTTP to the Message Hub admin API: one undici dispatcher, every body read, an exact timeout per request,
 * failures returned (never thrown) with whether the request may have been processed. The Kafka REST
 * transport (`lib/kafka-rest/http.ts`) speaks only GET and POST; the admin API also needs DELETE.
 */
export interface AdminHttp {
  send(request: AdminHttpRequest): Promise<AdminHttpOutcome>;
  /** Closes the pool this created; a dispatcher passed in belongs to the caller and stays open. */
  close(): Promise<void>;
}

export interface AdminHttpRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, already including the base URL's own path prefix. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export type AdminHttpOutcome =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly body: string;
    }
  | {
      readonly ok: false;
      /** `ERR_UPSTREAM_TIMEOUT`, `ERR_UPSTREAM_NETWORK`, or `ERR_DEADLINE` when the caller aborted. */
      readonly error: AppError;
      readonly retriable: boolean;
      /** The request may have reached the server and been acted on (a timeout, a connection cut mid-way). */
      readonly ambiguous: boolean;
    };

export interface AdminHttpOptions {
  readonly baseUrl: URL;
  readonly dispatcher?: Dispatcher | undefined;
  readonly connectTimeoutMs: number;
}

/** Failures where the request certainly never left, so nothing can have been created or deleted. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** Our own mistakes or a closed client: trying again cannot help. */
const FINAL_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const TIMED_OUT = Symbol('admin request timed out');

/** Creates the admin transport (a small keep-alive `Pool` for the admin URL's origin, or the given dispatcher). Never throws. */
export const createAdminHttp = (options: AdminHttpOptions): AdminHttp => {
  const origin = options.baseUrl.origin;
  const ownsDispatcher = options.dispatcher === undefined;
  // Operator calls are few and sequential: two connections are plenty.
  const dispatcher: Dispatcher =
    options.dispatcher ?? new Pool(origin, { connections: 2, connectTimeout: options.connectTimeoutMs });

  const send = async (req: AdminHttpRequest): Promise<AdminHttpOutcome> => {
    // Our own timer, not undici's headers/body timeouts: those tick coarsely and can fire ≈1 s late.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), req.timeoutMs);
    const onCallerAbort = () => controller.abort(req.signal?.reason);
    if (req.signal?.aborted === true) onCallerAbort();
    else req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const response = await request.call(dispatcher, {
        origin,
        path: req.path,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: controller.signal,
      });
      // Always consume the body, even of an error: an unread body keeps its connection out of the pool.
      const body = await response.body.text();
      return { ok: true, status: response.statusCode, headers: response.headers, body };
    } catch (error) {
      if (controller.signal.reason === TIMED_OUT) {
        return {
          ok: false,
          error: new UpstreamError(
            ERROR_CODES.UPSTREAM_TIMEOUT,
            `the admin API at ${origin} did not answer within ${req.timeoutMs} ms; the request may have been processed`,
            { cause: error },
          ),
          retriable: true,
          ambiguous: true,
        };
      }
      if (controller.signal.aborted) {
        return {
          ok: false,
          error: new AppError(ERROR_CODES.DEADLINE, `the request to the admin API at ${origin} was aborted`, {
            cause: error,
            retriable: false,
          }),
          retriable: false,
          ambiguous: true,
        };
      }
      const code = errorCode(error) ?? (error as Error | undefined)?.name ?? 'unknown error';
      const final = FINAL_CODES.has(code);
      const ambiguous = !final && !NOT_SENT_CODES.has(code);
      return {
        ok: false,
        error: new UpstreamError(
          ERROR_CODES.UPSTREAM_NETWORK,
          `connection to the admin API at ${origin} failed (${code})${ambiguous ? '; the request may have been processed' : ''}`,
          { cause: error, retriable: !final },
        ),
        retriable: !final,
        ambiguous,
      };
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }
  };

  return {
    send,
    close: async () => {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
};

/** `code` of a Node or undici error; an AggregateError (several addresses tried) carries its own. */
const errorCode = (error: unknown): string | undefined => {
  const value = error as { code?: unknown; errors?: unknown[] } | undefined;
  if (typeof value?.code === 'string') return value.code;
  const first = value?.errors?.[0] as { code?: unknown } | undefined;
  return typeof first?.code === 'string' ? first.code : undefined;
};
