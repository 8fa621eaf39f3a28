import { setTimeout as delay } from 'node:timers/promises';
import { AppError, ConfigError, ERROR_CODES, UpstreamError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { parseRetryAfterMs, planRetry } from '../http/retry.js';
import { createUndiciTransport, type TransportReply } from '../http/transport.js';
import { type CallSpec, type Exchange, type ReaderFactory, withAuthHeaders } from './calls.js';
import { createSender, runWithRetries, type Step } from './exchange.js';
import { isFinalRecordCode, type KafkaRestDialect } from './flavors.js';
import { intProblem, type KafkaRestOptions, parseOptions, type Settings } from './options.js';
import { toStatusVerdict } from './retry.js';
import type {
  CallOptions,
  FetchedRecord,
  FetchOptions,
  KafkaRestClient,
  KafkaRestStats,
  LogBounds,
  LogBoundsOptions,
  PartitionInfo,
  ProduceHeader,
  ProduceRecord,
  ProduceResult,
} from './types.js';
import { createBinaryWire, parseErrorCode, TOPIC_NAME, V1_MEDIA } from './v1.js';
import { createV2Wire } from './v2.js';
import { createV3Wire } from './v3.js';
import type { WireFormat } from './wire.js';

/** Metadata and consumer control answers: a topic list of thousands of names fits many times over. */
const METADATA_ANSWER_MAX_BYTES = 4 * 1024 * 1024;
/**
 * A produce answer per record: a position, or an error code with Kafka's message (a few hundred bytes),
 * with room for v3's longer reports; plus slack for the envelope.
 */
const PRODUCE_ANSWER_BYTES_PER_RECORD = 1024;
const PRODUCE_ANSWER_SLACK_BYTES = 64 * 1024;
/** How long `close()` may spend deleting consumer instances. */
const CLOSE_BUDGET_MS = 5_000;

const NO_LOG: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * Creates a Kafka REST client for the `dialect` the proxy speaks (design §3): v1 (binary embedded; protocol
 * doc §1–§5), v2 (§6: v2 media types, reading through one consumer instance per partition) or v3 produce
 * (§7: one JSON object per record, a delivery report each). The `flavor` adds a server's quirks (§4, §6).
 *
 * Produce never throws for the proxy's failures: each record gets a result, and only failed retriable
 * records are resent, with full-jitter backoff or the proxy's `Retry-After`, until `maxAttempts` or the
 * call's deadline. A timeout or a connection lost after sending is ambiguous (the records may have been
 * written); resending then is at-least-once and is counted in `stats().ambiguousResends` and logged.
 *
 * Throws `ConfigError` (`ERR_CONFIG`) listing every bad option; each method documents its own errors.
 * `createReader` gives the reading side: the dialect's readers (`createKafkaRest`), or none
 * (`createKafkaRestProducer`).
 */
