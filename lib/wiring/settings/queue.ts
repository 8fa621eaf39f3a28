import { ConfigError } from '../../core/errors.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../../core/names.js';
import { DEFAULT_QUEUE_CONCURRENCY, DEFAULT_TOPIC_ATTRIBUTE, type QueueConfig } from '../../ingest/config.js';
import { type CoreConfig, loadSections } from './core.js';
import { type Env, type EnvReader, topicSetting } from './env.js';

// SQS: up to 256 characters of letters, digits, `_`, `-` and `.`.
const ATTRIBUTE_NAME = /^[a-zA-Z0-9_.-]{1,256}$/;
const ATTRIBUTE_SHAPE = 'an SQS message attribute name (1-256 of [a-zA-Z0-9_.-])';

/** Reads the queue function's settings; pushes every problem onto `read.problems`. */
export const parseQueueConfig = (read: EnvReader): QueueConfig => {
  const topic = topicSetting(read, 'QUEUE_TOPIC');
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

const attributeName = (read: EnvReader, key: string): string | undefined => {
  const value = read.string(key);
  if (value === undefined || ATTRIBUTE_NAME.test(value)) return value;
  read.problems.push(`${key} must be ${ATTRIBUTE_SHAPE}, got ${JSON.stringify(value)}`);
  return undefined;
};

export type QueueFunctionConfig = CoreConfig & { readonly queue: QueueConfig };

/** The queue function's settings (see `loadSections`). */
export const loadQueueConfig = (env: Env): QueueFunctionConfig =>
  loadSections(env, (read) => ({ queue: parseQueueConfig(read) }));
