import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/core/errors.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import type { Env } from '../lib/wiring/settings/env.js';
import { assertEventsConfigUsable } from '../lib/wiring/settings/events.js';
import { assertQueueConfigUsable } from '../lib/wiring/settings/queue.js';

const BASE: Env = {
  KAFKA_REST_URL: 'http://127.0.0.1:1',
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
};

const problemsOf = (env: Env): readonly string[] => {
  try {
    loadConfig({ ...BASE, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('queue and events settings', () => {
  it('defaults: no topics, attribute "topic", concurrency 4, event key /id', () => {
    // Act
    const config = loadConfig(BASE);

    // Assess
    expect(config.queue).toEqual({
      topic: undefined,
      allowedTopics: [],
      topicAttribute: 'topic',
      keyAttribute: undefined,
      encodingAttribute: undefined,
      concurrency: 4,
    });
    expect(config.events).toEqual({ topic: undefined, key: { from: 'json-pointer', pointer: '/id' } });
  });

  it('reads every setting', () => {
    // Act
    const config = loadConfig({
      ...BASE,
      QUEUE_TOPIC: 'orders',
      QUEUE_ALLOWED_TOPICS: 'audit, billing.v1 ,audit',
      QUEUE_TOPIC_ATTRIBUTE: 'kafka-topic',
      QUEUE_KEY_ATTRIBUTE: 'orderId',
      QUEUE_ENCODING_ATTRIBUTE: 'content-encoding',
      QUEUE_CONCURRENCY: '16',
      EVENTS_TOPIC: 'events',
      EVENTS_KEY_POINTER: '/detail/order~1id',
    });

    // Assess
    expect(config.queue).toEqual({
      topic: 'orders',
      allowedTopics: ['audit', 'billing.v1'],
      topicAttribute: 'kafka-topic',
      keyAttribute: 'orderId',
      encodingAttribute: 'content-encoding',
      concurrency: 16,
    });
    expect(config.events).toEqual({
      topic: 'events',
      key: { from: 'json-pointer', pointer: '/detail/order~1id' },
      envelope: undefined,
    });
    expect(loadConfig({ ...BASE, EVENTS_KEY_POINTER: 'none' }).events.key).toEqual({ from: 'none' });
    expect(loadConfig({ ...BASE, EVENTS_ENVELOPE: 'cloudevents' }).events.envelope).toBe('cloudevents');
  });

  it.each([
    {
      name: 'a bad QUEUE_TOPIC',
      env: { QUEUE_TOPIC: 'has space' },
      problem: /^QUEUE_TOPIC must be a Kafka topic name/,
    },
    {
      name: 'a too long QUEUE_TOPIC',
      env: { QUEUE_TOPIC: 'a'.repeat(250) },
      problem: /^QUEUE_TOPIC must be/,
    },
    {
      name: 'a bad allowed topic',
      env: { QUEUE_ALLOWED_TOPICS: 'ok,not/ok' },
      problem: /^QUEUE_ALLOWED_TOPICS .*"not\/ok"/,
    },
    {
      name: 'a bad key attribute',
      env: { QUEUE_KEY_ATTRIBUTE: 'a b' },
      problem: /^QUEUE_KEY_ATTRIBUTE must be an SQS/,
    },
    {
      name: 'a bad encoding attribute',
      env: { QUEUE_ENCODING_ATTRIBUTE: 'é' },
      problem: /^QUEUE_ENCODING_ATTRIBUTE/,
    },
    {
      name: 'a bad topic attribute',
      env: { QUEUE_TOPIC_ATTRIBUTE: 'x y' },
      problem: /^QUEUE_TOPIC_ATTRIBUTE/,
    },
    {
      name: 'zero concurrency',
      env: { QUEUE_CONCURRENCY: '0' },
      problem: /^QUEUE_CONCURRENCY must be an integer from 1 to 64/,
    },
    {
      name: 'a bad EVENTS_TOPIC',
      env: { EVENTS_TOPIC: 'a:b' },
      problem: /^EVENTS_TOPIC must be a Kafka topic name/,
    },
    {
      name: 'a pointer without a slash',
      env: { EVENTS_KEY_POINTER: 'id' },
      problem: /^EVENTS_KEY_POINTER must be a JSON pointer/,
    },
    {
      name: 'a pointer with a bad escape',
      env: { EVENTS_KEY_POINTER: '/a~2' },
      problem: /^EVENTS_KEY_POINTER/,
    },
    {
      name: 'an unknown envelope',
      env: { EVENTS_ENVELOPE: 'cloud' },
      problem: /^EVENTS_ENVELOPE must be one of none \| cloudevents/,
    },
  ])('reports $name with the key and the expected shape', ({ env, problem }) => {
    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it('the queue function needs a topic or an allow-list; the events function needs its topic', () => {
    // Prepare
    const config = loadConfig(BASE);

    // Act + Assess
    expect(() => assertQueueConfigUsable(config.queue)).toThrow(ConfigError);
    expect(() => assertQueueConfigUsable({ ...config.queue, allowedTopics: ['a'] })).not.toThrow();
    expect(() => assertQueueConfigUsable({ ...config.queue, topic: 'a' })).not.toThrow();
    expect(() => assertEventsConfigUsable(config.events)).toThrow(/EVENTS_TOPIC is required/);
    expect(assertEventsConfigUsable({ ...config.events, topic: 'e' })).toBe('e');
  });
});
