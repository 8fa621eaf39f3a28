import { checkInt, createSpecReader, isPlainObject, type SpecReader } from '../core/checks.js';

export const SINK_TYPES = ['http', 'sqs', 'eventbridge'] as const;
export const HTTP_SINK_MODES = ['single', 'batch'] as const;

/**
 * How an HTTP sink signs its requests. `standard-webhooks` (standardwebhooks.com): `webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`, with `whsec_` secrets. `legacy-hmac`: the bridge's
 * own `X-Signature` scheme, for receivers built before Standard Webhooks was offered.
 */
export const HTTP_SIGNING_SCHEMES = ['standard-webhooks', 'legacy-hmac'] as const;
export type HttpSigningScheme = (typeof HTTP_SIGNING_SCHEMES)[number];

/** How a `single` HTTP sink delivers each record as a CloudEvent (the CloudEvents HTTP binding's modes). */
export const HTTP_CLOUDEVENTS_MODES = ['binary', 'structured'] as const;
export type HttpCloudEventsMode = (typeof HTTP_CLOUDEVENTS_MODES)[number];

/**
 * The scheme of a `signingSecretId` given without `signing`: such a configuration predates `signing`, and
 * its receiver checks `X-Signature`. Switching it to Standard Webhooks unasked would make that receiver
 * refuse every request, a permanent 4xx that dead-letters every record. New configurations name
 * `"signing": "standard-webhooks"`.
 */
export const SIGNING_WITHOUT_SCHEME: HttpSigningScheme = 'legacy-hmac';

export interface HttpSinkConfig {
  readonly type: 'http';
  readonly url: URL;
  /** `single`: one POST per record, raw value bytes; `batch`: one POST of a JSON array, all-or-nothing. */
  readonly mode: (typeof HTTP_SINK_MODES)[number];
  /** Per request; the drain's deadline shortens it further. */
  readonly timeoutMs: number;
  /**
   * Secrets Manager secret to sign with; absent: requests are not signed. For `standard-webhooks` its value
   * is a `whsec_<base64>` secret, or several separated by spaces during a rotation (each signs); for
   * `legacy-hmac` it is the HMAC key itself.
   */
  readonly signingSecretId?: string;
  /** The signing scheme; set with `signingSecretId`, absent: {@link SIGNING_WITHOUT_SCHEME}. */
  readonly signing?: HttpSigningScheme;
  /** Extra request headers (e.g. a static API key header). Never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /** Plain http is refused unless set: local development only. */
  readonly allowHttp: boolean;
  /** `Content-Type` of a `single` request; `batch` bodies are always `application/json`. */
  readonly contentType: string;
  readonly maxBatchRecords: number;
  /** Upper bound of one `batch` request body; larger input is split over several requests. */
  readonly maxBatchBytes: number;
  /** Connections of the undici pool to the sink's origin. */
  readonly connections: number;
  /** 4xx statuses to treat as retriable instead of a permanent rejection (e.g. 401 during a key rotation). */
  readonly retryStatuses: readonly number[];
  /**
   * `single` only: each record delivered as a CloudEvent in this HTTP mode (a record that is one in
   * structured mode as that event, any other as a new one); absent: the raw value.
   */
  readonly cloudEvents?: HttpCloudEventsMode;
}

export interface SqsSinkConfig {
  readonly type: 'sqs';
  readonly queueUrl: string;
  /** From the `.fifo` suffix of the queue name unless given (and then it must agree). */
  readonly fifo: boolean;
  /** The queue's `MaximumMessageSize`: body plus message attributes. */
  readonly maxMessageBytes: number;
  readonly maxBatchRecords: number;
  /**
   * FIFO queues: what a message group is, set by the drain from its `ordering` (not a sink setting):
   * `partition` (the default) or `key`, so that SQS keeps the same order the drain delivers in.
   */
  readonly groupBy?: 'partition' | 'key';
}

export interface EventBridgeSinkConfig {
  readonly type: 'eventbridge';
  /** Event bus name or ARN. */
  readonly busName: string;
  readonly source: string;
  readonly detailType: string;
  readonly maxBatchRecords: number;
}

export type SinkConfig = HttpSinkConfig | SqsSinkConfig | EventBridgeSinkConfig;

export interface DlqConfig {
  readonly queueUrl: string;
  readonly fifo: boolean;
  /** The DLQ's `MaximumMessageSize`; a letter that would exceed it is sent without the value (then the key). */
  readonly maxMessageBytes: number;
}