export const createKafkaRestClient = (
  options: KafkaRestOptions,
  createReader: ReaderFactory,
): KafkaRestClient => {
  const settings = parseOptions(options);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const log = options.log ?? NO_LOG;
  const origin = settings.baseUrl.origin;
  const basePath = settings.baseUrl.pathname.replace(/\/+$/, '');
  const transport = createUndiciTransport({
    baseUrl: settings.baseUrl,
    peer: 'Kafka REST proxy',
    dispatcher: options.dispatcher,
    connections: settings.connections,
    connectTimeoutMs: settings.connectTimeoutMs,
  });
  const counters = { requests: 0, retries: 0, ambiguousResends: 0, possibleDuplicates: 0, authRefreshes: 0 };
  const sender = createSender({
    transport,
    auth: options.auth,
    now,
    requestTimeoutMs: settings.requestTimeoutMs,
    deadlinePassed: () => `the deadline passed before a request to the Kafka REST proxy at ${origin}`,
    secretError: 'could not read the Kafka REST credential',
    checkAbort: true,
    retrySecretFailures: true,
    onRequest: () => {
      counters.requests++;
    },
  });
  const snippet = sender.snippet;

  const wire = createWire(settings, basePath);
  const produceHeaders = withAuthHeaders(wire.produce.headers);
  const metadataHeaders = wire.metadata === undefined ? undefined : withAuthHeaders(wire.metadata.headers);

  /** Reads the credential again after a 401/403; throws `ERR_SECRET` (or `ERR_DEADLINE`) when that fails. */
  const refreshAuth = async (what: string, call: CallOptions): Promise<void> => {
    counters.authRefreshes++;
    log.warn('Kafka REST proxy refused the credential: reading it again', { what });
    await sender.refresh(call);
  };

  /** A per-record error message, kept like a body snippet. */
  const messageSnippet = (message: unknown): string => (typeof message === 'string' ? snippet(message) : '');

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

  /** See {@link Exchanger}: a call that is safe to repeat, with retries; throws the last failure. */
  const exchange = (call: CallOptions, spec: CallSpec): Promise<Exchange> => {
    const { what, passThrough } = spec;
    let error: AppError | undefined;
    return runWithRetries<Exchange>(call, {
      now,
      sleep,
      backoff: settings,
      attempt: async (): Promise<Step<Exchange>> => {
        const outcome = await sender.send(call, what, {
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          maxBodyBytes: spec.maxAnswerBytes ?? METADATA_ANSWER_MAX_BYTES,
          body: spec.body,
        });
        if (!outcome.ok) {
          if (!outcome.retriable) throw outcome.error;
          error = outcome.error;
          return retryOrThrow(outcome.error);
        }
        if (outcome.status >= 200 && outcome.status < 300) {
          return {
            kind: 'done',
            value: { status: outcome.status, body: outcome.body, kafkaErrorCode: null },
          };
        }
        const code = parseErrorCode(outcome.body);
        if (passThrough?.(outcome.status, code, outcome.body) === true) {
          return {
            kind: 'done',
            value: { status: outcome.status, body: outcome.body, kafkaErrorCode: code },
          };
        }
        const verdict = toStatusVerdict(outcome.status, code, true);
        if (verdict === 'auth') {
          return {
            kind: 'refresh',
            refused: () => {
              throw authError(outcome, code, what);
            },
          };
        }
        const retryAfterMs = parseRetryAfterMs(outcome.headers['retry-after'], now());
        error = statusError(outcome, code, what, verdict === 'retry', retryAfterMs);
        if (verdict === 'fail') throw error;
        return retryOrThrow(error, retryAfterMs);
      },
      refresh: async () => {
        await refreshAuth(what, call);
        counters.retries++;
        return undefined;
      },
      onRetry: (attemptNo, waitMs) => {
        log.debug('retrying Kafka REST call', { what, attempt: attemptNo, waitMs, code: error?.code });
        counters.retries++;
      },
    });
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
    const path = wire.produce.path(topic);
    let pending = indices;
    let refreshed = false;
    // How many of `pending` the previous attempt may have written (timeout, connection lost after sending).
    let ambiguous = 0;
    const fail = (list: readonly number[], error: AppError): void => {
      for (const index of list) results[index] = { ok: false, error };
    };

    for (let attemptNo = 1; ; attemptNo++) {
      if (ambiguous > 0) {
        counters.ambiguousResends++;
        counters.possibleDuplicates += ambiguous;
        log.warn('resending records after an ambiguous failure: they may be written twice', {
          topic,
          records: ambiguous,
          attempt: attemptNo,
        });
      }
      const outcome = await sender.send(call, what, {
        method: 'POST',
        path,
        headers: produceHeaders,
        maxBodyBytes: PRODUCE_ANSWER_SLACK_BYTES + pending.length * PRODUCE_ANSWER_BYTES_PER_RECORD,
        body: wire.produce.encode(records, pending),
        keepPartialBody: wire.produce.streamsReports,
      });
      let retry: number[];
      let error: AppError | undefined;
      let recordError: ((index: number) => AppError) | undefined;
      let retryAfterMs: number | undefined;
      ambiguous = 0;

      if (!outcome.ok) {
        if (!outcome.retriable) return fail(pending, outcome.error);
        ambiguous = outcome.ambiguous ? pending.length : 0;
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
            await refreshAuth(what, call);
          } catch (refreshError) {
            return fail(pending, refreshError as AppError);
          }
          counters.retries++;
          attemptNo--;
          continue;
        }
        // Per-record results come with 200, and with 500 on Karapace when any record failed (protocol doc §4).
        const reports = wire.produce.hasRecordResults(outcome.status)
          ? wire.produce.parse(outcome.body, pending.length)
          : undefined;
        const cut = outcome.cut;
        if (cut !== undefined && reports === undefined) {
          // Nothing usable arrived before the connection broke: as if no answer had.
          if (!cut.retriable) return fail(pending, cut.error);
          ambiguous = cut.ambiguous ? pending.length : 0;
          retry = pending;
          error = cut.error;
        } else if (reports !== undefined) {
          retry = [];
          // Allocated on the first retriable failure only: the common all-success answer needs none of it.
          let retriableCodes: Map<number, { code: number; message: unknown }> | undefined;
          for (let j = 0; j < reports.length; j++) {
            const report = reports[j] as (typeof reports)[number];
            const index = pending[j] as number;
            if (report.kind === 'acked') {
              results[index] = { ok: true, partition: report.partition, offset: report.offset };
            } else if (report.kind === 'unacked' && cut?.retriable === true) {
              // The stream broke before its report: maybe written. Resent now, as an ambiguous resend.
              retry.push(index);
              if (cut.ambiguous) ambiguous++;
              error = cut.error;
            } else if (report.kind === 'unacked') {
              // No error, yet no usable position (`-1`, `1.5`, null, or no report): maybe written, maybe
              // not. Not acknowledged, so reported retriable; whoever retries it may write it twice.
              counters.possibleDuplicates++;
              results[index] = {
                ok: false,
                error: cut?.error ?? protocolError(outcome, what, UNACKED_EXPECTED[wire.dialect]),
              };
            } else if (wire.produce.isRetriable(report.code)) {
              retry.push(index);
              retriableCodes ??= new Map();
              retriableCodes.set(index, { code: report.code as number, message: report.message });
            } else {
              // Not resent by us, but only a code the server itself calls final is a rejection for good:
              // anything else (a Karapace code 1 includes timeouts) may succeed later, so it stays
              // retriable for the caller (a 503 to a webhook sender, a redelivery for SQS).
              const final =
                typeof report.code === 'number' &&
                isFinalRecordCode(settings.dialect, settings.flavor, report.code);
              const snippet = messageSnippet(report.message);
              results[index] = {
                ok: false,
                error: final
                  ? recordRejected(topic, report.code, snippet, outcome.status)
                  : recordNotFinal(topic, report.code, snippet, outcome.status),
              };
            }
          }
          if (retry.length === 0) return;
          const status = outcome.status;
          // Each record keeps its own code if the retries run out (or the break, if it had no report).
          const codes = retriableCodes;
          recordError = (index) => {
            const own = codes?.get(index);
            return own === undefined
              ? (error as AppError)
              : recordRetriable(topic, own.code, messageSnippet(own.message), status);
          };
        } else if (ok) {
          // The records may have been written: resending could duplicate them, reporting keeps them honest
          // (and whoever retries them later may duplicate them: counted).
          counters.possibleDuplicates += pending.length;
          return fail(
            pending,
            protocolError(outcome, what, `a ${wire.dialect} produce response with one entry per record`),
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

  const produce = async (
    topic: string,
    records: readonly ProduceRecord[],
    call: CallOptions,
  ): Promise<ProduceResult[]> => {
    checkTopic(topic);
    if (!Array.isArray(records) || records.length === 0) {
      throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `produce to topic ${topic} needs at least one record`);
    }
    const results = new Array<ProduceResult>(records.length);
    const requests: number[][] = [];
    let current: number[] = [];
    let bytes = wire.produce.frameBytes;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as ProduceRecord;
      checkRecord(record, i, settings.maxRecordBytes);
      const refused = wire.produce.refuse(record);
      if (refused !== undefined) {
        // This record alone: the others of the call are fine and go out.
        results[i] = {
          ok: false,
          error: new AppError(ERROR_CODES.PAYLOAD_INVALID, `record ${i} for topic ${topic}: ${refused}`),
        };
        continue;
      }
      const recordBytes = wire.produce.recordBytes(record);
      if (
        current.length > 0 &&
        (current.length >= settings.maxRequestRecords || bytes + recordBytes > settings.maxRequestBytes)
      ) {
        requests.push(current);
        current = [];
        bytes = wire.produce.frameBytes;
      }
      current.push(i);
      bytes += recordBytes;
    }
    if (current.length > 0) requests.push(current);
    // One request after the other: a later part of the call never overtakes an earlier one.
    for (const indices of requests) await produceRequest(topic, records, indices, results, call);
    return results;
  };

  const reader = createReader({ exchange, protocolError, now, log }, { ...settings, basePath });

  const fetch = async (
    topic: string,
    partition: number,
    offset: number,
    options: FetchOptions,
  ): Promise<FetchedRecord[]> => {
    checkTopic(topic);
    checkNonNegative('partition', partition);
    checkNonNegative('offset', offset);
    const maxRecordsProblem = intProblem(options.maxRecords, { min: 1 });
    if (maxRecordsProblem !== undefined) {
      throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `maxRecords must be ${maxRecordsProblem}`);
    }
    return reader.fetch(topic, partition, offset, options);
  };

  const logBounds = async (
    topic: string,
    partition: number,
    options: LogBoundsOptions,
  ): Promise<LogBounds> => {
    checkTopic(topic);
    checkNonNegative('partition', partition);
    if (options.near !== undefined) checkNonNegative('near', options.near);
    return reader.logBounds(topic, partition, options);
  };

  const endFetch = async (topic: string, partition: number, call: CallOptions): Promise<void> => {
    checkTopic(topic);
    checkNonNegative('partition', partition);
    await reader.end(topic, partition, call);
  };

  const metadata = (what: string) => {
    if (wire.metadata === undefined || metadataHeaders === undefined) {
      throw new ConfigError([
        `Kafka REST v3 (KAFKA_REST_DIALECT=v3) cannot ${what}: this client reads topics and partitions over v1 or v2 only`,
      ]);
    }
    return { wire: wire.metadata, headers: metadataHeaders };
  };

  const listTopics = async (call: CallOptions): Promise<string[]> => {
    const what = 'list topics';
    const { wire: metadataWire, headers } = metadata(what);
    const reply = await exchange(call, { what, method: 'GET', path: metadataWire.topicsPath, headers });
    const topics = metadataWire.parseTopics(reply.body);
    if (topics === undefined) {
      throw protocolError(reply, what, 'a list of names');
    }
    return topics.sort();
  };

  const listPartitions = async (topic: string, call: CallOptions): Promise<PartitionInfo[]> => {
    checkTopic(topic);
    const what = `list partitions of topic ${topic}`;
    const { wire: metadataWire, headers } = metadata(what);
    const reply = await exchange(call, {
      what,
      method: 'GET',
      path: metadataWire.partitionsPath(topic),
      headers,
    });
    const partitions = metadataWire.parsePartitions(reply.body);
    if (partitions === undefined) {
      throw protocolError(reply, what, 'a list of partitions');
    }
    // v1 builds this list from a ZooKeeper map: its order is not guaranteed (protocol doc §2.2).
    return partitions.sort((a, b) => a.partition - b.partition);
  };

  // Idempotent: deps teardown and a test's cleanup may both close the same client.
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        // Consumer instances first: they hold resources on the proxy until they expire.
        await reader.endAll({ deadlineMs: now() + Math.min(settings.requestTimeoutMs, CLOSE_BUDGET_MS) });
      } finally {
        await transport.close();
      }
    })();
    return closing;
  };

  return {
    produce,
    fetch,
    logBounds,
    exactLogBounds: reader.exactBounds,
    endFetch,
    listTopics,
    listPartitions,
    close,
    stats: (): KafkaRestStats => ({ ...counters }),
  };
};

