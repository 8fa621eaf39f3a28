import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { checkInt } from '../env-reader.js';
import { AppError, ConfigError, ERROR_CODES, isAppError, UpstreamError } from '../errors.js';
import type { Log } from '../log.js';
import type { AuthProvider } from './auth.js';
import { OffsetOutOfRangeError } from './errors.js';
import { createUndiciTransport, type TransportOutcome, type TransportReply } from './http.js';
import {
  type BackoffSettings,
  isRetriableRecordCode,
  parseRetryAfterMs,
  planRetry,
  toStatusVerdict,
} from './retry.js';
import type {
  CallOptions,
  FetchedRecord,
  FetchOptions,
  KafkaRestClient,
  KafkaRestStats,
  LogBounds,
  LogBoundsOptions,
  PartitionInfo,
  ProduceRecord,
  ProduceResult,
} from './types.js';
import {
  encodedRecordBytes,
  encodeProduceRequestBody,
  messagesPath,
  parseErrorCode,
  parseFetchRecords,
  parsePartitions,
  parseProduceEntries,
  parseTopics,
  partitionsPath,
  TOPIC_NAME,
  topicPath,
  topicsPath,
  V1_MEDIA,
} from './v1.js';

export interface KafkaRestOptions {
  /** The proxy's base URL; a path prefix is kept (`https://host/kafka-rest` → `/kafka-rest/topics/…`). */
  readonly baseUrl: URL | string;
  /** Allows `http:` (local development only); otherwise the base URL must be `https:`. */
  readonly allowHttp?: boolean;
  readonly auth: AuthProvider;
  /** Default: one keep-alive undici `Pool` for the base URL's origin, `connections` bounded. */
  readonly dispatcher?: Dispatcher;
  /** Connections of the default pool. Default 8. */
  readonly connections?: number;
  /** Default 3 000. */
  readonly connectTimeoutMs?: number;
  /** Bound of one attempt's wait for headers and for body data, further capped by the call's deadline. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Attempts per request (the first one included). Default 5. */
  readonly maxAttempts?: number;
  /** Default 100. */
  readonly backoffBaseMs?: number;
  /** Default 5 000. */
  readonly backoffMaxMs?: number;
  /** Key + value bytes of one record. Default 1 000 000 (Message Hub's maximum, protocol doc §5). */
  readonly maxRecordBytes?: number;
  /** A produce call bigger than this (JSON body bytes, estimated) is split into several requests. Default 5 000 000. */
  readonly maxRequestBytes?: number;
  /** A produce call with more records than this is split into several requests. Default 500. */
  readonly maxRequestRecords?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly log?: Log;
}

const DEFAULTS = {
  connections: 8,
  connectTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  maxAttempts: 5,
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
  maxRecordBytes: 1_000_000,
  maxRequestBytes: 5_000_000,
  maxRequestRecords: 500,
} as const;

/** The part of an error body kept for diagnosis (like undici's `ResponseError`). */
const SNIPPET_CHARS = 256;
/** `{"records":[` + `]}`. */
const BODY_FRAME_BYTES = 14;
/** The highest offset a probe may ask for: JSON numbers stay exact up to here. */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

const NO_LOG: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

type Probe = 'inside' | 'end' | 'outside';

interface Exchange {
  readonly status: number;
  readonly body: string;
  readonly kafkaErrorCode: number | null;
}

interface Settings extends BackoffSettings {
  readonly baseUrl: URL;
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxRecordBytes: number;
  readonly maxRequestBytes: number;
  readonly maxRequestRecords: number;
}

/**
 * Creates a Kafka REST v1 client (binary embedded format; protocol doc §1–§4, design §3).
 *
 * Produce never throws for the proxy's failures: each record gets a result, and only failed retriable
 * records are resent, with full-jitter backoff or the proxy's `Retry-After`, until `maxAttempts` or the
 * call's deadline. A timeout or a connection lost after sending is ambiguous (the records may have been
 * written); resending then is at-least-once and is counted in `stats().ambiguousResends` and logged.
 *
 * Throws `ConfigError` (`ERR_CONFIG`) listing every bad option; each method documents its own errors.
 */
