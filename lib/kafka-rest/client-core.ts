import { setTimeout as delay } from 'node:timers/promises';
import { checkInt } from '../core/checks.js';
import { AppError, ConfigError, ERROR_CODES } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { parseRetryAfterMs } from '../http/retry.js';
import { createUndiciTransport } from '../http/transport.js';
import { createAnswerErrors } from './answers.js';
import { type CallSpec, type Exchange, type ReaderFactory, withAuthHeaders } from './calls.js';
import { checkNonNegative, checkTopic } from './checks.js';
import { DIALECTS } from './dialects.js';
import { createSender, type RetryClock, retryOrThrow, runWithRetries, type Step } from './exchange.js';
import { type KafkaRestOptions, parseOptions } from './options.js';
import { createProduce } from './produce.js';
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
} from './types.js';
import { parseErrorCode } from './v1-parse.js';

/** Metadata and consumer control answers: a topic list of thousands of names fits many times over. */
const METADATA_ANSWER_MAX_BYTES = 4 * 1024 * 1024;
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
  const retryClock: RetryClock = { now, sleep, backoff: settings };
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

  const wire = DIALECTS[settings.dialect].createWire({ ...settings, basePath });
  const metadataHeaders = wire.metadata === undefined ? undefined : withAuthHeaders(wire.metadata.headers);

  /** Reads the credential again after a 401/403; throws `ERR_SECRET` (or `ERR_DEADLINE`) when that fails. */
  const refreshAuth = async (what: string, call: CallOptions): Promise<void> => {
    counters.authRefreshes++;
    log.warn('Kafka REST proxy refused the credential: reading it again', { what });
    await sender.refresh(call);
  };

  const answers = createAnswerErrors(sender.snippet);

  /** See {@link Exchanger}: a call that is safe to repeat, with retries; throws the last failure. */
  const exchange = (call: CallOptions, spec: CallSpec): Promise<Exchange> => {
    const { what, passThrough } = spec;
    let error: AppError | undefined;
    return runWithRetries<Exchange>(call, retryClock, {
      attempt: async (): Promise<Step<Exchange>> => {
        const outcome = await sender.send(call, what, {
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          maxBodyBytes: spec.maxAnswerBytes ?? METADATA_ANSWER_MAX_BYTES,
          body: spec.body,
        });
        if (!outcome.ok) {
          if (!outcome.retriable || spec.once) throw outcome.error;
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
              throw answers.auth(outcome, code, what);
            },
          };
        }
        const retryAfterMs = parseRetryAfterMs(outcome.headers['retry-after'], now());
        error = answers.status(outcome, code, what, verdict === 'retry', retryAfterMs);
        if (verdict === 'fail' || spec.once) throw error;
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

  const produce = createProduce({
    sender,
    wire: wire.produce,
    dialect: settings.dialect,
    errors: answers,
    settings,
    counters,
    refreshAuth,
    now,
    sleep,
    log,
  });

  const reader = createReader(
    { exchange, protocolError: answers.protocol, now, log },
    { ...settings, basePath },
  );

  const fetch = async (
    topic: string,
    partition: number,
    offset: number,
    options: FetchOptions,
  ): Promise<FetchedRecord[]> => {
    checkTopic(topic);
    checkNonNegative('partition', partition);
    checkNonNegative('offset', offset);
    const maxRecordsProblem = checkInt(options.maxRecords, { min: 1 });
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
      throw answers.protocol(reply, what, 'a list of names');
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
      throw answers.protocol(reply, what, 'a list of partitions');
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
