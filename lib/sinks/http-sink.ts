import { createHmac } from 'node:crypto';
import type { Pool as PoolType } from 'undici';
import { AppError, ERROR_CODES, toAppError, UpstreamError } from '../core/errors.js';
import { secretsOfHeaders } from '../core/redact.js';
import { readStructuredCloudEvent, toHttpCloudEvent } from '../formats/cloudevents.js';
import { parseTraceparent, parseTracestate } from '../formats/trace-context.js';
import { signStandardWebhook } from '../formats/webhook-signature.js';
import { createPool, requestWithin } from '../http/request.js';
import { parseRetryAfterMs } from '../http/retry.js';
import { readRedactedSnippet } from '../http/snippet.js';
import { beforeDeadline } from '../http/timed-abort.js';
import { type HttpSigningScheme, type HttpSinkConfig, SIGNING_WITHOUT_SCHEME } from './config.js';
import { type OutgoingRequest, planBatches, toBatchRequest } from './http-sink-batch.js';
import {
  DELIVERED,
  deadlineReached,
  notAttemptedAfterFailure,
  toFailedOutcome,
  toNotAttemptedOutcome,
} from './outcomes.js';
import type { DeliveryOutcome, Sink, SinkDeps, SinkRecord } from './types.js';

/**
 * The most of any answer body we read. A 2xx is delivered whatever its body: past this its body is
 * abandoned (the connection closed) rather than drained, and an error body is cut here for its snippet.
 */
export const MAX_ANSWER_BODY_BYTES = 65_536;

/**
 * Delivers records to an HTTP endpoint with undici (one pool per sink origin).
 *
 * - `single`: one `POST` per record, in order, stopping at the first failure. The body is the value's raw
 *   bytes (`Content-Type` from the config); headers `Kafka-Topic`, `Kafka-Partition`, `Kafka-Offset`,
 *   `Kafka-Key` (base64, absent for a null key), `Kafka-Value-Null: true` for a tombstone, and
 *   `Idempotency-Key: <record id>` (`record-id.ts`).
 * - `batch`: one `POST` of `[{id, topic, partition, offset, key, value}]` (key and value base64 or null,
 *   `application/json`) per run of one partition (one record stream), split at `maxBatchBytes`;
 *   all-or-nothing per request, with `Idempotency-Key: <namespace>/<topic>/<partition>/<epoch>/<first
 *   offset>-<last offset>`, `Kafka-Offset` (first), `Kafka-Offset-Last` and `Kafka-Record-Count`.
 * - `cloudEvents` (`single` only): the request is a CloudEvent in HTTP `binary` mode (`ce-*` headers,
 *   the data as the body) or `structured` mode (`application/cloudevents+json`), the `Kafka-*` and
 *   `Idempotency-Key` headers kept. A record that is a CloudEvent (binary mode in its `ce_*` headers
 *   where the proxy keeps headers, or structured mode in its value) is delivered as that event, its
 *   `traceparent` extension also as the W3C `traceparent` header; any other record becomes one with `id`
 *   the record id (a redelivery keeps it), `source` `/topics/<topic>`, `type` `kafka-rest-bridge.record`
 *   and the value as data in the configured `contentType`.
 * - A well-formed `traceparent` / `tracestate` record header (single mode) is sent on as that HTTP header.
 * - Signing (when `signingSecretId` is set), by `signing`:
 *   - `standard-webhooks`: `webhook-id` (the `Idempotency-Key`, so a redelivery keeps it; see
 *     {@link toWebhookId}), `webhook-timestamp: <unix seconds of this attempt>` and `webhook-signature:
 *     v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body bytes>")>`, one `v1,` entry per `whsec_` secret
 *     of the secret's value (space-separated during a rotation). Any Standard Webhooks verifier checks it.
 *   - `legacy-hmac`: `X-Signature-Timestamp: <unix seconds>` and `X-Signature: sha256=<hex
 *     HMAC-SHA256(secret, "<timestamp>.<body bytes>")>`. A receiver recomputes the HMAC over the
 *     timestamp header, a dot and the raw body, compares in constant time, and refuses stale timestamps.
 *   A secret that cannot be read or is not of the scheme's shape leaves the request not attempted
 *   (`ERR_SECRET`): a deployment fault, never a rejection of the record.
 * - Outcome: 2xx delivered; 408, 429, 5xx, network errors and timeouts are retriable (with `Retry-After`
 *   as `retryAfterMs`), as are statuses outside 2xx/4xx and the configured `retryStatuses`; any other 4xx
 *   is a permanent rejection (`ERR_SINK_REJECTED`). A timed-out request may still have arrived: its retry
 *   carries the same `Idempotency-Key`.
 *
 * Throws `ERR_CONFIG` when the config asks for signing but `deps.secrets` is missing.
 */