export const createKafkaRest = (options: KafkaRestOptions): KafkaRestClient => {
  const settings = parseOptions(options);
  const auth = options.auth;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const log = options.log ?? NO_LOG;
  const origin = settings.baseUrl.origin;
  const basePath = settings.baseUrl.pathname.replace(/\/+$/, '');
  const transport = createUndiciTransport({
    baseUrl: settings.baseUrl,
    dispatcher: options.dispatcher,
    connections: settings.connections,
    connectTimeoutMs: settings.connectTimeoutMs,
  });
  const counters = { requests: 0, retries: 0, ambiguousResends: 0, possibleDuplicates: 0, authRefreshes: 0 };
  // The credential's header values, kept only to scrub them from body snippets should a proxy echo them.
  let secretsToRedact: readonly string[] = [];

  const produceHeaders = withAuthHeaders({
    'content-type': V1_MEDIA.produceContentType,
    accept: V1_MEDIA.accept,
  });
  const metadataHeaders = withAuthHeaders({ accept: V1_MEDIA.accept });
  const fetchHeaders = withAuthHeaders({ accept: V1_MEDIA.fetchAccept });

  /** One HTTP attempt, with the credential, bounded by what is left of the call's deadline. */
  const attempt = async (
    call: CallOptions,
    method: 'GET' | 'POST',
    path: string,
    headers: HeaderMerge,
    body?: string | Uint8Array,
  ): Promise<TransportOutcome> => {
    if (call.signal?.aborted === true) {
      return failure(
        new AppError(ERROR_CODES.DEADLINE, 'the call was aborted by its caller', { retriable: false }),
        false,
      );
    }
    const remainingMs = call.deadlineMs - now();
    if (remainingMs < 1) {
      return failure(
        new AppError(
          ERROR_CODES.DEADLINE,
          `the deadline passed before a request to the Kafka REST proxy at ${origin}`,
        ),
        false,
      );
    }
    let authHeaders: Readonly<Record<string, string>>;
    try {
      authHeaders = await auth.headers();
    } catch (error) {
      const appError = toSecretError(error);
      return failure(appError, appError.retriable);
    }
    if (authHeaders !== headers.forAuth) secretsToRedact = redactionsOf(authHeaders);
    counters.requests++;
    return transport.send({
      method,
      path,
      headers: headers.merge(authHeaders),
      ...(body === undefined ? {} : { body }),
      timeoutMs: Math.min(settings.requestTimeoutMs, remainingMs),
      exactTimeout: remainingMs <= settings.requestTimeoutMs,
      signal: call.signal,
    });
  };

  /** Reads the credential again after a 401/403; throws `ERR_SECRET` when that fails. */
  const refreshAuth = async (what: string): Promise<void> => {
    counters.authRefreshes++;
    log.warn('Kafka REST proxy refused the credential: reading it again', { what });
    try {
      await auth.refresh();
    } catch (error) {
      throw toSecretError(error);
    }
  };

  const snippet = (body: string): string => {
    let text = body.slice(0, SNIPPET_CHARS);
    for (const secret of secretsToRedact) text = text.replaceAll(secret, '[redacted]');
    return text;
  };

  const statusError = (
    reply: TransportReply,
    kafkaErrorCode: number | null,
    what: string,
    retriable: boolean,
    retryAfterMs?: number,
  ): UpstreamError =>
    new UpstreamError(
      ERROR_CODES.UPSTREAM_STATUS,
      `Kafka REST proxy answered ${reply.status}${kafkaErrorCode === null ? '' : ` (error_code ${kafkaErrorCode})`} to ${what}`,
      {
        status: reply.status,
        kafkaErrorCode,
        bodySnippet: snippet(reply.body),
        retriable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );

  const authError = (reply: TransportReply, kafkaErrorCode: number | null, what: string): UpstreamError =>
    new UpstreamError(
      ERROR_CODES.UPSTREAM_AUTH,
      `Kafka REST proxy refused the credential (${reply.status}) for ${what}, also after reading it again`,
      { status: reply.status, kafkaErrorCode, bodySnippet: snippet(reply.body) },
    );

  const protocolError = (
    reply: { status: number; body: string },
    what: string,
    expected: string,
  ): UpstreamError =>
    new UpstreamError(
      ERROR_CODES.UPSTREAM_PROTOCOL,
      `Kafka REST proxy answered ${reply.status} to ${what} with a body that is not ${expected}`,
      { status: reply.status, bodySnippet: snippet(reply.body) },
    );

  /**
   * A read (idempotent) with retries: returns a 2xx answer, or one that `passThrough` accepts (an expected
   * error such as out-of-range); throws the last failure otherwise.
   */
  const exchange = async (
    call: CallOptions,
    what: string,
    path: string,
    headers: HeaderMerge,
    passThrough?: (status: number, kafkaErrorCode: number | null) => boolean,
  ): Promise<Exchange> => {
    let refreshed = false;
    for (let attemptNo = 1; ; attemptNo++) {
      const outcome = await attempt(call, 'GET', path, headers);
      let error: AppError;
      let retryAfterMs: number | undefined;
      if (!outcome.ok) {
        if (!outcome.retriable) throw outcome.error;
        error = outcome.error;
      } else {
        if (outcome.status >= 200 && outcome.status < 300) {
          return { status: outcome.status, body: outcome.body, kafkaErrorCode: null };
        }
        const code = parseErrorCode(outcome.body);
        if (passThrough?.(outcome.status, code) === true) {
          return { status: outcome.status, body: outcome.body, kafkaErrorCode: code };
        }
        const verdict = toStatusVerdict(outcome.status, code, true);
        if (verdict === 'auth') {
          if (refreshed) throw authError(outcome, code, what);
          refreshed = true;
          await refreshAuth(what);
          counters.retries++;
          attemptNo--; // a retry with a fresh credential is not a failed attempt
          continue;
        }
        retryAfterMs = parseRetryAfterMs(outcome.headers['retry-after'], now());
        error = statusError(outcome, code, what, verdict === 'retry', retryAfterMs);
        if (verdict === 'fail') throw error;
      }
      const plan = planRetry(attemptNo, retryAfterMs, call.deadlineMs, now(), settings);
      if (!plan.retry) throw error;
      log.debug('retrying Kafka REST call', {
        what,
        attempt: attemptNo,
        waitMs: plan.waitMs,
        code: error.code,
      });
      counters.retries++;
      await sleep(plan.waitMs);
    }
  };

  /**
   * Sends `indices` of `records` until each has a result, resending only failed retriable records.
   * Fills `results`; never throws.
   */
  const produceRequest = async (
    topic: string,
    records: readonly ProduceRecord[],
    indices: number[],
    results: ProduceResult[],
    call: CallOptions,
  ): Promise<void> => {
    const what = `produce to topic ${topic}`;
    const path = topicPath(basePath, topic);
    let pending = indices;
    let refreshed = false;
    // The previous attempt may have written `pending` (timeout, connection lost after sending).
    let ambiguous = false;
    const fail = (list: readonly number[], error: AppError): void => {
      for (const index of list) results[index] = { ok: false, error };
    };

    for (let attemptNo = 1; ; attemptNo++) {
      if (ambiguous) {
        counters.ambiguousResends++;
        counters.possibleDuplicates += pending.length;
        log.warn('resending records after an ambiguous failure: they may be written twice', {
          topic,
          records: pending.length,
          attempt: attemptNo,
        });
      }
      const outcome = await attempt(
        call,
        'POST',
        path,
        produceHeaders,
        encodeProduceRequestBody(records, pending),
      );
      let retry: number[];
      let error: AppError | undefined;
      let recordError: ((index: number) => AppError) | undefined;
      let retryAfterMs: number | undefined;
      ambiguous = false;

      if (!outcome.ok) {
        if (!outcome.retriable) return fail(pending, outcome.error);
        ambiguous = outcome.ambiguous;
        retry = pending;
        error = outcome.error;
      } else {
        const ok = outcome.status >= 200 && outcome.status < 300;
        const code = ok ? null : parseErrorCode(outcome.body);
        const verdict = ok ? undefined : toStatusVerdict(outcome.status, code, false);
        if (verdict === 'auth') {
          if (refreshed) return fail(pending, authError(outcome, code, what));
          refreshed = true;
          try {
            await refreshAuth(what);
          } catch (refreshError) {
            return fail(pending, refreshError as AppError);
          }
          counters.retries++;
          attemptNo--;
          continue;
        }
        // Per-record results come with 200, and with 500 on Karapace when any record failed (protocol doc §4).
        const entries =
          ok || outcome.status === 500 ? parseProduceEntries(outcome.body, pending.length) : undefined;
        if (entries !== undefined) {
          retry = [];
          // Allocated on the first retriable failure only: the common all-success answer needs none of it.
          let retriableCodes: Map<number, { code: number; message: unknown }> | undefined;
          for (let j = 0; j < entries.length; j++) {
            const entry = entries[j] as (typeof entries)[number];
            const index = pending[j] as number;
            const entryCode = entry.error_code;
            if (entryCode === null || entryCode === undefined) {
              if (typeof entry.offset === 'number' && typeof entry.partition === 'number') {
                results[index] = { ok: true, partition: entry.partition, offset: entry.offset };
              } else {
                results[index] = {
                  ok: false,
                  error: protocolError(outcome, what, 'an offset for every record'),
                };
              }
            } else if (typeof entryCode === 'number' && isRetriableRecordCode(entryCode)) {
              retry.push(index);
              retriableCodes ??= new Map();
              retriableCodes.set(index, { code: entryCode, message: entry.error });
            } else {
              results[index] = {
                ok: false,
                error: recordRejected(topic, entryCode, entry.error, outcome.status),
              };
            }
          }
          if (retry.length === 0) return;
          const status = outcome.status;
          // Each record keeps its own code if the retries run out.
          const codes = retriableCodes as Map<number, { code: number; message: unknown }>;
          recordError = (index) => {
            const own = codes.get(index) as { code: number; message: unknown };
            return recordRetriable(topic, own.code, own.message, status);
          };
        } else if (ok) {
          // The records may have been written: resending could duplicate them, reporting keeps them honest.
          return fail(
            pending,
            protocolError(outcome, what, 'a v1 produce response with one entry per record'),
          );
        } else {
          retryAfterMs = parseRetryAfterMs(outcome.headers['retry-after'], now());
          const status = outcome.status;
          if (verdict === 'fail') {
            const rejected = status === 400 || status === 422;
            return fail(
              pending,
              rejected
                ? new UpstreamError(
                    ERROR_CODES.RECORD_REJECTED,
                    `Kafka REST proxy rejected the request to ${what} (${status}${code === null ? '' : `, error_code ${code}`})`,
                    { status, kafkaErrorCode: code, bodySnippet: snippet(outcome.body), retriable: false },
                  )
                : statusError(
                    outcome,
                    code,
                    what,
                    status >= 500 || status === 408 || status === 429,
                    retryAfterMs,
                  ),
            );
          }
          retry = pending;
          error = statusError(outcome, code, what, true, retryAfterMs);
        }
      }

      const plan = planRetry(attemptNo, retryAfterMs, call.deadlineMs, now(), settings);
      if (!plan.retry) {
        for (const index of retry) {
          results[index] = { ok: false, error: recordError?.(index) ?? (error as AppError) };
        }
        return;
      }
      log.debug('retrying produce', {
        topic,
        records: retry.length,
        attempt: attemptNo,
        waitMs: plan.waitMs,
      });
      counters.retries++;
      await sleep(plan.waitMs);
      pending = retry;
    }
  };

  /** One count=1 read (protocol doc §2.5): records → inside the log, `[]` → its end, 50002 → outside. */
  const probe = async (
    topic: string,
    partition: number,
    offset: number,
    call: CallOptions,
  ): Promise<Probe> => {
    const what = `probe ${topic}/${partition} at offset ${offset}`;
    const reply = await exchange(
      call,
      what,
      messagesPath(basePath, topic, partition, offset, 1),
      fetchHeaders,
      isOutOfRange,
    );
    if (isOutOfRange(reply.status, reply.kafkaErrorCode)) return 'outside';
    const parsed = parseFetchRecords(reply.body, offset);
    if (parsed === undefined) {
      throw protocolError(reply, what, 'a list of records');
    }
    // Some servers answer with a whole batch that starts before `offset`: any record means inside.
    return parsed.rawCount > 0 ? 'inside' : 'end';
  };

  const produce = async (
    topic: string,
    records: readonly ProduceRecord[],
    call: CallOptions,
  ): Promise<ProduceResult[]> => {
    checkTopic(topic);
    if (!Array.isArray(records) || records.length === 0) {
      throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `produce to topic ${topic} needs at least one record`);
    }
    const requests: number[][] = [];
    let current: number[] = [];
    let bytes = BODY_FRAME_BYTES;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as ProduceRecord;
      checkRecord(record, i, settings.maxRecordBytes);
      const recordBytes = encodedRecordBytes(record);
      if (
        current.length > 0 &&
        (current.length >= settings.maxRequestRecords || bytes + recordBytes > settings.maxRequestBytes)
      ) {
        requests.push(current);
        current = [];
        bytes = BODY_FRAME_BYTES;
      }
      current.push(i);
      bytes += recordBytes;
    }
    requests.push(current);
    const results = new Array<ProduceResult>(records.length);
    // One request after the other: a later part of the call never overtakes an earlier one.
    for (const indices of requests) await produceRequest(topic, records, indices, results, call);
    return results;
  };

  const fetch = async (
    topic: string,
    partition: number,
    offset: number,
    options: FetchOptions,
  ): Promise<FetchedRecord[]> => {
    checkTopic(topic);
    checkNonNegative('partition', partition);
    checkNonNegative('offset', offset);
    if (checkInt(options.maxRecords, { min: 1 }) !== undefined) {
      throw new AppError(
        ERROR_CODES.PAYLOAD_INVALID,
        `maxRecords must be ${checkInt(options.maxRecords, { min: 1 })}`,
      );
    }
    const what = `fetch ${topic}/${partition} from offset ${offset}`;
    const path = messagesPath(basePath, topic, partition, offset, options.maxRecords);
    const reply = await exchange(options, what, path, fetchHeaders, isOutOfRange);
    if (isOutOfRange(reply.status, reply.kafkaErrorCode)) {
      throw new OffsetOutOfRangeError(
        `offset ${offset} is outside the log of ${topic}/${partition} (below its start or above its end)`,
        { topic, partition, offset },
      );
    }
    const parsed = parseFetchRecords(reply.body, offset);
    if (parsed === undefined) {
      throw protocolError(reply, what, 'a list of records');
    }
    return parsed.records.length > options.maxRecords
      ? parsed.records.slice(0, options.maxRecords)
      : parsed.records;
  };

  const logBounds = async (
    topic: string,
    partition: number,
    options: LogBoundsOptions,
  ): Promise<LogBounds> => {
    checkTopic(topic);
    checkNonNegative('partition', partition);
    const near = options.near;
    if (near !== undefined) checkNonNegative('near', near);
    const at = (offset: number): Promise<Probe> => probe(topic, partition, offset, options);

    // 1. Offset 0: a topic that was (re-)created and never truncated starts there.
    let point = 0;
    let kind = await at(0);
    if (kind === 'end') return { start: 0, end: 0 };
    let start = 0;
    if (kind === 'outside') {
      // 2. 0 is below the log start (retention). Find any offset inside [start, end], then bisect down to start.
      const found = await findInLog(at, near);
      if (found === undefined) {
        throw new OffsetOutOfRangeError(
          `could not locate the log of ${topic}/${partition} by probing: offset 0 is below its start and no probe${near === undefined ? '' : ` around ${near}`} landed inside it; the remaining log is too short to find this way`,
          { topic, partition, ...(near === undefined ? {} : { offset: near }) },
        );
      }
      point = found.offset;
      kind = found.kind;
      // Every offset in (0, point) is below start (outside) or inside: a monotone predicate.
      let below = 0;
      let atOrAbove = point;
      while (atOrAbove - below > 1) {
        const mid = below + Math.floor((atOrAbove - below) / 2);
        if ((await at(mid)) === 'outside') below = mid;
        else atOrAbove = mid;
      }
      start = atOrAbove;
    }
    if (kind === 'end') return { start, end: point };

    // 3. `point` is inside: the end is the first offset that answers `[]`. Start from `near` when it is
    //    further up (a checkpoint is usually close to the end), then gallop and bisect.
    let inside = point;
    let beyond = Number.NaN;
    if (near !== undefined && near > inside) {
      const nearKind = await at(near);
      if (nearKind === 'end') return { start, end: near };
      if (nearKind === 'inside') inside = near;
      else beyond = near;
    }
    for (let step = 1; Number.isNaN(beyond); step *= 2) {
      const candidate = Math.min(inside + step, MAX_OFFSET);
      const candidateKind = await at(candidate);
      if (candidateKind === 'end') return { start, end: candidate };
      if (candidateKind === 'outside') beyond = candidate;
      else if (candidate === MAX_OFFSET) return { start, end: MAX_OFFSET };
      else inside = candidate;
    }
    while (beyond - inside > 1) {
      const mid = inside + Math.floor((beyond - inside) / 2);
      const midKind = await at(mid);
      if (midKind === 'end') return { start, end: mid };
      if (midKind === 'inside') inside = mid;
      else beyond = mid;
    }
    // `inside` answered records and `inside + 1` did not: the log grew or shrank while probing.
    return { start, end: inside + 1 };
  };

  const listTopics = async (call: CallOptions): Promise<string[]> => {
    const what = 'list topics';
    const reply = await exchange(call, what, topicsPath(basePath), metadataHeaders);
    const topics = parseTopics(reply.body);
    if (topics === undefined) {
      throw protocolError(reply, what, 'a list of names');
    }
    return topics.sort();
  };

  const listPartitions = async (topic: string, call: CallOptions): Promise<PartitionInfo[]> => {
    checkTopic(topic);
    const what = `list partitions of topic ${topic}`;
    const reply = await exchange(call, what, partitionsPath(basePath, topic), metadataHeaders);
    const partitions = parsePartitions(reply.body);
    if (partitions === undefined) {
      throw protocolError(reply, what, 'a list of partitions');
    }
    // v1 builds this list from a ZooKeeper map: its order is not guaranteed (protocol doc §2.2).
    return partitions.sort((a, b) => a.partition - b.partition);
  };

  return {
    produce,
    fetch,
    logBounds,
    listTopics,
    listPartitions,
    close: () => transport.close(),
    stats: (): KafkaRestStats => ({ ...counters }),
  };
};

