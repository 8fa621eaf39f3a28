import type { Dispatcher } from 'undici';
import { AppError, ERROR_CODES, isUpstreamError, UpstreamError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { schemeProblem } from '../core/names.js';
import { parseRetryAfterMs, type RetryOptions } from '../http/retry.js';
import { createUndiciTransport } from '../http/transport.js';
import type { AuthProvider } from '../kafka-rest/auth.js';
import { withAuthHeaders } from '../kafka-rest/calls.js';
import {
  createSender,
  type RetryClock,
  retryOrThrow,
  runWithRetries,
  type Sender,
  type Step,
} from '../kafka-rest/exchange.js';
import { toStatusVerdict } from '../kafka-rest/retry.js';
import type { CallOptions, KafkaRest, PartitionInfo } from '../kafka-rest/types.js';
import {
  type AdminTopicEntry,
  type CreateTopicOptions,
  checkCreateTopic,
  checkTopicName,
  parseAdminError,
  parseAdminTopics,
  TOPIC_EXISTS_ERROR_CODE,
} from './admin-api.js';
import type {
  AdminCallOptions,
  CreateTopicOutcome,
  DeleteTopicOutcome,
  TopicAdmin,
  TopicDescription,
  TopicSummary,
} from './topic-admin-types.js';

/** Retries default to 3 attempts per admin request, backoff from 200 ms up to 5 000 ms. */
export interface TopicAdminOptions extends RetryOptions {
  /** Lists and describes topics (any Kafka REST proxy). Stays the caller's: `close()` leaves it open. */
  readonly kafka: Pick<KafkaRest, 'listTopics' | 'listPartitions'>;
  /** Message Hub's `kafka_admin_url`; absent: create and delete throw `ERR_CONFIG`. */
  readonly adminUrl?: URL | string | undefined;
  /** Allows an `http:` admin URL (local development only). */
  readonly allowHttp?: boolean;
  /** The credential headers; Message Hub's admin API takes the same `X-Auth-Token` as its REST API. */
  readonly auth: AuthProvider;
  /** Default: a small undici `Pool` for the admin URL's origin. */
  readonly dispatcher?: Dispatcher;
  /** Default 3 000. */
  readonly connectTimeoutMs?: number;
  /** Bound of one attempt. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** The deadline of a call made without one. Default 30 000. */
  readonly callTimeoutMs?: number;
  readonly log?: Log;
}

const DEFAULTS = {
  connectTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  callTimeoutMs: 30_000,
  maxAttempts: 3,
  backoffBaseMs: 200,
  backoffMaxMs: 5_000,
} as const;

/** An admin answer the caller interprets: a 2xx, or a refusal that is not retried. */
type AdminReply = { readonly status: number; readonly body: string };

/** Partition lookups in flight at once when listing without an admin API. */
const DESCRIBE_CONCURRENCY = 4;
/** An admin answer is a short JSON document; a topic list of thousands of entries fits many times over. */
const ADMIN_ANSWER_MAX_BYTES = 4 * 1024 * 1024;
const NO_LOG: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * Creates the topic administration client. Throws `AppError` `ERR_CONFIG` for an admin URL that is not
 * absolute, or not https without `allowHttp`.
 */
export const createTopicAdmin = (options: TopicAdminOptions): TopicAdmin => {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = options.log ?? NO_LOG;
  const settings = {
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    callTimeoutMs: options.callTimeoutMs ?? DEFAULTS.callTimeoutMs,
    maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
    backoffBaseMs: options.backoffBaseMs ?? DEFAULTS.backoffBaseMs,
    backoffMaxMs: options.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
    random: options.random ?? Math.random,
  };
  const retryClock: RetryClock = { now, sleep, backoff: settings };
  const adminUrl = toAdminUrl(options.adminUrl, options.allowHttp === true);
  const http =
    adminUrl === undefined
      ? undefined
      : createUndiciTransport({
          baseUrl: adminUrl,
          peer: 'Kafka REST proxy',
          dispatcher: options.dispatcher,
          // An operator's command sends one request at a time.
          connections: 1,
          connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
        });
  const topicsPath = `${adminUrl?.pathname.replace(/\/+$/, '') ?? ''}/admin/topics`;
  const origin = adminUrl?.origin ?? '';
  const sender =
    http === undefined
      ? undefined
      : createSender({
          transport: http,
          auth: options.auth,
          now,
          requestTimeoutMs: settings.requestTimeoutMs,
          deadlinePassed: (what) => `the deadline passed before the admin API was asked to ${what}`,
          secretError: 'could not read the admin API credential',
          checkAbort: false,
          retrySecretFailures: false,
        });
  const snippet = (text: string): string => sender?.snippet(text) ?? text;

  const toCall = (call: AdminCallOptions): CallOptions => ({
    deadlineMs: call.deadlineMs ?? now() + settings.callTimeoutMs,
    ...(call.signal === undefined ? {} : { signal: call.signal }),
  });

  const requireHttp = (what: string): Sender => {
    if (sender === undefined) {
      throw new AppError(
        ERROR_CODES.CONFIG,
        `cannot ${what}: no admin API URL is configured (KAFKA_ADMIN_URL, Message Hub's kafka_admin_url); the Kafka REST API v1 has no topic creation or deletion`,
        { retriable: false },
      );
    }
    return sender;
  };

  const statusError = (
    what: string,
    reply: { status: number; body: string },
    retriable: boolean,
    retryAfterMs?: number,
  ): UpstreamError => {
    const { errorCode, errorMessage } = parseAdminError(reply.body);
    const detail = errorMessage === null ? '' : `: ${snippet(errorMessage)}`;
    return new UpstreamError(
      ERROR_CODES.UPSTREAM_STATUS,
      `the admin API answered ${reply.status}${errorCode === null ? '' : ` (errorCode ${errorCode})`} to ${what}${detail}`,
      {
        status: reply.status,
        kafkaErrorCode: errorCode,
        bodySnippet: snippet(reply.body),
        retriable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );
  };

  /**
   * One admin request with retries. Returns the first answer that is final (2xx or a refusal the caller
   * interprets); throws once retries, the deadline or the credential run out. A request that may have been
   * processed (timeout, connection cut) is resent only if it is a GET: a second POST would answer
   * "exists" for the topic the first one created, and the operator would be told the wrong story.
   */
  const exchange = (
    what: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    call: CallOptions,
    body?: string,
  ): Promise<AdminReply> => {
    const client = requireHttp(what);
    const idempotent = method === 'GET';
    const headers = withAuthHeaders({
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    });
    let error: AppError | undefined;
    const retry = (failure: AppError, retryAfterMs?: number): Step<AdminReply> => {
      error = failure;
      return retryOrThrow(failure, retryAfterMs);
    };
    return runWithRetries<AdminReply>(call, retryClock, {
      attempt: async (): Promise<Step<AdminReply>> => {
        const outcome = await client.send(call, what, {
          method,
          path,
          headers,
          body,
          maxBodyBytes: ADMIN_ANSWER_MAX_BYTES,
        });
        if (!outcome.ok) {
          if (!outcome.retriable || (outcome.ambiguous && !idempotent)) throw outcome.error;
          return retry(outcome.error);
        }
        if (outcome.status >= 200 && outcome.status < 300) return { kind: 'done', value: outcome };
        const verdict = toStatusVerdict(outcome.status, parseAdminError(outcome.body).errorCode, idempotent);
        if (verdict === 'fail') return { kind: 'done', value: outcome };
        if (verdict === 'auth') {
          return {
            kind: 'refresh',
            refused: () => {
              throw new UpstreamError(
                ERROR_CODES.UPSTREAM_AUTH,
                `the admin API at ${origin} refused the credential (${outcome.status}) to ${what}, also after reading it again`,
                { status: outcome.status, bodySnippet: snippet(outcome.body) },
              );
            },
          };
        }
        const retryAfterMs = parseRetryAfterMs(outcome.headers['retry-after'], now());
        return retry(statusError(what, outcome, true, retryAfterMs), retryAfterMs);
      },
      refresh: async () => {
        log.warn('admin API refused the credential: reading it again', { what });
        await client.refresh(call);
        return undefined;
      },
      onRetry: (attemptNo, waitMs) => {
        log.debug('retrying admin API call', { what, attempt: attemptNo, waitMs, code: error?.code });
      },
    });
  };

  const listAdminTopics = async (call: CallOptions): Promise<AdminTopicEntry[]> => {
    const what = 'list topics';
    const reply = await exchange(what, 'GET', topicsPath, call);
    if (reply.status < 200 || reply.status >= 300) throw statusError(what, reply, false);
    const entries = parseAdminTopics(reply.body);
    if (entries === undefined) {
      throw new UpstreamError(
        ERROR_CODES.UPSTREAM_PROTOCOL,
        `the admin API answered ${reply.status} to ${what} with a body that is not a list of topics`,
        { status: reply.status, bodySnippet: snippet(reply.body) },
      );
    }
    return entries;
  };

  /** Partitions of `topic`, or undefined when the REST API says it does not exist (40401). */
  const partitionsOf = async (topic: string, call: CallOptions): Promise<PartitionInfo[] | undefined> => {
    try {
      return await options.kafka.listPartitions(topic, call);
    } catch (error) {
      if (isUpstreamError(error) && error.status === 404 && error.kafkaErrorCode === 40401) return undefined;
      throw error;
    }
  };

  const listTopics = async (callOptions: AdminCallOptions = {}): Promise<TopicSummary[]> => {
    const call = toCall(callOptions);
    const [names, adminEntries] = await Promise.all([
      options.kafka.listTopics(call),
      http === undefined ? undefined : listAdminTopics(call),
    ]);
    const byName = new Map<string, TopicSummary>();
    for (const entry of adminEntries ?? []) byName.set(entry.name, entry);
    const missing = names.filter((name) => !byName.has(name));
    if (adminEntries !== undefined) {
      // Listed by the proxy but not (yet) by the admin API: creation still settling.
      for (const name of missing) {
        byName.set(name, { name, partitions: undefined, retentionMs: undefined, markedForDeletion: false });
      }
    } else {
      // Without an admin API the partition counts come from the proxy, a few lookups at a time.
      for (let i = 0; i < missing.length; i += DESCRIBE_CONCURRENCY) {
        const batch = missing.slice(i, i + DESCRIBE_CONCURRENCY);
        const found = await Promise.all(batch.map((name) => partitionsOf(name, call)));
        batch.forEach((name, j) => {
          byName.set(name, {
            name,
            partitions: found[j]?.length,
            retentionMs: undefined,
            markedForDeletion: false,
          });
        });
      }
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };

  const describeTopic = async (
    name: string,
    callOptions: AdminCallOptions = {},
  ): Promise<TopicDescription | undefined> => {
    rejectIf(checkTopicName(name), 'cannot describe the topic');
    const partitions = await partitionsOf(name, toCall(callOptions));
    return partitions === undefined ? undefined : { name, partitions };
  };

  const createTopic = async (
    name: string,
    request: CreateTopicOptions & AdminCallOptions = {},
  ): Promise<CreateTopicOutcome> => {
    const { partitions, retentionMs } = request;
    const problems = checkCreateTopic(name, request);
    rejectIf(problems.length === 0 ? undefined : problems.join('; '), 'cannot create the topic');
    const what = `create topic ${name}`;
    requireHttp(what);
    const body = JSON.stringify({
      name,
      ...(partitions === undefined ? {} : { partitions }),
      ...(retentionMs === undefined ? {} : { configs: { retentionMs } }),
    });
    const reply = await exchange(what, 'POST', topicsPath, toCall(request), body);
    if (reply.status >= 200 && reply.status < 300) {
      return { status: 'accepted', name, partitions, retentionMs };
    }
    if (reply.status === 422 && parseAdminError(reply.body).errorCode === TOPIC_EXISTS_ERROR_CODE) {
      return { status: 'exists', name };
    }
    throw statusError(what, reply, false);
  };

  const deleteTopic = async (
    name: string,
    callOptions: AdminCallOptions = {},
  ): Promise<DeleteTopicOutcome> => {
    rejectIf(checkTopicName(name), 'cannot delete the topic');
    const what = `delete topic ${name}`;
    requireHttp(what);
    const reply = await exchange(
      what,
      'DELETE',
      `${topicsPath}/${encodeURIComponent(name)}`,
      toCall(callOptions),
    );
    if (reply.status >= 200 && reply.status < 300) return { status: 'accepted', name };
    // IBM's own mock answers an unknown topic with 404; the docs only promise 422 for a refusal.
    if (reply.status === 404) return { status: 'not-found', name };
    throw statusError(what, reply, false);
  };

  return {
    hasAdminApi: http !== undefined,
    listTopics,
    describeTopic,
    createTopic,
    deleteTopic,
    close: async () => {
      await http?.close();
    },
  };
};

const rejectIf = (problem: string | undefined, what: string): void => {
  if (problem !== undefined) {
    throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `${what}: ${problem}`, { retriable: false });
  }
};

const toAdminUrl = (value: URL | string | undefined, allowHttp: boolean): URL | undefined => {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new AppError(ERROR_CODES.CONFIG, 'adminUrl must be an absolute URL', {
      cause: error,
      retriable: false,
    });
  }
  if (schemeProblem(url, allowHttp) !== undefined) {
    throw new AppError(
      ERROR_CODES.CONFIG,
      `adminUrl must use https (got ${url.protocol}); plain http is for local development only (allowHttp)`,
      { retriable: false },
    );
  }
  return url;
};