/** The wire format of the configured dialect and flavor. */
const createWire = (settings: Settings, basePath: string): WireFormat => {
  switch (settings.dialect) {
    case 'v1':
      return createBinaryWire('v1', basePath, settings.flavor, V1_MEDIA);
    case 'v2':
      return createV2Wire(basePath, settings.flavor);
    case 'v3':
      return createV3Wire(basePath, settings.v3PathPrefix, settings.clusterId);
  }
};

/** What a record with no usable result should have had, per dialect, for `ERR_UPSTREAM_PROTOCOL`. */
const UNACKED_EXPECTED: Readonly<Record<KafkaRestDialect, string>> = {
  v1: 'an offset ≥ 0 and a partition ≥ 0 for every record',
  v2: 'an offset ≥ 0 and a partition ≥ 0 for every record',
  v3: 'a delivery report for every record, with error_code 200 and partition_id and offset ≥ 0',
};

/** A failed attempt worth repeating: thrown as it is when no attempt is left. */
const retryOrThrow = (error: AppError, retryAfterMs?: number): Step<never> => ({
  kind: 'retry',
  retryAfterMs,
  giveUp: () => {
    throw error;
  },
});

const recordRejected = (topic: string, code: unknown, bodySnippet: string, status: number): UpstreamError =>
  new UpstreamError(
    ERROR_CODES.RECORD_REJECTED,
    `Kafka REST proxy rejected the record for topic ${topic} (error_code ${String(code)})`,
    {
      status,
      kafkaErrorCode: typeof code === 'number' ? code : null,
      bodySnippet,
      retriable: false,
    },
  );