/**
 * Finds an offset in [log start, log end] when offset 0 is below the start. Probes `near` and then
 * `near ± 2^k` (interleaved), or `1, 2, 4, …` without `near`. A log shorter than the gaps between probes
 * at that distance is stepped over: then this gives up (undefined) rather than scan.
 */
const findInLog = async (
  at: (offset: number) => Promise<Probe>,
  near: number | undefined,
): Promise<{ offset: number; kind: Exclude<Probe, 'outside'> } | undefined> => {
  const tried = new Set<number>([0]);
  const tryAt = async (offset: number) => {
    if (offset <= 0 || offset > MAX_OFFSET || tried.has(offset)) return undefined;
    tried.add(offset);
    const kind = await at(offset);
    return kind === 'outside' ? undefined : { offset, kind };
  };
  const center = near !== undefined && near > 0 ? near : 0;
  const found = await tryAt(center);
  if (found !== undefined) return found;
  for (let step = 1; step <= MAX_OFFSET; step *= 2) {
    const up = await tryAt(center + step);
    if (up !== undefined) return up;
    const down = await tryAt(center - step);
    if (down !== undefined) return down;
    if (center + step > MAX_OFFSET && center - step <= 0) break;
  }
  return undefined;
};

const isOutOfRange = (status: number, kafkaErrorCode: number | null): boolean =>
  status === 500 && kafkaErrorCode === 50002;

