/**
 * The names and URL rules every setting and every request shares, stated once: a topic name that one part of
 * the bridge accepts must be one that every other part accepts too.
 */

/** Kafka's legal topic characters and length (`org.apache.kafka.common.internals.Topic`). */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** How messages describe {@link TOPIC_NAME}. */
export const TOPIC_NAME_SHAPE = 'a Kafka topic name (1-249 of [a-zA-Z0-9._-])';

export const isTopicName = (name: unknown): name is string =>
  typeof name === 'string' && TOPIC_NAME.test(name);

/** An HTTP field name: RFC 9110's `token`. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-zA-Z-]+$/;

export const isHeaderName = (name: unknown): name is string =>
  typeof name === 'string' && HEADER_NAME.test(name);

/** A consumer group id the proxies put in a URL path as it is. */
export const CONSUMER_GROUP = /^[a-zA-Z0-9._-]{1,200}$/;

/** Characters safe in a URL path segment as they are. */
export const PATH_SEGMENT = /^[a-zA-Z0-9._-]+$/;

/**
 * The https rule of every outbound URL: https always, plain http only where the operator allowed it (local
 * development). `undefined` when the URL passes; otherwise why not, for the caller to word in its own terms.
 */
export const schemeProblem = (url: URL, allowHttp: boolean): 'http-not-allowed' | 'not-http' | undefined => {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return allowHttp ? undefined : 'http-not-allowed';
  return 'not-http';
};
