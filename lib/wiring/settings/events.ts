import { ConfigError } from '../../core/errors.js';
import { TOPIC_NAME_SHAPE } from '../../core/names.js';
import { isJsonPointer } from '../../formats/json-pointer.js';
import { DEFAULT_EVENTS_KEY_POINTER, type EventKeySource, type EventsConfig } from '../../ingest/config.js';
import { type CoreConfig, loadSections } from './core.js';
import { type Env, type EnvReader, topicSetting } from './env.js';

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
    topic: topicSetting(read, 'EVENTS_TOPIC'),
    key,
    envelope: envelope === 'none' ? undefined : envelope,
  };
};

/** Throws `ConfigError` (`ERR_CONFIG`) when `EVENTS_TOPIC` is unset: the events function needs it. */
export const assertEventsConfigUsable = (config: EventsConfig): string => {
  if (config.topic === undefined) {
    throw new ConfigError([`EVENTS_TOPIC is required for the events function: ${TOPIC_NAME_SHAPE}`]);
  }
  return config.topic;
};

export type EventsFunctionConfig = CoreConfig & { readonly events: EventsConfig };

/** The events function's settings (see `loadSections`). */
export const loadEventsConfig = (env: Env): EventsFunctionConfig =>
  loadSections(env, (read) => ({ events: parseEventsConfig(read) }));