export const createHttpSink = (config: HttpSinkConfig, deps: SinkDeps): Sink & { close(): Promise<void> } => {
  const { secrets, log, now } = deps;
  const signingSecretId = config.signingSecretId;
  const sign = SIGNERS[config.signing ?? SIGNING_WITHOUT_SCHEME];
  if (signingSecretId !== undefined && secrets === undefined) {
    throw new AppError(
      ERROR_CODES.CONFIG,
      'the HTTP sink signs its requests but no secrets reader was given',
    );
  }
  const path = `${config.url.pathname}${config.url.search}`;
  const host = config.url.host;
  // What a receiver that echoes our request could show of a configured credential header.
  const echoedSecrets = secretsOfHeaders(config.headers);
  let pool: PoolType | undefined;
  const getPool = (): PoolType => {
    pool ??= createPool(config.url.origin, {
      connections: config.connections,
      connectTimeoutMs: config.timeoutMs,
    });
    return pool;
  };

  const post = async (
    records: readonly SinkRecord[],
    outgoing: OutgoingRequest,
    deadlineMs: number,
  ): Promise<DeliveryOutcome> => {
    if (deadlineMs <= now()) return toNotAttemptedOutcome(deadlineReached());
    const headers = { ...config.headers, ...outgoing.headers };
    if (signingSecretId !== undefined && secrets !== undefined) {
      let secret: string | undefined;
      try {
        secret = await beforeDeadline(secrets.get(signingSecretId), deadlineMs, now);
      } catch (error) {
        return toNotAttemptedOutcome(
          toAppError(error, ERROR_CODES.SECRET, 'could not read the HTTP sink signing secret'),
        );
      }
      if (secret === undefined) return toNotAttemptedOutcome(deadlineReached());
      try {
        Object.assign(headers, sign(secret, outgoing, now()));
      } catch (error) {
        return toNotAttemptedOutcome(
          toAppError(error, ERROR_CODES.SECRET, 'could not sign with the HTTP sink signing secret'),
        );
      }
    }
    // Measured after the secret read, which may have taken what was left.
    const remainingMs = deadlineMs - now();
    if (remainingMs <= 0) return toNotAttemptedOutcome(deadlineReached());
    const timeoutMs = Math.min(config.timeoutMs, remainingMs);
    // An exact timer per request, covering the wait for a pooled connection, the headers and the whole body
    // read; capped by the deadline, so a queued request is never sent after it.
    const settled = await requestWithin(
      getPool(),
      { origin: config.url.origin, path, method: 'POST', headers, body: outgoing.body },
      { timeoutMs, undiciTimeouts: true },
      async (response): Promise<DeliveryOutcome> => {
        const status = response.statusCode;
        if (status >= 200 && status < 300) {
          // The sink accepted once the status arrived; a failure (or the timer) while draining the body, or
          // a body over the cap, changes nothing.
          await response.body.dump({ limit: MAX_ANSWER_BODY_BYTES }).catch(() => undefined);
          return DELIVERED;
        }
        // A sink that echoes headers must not put a configured credential (an API-key header) into the error.
        const bodySnippet = await readRedactedSnippet(response.body, MAX_ANSWER_BODY_BYTES, echoedSecrets);
        const permanent = status >= 400 && status < 500 && !isRetriableStatus(status, config.retryStatuses);
        const retryAfterMs = permanent
          ? undefined
          : parseRetryAfterMs(response.headers['retry-after'], now());
        const error = new UpstreamError(
          permanent ? ERROR_CODES.SINK_REJECTED : ERROR_CODES.SINK_FAILED,
          `HTTP sink ${host} answered ${status}`,
          {
            status,
            bodySnippet,
            retriable: !permanent,
            ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          },
        );
        log.debug('HTTP sink refused a request', { host, status, permanent, ...describeRange(records) });
        return toFailedOutcome(error, permanent, retryAfterMs);
      },
    );
    if (settled.ok) return settled.value;
    const { error } = settled;
    const code = (error as { code?: unknown }).code;
    if (settled.timedOut || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
      log.warn('HTTP sink timed out; the request may have arrived, its retry reuses the Idempotency-Key', {
        host,
        timeoutMs,
        ...describeRange(records),
      });
      return toFailedOutcome(
        new UpstreamError(
          ERROR_CODES.UPSTREAM_TIMEOUT,
          `HTTP sink ${host} did not answer within ${timeoutMs} ms`,
          {
            cause: error,
          },
        ),
        false,
      );
    }
    const reason = typeof code === 'string' ? code : (error as Error).name;
    return toFailedOutcome(
      new UpstreamError(ERROR_CODES.UPSTREAM_NETWORK, `HTTP sink ${host} request failed (${reason})`, {
        cause: error,
      }),
      false,
    );
  };

  return {
    maxBatchRecords: config.maxBatchRecords,
    ordered: true,
    requestPerRecord: config.mode === 'single',
    deliver: async (records, { deadlineMs }) => {
      const groups =
        config.mode === 'single'
          ? records.map((record) => ({ records: [record], items: [] }))
          : planBatches(records, config.maxBatchBytes);
      const outcomes: DeliveryOutcome[] = [];
      let failed = false;
      for (const group of groups) {
        if (failed) {
          const skipped = toNotAttemptedOutcome(notAttemptedAfterFailure());
          for (const _ of group.records) outcomes.push(skipped);
          continue;
        }
        const outgoing =
          config.mode === 'single' ? toSingleRequest(group.records, config) : toBatchRequest(group);
        const outcome = await post(group.records, outgoing, deadlineMs);
        for (const _ of group.records) outcomes.push(outcome);
        failed = !outcome.ok;
      }
      return outcomes;
    },
    close: async () => {
      const closing = pool;
      pool = undefined;
      await closing?.close();
    },
  };
};

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