/** SQS's default `MaximumMessageSize` (256 KiB): body plus attributes. */
export const SQS_DEFAULT_MAX_MESSAGE_BYTES = 262_144;
/** SQS's hard ceiling for one message and for one `SendMessageBatch` call (1 MiB). */
export const SQS_MAX_BATCH_BYTES = 1_048_576;

const HTTP_KEYS = [
  'type',
  'url',
  'mode',
  'timeoutMs',
  'signingSecretId',
  'signing',
  'headers',
  'allowHttp',
  'contentType',
  'maxBatchRecords',
  'maxBatchBytes',
  'connections',
  'retryStatuses',
  'cloudEvents',
] as const;
const SQS_KEYS = ['type', 'queueUrl', 'fifo', 'maxMessageBytes', 'maxBatchRecords'] as const;
const EVENTBRIDGE_KEYS = ['type', 'busName', 'source', 'detailType', 'maxBatchRecords'] as const;
const DLQ_KEYS = ['queueUrl', 'fifo', 'maxMessageBytes'] as const;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-zA-Z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;[\t\x20-\x7e]*)?$/;
const BUS_NAME = /^[\w.\-/:]{1,1600}$/;
/** Headers the sink sets itself; a configured one would break the idempotency or signature contract. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'idempotency-key',
  'x-signature',
  'x-signature-timestamp',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

type Spec = Record<string, unknown>;

/**
 * Validates the `sink` object of one `DRAINS` entry. Every problem is pushed onto `problems` with the path
 * `at` (e.g. `DRAINS[0].sink.url must be ...`); unknown keys are problems too, so typos surface. Returns
 * undefined when anything is wrong. Never echoes a URL or header value (they may carry credentials).
 */
export const parseSinkConfig = (value: unknown, at: string, problems: string[]): SinkConfig | undefined => {
  if (!isPlainObject(value) || !(SINK_TYPES as readonly unknown[]).includes(value.type)) {
    problems.push(`${at} must be an object with "type": ${SINK_TYPES.map((t) => `"${t}"`).join(' | ')}`);
    return undefined;
  }
  const before = problems.length;
  const check = createSpecReader(value, at, problems);
  const type = value.type as SinkConfig['type'];
  let config: SinkConfig;
  if (type === 'http') {
    check.keys(HTTP_KEYS, 'sink');
    const allowHttp = check.bool('allowHttp', false);
    const signingSecretId = check.optionalString('signingSecretId', 2048);
    const signing = check.oneOf('signing', HTTP_SIGNING_SCHEMES, SIGNING_WITHOUT_SCHEME);
    if (value.signing !== undefined && value.signingSecretId === undefined) {
      problems.push(`${at}.signing needs signingSecretId: the Secrets Manager secret to sign with`);
    }
    const cloudEvents =
      value.cloudEvents === undefined
        ? undefined
        : check.oneOf('cloudEvents', HTTP_CLOUDEVENTS_MODES, 'binary');
    const mode = check.oneOf('mode', HTTP_SINK_MODES, 'single');
    if (cloudEvents !== undefined && mode !== 'single') {
      problems.push(`${at}.cloudEvents needs "mode": "single": a batch is one JSON array, not one event`);
    }
    config = {
      type,
      url: parseHttpUrl(value.url, `${at}.url`, allowHttp, problems),
      mode,
      timeoutMs: check.int('timeoutMs', 10_000, { min: 1, max: 900_000 }),
      ...(signingSecretId === undefined ? {} : { signingSecretId, signing }),
      headers: parseHeaders(value.headers, `${at}.headers`, problems),
      allowHttp,
      contentType: check.matching('contentType', MEDIA_TYPE, 'a media type', 'application/octet-stream'),
      maxBatchRecords: check.int('maxBatchRecords', 100, { min: 1, max: 10_000 }),
      maxBatchBytes: check.int('maxBatchBytes', 1_000_000, { min: 1_024 }),
      connections: check.int('connections', 4, { min: 1, max: 256 }),
      retryStatuses: parseRetryStatuses(value.retryStatuses, `${at}.retryStatuses`, problems),
      ...(cloudEvents === undefined ? {} : { cloudEvents }),
    };
  } else if (type === 'sqs') {
    check.keys(SQS_KEYS, 'sink');
    const queue = parseQueueUrl(value, at, problems, check);
    config = {
      type,
      ...queue,
      maxBatchRecords: check.int('maxBatchRecords', 100, { min: 1, max: 10_000 }),
    };
  } else {
    check.keys(EVENTBRIDGE_KEYS, 'sink');
    const source = check.requiredString('source', 256);
    if (source.startsWith('aws.')) problems.push(`${at}.source must not start with "aws." (reserved by AWS)`);
    config = {
      type,
      busName: check.matching('busName', BUS_NAME, 'an event bus name or ARN', undefined),
      source,
      detailType: check.requiredString('detailType', 128),
      maxBatchRecords: check.int('maxBatchRecords', 100, { min: 1, max: 10_000 }),
    };
  }
  return problems.length === before ? config : undefined;
};

