import { checkInt, isPlainObject, unknownKeys } from '../../core/checks.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../../core/names.js';
import { type HeaderOrPointer, parseHeaderOrPointer } from '../fields.js';
import { type Envelope, parseEnvelope } from './envelope.js';
import { type IdempotencyConfig, parseIdempotency } from './idempotency/index.js';
import { isOneOf } from './route-settings.js';
import { parseVerification, type Verification } from './verify/index.js';

export type KeySource = { readonly from: 'none' } | HeaderOrPointer;

export interface WebhookRoute {
  readonly name: string;
  readonly topic: string;
  readonly key: KeySource;
  readonly partition: number | undefined;
  readonly maxBodyBytes: number;
  /** How callers prove who they are; `{scheme: 'none'}` only when declared so explicitly. */
  readonly verify: Verification;
  /** Where a delivery's id comes from, so a repeated delivery is answered without producing again. */
  readonly idempotency: IdempotencyConfig | undefined;
  /** A CloudEvent around the body (binary or structured, by the proxy); undefined: the body as is. */
  readonly envelope: Envelope | undefined;
  /**
   * What a request gets when the proxy cannot acknowledge its record in time: `reject` answers 503 and
   * leaves the retry to the sender; `spool` keeps it in the spool queue and answers 202 with a receipt.
   */
  readonly onUpstreamFailure: UpstreamFailureMode;
}

export const UPSTREAM_FAILURE_MODES = ['reject', 'spool'] as const;
export type UpstreamFailureMode = (typeof UPSTREAM_FAILURE_MODES)[number];

/** A Lambda payload is at most 6 MB; API Gateway at most 10 MB. The smaller one bounds a webhook body. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6_291_456;

const ROUTE_NAME = /^[a-zA-Z0-9._~-]{1,128}$/;

const ROUTE_KEYS = [
  'topic',
  'verify',
  'key',
  'partition',
  'maxBodyBytes',
  'idempotency',
  'envelope',
  'onUpstreamFailure',
] as const;

/**
 * The routes of the setting named `setting` (its parsed JSON, undefined when unset). A route's body may not
 * exceed the record limit, nor Lambda's payload limit. Problems go to `problems`, each naming where it sits.
 */
export const parseRoutes = (
  value: unknown,
  setting: string,
  maxRecordBytes: number,
  problems: string[],
): Map<string, WebhookRoute> => {
  const routes = new Map<string, WebhookRoute>();
  if (value === undefined) return routes;
  if (!isPlainObject(value)) {
    problems.push(
      `${setting} must be a JSON object of route name → {topic, verify, key?, partition?, maxBodyBytes?, idempotency?, envelope?, onUpstreamFailure?}`,
    );
    return routes;
  }
  const bodyLimit = Math.min(maxRecordBytes, LAMBDA_PAYLOAD_LIMIT_BYTES);
  for (const [name, spec] of Object.entries(value)) {
    const at = `${setting}.${name}`;
    const problemsBefore = problems.length;
    if (!ROUTE_NAME.test(name)) problems.push(`${at}: a route name is 1-128 of [A-Za-z0-9._~-]`);
    if (!isPlainObject(spec)) {
      problems.push(
        `${at} must be an object {topic, verify, key?, partition?, maxBodyBytes?, idempotency?, envelope?, onUpstreamFailure?}`,
      );
      continue;
    }
    for (const key of unknownKeys(spec, ROUTE_KEYS)) {
      problems.push(`${at}.${key} is not a route setting (one of ${ROUTE_KEYS.join(', ')})`);
    }
    const topic = spec.topic;
    if (!isTopicName(topic)) {
      problems.push(`${at}.topic must be ${TOPIC_NAME_SHAPE}`);
    }
    const partition = spec.partition;
    if (partition !== undefined && checkInt(partition, { min: 0 })) {
      problems.push(`${at}.partition must be ${checkInt(partition, { min: 0 })}`);
    }
    const maxBodyBytes = spec.maxBodyBytes ?? bodyLimit;
    const bodyProblem = checkInt(maxBodyBytes, { min: 1, max: bodyLimit });
    if (bodyProblem) problems.push(`${at}.maxBodyBytes must be ${bodyProblem}`);
    const key = parseKeySource(problems, `${at}.key`, spec.key);
    const verify = parseVerification(spec.verify, at, problems);
    const idempotency = parseIdempotency(spec.idempotency, at, problems);
    const envelope = parseEnvelope(spec.envelope, at, problems);
    const onUpstreamFailure = spec.onUpstreamFailure ?? 'reject';
    if (!isOneOf(UPSTREAM_FAILURE_MODES, onUpstreamFailure)) {
      problems.push(`${at}.onUpstreamFailure must be "reject" (answer 503, the default) or "spool"`);
    }
    if (problems.length === problemsBefore && verify !== undefined) {
      routes.set(name, {
        name,
        topic: topic as string,
        verify,
        key,
        partition: partition as number | undefined,
        maxBodyBytes: maxBodyBytes as number,
        idempotency,
        envelope,
        onUpstreamFailure: onUpstreamFailure as UpstreamFailureMode,
      });
    }
  }
  return routes;
};

const parseKeySource = (problems: string[], at: string, spec: unknown): KeySource => {
  if (spec === undefined || spec === null || spec === 'none') return { from: 'none' };
  const source = parseHeaderOrPointer(spec);
  if (source !== undefined) return source;
  problems.push(`${at} must be "none", {"header": "<name>"} or {"jsonPointer": "/path"} (RFC 6901)`);
  return { from: 'none' };
};
