import { type CoreConfig, loadSections } from '../wiring/settings/core.js';
import { ConfigError } from '../core/errors.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../core/names.js';
import { isJsonPointer } from '../formats/json-pointer.js';
import type { Env, EnvReader } from '../wiring/settings/env.js';

/** Settings of the SQS ingestion function (design §1.2). */
export interface QueueConfig {
  /** Topic of a message that names none; undefined: every message must name an allowed topic. */
  readonly topic: string | undefined;
  /** Topics a message may name in its topic attribute; empty: the attribute is refused. */
  readonly allowedTopics: readonly string[];
  /** Message attribute naming a message's topic. */
  readonly topicAttribute: string;
  /** Message attribute whose value becomes the record key; undefined: FIFO group id, or no key. */
  readonly keyAttribute: string | undefined;
  /** Message attribute whose value `base64` says the body is base64 text of the real bytes. */
  readonly encodingAttribute: string | undefined;
  /** Produce requests in flight at once. */
  readonly concurrency: number;
}

/** A record key taken from the event by an RFC 6901 JSON pointer, or no key at all. */
export type EventKeySource =
  | { readonly from: 'none' }
  | { readonly from: 'json-pointer'; readonly pointer: string };

/** Settings of the EventBridge ingestion function (design §1.3). */
export interface EventsConfig {
  readonly topic: string | undefined;
  readonly key: EventKeySource;
  /** `cloudevents`: each event becomes a CloudEvent (binary mode where the proxy keeps headers). */
  readonly envelope: 'cloudevents' | undefined;
}

// SQS: up to 256 characters of letters, digits, `_`, `-` and `.`.
const ATTRIBUTE_NAME = /^[a-zA-Z0-9_.-]{1,256}$/;
const ATTRIBUTE_SHAPE = 'an SQS message attribute name (1-256 of [a-zA-Z0-9_.-])';

export const DEFAULT_QUEUE_CONCURRENCY = 4;
export const DEFAULT_TOPIC_ATTRIBUTE = 'topic';
export const DEFAULT_EVENTS_KEY_POINTER = '/id';

/** Reads the queue function's settings; pushes every problem onto `read.problems`. */
export const parseQueueConfig = (read: EnvReader): QueueConfig => {
  const topic = topicName(read, 'QUEUE_TOPIC');
  const allowedTopics = read.list('QUEUE_ALLOWED_TOPICS');
  for (const name of allowedTopics) {
    if (!isTopicName(name)) {
      read.problems.push(
        `QUEUE_ALLOWED_TOPICS must be a comma list of ${TOPIC_NAME_SHAPE}, got ${JSON.stringify(name)}`,
      );
    }
  }
  return {
    topic,
    allowedTopics: [...new Set(allowedTopics)],
    topicAttribute: attributeName(read, 'QUEUE_TOPIC_ATTRIBUTE') ?? DEFAULT_TOPIC_ATTRIBUTE,
    keyAttribute: attributeName(read, 'QUEUE_KEY_ATTRIBUTE'),
    encodingAttribute: attributeName(read, 'QUEUE_ENCODING_ATTRIBUTE'),
    concurrency: read.int('QUEUE_CONCURRENCY', DEFAULT_QUEUE_CONCURRENCY, { min: 1, max: 64 }),
  };
};

/** Reads the events function's settings; pushes every problem onto `read.problems`. */
export const parseEventsConfig = (read: EnvReader): EventsConfig => {
  const pointer = read.string('EVENTS_KEY_POINTER', DEFAULT_EVENTS_KEY_POINTER);
  let key: EventKeySource = { from: 'json-pointer', pointer: DEFAULT_EVENTS_KEY_POINTER };
  if (pointer === 'none') key = { from: 'none' };
  else if (isJsonPointer(pointer) && pointer !== '') key = { from: 'json-pointer', pointer };
  else {
    read.problems.push(
      `EVENTS_KEY_POINTER must be a JSON pointer into the event (RFC 6901, e.g. /detail/orderId) or "none", got ${JSON.stringify(pointer)}`,
    );
  }
  const envelope = read.oneOf('EVENTS_ENVELOPE', ['none', 'cloudevents'], 'none');
  return {
    topic: topicName(read, 'EVENTS_TOPIC'),
    key,
    envelope: envelope === 'none' ? undefined : envelope,
  };
};

/**
 * The queue settings are optional where every function's settings are loaded together (`loadConfig`, for
 * the tools and tests); the queue function itself cannot work without somewhere to send a message, so its
 * deps factory asks this. Throws `ConfigError`
 * (`ERR_CONFIG`) when neither `QUEUE_TOPIC` nor `QUEUE_ALLOWED_TOPICS` is set.
 */
export const assertQueueConfigUsable = (config: QueueConfig): void => {
  if (config.topic === undefined && config.allowedTopics.length === 0) {
    throw new ConfigError([
      'QUEUE_TOPIC (the topic of every message) or QUEUE_ALLOWED_TOPICS (topics a message may name) is required for the queue function',
    ]);
  }
};

/** Throws `ConfigError` (`ERR_CONFIG`) when `EVENTS_TOPIC` is unset: the events function needs it. */
export const assertEventsConfigUsable = (config: EventsConfig): string => {
  if (config.topic === undefined) {
    throw new ConfigError([`EVENTS_TOPIC is required for the events function: ${TOPIC_NAME_SHAPE}`]);
  }
  return config.topic;
};

const topicName = (read: EnvReader, key: string): string | undefined => {
  const value = read.string(key);
  if (value === undefined || isTopicName(value)) return value;
  read.problems.push(`${key} must be ${TOPIC_NAME_SHAPE}, got ${JSON.stringify(value)}`);
  return undefined;
};

const attributeName = (read: EnvReader, key: string): string | undefined => {
  const value = read.string(key);
  if (value === undefined || ATTRIBUTE_NAME.test(value)) return value;
  read.problems.push(`${key} must be ${ATTRIBUTE_SHAPE}, got ${JSON.stringify(value)}`);
  return undefined;
};

export type QueueFunctionConfig = CoreConfig & { readonly queue: QueueConfig };
export type EventsFunctionConfig = CoreConfig & { readonly events: EventsConfig };

/** The queue function's settings (see `loadSections`). */
export const loadQueueConfig = (env: Env): QueueFunctionConfig =>
  loadSections(env, (read) => ({ queue: parseQueueConfig(read) }));

/** The events function's settings (see `loadSections`). */
export const loadEventsConfig = (env: Env): EventsFunctionConfig =>
  loadSections(env, (read) => ({ events: parseEventsConfig(read) }));
