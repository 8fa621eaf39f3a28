import type { BodyAnswer } from './consumer-requests.js';
import {
  checkFields,
  isObject,
  parseConsumerConfig,
  parseJsonBody,
  parsePartitionList,
  unprocessable,
} from './consumer-requests.js';
import type {
  ConsumerApi,
  ConsumerFailure,
  ConsumerRegistry,
  TopicPartition,
  V1Instance,
  V2Instance,
} from './consumer-types.js';
import { CONSUMER_ERROR_CODES, isConsumerFailure } from './consumer-types.js';
import type { Exchange } from './exchange.js';
import { firstQueryValues, parseJavaInt, send, sendError } from './exchange.js';
import type { Flavor } from './flavors.js';
import type { Producible } from './media-types.js';
import {
  errorContentType,
  MEDIA_TYPES,
  mediaTypeEssence,
  namedApiVersion,
  negotiate,
  PRODUCES,
  V2_ERROR_CONTENT_TYPE,
} from './media-types.js';
import type { RecordWait } from './record-wait.js';
import { consumedJson, readWithWait } from './record-wait.js';
import type { Route } from './routes.js';

/**
 * The consumer-instance endpoints of v1 (protocol doc §2.6) and v2 (§6) over HTTP: media types first (415,
 * 406, as Jersey does before a resource method runs), then the instance (40403), then the body, then the
 * registry. Both APIs share `/consumers/{g}` and `…/instances/{i}[/offsets]`: the Content-Type or Accept
 * picks one when it names a vendor type, otherwise the instance's own API decides.
 */

export interface ConsumerHttpDeps extends RecordWait {
  readonly registry: ConsumerRegistry;
  readonly flavor: Flavor;
  /** Server-wide `consumer.request.timeout.ms`. */
  readonly requestTimeoutMs: number;
  /** e.g. `http://127.0.0.1:8082`, for `base_uri` when the request carries no Host. */
  readonly url: string;
}

/** `consumer.request.max.bytes`: the cap on one read, whatever `max_bytes` asks. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The request types each API's consumer calls take; a generic or missing one goes to either. */
const GENERIC_REQUEST_TYPES: ReadonlySet<string> = new Set([
  '',
  MEDIA_TYPES.JSON,
  MEDIA_TYPES.DEFAULT_JSON,
  MEDIA_TYPES.GENERIC_REQUEST,
]);
const V1_REQUEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.V1_JSON, MEDIA_TYPES.V1_BINARY]);
const V2_CONTROL_REQUEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.V2_JSON, MEDIA_TYPES.V2_BINARY]);

const V1_ONLY = new Set(['instance-topic']);
const V2_ONLY = new Set([
  'instance-records',
  'instance-assignments',
  'instance-subscription',
  'instance-positions',
  'instance-positions-beginning',
  'instance-positions-end',
]);

/** Answers a request to one instance, in the `responseType` negotiated for it. */
type InstanceHandler<I> = (x: Exchange, route: Route, instance: I, responseType: string) => Promise<void>;