/**
 * Validates a drain's `dlq` object `{ queueUrl, fifo?, maxMessageBytes? }` like {@link parseSinkConfig}.
 */
export const parseDlqConfig = (value: unknown, at: string, problems: string[]): DlqConfig | undefined => {
  if (!isPlainObject(value)) {
    problems.push(`${at} must be an object {queueUrl, fifo?, maxMessageBytes?}`);
    return undefined;
  }
  const before = problems.length;
  const check = createSpecReader(value, at, problems);
  check.keys(DLQ_KEYS, 'DLQ');
  const config = parseQueueUrl(value, at, problems, check);
  return problems.length === before ? config : undefined;
};

const parseQueueUrl = (
  value: Spec,
  at: string,
  problems: string[],
  check: SpecReader,
): { queueUrl: string; fifo: boolean; maxMessageBytes: number } => {
  const queueUrl = value.queueUrl;
  let fifoByName = false;
  const url = typeof queueUrl === 'string' ? tryUrl(queueUrl) : undefined;
  const name = url?.pathname.split('/').filter(Boolean);
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    name?.length !== 2 ||
    !/^[\w-]{1,75}(\.fifo)?$/.test(name[1] ?? '')
  ) {
    problems.push(
      `${at}.queueUrl must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)`,
    );
  } else {
    fifoByName = (name[1] ?? '').endsWith('.fifo');
  }
  const fifo = check.bool('fifo', fifoByName);
  if (fifo !== fifoByName && problems.every((p) => !p.startsWith(`${at}.queueUrl`))) {
    problems.push(`${at}.fifo must agree with the queue name: FIFO queue names end in ".fifo"`);
  }
  return {
    queueUrl: typeof queueUrl === 'string' ? queueUrl : '',
    fifo,
    maxMessageBytes: check.int('maxMessageBytes', SQS_DEFAULT_MAX_MESSAGE_BYTES, {
      min: 1_024,
      max: SQS_MAX_BATCH_BYTES,
    }),
  };
};

const parseHttpUrl = (value: unknown, at: string, allowHttp: boolean, problems: string[]): URL => {
  const url = typeof value === 'string' ? tryUrl(value) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    problems.push(`${at} must be an absolute https URL`);
    return new URL('https://invalid.invalid');
  }
  if (url.protocol === 'http:' && !allowHttp) {
    problems.push(`${at} must use https; set allowHttp: true for local development only`);
  }
  if (url.username !== '' || url.password !== '') {
    problems.push(`${at} must not carry credentials; use headers or signingSecretId`);
  }
  if (url.hash !== '') problems.push(`${at} must not have a #fragment`);
  return url;
};

const parseHeaders = (value: unknown, at: string, problems: string[]): Record<string, string> => {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    problems.push(`${at} must be an object of header name → string value`);
    return {};
  }
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(value)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) {
      problems.push(`${at}: ${JSON.stringify(name)} is not a valid header name`);
    } else if (RESERVED_HEADERS.has(lower) || lower.startsWith('kafka-')) {
      problems.push(`${at}.${name} is set by the sink itself and cannot be configured`);
    } else if (typeof headerValue !== 'string' || !HEADER_VALUE.test(headerValue)) {
      problems.push(`${at}.${name} must be a string without control characters`);
    } else {
      headers[lower] = headerValue;
    }
  }
  return headers;
};

const parseRetryStatuses = (value: unknown, at: string, problems: string[]): number[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((status) => checkInt(status, { min: 400, max: 499 }))) {
    problems.push(`${at} must be an array of 4xx statuses (integers from 400 to 499)`);
    return [];
  }
  return value as number[];
};

const tryUrl = (value: string): URL | undefined => {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
};