interface HeaderMerge {
  forAuth: Readonly<Record<string, string>> | undefined;
  merge(authHeaders: Readonly<Record<string, string>>): Record<string, string>;
}

/** Base headers plus the credential, merged again only when the credential object changes (rotation). */
const withAuthHeaders = (base: Readonly<Record<string, string>>): HeaderMerge => {
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

/** Header values and, for `Scheme value`, the bare value: what a proxy that echoes a header would show. */
const redactionsOf = (headers: Readonly<Record<string, string>>): string[] => {
  const values: string[] = [];
  for (const value of Object.values(headers)) {
    values.push(value);
    const space = value.indexOf(' ');
    if (space > 0 && space < value.length - 1) values.push(value.slice(space + 1));
  }
  return values.filter((value) => value.length >= 4);
};

const failure = (error: AppError, retriable: boolean): TransportOutcome => ({
  ok: false,
  error,
  retriable,
  ambiguous: false,
});

const toSecretError = (error: unknown): AppError =>
  isAppError(error)
    ? error
    : new AppError(ERROR_CODES.SECRET, 'could not read the Kafka REST credential', { cause: error });

const recordRejected = (topic: string, code: unknown, message: unknown, status: number): UpstreamError =>
  new UpstreamError(
    ERROR_CODES.RECORD_REJECTED,
    `Kafka REST proxy rejected the record for topic ${topic} (error_code ${String(code)})`,
    {
      status,
      kafkaErrorCode: typeof code === 'number' ? code : null,
      bodySnippet: typeof message === 'string' ? message.slice(0, SNIPPET_CHARS) : '',
      retriable: false,
    },
  );

const recordRetriable = (topic: string, code: number, message: unknown, status: number): UpstreamError =>
  new UpstreamError(
    ERROR_CODES.UPSTREAM_STATUS,
    `Kafka REST proxy failed the record for topic ${topic} with retriable error_code ${code}, until retries ran out`,
    {
      status,
      kafkaErrorCode: code,
      bodySnippet: typeof message === 'string' ? message.slice(0, SNIPPET_CHARS) : '',
      retriable: true,
    },
  );

const checkTopic = (topic: string): void => {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `topic must be a Kafka topic name (1-249 of [a-zA-Z0-9._-]), got ${JSON.stringify(String(topic).slice(0, 64))}`,
    );
  }
};

