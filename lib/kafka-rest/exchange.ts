import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';
import { redactedSnippet, secretsOfHeaders } from '../core/redact.js';
import { type BackoffSettings, planRetry } from '../http/retry.js';
import type { Transport, TransportOutcome } from '../http/transport.js';
import type { AuthProvider } from './auth.js';
import type { HeaderMerge } from './calls.js';
import type { CallOptions } from './types.js';

/**
 * The one exchange engine under produce, fetch, metadata and topic admin: an attempt carries the current
 * credential within what is left of the call's deadline, and {@link runWithRetries} repeats attempts with
 * backoff or `Retry-After`, reading the credential again once when the server refuses it.
 */

export interface SenderOptions {
  readonly transport: Transport;
  readonly auth: AuthProvider;
  readonly now: () => number;
  readonly requestTimeoutMs: number;
  /** The message of `ERR_DEADLINE` when the deadline passed before an attempt. */
  readonly deadlinePassed: (what: string) => string;
  /** The message wrapping a credential read that failed with a foreign error (`ERR_SECRET`). */
  readonly secretError: string;
  /** Refuses an attempt whose call was aborted already (otherwise the transport reports the abort). */
  readonly checkAbort: boolean;
  /** Whether a credential read that failed retriably is tried again (otherwise it ends the call). */
  readonly retrySecretFailures: boolean;
  /** Counts each request sent. */
  readonly onRequest?: () => void;
}

export interface SendRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers: HeaderMerge;
  readonly body?: string | Uint8Array | undefined;
  readonly maxBodyBytes: number;
  readonly keepPartialBody?: boolean;
}

export interface Sender {
  /** One attempt; failures (the deadline, the credential, the network) are outcomes, never thrown. */
  send(call: CallOptions, what: string, request: SendRequest): Promise<TransportOutcome>;
  /** Reads the credential again; throws `ERR_SECRET` (or the provider's own `AppError`) when that fails. */
  refresh(call: CallOptions): Promise<void>;
  /** `text` cut for an error, with every value of the credential last sent redacted. */
  snippet(text: string): string;
}

export const createSender = (options: SenderOptions): Sender => {
  const { transport, auth, now } = options;
  // The credential's header values, kept only to scrub them from body snippets should a server echo them.
  let secretsToRedact: readonly string[] = [];
  const toSecretError = (error: unknown): AppError =>
    isAppError(error) ? error : new AppError(ERROR_CODES.SECRET, options.secretError, { cause: error });

  const send = async (call: CallOptions, what: string, request: SendRequest): Promise<TransportOutcome> => {
    if (options.checkAbort && call.signal?.aborted === true) {
      return failure(
        new AppError(ERROR_CODES.DEADLINE, 'the call was aborted by its caller', { retriable: false }),
      );
    }
    const remainingMs = call.deadlineMs - now();
    if (remainingMs < 1) return failure(new AppError(ERROR_CODES.DEADLINE, options.deadlinePassed(what)));
    let authHeaders: Readonly<Record<string, string>>;
    try {
      authHeaders = await auth.headers({ deadlineMs: call.deadlineMs });
    } catch (error) {
      const appError = toSecretError(error);
      return failure(appError, options.retrySecretFailures && appError.retriable);
    }
    if (authHeaders !== request.headers.forAuth) secretsToRedact = secretsOfHeaders(authHeaders);
    options.onRequest?.();
    return transport.send({
      method: request.method,
      path: request.path,
      headers: request.headers.merge(authHeaders),
      body: request.body,
      timeoutMs: Math.min(options.requestTimeoutMs, remainingMs),
      maxBodyBytes: request.maxBodyBytes,
      signal: call.signal,
      keepPartialBody: request.keepPartialBody === true,
    });
  };

  return {
    send,
    refresh: async (call) => {
      try {
        await auth.refresh({ deadlineMs: call.deadlineMs });
      } catch (error) {
        throw toSecretError(error);
      }
    },
    snippet: (text) => redactedSnippet(text, secretsToRedact),
  };
};

const failure = (error: AppError, retriable = false): TransportOutcome => ({
  ok: false,
  error,
  retriable,
  ambiguous: false,
});

/** What one attempt came to. */
export type Step<T> =
  /** Settled: the call returns `value`. */
  | { readonly kind: 'done'; readonly value: T }
  /** The credential was refused: read it again once and repeat, or return `refused()` the second time. */
  | { readonly kind: 'refresh'; readonly refused: () => T }
  /** Worth another attempt: after the backoff or `retryAfterMs`, or `giveUp()` when none is left. */
  | { readonly kind: 'retry'; readonly retryAfterMs?: number | undefined; readonly giveUp: () => T };

/** The clock and backoff a client's retries run on: built once per client, shared by its calls. */
export interface RetryClock {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly backoff: BackoffSettings;
}

/** What one call does at each step of its retries. */
export interface RetrySteps<T> {
  /** Attempt `attemptNo` (1-based; a repeat after a refreshed credential keeps its number). */
  attempt(attemptNo: number): Promise<Step<T>>;
  /** Reads the credential again; `{ value }` ends the call with it (a refresh that failed, reported). */
  refresh(): Promise<{ readonly value: T } | undefined>;
  /** Before the wait of a retry: count and log it. */
  onRetry(attemptNo: number, waitMs: number): void;
}

/** A failed attempt worth repeating: thrown as it is when no attempt is left. */
export const retryOrThrow = (error: AppError, retryAfterMs?: number): Step<never> => ({
  kind: 'retry',
  retryAfterMs,
  giveUp: () => {
    throw error;
  },
});

/** Runs attempts until one settles, the credential is refused twice, or the attempts or deadline run out. */
export const runWithRetries = async <T>(
  call: CallOptions,
  clock: RetryClock,
  steps: RetrySteps<T>,
): Promise<T> => {
  let refreshed = false;
  for (let attemptNo = 1; ; attemptNo++) {
    const step = await steps.attempt(attemptNo);
    if (step.kind === 'done') return step.value;
    if (step.kind === 'refresh') {
      if (refreshed) return step.refused();
      refreshed = true;
      const ended = await steps.refresh();
      if (ended !== undefined) return ended.value;
      attemptNo--; // a retry with a fresh credential is not a failed attempt
      continue;
    }
    const plan = planRetry(attemptNo, step.retryAfterMs, call.deadlineMs, clock.now(), clock.backoff);
    if (!plan.retry) return step.giveUp();
    steps.onRetry(attemptNo, plan.waitMs);
    await clock.sleep(plan.waitMs);
  }
};