const recordNotFinal = (topic: string, code: unknown, bodySnippet: string, status: number): UpstreamError =>
  new UpstreamError(
    ERROR_CODES.UPSTREAM_STATUS,
    `Kafka REST proxy failed the record for topic ${topic} with error_code ${String(code)}, which the server does not define as final`,
    {
      status,
      kafkaErrorCode: typeof code === 'number' ? code : null,
      bodySnippet,
      retriable: true,
    },
  );

const recordRetriable = (topic: string, code: number, bodySnippet: string, status: number): UpstreamError =>
  new UpstreamError(
    ERROR_CODES.UPSTREAM_STATUS,
    `Kafka REST proxy failed the record for topic ${topic} with retriable error_code ${code}, until retries ran out`,
    {
      status,
      kafkaErrorCode: code,
      bodySnippet,
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
  const { key, value, partition, headers } = record;
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
  let bytes = (key?.byteLength ?? 0) + (value?.byteLength ?? 0);
  if (headers !== undefined) {
    if (!Array.isArray(headers)) {
      throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `record ${index}: headers must be a list`);
    }
    for (const header of headers as readonly ProduceHeader[]) {
      if (
        typeof header?.name !== 'string' ||
        (header.value !== null && !(header.value instanceof Uint8Array))
      ) {
        throw new AppError(
          ERROR_CODES.PAYLOAD_INVALID,
          `record ${index}: each header must be { name: string, value: bytes (Uint8Array) or null }`,
        );
      }
      bytes += Buffer.byteLength(header.name, 'utf8') + (header.value?.byteLength ?? 0);
    }
  }
  if (bytes > maxRecordBytes) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_TOO_LARGE,
      `record ${index} is ${bytes} bytes (key + value${headers === undefined ? '' : ' + headers'}), over the limit of ${maxRecordBytes}`,
    );
  }
};