const checkNonNegative = (name: string, value: number): void => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `${name} must be an integer ≥ 0, got ${String(value)}`);
  }
};

const checkRecord = (record: ProduceRecord, index: number, maxRecordBytes: number): void => {
  const { key, value, partition } = record;
  if (value !== null && !(value instanceof Uint8Array)) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `record ${index}: value must be bytes (Uint8Array) or null`,
    );
  }
  if (key !== undefined && key !== null && !(key instanceof Uint8Array)) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `record ${index}: key must be bytes (Uint8Array), null or absent`,
    );
  }
  // A negative partition makes the proxy fail the whole request after earlier records were written (protocol doc §2.3).
  if (partition !== undefined && (!Number.isSafeInteger(partition) || partition < 0)) {
    throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `record ${index}: partition must be an integer ≥ 0`);
  }
  const bytes = (key?.byteLength ?? 0) + (value?.byteLength ?? 0);
  if (bytes > maxRecordBytes) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_TOO_LARGE,
      `record ${index} is ${bytes} bytes (key + value), over the limit of ${maxRecordBytes}`,
    );
  }
};

const INT_OPTIONS = [
  ['connections', 1, 1_024],
  ['connectTimeoutMs', 1, undefined],
  ['requestTimeoutMs', 1, undefined],
  ['maxAttempts', 1, 100],
  ['backoffBaseMs', 0, undefined],
  ['backoffMaxMs', 0, undefined],
  ['maxRecordBytes', 1, undefined],
  ['maxRequestBytes', 1_024, undefined],
  ['maxRequestRecords', 1, 100_000],
] as const;