const isRetriableStatus = (status: number, extra: readonly number[]): boolean =>
  status === 408 || status === 429 || extra.includes(status);

/** The `legacy-hmac` headers for `body` at `nowMs`; see {@link createHttpSink} for the receiver's side. */
export const toSignatureHeaders = (secret: string, body: Buffer, nowMs: number): Record<string, string> => {
  const timestamp = String(Math.floor(nowMs / 1_000));
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return { 'x-signature-timestamp': timestamp, 'x-signature': `sha256=${hmac}` };
};

/**
 * The `webhook-id` of a record id or range id: the id with `%` and `.` percent-encoded. Standard Webhooks
 * signs `<id>.<timestamp>.<body>` and asks that ids hold no `.` (else one signed string re-splits into
 * another id, timestamp and body), and verifiers refuse them; topic names and namespaces may hold dots.
 * Deterministic, so every redelivery carries the same id, and reversible (`decodeURIComponent`).
 */
export const toWebhookId = (id: string): string => id.replaceAll('%', '%25').replaceAll('.', '%2E');

/**
 * The Standard Webhooks headers of `request` at `nowMs`, one `v1,` signature per `whsec_` secret in
 * `secrets` (separated by whitespace). Throws `ERR_SECRET` when there is none, or one is not
 * `whsec_<base64>`; the message never holds the secret.
 */
export const toStandardWebhookHeaders = (
  secrets: string,
  request: { readonly id: string; readonly body: Buffer },
  nowMs: number,
): Record<string, string> => {
  const id = toWebhookId(request.id);
  const timestamp = Math.floor(nowMs / 1_000);
  const keys = secrets.split(/\s+/).filter((secret) => secret !== '');
  const signatures = keys.map((secret) => {
    try {
      return signStandardWebhook(secret, id, timestamp, request.body);
    } catch {
      return undefined;
    }
  });
  if (signatures.length === 0 || signatures.includes(undefined)) {
    throw new AppError(
      ERROR_CODES.SECRET,
      'the HTTP sink signing secret must be whsec_<base64> (several separated by spaces during a rotation)',
      { retriable: false },
    );
  }
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.join(' '),
  };
};

