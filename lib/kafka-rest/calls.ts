import { ConfigError, type UpstreamError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { KafkaRestDialect, KafkaRestFlavor } from './flavors.js';
import type { CallOptions, FetchedRecord, FetchOptions, LogBounds, LogBoundsOptions } from './types.js';

/**
 * What the client gives the per-dialect readers (v1 simple consume, v2 consumer instances): one call with
 * the credential, retries and error mapping already done, so a reader is only about its wire protocol.
 */

/** A 2xx answer, or a non-2xx one the caller asked to see (`passThrough`). */
export interface Exchange {
  readonly status: number;
  readonly body: string;
  readonly kafkaErrorCode: number | null;
}

export interface CallSpec {
  /** For messages and logs: `fetch demo/0 from offset 5`. */
  readonly what: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers: HeaderMerge;
  readonly body?: string;
  /** The most the 2xx answer may hold (bytes), past which it is `AnswerTooLargeError`; default a metadata cap. */
  readonly maxAnswerBytes?: number;
  /** Non-2xx answers handed back instead of retried or thrown: an expected error such as out-of-range. */
  readonly passThrough?: (status: number, kafkaErrorCode: number | null, body: string) => boolean;
  /**
   * Sent once: a failure is thrown as it is, never repeated. For a call whose serving moves server state
   * even when its answer is then lost (a consumer instance's read moves its position), which the caller
   * must put right before trying again. A refused credential is still refreshed (nothing was served).
   */
  readonly once?: true;
}

/**
 * Sends a call that is safe to repeat (unless `once`), retrying it (backoff, `Retry-After`, one credential refresh) until
 * it succeeds, `passThrough` accepts the answer, or the attempts or the deadline run out: then it throws
 * the last failure (`UpstreamError`, or `ERR_DEADLINE`).
 */
export type Exchanger = (call: CallOptions, spec: CallSpec) => Promise<Exchange>;

export interface ReaderDeps {
  readonly exchange: Exchanger;
  /** `ERR_UPSTREAM_PROTOCOL` for a 2xx whose body is not `expected`, with a redacted snippet. */
  readonly protocolError: (reply: Exchange, what: string, expected: string) => UpstreamError;
  readonly now: () => number;
  readonly log: Log;
}

/** The reading side of one dialect, behind `KafkaRest.fetch`, `logBounds` and `endFetch`. */
export interface Reader {
  /** `logBounds` is one exact request (v2 `…/offsets`), not probing (v1, Redpanda) nor unsupported (v3). */
  readonly exactBounds: boolean;
  fetch(topic: string, partition: number, offset: number, options: FetchOptions): Promise<FetchedRecord[]>;
  logBounds(topic: string, partition: number, options: LogBoundsOptions): Promise<LogBounds>;
  /** Frees what reading this partition holds on the proxy. Never throws. */
  end(topic: string, partition: number, call: CallOptions): Promise<void>;
  /** `end` for every partition read so far. Never throws. */
  endAll(call: CallOptions): Promise<void>;
}

/** What choosing and building a dialect's reader needs to know of the client's settings. */
export interface ReaderSettings {
  readonly baseUrl: URL;
  /** The base URL's own path prefix, prepended to every path. */
  readonly basePath: string;
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
  readonly consumerGroup: string;
  readonly fetchMaxBytes: number;
  readonly fetchWaitMs: number;
  /** The most one fetch answer may hold (bytes), widened reads included. */
  readonly fetchBudgetBytes: number;
}

/**
 * Builds the reading side of a client. Passed in rather than imported, so that a function that only
 * produces bundles none of the readers (`createKafkaRestProducer`).
 */
export type ReaderFactory = (deps: ReaderDeps, settings: ReaderSettings) => Reader;

/** A reader for a client that cannot read: every read throws `ConfigError` with `problem`. */
export const refusingReader = (problem: string): Reader => {
  const refuse = async (): Promise<never> => {
    throw new ConfigError([problem]);
  };
  return {
    exactBounds: false,
    fetch: refuse,
    logBounds: refuse,
    end: async () => {},
    endAll: async () => {},
  };
};

export interface HeaderMerge {
  forAuth: Readonly<Record<string, string>> | undefined;
  merge(authHeaders: Readonly<Record<string, string>>): Record<string, string>;
}

/** Base headers plus the credential, merged again only when the credential object changes (rotation). */
export const withAuthHeaders = (base: Readonly<Record<string, string>>): HeaderMerge => {
  let merged: Record<string, string> = { ...base };
  const state: HeaderMerge = {
    forAuth: undefined,
    merge: (authHeaders) => {
      if (authHeaders !== state.forAuth) {
        merged = { ...base, ...authHeaders };
        state.forAuth = authHeaders;
      }
      return merged;
    },
  };
  return state;
};

/** A description of what the proxy must answer to a fetch, for `ERR_UPSTREAM_PROTOCOL` messages. */
export const FETCH_ANSWER =
  'a list of records of that partition in increasing offset order, with base64 keys and values';