/** Checks every option up front (undici's way): each message names the option and the shape it expects. */
const parseOptions = (options: KafkaRestOptions): Settings => {
  const problems: string[] = [];
  let baseUrl: URL | undefined;
  try {
    baseUrl =
      options.baseUrl instanceof URL ? new URL(options.baseUrl.href) : new URL(String(options.baseUrl));
  } catch {
    problems.push('baseUrl must be an absolute URL (a URL or a string), e.g. https://kafka-rest.example.com');
  }
  if (baseUrl !== undefined) {
    if (baseUrl.protocol === 'http:' && options.allowHttp !== true) {
      problems.push('baseUrl must use https (got http:); pass allowHttp: true for local development only');
    } else if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') {
      problems.push(`baseUrl must be an https URL, got ${baseUrl.protocol}`);
    }
    if (baseUrl.username !== '' || baseUrl.password !== '') {
      problems.push('baseUrl must not carry credentials (user:password@): pass them through auth');
    }
    if (baseUrl.search !== '' || baseUrl.hash !== '')
      problems.push('baseUrl must not have a query or a fragment');
  }
  if (options.allowHttp !== undefined && typeof options.allowHttp !== 'boolean') {
    problems.push('allowHttp must be a boolean');
  }
  const auth = options.auth as Partial<AuthProvider> | undefined;
  if (typeof auth?.headers !== 'function' || typeof auth.refresh !== 'function') {
    problems.push(
      'auth must be an AuthProvider { headers(), refresh() }, e.g. apiKeyAuth(secret) or noAuth()',
    );
  }
  if (options.dispatcher !== undefined && typeof options.dispatcher?.dispatch !== 'function') {
    problems.push('dispatcher must be an undici Dispatcher (Pool, Agent, Client)');
  }
  for (const name of ['now', 'sleep', 'random'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      problems.push(`${name} must be a function`);
  }
  const ints = {} as Record<(typeof INT_OPTIONS)[number][0], number>;
  for (const [name, min, max] of INT_OPTIONS) {
    const value = options[name] ?? DEFAULTS[name];
    const problem = checkInt(value, max === undefined ? { min } : { min, max });
    if (problem !== undefined) problems.push(`${name} must be ${problem}, got ${JSON.stringify(value)}`);
    ints[name] = value;
  }
  if (ints.backoffMaxMs < ints.backoffBaseMs) problems.push('backoffMaxMs must be ≥ backoffBaseMs');
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `createKafkaRest: ${problem}`));
  return { ...ints, baseUrl: baseUrl as URL, random: options.random ?? Math.random };
};