const SIGNERS: Readonly<
  Record<
    HttpSigningScheme,
    (secret: string, request: OutgoingRequest, nowMs: number) => Record<string, string>
  >
> = {
  'standard-webhooks': toStandardWebhookHeaders,
  'legacy-hmac': (secret, request, nowMs) => toSignatureHeaders(secret, request.body, nowMs),
};

const toSingleRequest = ([record]: readonly SinkRecord[], config: HttpSinkConfig): OutgoingRequest => {
  if (record === undefined) throw new Error('a single-mode request needs one record');
  const headers: Record<string, string> = {
    'content-type': config.contentType,
    'kafka-topic': record.topic,
    'kafka-partition': String(record.partition),
    'kafka-offset': String(record.offset),
    'idempotency-key': record.id,
  };
  if (record.key !== null) headers['kafka-key'] = record.key.toString('base64');
  if (record.value === null) headers['kafka-value-null'] = 'true';
  Object.assign(headers, toTraceHeaders(record));
  if (config.cloudEvents === undefined)
    return { body: record.value ?? Buffer.alloc(0), headers, id: record.id };
  const event = toHttpCloudEvent(toRecordCloudEvent(record, config.contentType), config.cloudEvents);
  return { body: event.body, headers: { ...headers, ...event.headers }, id: record.id };
};

/** A record header's text, when the record has that header with a value. */
const recordHeader = (record: SinkRecord, name: string): string | undefined =>
  record.headers?.find((header) => header.name.toLowerCase() === name)?.value?.toString('utf8');

/**
 * The W3C trace context a record carries as headers (the webhook and queue functions put it there where
 * the proxy keeps headers), passed on as HTTP headers when well-formed, so the receiver's tracer joins the
 * trace; a malformed one is not passed on.
 */
const toTraceHeaders = (record: SinkRecord): Record<string, string> => {
  const traceparent = parseTraceparent(recordHeader(record, 'traceparent'));
  if (traceparent === undefined) return {};
  const tracestate = parseTracestate(recordHeader(record, 'tracestate'));
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
};

/**
 * The CloudEvent a record carries in binary mode (the Kafka binding: `ce_` headers, `content-type`, the
 * value as data), or undefined when its headers hold none.
 */
const readBinaryCloudEvent = (record: SinkRecord) => {
  const attributes: Record<string, string> = {};
  for (const header of record.headers ?? []) {
    const name = header.name.toLowerCase();
    if (header.value === null) continue;
    if (name.startsWith('ce_')) attributes[name.slice(3)] = header.value.toString('utf8');
    else if (name === 'content-type') attributes.datacontenttype = header.value.toString('utf8');
  }
  const complete =
    attributes.specversion === '1.0' && ['id', 'source', 'type'].every((name) => attributes[name]);
  return complete ? { attributes, data: record.value } : undefined;
};

/**
 * The CloudEvent a record is (binary mode in its headers, or structured mode in its value), or a new one
 * around its value; see {@link createHttpSink}.
 */
const toRecordCloudEvent = (record: SinkRecord, contentType: string) =>
  readBinaryCloudEvent(record) ??
  readStructuredCloudEvent(record.value) ?? {
    attributes: {
      specversion: '1.0',
      id: record.id,
      source: `/topics/${encodeURIComponent(record.topic)}`,
      type: RECORD_EVENT_TYPE,
      datacontenttype: contentType,
    },
    data: record.value,
  };

/** The `type` of a CloudEvent made of a record that is not one. */
export const RECORD_EVENT_TYPE = 'kafka-rest-bridge.record';

const describeRange = (records: readonly SinkRecord[]) => ({
  topic: records[0]?.topic,
  partition: records[0]?.partition,
  offset: records[0]?.offset,
  count: records.length,
});