/** Builds the handler of every `/consumers/…` route; it answers every request itself and never rejects. */
export const createConsumerHttp = (deps: ConsumerHttpDeps) => {
  const { registry, flavor } = deps;

  const asV1 = (x: Exchange): Exchange => ({ ...x, errorContentType: errorContentType(x.accept) });
  const asV2 = (x: Exchange): Exchange => ({ ...x, errorContentType: V2_ERROR_CONTENT_TYPE });

  const answerBody = (x: Exchange, answer: BodyAnswer): void => {
    if ('text' in answer) send(x, 400, 'text/plain', answer.text);
    else sendError(x, answer.status, answer.errorCode, answer.message);
  };
  const answerFailure = (x: Exchange, failure: ConsumerFailure): void =>
    sendError(x, failure.status, failure.errorCode, failure.message);
  const notAcceptable = (x: Exchange): void => send(x, 406, undefined, undefined);
  const unsupported = (x: Exchange): void => sendError(x, 415, 415, 'HTTP 415 Unsupported Media Type');

  const baseUri = (x: Exchange, group: string, id: string): string => {
    const host = x.req.headers.host;
    const origin = host === undefined || host === '' ? deps.url : `http://${host}`;
    return `${origin}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(id)}`;
  };

  /** Which API a request to a shared path means, from what it names; undefined: let the instance decide. */
  const requestApi = (x: Exchange, name: string): ConsumerApi | undefined | 'unsupported' => {
    if (V1_ONLY.has(name)) return 'v1';
    if (V2_ONLY.has(name) || (name === 'instance-offsets' && x.method === 'GET')) return 'v2';
    const contentType = x.method === 'POST' ? x.req.headers['content-type'] : undefined;
    const type = mediaTypeEssence(contentType);
    if (
      x.method === 'POST' &&
      !GENERIC_REQUEST_TYPES.has(type) &&
      !V1_REQUEST_TYPES.has(type) &&
      !V2_CONTROL_REQUEST_TYPES.has(type)
    ) {
      return 'unsupported';
    }
    return namedApiVersion(contentType, x.accept);
  };

  const createInstance = (x: Exchange, group: string) => {
    const contentType = x.req.headers['content-type'];
    const type = mediaTypeEssence(contentType);
    const api: ConsumerApi | undefined = V2_CONTROL_REQUEST_TYPES.has(type)
      ? 'v2'
      : V1_REQUEST_TYPES.has(type) || GENERIC_REQUEST_TYPES.has(type)
        ? 'v1'
        : undefined;
    if (api === undefined) return unsupported(asV1(x));
    const y = api === 'v1' ? asV1(x) : asV2(x);
    const responseType = negotiate(x.accept, api === 'v1' ? PRODUCES.partitions : PRODUCES.v2);
    if (responseType === undefined) return notAcceptable(y);
    const config = parseConsumerConfig(api, x.body, flavor);
    if (!config.ok) return answerBody(y, config.answer);
    const created = registry.create(api, group, config.value);
    if (isConsumerFailure(created)) return answerFailure(y, created);
    send(
      y,
      200,
      responseType,
      JSON.stringify({ instance_id: created.id, base_uri: baseUri(x, group, created.id) }),
    );
  };

  const formatMismatch = (x: Exchange): void =>
    sendError(
      x,
      406,
      CONSUMER_ERROR_CODES.FORMAT_MISMATCH,
      'The requested embedded data format does not match the deserializer for this consumer instance',
    );

  const parseMaxBytes = (x: Exchange): number | undefined => {
    const raw = firstQueryValues(x.query).max_bytes;
    if (raw === undefined || raw === '') return MAX_RESPONSE_BYTES;
    const n = parseJavaInt(raw, 64);
    return n === undefined ? undefined : Math.min(Math.max(n, 0), MAX_RESPONSE_BYTES);
  };

  /**
   * The HTTP layer of an instance call, before the instance is looked up (Jersey picks the resource method,
   * with its 415 and 406, before running it): the response Content-Type, or undefined once answered.
   */
  const checkMedia = (x: Exchange, route: Route, api: ConsumerApi): string | undefined => {
    let produces: readonly Producible[];
    if (api === 'v1') {
      produces = route.name === 'instance-topic' ? PRODUCES.v1ConsumerRead : PRODUCES.partitions;
    } else {
      if (x.method === 'POST') {
        const type = mediaTypeEssence(x.req.headers['content-type']);
        // An empty commit may come without a Content-Type; everything else is a v2 JSON entity.
        const bodyless = route.name === 'instance-offsets' && x.body.trim() === '';
        if (!V2_CONTROL_REQUEST_TYPES.has(type) && !(bodyless && GENERIC_REQUEST_TYPES.has(type))) {
          unsupported(x);
          return undefined;
        }
      }
      produces = route.name === 'instance-records' ? PRODUCES.v2Records : PRODUCES.v2;
    }
    const responseType = negotiate(x.accept, produces);
    if (responseType === undefined) notAcceptable(x);
    return responseType;
  };

  const handleV1: InstanceHandler<V1Instance> = async (x, route, instance, responseType) => {
    // IBM: one request at a time per instance; the parallel one is refused, not queued.
    if (instance.busy) {
      return sendError(
        x,
        409,
        409,
        `Another request is in progress for consumer instance ${instance.id}; requests to one instance must not overlap.`,
      );
    }
    if (route.name === 'instance') {
      registry.remove(instance);
      return send(x, 204, undefined, undefined);
    }
    if (route.name === 'instance-offsets') {
      return send(x, 200, responseType, JSON.stringify(registry.commitV1(instance)));
    }
    // instance-topic: the read.
    if (responseType === MEDIA_TYPES.V1_JSON_EMBEDDED || responseType === MEDIA_TYPES.V1_AVRO) {
      return formatMismatch(x);
    }
    const maxBytes = parseMaxBytes(x);
    if (maxBytes === undefined) return sendError(x, 404, 404, 'HTTP 404 Not Found');
    instance.busy = true;
    try {
      const records = await readWithWait(
        deps,
        deps.requestTimeoutMs,
        () => registry.readV1(instance, route.topic, maxBytes),
        (r) => r.length === 0,
      );
      if (records === undefined) return;
      if (isConsumerFailure(records)) return answerFailure(x, records);
      send(x, 200, responseType, `[${records.map((r) => consumedJson(r, false)).join(',')}]`);
    } finally {
      instance.busy = false;
    }
  };

  const readV2 = async (x: Exchange, instance: V2Instance, responseType: string): Promise<void> => {
    if (responseType !== MEDIA_TYPES.V2_BINARY) return formatMismatch(x);
    const query = firstQueryValues(x.query);
    const timeout =
      query.timeout === undefined || query.timeout === '' ? -1 : parseJavaInt(query.timeout, 64);
    const maxBytes = parseMaxBytes(x);
    if (timeout === undefined || maxBytes === undefined) return sendError(x, 404, 404, 'HTTP 404 Not Found');
    const configured = instance.config.requestTimeoutMs ?? deps.requestTimeoutMs;
    const waitMs = timeout < 0 ? configured : Math.min(timeout, configured);
    // The empty read after a seek answers at once: it stands for the fetch still being in flight.
    const read = await readWithWait(
      deps,
      waitMs,
      () => registry.readV2(instance, maxBytes),
      (r) => !r.warmingUp && r.records.length === 0,
    );
    if (read === undefined) return;
    if (isConsumerFailure(read)) return answerFailure(x, read);
    send(x, 200, responseType, `[${read.records.map((r) => consumedJson(r, true)).join(',')}]`);
  };

  const handleV2: InstanceHandler<V2Instance> = async (x, route, instance, responseType) => {
    if (route.name === 'instance-records') return readV2(x, instance, responseType);
    if (route.name === 'instance') {
      registry.remove(instance);
      return send(x, 204, undefined, undefined);
    }
    const body = parseJsonBody(x.body);
    if (!body.ok) return answerBody(x, body.answer);
    const noContent = (problem: ConsumerFailure | undefined): void =>
      problem === undefined ? send(x, 204, undefined, undefined) : answerFailure(x, problem);

    switch (route.name) {
      case 'instance-assignments': {
        if (x.method === 'GET') {
          return send(x, 200, responseType, JSON.stringify({ partitions: instance.assignment }));
        }
        const list = parsePartitionList(body.value, 'partitions', false);
        if (!list.ok) return answerBody(x, list.answer);
        return noContent(
          registry.assign(
            instance,
            list.value.map(({ topic, partition }) => ({ topic, partition })),
          ),
        );
      }
      case 'instance-subscription':
        return subscription(x, instance, body.value, responseType);
      case 'instance-positions': {
        const list = parsePartitionList(body.value, 'offsets', true);
        if (!list.ok) return answerBody(x, list.answer);
        return noContent(registry.seek(instance, list.value));
      }
      case 'instance-positions-beginning':
      case 'instance-positions-end': {
        const list = parsePartitionList(body.value, 'partitions', false);
        if (!list.ok) return answerBody(x, list.answer);
        const edge = route.name === 'instance-positions-end' ? 'end' : 'beginning';
        return noContent(registry.seekToEdge(instance, list.value, edge));
      }
      case 'instance-offsets': {
        if (x.method === 'GET') {
          // A JSON body on a GET (§6); with none, Confluent answers 40402.
          if (body.value === undefined) {
            return sendError(x, 404, CONSUMER_ERROR_CODES.PARTITION_NOT_FOUND, 'Partition not found.');
          }
          const list = parsePartitionList(body.value, 'partitions', false);
          if (!list.ok) return answerBody(x, list.answer);
          const offsets = registry.committedV2(instance, list.value).map((o) => ({ ...o, metadata: '' }));
          return send(x, 200, responseType, JSON.stringify({ offsets }));
        }
        // Redpanda names the commit list `partitions`; Confluent and Karapace `offsets` (§6).
        const listField = flavor === 'redpanda' ? 'partitions' : 'offsets';
        const value = body.value;
        // No body, `null`, `{}` or a null list: commit every current position.
        const commitAll =
          value === undefined ||
          value === null ||
          (isObject(value) && Object.keys(value).every((k) => k === listField) && value[listField] == null);
        let offsets: (TopicPartition & { offset: number })[] | undefined;
        if (!commitAll) {
          const list = parsePartitionList(value, listField, true);
          if (!list.ok) return answerBody(x, list.answer);
          offsets = list.value;
        }
        const problem = registry.commitV2(instance, offsets);
        if (problem !== undefined) return answerFailure(x, problem);
        return send(x, 200, responseType, '[]');
      }
      default:
        return sendError(x, 404, 404, 'HTTP 404 Not Found');
    }
  };

  const subscription = (x: Exchange, instance: V2Instance, value: unknown, responseType: string) => {
    if (x.method === 'GET') {
      const s = instance.subscription;
      const topics =
        s === undefined
          ? []
          : 'topics' in s
            ? s.topics
            : [...new Set(instance.assignment.map((tp) => tp.topic))];
      return send(x, 200, responseType, JSON.stringify({ topics }));
    }
    if (x.method === 'DELETE') {
      registry.unsubscribe(instance);
      return send(x, 204, undefined, undefined);
    }
    const problem = (message: string): void => answerBody(x, unprocessable(message).answer);
    if (!isObject(value)) return problem('A list (of Topic Names) or a single Topic Pattern is required');
    const extra = checkFields(value, ['topics', 'topic_pattern']);
    if (extra !== undefined) return problem(`Unrecognized field: ${extra}`);
    const done = (failure: ConsumerFailure | undefined): void =>
      failure === undefined ? send(x, 204, undefined, undefined) : answerFailure(x, failure);
    if (typeof value.topic_pattern === 'string' && value.topics === undefined) {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${value.topic_pattern})$`);
      } catch {
        return problem('topic_pattern is not a valid regular expression');
      }
      return done(registry.subscribe(instance, pattern));
    }
    const topics = value.topics;
    if (
      !Array.isArray(topics) ||
      topics.length === 0 ||
      topics.some((t) => typeof t !== 'string' || t === '')
    ) {
      return problem('A list (of Topic Names) or a single Topic Pattern is required');
    }
    return done(registry.subscribe(instance, topics as string[]));
  };

  /** Answers any `/consumers/…` route. */
  return async (x: Exchange, route: Route): Promise<void> => {
    if (route.name === 'consumer-group') return createInstance(x, route.group);
    const named = requestApi(x, route.name);
    if (named === 'unsupported') return unsupported(asV1(x));
    const found = registry.find(named, route.group, route.instance);
    const api = named ?? (isConsumerFailure(found) ? 'v1' : found.api);
    const y = api === 'v2' ? asV2(x) : asV1(x);
    const responseType = checkMedia(y, route, api);
    if (responseType === undefined) return;
    if (isConsumerFailure(found)) return answerFailure(y, found);
    return found.api === 'v1'
      ? handleV1(y, route, found, responseType)
      : handleV2(y, route, found, responseType);
  };
};
