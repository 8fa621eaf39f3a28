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

export const DEFAULT_QUEUE_CONCURRENCY = 4;
export const DEFAULT_TOPIC_ATTRIBUTE = 'topic';
export const DEFAULT_EVENTS_KEY_POINTER = '/id';
