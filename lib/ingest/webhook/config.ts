import type { CoreConfig } from '../../wiring/settings/core.js';
import { loadSections } from '../../wiring/settings/core.js';
import { checkInt, isPlainObject, unknownKeys } from '../../core/checks.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../../core/names.js';
import type { Env, EnvReader } from '../../wiring/settings/env.js';
import { type HeaderOrPointer, parseHeaderOrPointer } from '../fields.js';
import { type Envelope, parseEnvelope } from './envelope.js';
import {
  type IdempotencyConfig,
  type IdempotencySettings,
  parseIdempotency,
  parseIdempotencySettings,
} from './idempotency/index.js';
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
}

export interface WebhookSection {
  readonly webhook: {
    readonly routes: ReadonlyMap<string, WebhookRoute>;
    readonly idempotency: IdempotencySettings;
  };
}

export type WebhookConfig = CoreConfig & WebhookSection;

/** A Lambda payload is at most 6 MB; API Gateway at most 10 MB. The smaller one bounds a webhook body. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6_291_456;

const ROUTE_NAME = /^[a-zA-Z0-9._~-]{1,128}$/;

/** `WEBHOOK_ROUTES` and the idempotency table the idempotent routes need. */
export const parseWebhookSection = (read: EnvReader, core: CoreConfig): WebhookSection => {
  const routes = parseRoutes(read, core.kafka.maxRecordBytes);
  const idempotentRoutes = [...routes.values()].filter((route) => route.idempotency !== undefined);
  return {
    webhook: {
      routes,
      idempotency: parseIdempotencySettings(
        read,
        idempotentRoutes.map((route) => route.name),
      ),
    },
  };
};

/** The webhook function's settings (see `loadSections`). */
export const loadWebhookConfig = (env: Env): WebhookConfig => loadSections(env, parseWebhookSection);

const ROUTE_KEYS = [
  'topic',
  'verify',
  'key',
  'partition',
  'maxBodyBytes',
  'idempotency',
  'envelope',
] as const;

const parseRoutes = (read: EnvReader, maxRecordBytes: number): Map<string, WebhookRoute> => {
  const routes = new Map<string, WebhookRoute>();
  const value = read.json('WEBHOOK_ROUTES');
  if (value === undefined) return routes;
  if (!isPlainObject(value)) {
    read.problems.push(
      'WEBHOOK_ROUTES must be a JSON object of route name → {topic, verify, key?, partition?, maxBodyBytes?, idempotency?, envelope?}',
    );
    return routes;
  }
  const bodyLimit = Math.min(maxRecordBytes, LAMBDA_PAYLOAD_LIMIT_BYTES);
  for (const [name, spec] of Object.entries(value)) {
    const at = `WEBHOOK_ROUTES.${name}`;
    const problemsBefore = read.problems.length;
    if (!ROUTE_NAME.test(name)) read.problems.push(`${at}: a route name is 1-128 of [A-Za-z0-9._~-]`);
    if (!isPlainObject(spec)) {
      read.problems.push(
        `${at} must be an object {topic, verify, key?, partition?, maxBodyBytes?, idempotency?, envelope?}`,
      );
      continue;
    }
    for (const key of unknownKeys(spec, ROUTE_KEYS)) {
      read.problems.push(`${at}.${key} is not a route setting (one of ${ROUTE_KEYS.join(', ')})`);
    }
    const topic = spec.topic;
    if (!isTopicName(topic)) {
      read.problems.push(`${at}.topic must be ${TOPIC_NAME_SHAPE}`);
    }
    const partition = spec.partition;
    if (partition !== undefined && checkInt(partition, { min: 0 })) {
      read.problems.push(`${at}.partition must be ${checkInt(partition, { min: 0 })}`);
    }
    const maxBodyBytes = spec.maxBodyBytes ?? bodyLimit;
    const bodyProblem = checkInt(maxBodyBytes, { min: 1, max: bodyLimit });
    if (bodyProblem) read.problems.push(`${at}.maxBodyBytes must be ${bodyProblem}`);
    const key = parseKeySource(read, `${at}.key`, spec.key);
    const verify = parseVerification(spec.verify, at, read.problems);
    const idempotency = parseIdempotency(spec.idempotency, at, read.problems);
    const envelope = parseEnvelope(spec.envelope, at, read.problems);
    if (read.problems.length === problemsBefore && verify !== undefined) {
      routes.set(name, {
        name,
        topic: topic as string,
        verify,
        key,
        partition: partition as number | undefined,
        maxBodyBytes: maxBodyBytes as number,
        idempotency,
        envelope,
      });
    }
  }
  return routes;
};

const parseKeySource = (read: EnvReader, at: string, spec: unknown): KeySource => {
  if (spec === undefined || spec === null || spec === 'none') return { from: 'none' };
  const source = parseHeaderOrPointer(spec);
  if (source !== undefined) return source;
  read.problems.push(`${at} must be "none", {"header": "<name>"} or {"jsonPointer": "/path"} (RFC 6901)`);
  return { from: 'none' };
};
