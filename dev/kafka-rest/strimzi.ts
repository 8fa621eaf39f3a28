import type { RecordWait } from './consumer-routes.js';
import { readWithWait } from './consumer-routes.js';
import type {
  ConsumedRecord,
  ConsumerFailure,
  ConsumerRegistry,
  TopicPartition,
  V2Instance,
} from './consumers.js';
import { CONSUMER_ERROR_CODES, isConsumerFailure } from './consumers.js';
import type { Exchange } from './exchange.js';
import { firstQueryValues, parseJavaInt, send } from './exchange.js';
import type { RecordOutcome } from './flavors.js';
import { RECORD_FAILURE_REASONS, renderProduceResponse } from './flavors.js';
import type { LogHeader, LogStore } from './log-store.js';
import { MEDIA_TYPES } from './media-types.js';
import { base64DecodedLength } from './produce-request.js';
import type { Route, RouteName } from './routes.js';
import { matchRoute } from './routes.js';

/**
 * The Strimzi Kafka Bridge 1.1 (protocol doc §9) over the shared log and consumer registry: its own
 * v2-like API and nothing else (no v1, no v3, no `/brokers`). Every request body is checked against the
 * shape of the bridge's OpenAPI document first (400 with `validation_errors`); errors carry the HTTP status
 * as `error_code`; a lost instance and a seek on an unassigned partition are both 404/404; a read whose
 * encoded answer exceeds `max_bytes` is a 422 after the poll moved the position; `value` is required and
 * a binary `"value": null` is the base64 text `null` (three bytes); record headers go both ways; the
 * records `Accept` must be exactly the binary v2 type; `GET /topics` is not sorted.
 */

export const STRIMZI_VERSION = '1.1.0';

/** What one record of a produce request carries once checked. */
export interface StrimziRecord {
  readonly key: string | null;
  readonly value: string;
  readonly partition: number | null;
  readonly headers: readonly LogHeader[] | undefined;
  /** The record's own, or the time it arrived (Kafka's CreateTime). */
  readonly timestamp: number;
  /** Decoded key + value (+ headers) bytes. */
  readonly bytes: number;
}

export interface StrimziDeps extends RecordWait {
  readonly store: LogStore;
  readonly now: () => number;
  readonly registry: ConsumerRegistry;
  /** How long a read with nothing to return may wait (capped by its `timeout`). */
  readonly requestTimeoutMs: number;
  /** Unknown topics on produce: created (the broker's `auto.create.topics.enable`), or a per-record 404. */
  readonly autoCreate: { readonly partitions: number } | undefined;
  readonly pickPartition: (topic: string, key: string | null, partitions: number) => number;
  /** Faults, chaos and the size limit, then the append; outcomes in Confluent's codes. */
  readonly writeRecords: (
    x: Exchange,
    topic: string,
    records: readonly StrimziRecord[],
    chosen: readonly number[],
  ) => {
    outcomes: RecordOutcome[];
    afterWrite: { readonly action: 'drop' | 'delay' | 'cut'; readonly ms?: number } | undefined;
  };
  readonly drop: (x: Exchange) => void;
  readonly cutOff: (
    x: Exchange,
    status: number,
    contentType: string,
    parts: readonly string[],
    keep: number,
  ) => void;
  readonly sleep: (ms: number) => Promise<void>;
}

const JSON_V2 = MEDIA_TYPES.V2_JSON;
const BINARY_V2 = MEDIA_TYPES.V2_BINARY;
/** What `POST /admin/topics` takes (protocol doc §9). */
const ADMIN_CONTENT_TYPE = MEDIA_TYPES.V2_JSON_EMBEDDED;

/** The bridge's `timeout` default for a records read, in ms. */
const DEFAULT_POLL_TIMEOUT_MS = 100;
/** Kafka's `max.partition.fetch.bytes` default: what one poll hands back, whatever `max_bytes` says. */
const POLL_MAX_BYTES = 1_048_576;

const INSTANCE_NOT_FOUND_MESSAGE = 'The specified consumer instance was not found.';
const UNSUPPORTED_BODY_FORMAT = 'Validation error on: The format of the request body is not supported';
const UNKNOWN_TOPIC_OR_PARTITION =
  'org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.';

/** Java's `Base64.getDecoder()` refusal of `text`, as the bridge passes it on. */
const javaBase64Problem = (text: string): string => {
  const illegal = [...text].findIndex(
    (c, i) => !/[A-Za-z0-9+/]/.test(c) && !(c === '=' && i >= text.length - 2),
  );
  return illegal === -1
    ? 'Last unit does not have enough valid bits'
    : `Illegal base64 character ${(text.codePointAt(illegal) ?? 0).toString(16)}`;
};

/** The broker id of the peer suite's one-node KRaft cluster (`node.id=1`), which leads every partition. */
const BROKER_ID = 1;

/** The routes the bridge has, with their methods; the others are 404 there. */
const STRIMZI_ROUTES: Partial<Record<RouteName, readonly string[]>> = {
  root: ['GET'],
  topics: ['GET'],
  topic: ['GET', 'POST'],
  partitions: ['GET'],
  partition: ['GET', 'POST'],
  'partition-offsets': ['GET'],
  'consumer-group': ['POST'],
  instance: ['DELETE'],
  'instance-offsets': ['POST'],
  'instance-records': ['GET'],
  'instance-assignments': ['POST'],
  'instance-subscription': ['GET', 'POST', 'DELETE'],
  'instance-positions': ['POST'],
  'instance-positions-beginning': ['POST'],
  'instance-positions-end': ['POST'],
};

// ---------------------------------------------------------------------------------------------------------
// Request validation, in the terms of the bridge's OpenAPI document: every object is closed
// (additionalProperties false), required fields are listed, and JSON types are exact (no coercion).

type Schema =
  | {
      readonly type: 'object';
      readonly properties: Readonly<Record<string, Schema>>;
      readonly required?: readonly string[];
    }
  | { readonly type: 'array'; readonly items: Schema }
  | {
      readonly type: 'string';
      readonly enum?: readonly string[];
      readonly nullable?: boolean;
      /** The document's `oneOf` of these types, which the binary format narrows to a string. */
      readonly oneOf?: readonly string[];
    }
  | { readonly type: 'integer' | 'boolean' };

const jsonType = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'array'
      : Number.isInteger(value)
        ? 'integer'
        : typeof value;

/**
 * What is wrong with `value`, in the bridge's words (its JSON Schema validator's, as observed in
 * peers/observed-answers.md): a nested problem comes after the messages of the properties and items it is
 * inside. Empty when `value` fits.
 */
const validate = (value: unknown, schema: Schema): string[] => {
  const typeProblem = `Instance type ${jsonType(value)} is invalid. Expected ${schema.type}`;
  switch (schema.type) {
    case 'object': {
      if (jsonType(value) !== 'object') return [typeProblem];
      const object = value as Record<string, unknown>;
      const problems: string[] = [];
      for (const name of schema.required ?? []) {
        if (!(name in object)) problems.push(`Instance does not have required property "${name}"`);
      }
      for (const [name, item] of Object.entries(object)) {
        const property = schema.properties[name];
        if (property === undefined) {
          problems.push(`Property "${name}" does not match additional properties schema`);
          continue;
        }
        const inner = validate(item, property);
        if (inner.length > 0) {
          problems.push(
            `Property "${name}" does not match schema`,
            ...inner,
            `Property "${name}" does not match additional properties schema`,
          );
        }
      }
      return problems;
    }
    case 'array': {
      if (!Array.isArray(value)) return [typeProblem];
      const inner = value.flatMap((item) => validate(item, schema.items));
      return inner.length === 0 ? [] : ['Items did not match schema', 'A subschema had errors', ...inner];
    }
    case 'string':
      if (value === null && schema.nullable === true) return [];
      if (typeof value !== 'string') {
        if (schema.oneOf === undefined) return [typeProblem];
        return [
          'A subschema had errors',
          'Instance does not match exactly one subschema (0 matches)',
          ...schema.oneOf.map((type) => `Instance type ${jsonType(value)} is invalid. Expected ${type}`),
        ];
      }
      return schema.enum !== undefined && !schema.enum.includes(value)
        ? [`Instance does not have a value in the enumeration ${JSON.stringify(schema.enum)}`]
        : [];
    case 'integer':
    case 'boolean':
      return jsonType(value) === schema.type ? [] : [typeProblem];
  }
};

const STRING: Schema = { type: 'string' };
const INTEGER: Schema = { type: 'integer' };
const PARTITION: Schema = {
  type: 'object',
  properties: { topic: STRING, partition: INTEGER },
  required: ['topic', 'partition'],
};
const PARTITIONS: Schema = {
  type: 'object',
  properties: { partitions: { type: 'array', items: PARTITION } },
  required: ['partitions'],
};
const OFFSETS: Schema = {
  type: 'object',
  properties: {
    offsets: {
      type: 'array',
      items: {
        type: 'object',
        properties: { topic: STRING, partition: INTEGER, offset: INTEGER },
        required: ['topic', 'partition', 'offset'],
      },
    },
  },
  required: ['offsets'],
};

const SCHEMAS = {
  produce: {
    type: 'object',
    properties: {
      records: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            key: { type: 'string', oneOf: ['array', 'object', 'string'] },
            // The bridge's document lets a null value through; its binary converter then decodes the text.
            value: { type: 'string', nullable: true },
            partition: INTEGER,
            timestamp: INTEGER,
            headers: {
              type: 'array',
              items: {
                type: 'object',
                properties: { key: STRING, value: STRING },
                required: ['key', 'value'],
              },
            },
          },
          required: ['value'],
        },
      },
    },
    required: ['records'],
  },
  consumer: {
    type: 'object',
    properties: {
      name: STRING,
      format: { type: 'string', enum: ['binary', 'json', 'text'] },
      'auto.offset.reset': { type: 'string', enum: ['latest', 'earliest', 'none'] },
      'enable.auto.commit': { type: 'boolean' },
      'fetch.min.bytes': INTEGER,
      'consumer.request.timeout.ms': INTEGER,
      'isolation.level': { type: 'string', enum: ['read_committed', 'read_uncommitted'] },
    },
  },
  partitions: PARTITIONS,
  offsets: OFFSETS,
  subscription: {
    type: 'object',
    properties: { topics: { type: 'array', items: STRING }, topic_pattern: STRING },
  },
  topic: {
    type: 'object',
    properties: { topic_name: STRING, partitions_count: INTEGER, replication_factor: INTEGER },
    required: ['topic_name'],
  },
} as const satisfies Record<string, Schema>;

type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

/** Builds the handler of every request on the strimzi flavor; it answers each one itself and never rejects. */
export const createStrimziHttp = (deps: StrimziDeps) => {
  const { store, registry } = deps;

  const answer = (x: Exchange, status: number, body: unknown): void =>
    send(x, status, JSON_V2, JSON.stringify(body));
  const error = (x: Exchange, status: number, message: string): void =>
    answer(x, status, { error_code: status, message });
  const noContent = (x: Exchange): void => send(x, 204, undefined, undefined);
  const notFound = (x: Exchange): void => error(x, 404, 'Not Found');

  /** The JSON body checked against `schema`; answered (400) when it is not that. */
  const body = <T>(x: Exchange, schema: Schema, optional = false): Checked<T> => {
    if (x.body.trim() === '') {
      if (optional) return { ok: true, value: undefined as T };
      error(x, 400, 'Validation error on: Body required');
      return { ok: false };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(x.body);
    } catch {
      error(x, 400, 'Validation error on: Failed to decode the body: it is not JSON');
      return { ok: false };
    }
    const problems = validate(parsed, schema);
    if (problems.length > 0) {
      answer(x, 400, {
        error_code: 400,
        message: 'Validation error on: Schema validation error',
        validation_errors: problems,
      });
      return { ok: false };
    }
    return { ok: true, value: parsed as T };
  };

  /** A control call's Content-Type: the v2 JSON type, or 400 as the bridge's document says of any other. */
  const controlType = (x: Exchange, expected: string = JSON_V2): boolean => {
    const type = x.req.headers['content-type'];
    if (type === expected || (type === undefined && x.body.trim() === '')) return true;
    error(x, 400, UNSUPPORTED_BODY_FORMAT);
    return false;
  };

  /** Registry refusals in the bridge's words and codes (the HTTP status as `error_code`). */
  const failure = (x: Exchange, problem: ConsumerFailure) => {
    switch (problem.errorCode) {
      case CONSUMER_ERROR_CODES.INSTANCE_NOT_FOUND:
        return error(x, 404, INSTANCE_NOT_FOUND_MESSAGE);
      case CONSUMER_ERROR_CODES.ILLEGAL_STATE:
        // Kafka's IllegalStateException text, which the bridge answers as a 404.
        return error(x, 404, problem.message.replace(/^Illegal state: /, ''));
      case CONSUMER_ERROR_CODES.INSTANCE_EXISTS:
        return error(
          x,
          409,
          'A consumer instance with the specified name already exists in the Kafka Bridge.',
        );
      default:
        return error(x, problem.status, problem.message);
    }
  };

  const partitionJson = (partition: number): unknown => ({
    partition,
    leader: BROKER_ID,
    replicas: [{ broker: BROKER_ID, leader: true, in_sync: true }],
  });

  const partitionOf = (x: Exchange, route: Route): number | undefined => {
    const partition = parseJavaInt(route.partition, 32);
    const count = store.partitionCount(route.topic);
    if (count === undefined) {
      error(x, 404, UNKNOWN_TOPIC_OR_PARTITION);
      return undefined;
    }
    if (partition === undefined || partition < 0 || partition >= count) {
      error(x, 404, `Topic '${route.topic}' does not have partition with id ${route.partition}`);
      return undefined;
    }
    return partition;
  };

  const metadata = (x: Exchange, route: Route) => {
    const count = store.partitionCount(route.topic);
    switch (route.name) {
      case 'root':
        return answer(x, 200, { bridge_version: STRIMZI_VERSION });
      case 'topics':
        // The bridge lists what Kafka's admin client returns, in no particular order.
        return answer(x, 200, [...store.topicNames()].reverse());
      case 'topic':
        if (count === undefined) return error(x, 404, UNKNOWN_TOPIC_OR_PARTITION);
        return answer(x, 200, {
          name: route.topic,
          configs: {},
          partitions: Array.from({ length: count }, (_, p) => partitionJson(p)),
        });
      case 'partitions':
        if (count === undefined) return error(x, 404, UNKNOWN_TOPIC_OR_PARTITION);
        return answer(
          x,
          200,
          Array.from({ length: count }, (_, p) => partitionJson(p)),
        );
      case 'partition': {
        const partition = partitionOf(x, route);
        return partition === undefined ? undefined : answer(x, 200, partitionJson(partition));
      }
      default: {
        // partition-offsets: the log bounds, end = the next offset to be written.
        const partition = partitionOf(x, route);
        if (partition === undefined) return;
        const { start, end } = store.bounds(route.topic, partition);
        return answer(x, 200, { beginning_offset: start, end_offset: end });
      }
    }
  };

  interface ProduceBody {
    readonly records: readonly {
      readonly key?: string;
      readonly value: string | null;
      readonly partition?: number;
      readonly timestamp?: number;
      readonly headers?: readonly { readonly key: string; readonly value: string }[];
    }[];
  }

  const produce = async (x: Exchange, route: Route): Promise<void> => {
    const type = x.req.headers['content-type'];
    if (type !== BINARY_V2) {
      // The bridge picks its converter by string equality: a parameter (`; charset=…`) matches none.
      if (type?.split(';')[0]?.trim().toLowerCase() === BINARY_V2) {
        return error(x, 500, 'Internal Server Error');
      }
      return error(x, 400, UNSUPPORTED_BODY_FORMAT);
    }
    const checked = body<ProduceBody>(x, SCHEMAS.produce);
    if (!checked.ok) return;
    const records: StrimziRecord[] = [];
    for (const record of checked.value.records) {
      // `null` reaches the binary converter as the text null, which decodes to three bytes.
      const value = record.value ?? 'null';
      const key = record.key ?? null;
      const headers = record.headers?.map((h) => ({ name: h.key, value: h.value }));
      const encoded = [...(key === null ? [] : [key]), value, ...(headers ?? []).map((h) => h.value)];
      const sizes = encoded.map(base64DecodedLength);
      const bad = encoded.find((_, i) => (sizes[i] as number) < 0);
      if (bad !== undefined) return error(x, 422, javaBase64Problem(bad));
      const headerNames = (headers ?? []).reduce((n, h) => n + Buffer.byteLength(h.name), 0);
      records.push({
        key,
        value,
        partition: record.partition ?? null,
        headers: headers === undefined || headers.length === 0 ? undefined : headers,
        timestamp: record.timestamp ?? deps.now(),
        bytes: sizes.reduce((a, b) => a + b, 0) + headerNames,
      });
    }
    const topic = route.topic;
    let pathPartition: number | undefined;
    if (route.name === 'partition') {
      pathPartition = parseJavaInt(route.partition, 32);
      if (pathPartition === undefined) return notFound(x);
    }
    let count = store.partitionCount(topic);
    if (count === undefined && deps.autoCreate !== undefined) {
      store.createTopic(topic, deps.autoCreate.partitions);
      count = deps.autoCreate.partitions;
    }
    const partitions = count;
    const chosen = records.map(
      (r) =>
        r.partition ??
        pathPartition ??
        (partitions === undefined ? 0 : deps.pickPartition(topic, r.key, partitions)),
    );
    // The producer's metadata wait (max.block.ms) runs out for an unknown topic or partition: each such
    // record fails alone with 404, the others are written.
    const missing = (p: number): boolean => partitions === undefined || p < 0 || p >= partitions;
    const sendable = records.filter((_, i) => !missing(chosen[i] as number));
    const { outcomes: written, afterWrite } = deps.writeRecords(
      x,
      topic,
      sendable,
      chosen.filter((p) => !missing(p)),
    );
    let next = 0;
    const outcomes: RecordOutcome[] = chosen.map((p) =>
      missing(p)
        ? {
            code: 404,
            message:
              partitions === undefined
                ? `Topic ${topic} not present in metadata after 60000 ms.`
                : `Partition ${p} of topic ${topic} with partition count ${partitions} is not present in metadata after 60000 ms.`,
            reason:
              partitions === undefined
                ? RECORD_FAILURE_REASONS.UNKNOWN_TOPIC
                : RECORD_FAILURE_REASONS.UNKNOWN_PARTITION,
          }
        : (written[next++] as RecordOutcome),
    );
    const rendered = renderProduceResponse('strimzi', outcomes);
    if (afterWrite !== undefined) {
      if (afterWrite.action === 'drop') return deps.drop(x);
      if (afterWrite.action === 'cut') {
        return deps.cutOff(
          x,
          rendered.status,
          JSON_V2,
          [rendered.body.slice(0, rendered.body.length >> 1)],
          1,
        );
      }
      await deps.sleep(afterWrite.ms ?? 0);
      if (deps.isClosing()) return;
    }
    send(x, rendered.status, JSON_V2, rendered.body);
  };

  const createTopic = (x: Exchange) => {
    if (!controlType(x, ADMIN_CONTENT_TYPE)) return;
    const checked = body<{ topic_name: string; partitions_count?: number }>(x, SCHEMAS.topic);
    if (!checked.ok) return;
    const { topic_name: name, partitions_count: partitions = 1 } = checked.value;
    if (store.partitionCount(name) !== undefined) return error(x, 409, `Topic '${name}' already exists.`);
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name) || partitions < 1) {
      return error(x, 400, `Invalid topic ${JSON.stringify(name)} or partitions_count ${partitions}`);
    }
    store.createTopic(name, partitions);
    send(x, 201, undefined, undefined);
  };

  const baseUri = (x: Exchange, group: string, id: string): string => {
    const host = x.req.headers.host ?? '';
    // The bridge builds it from the request's host and always names the port.
    const origin = /:\d+$/.test(host) ? host : `${host}:80`;
    return `http://${origin}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(id)}`;
  };

  interface ConsumerBody {
    readonly name?: string;
    readonly format?: string;
    readonly 'auto.offset.reset'?: string;
    readonly 'enable.auto.commit'?: boolean;
    readonly 'consumer.request.timeout.ms'?: number;
  }

  const createConsumer = (x: Exchange, group: string) => {
    if (!controlType(x)) return;
    const checked = body<ConsumerBody | undefined>(x, SCHEMAS.consumer, true);
    if (!checked.ok) return;
    const config = checked.value ?? {};
    if ((config.format ?? 'binary') !== 'binary') {
      return error(x, 422, `Format ${config.format} is not served by this local bridge: binary only`);
    }
    const created = registry.create('v2', group, {
      name: config.name,
      autoOffsetReset: config['auto.offset.reset'] ?? 'latest',
      // Kafka's default, which the bridge keeps unless told otherwise.
      autoCommit: config['enable.auto.commit'] ?? true,
      // Kafka's request timeout on the bridge, not a wait for records: the read's `timeout` is that.
      requestTimeoutMs: undefined,
    });
    if (isConsumerFailure(created)) return failure(x, created);
    answer(x, 200, { instance_id: created.id, base_uri: baseUri(x, group, created.id) });
  };

  const recordJson = (r: ConsumedRecord): string =>
    JSON.stringify({
      topic: r.topic,
      key: r.key,
      value: r.value,
      partition: r.partition,
      offset: r.offset,
      // Kafka's NO_TIMESTAMP for a record written without one (the server's `append`).
      timestamp: r.timestamp ?? -1,
      ...(r.headers === undefined
        ? {}
        : { headers: r.headers.map((h) => ({ key: h.name, value: h.value })) }),
    });

  const read = async (x: Exchange, instance: V2Instance): Promise<void> => {
    if (x.accept !== BINARY_V2) {
      return error(
        x,
        406,
        'Consumer format does not match the embedded format requested by the Accept header.',
      );
    }
    const query = firstQueryValues(x.query);
    const timeout = query.timeout === undefined ? DEFAULT_POLL_TIMEOUT_MS : parseJavaInt(query.timeout, 32);
    const maxBytes = query.max_bytes === undefined ? undefined : parseJavaInt(query.max_bytes, 32);
    if (
      timeout === undefined ||
      timeout < 0 ||
      (query.max_bytes !== undefined && (maxBytes === undefined || maxBytes < 0))
    ) {
      return error(x, 400, 'Validation error on: query - timeout and max_bytes must be integers >= 0');
    }
    const polled = await readWithWait(
      deps,
      Math.min(timeout, deps.requestTimeoutMs),
      () => registry.readV2(instance, POLL_MAX_BYTES),
      (r) => !r.warmingUp && r.records.length === 0,
    );
    if (polled === undefined) return;
    if (isConsumerFailure(polled)) return failure(x, polled);
    const text = `[${polled.records.map(recordJson).join(',')}]`;
    // Compared after the poll: the position has moved past these records already.
    if (maxBytes !== undefined && Buffer.byteLength(text) > maxBytes) {
      return error(x, 422, 'Response exceeds the maximum number of bytes the consumer can receive');
    }
    send(x, 200, BINARY_V2, text);
  };

  const onInstance = async (x: Exchange, route: Route, instance: V2Instance): Promise<void> => {
    if (route.name === 'instance-records') return read(x, instance);
    if (route.name === 'instance') {
      registry.remove(instance);
      return noContent(x);
    }
    if (x.method === 'POST' && !controlType(x)) return;
    const done = (problem: ConsumerFailure | undefined) =>
      problem === undefined ? noContent(x) : failure(x, problem);
    switch (route.name) {
      case 'instance-assignments': {
        const checked = body<{ partitions: TopicPartition[] }>(x, SCHEMAS.partitions);
        return checked.ok ? done(registry.assign(instance, checked.value.partitions)) : undefined;
      }
      case 'instance-positions': {
        // No bounds check: an offset outside the log is applied, and the next poll resets it silently.
        const checked = body<{ offsets: (TopicPartition & { offset: number })[] }>(x, SCHEMAS.offsets);
        return checked.ok ? done(registry.seek(instance, checked.value.offsets)) : undefined;
      }
      case 'instance-positions-beginning':
      case 'instance-positions-end': {
        const checked = body<{ partitions: TopicPartition[] }>(x, SCHEMAS.partitions);
        const edge = route.name === 'instance-positions-end' ? 'end' : 'beginning';
        return checked.ok ? done(registry.seekToEdge(instance, checked.value.partitions, edge)) : undefined;
      }
      case 'instance-offsets': {
        const checked = body<{ offsets: (TopicPartition & { offset: number })[] } | undefined>(
          x,
          SCHEMAS.offsets,
          true,
        );
        if (!checked.ok) return;
        // The bridge commits the offsets as given; the registry adds Confluent's +1, taken off here.
        const offsets = checked.value?.offsets.map((o) => ({ ...o, offset: o.offset - 1 }));
        return done(registry.commitV2(instance, offsets));
      }
      default:
        return subscription(x, instance);
    }
  };

  const subscription = (x: Exchange, instance: V2Instance) => {
    if (x.method === 'GET') {
      const s = instance.subscription;
      return answer(x, 200, { topics: s !== undefined && 'topics' in s ? s.topics : [], partitions: [] });
    }
    if (x.method === 'DELETE') {
      registry.unsubscribe(instance);
      return noContent(x);
    }
    const checked = body<{ topics?: string[]; topic_pattern?: string }>(x, SCHEMAS.subscription);
    if (!checked.ok) return;
    const { topics, topic_pattern: pattern } = checked.value;
    if ((topics === undefined) === (pattern === undefined)) {
      return error(x, 422, 'A list (of Topics type) or a topic_pattern must be specified.');
    }
    let target: readonly string[] | RegExp;
    try {
      target = topics ?? new RegExp(`^(?:${pattern})$`);
    } catch {
      return error(x, 422, 'topic_pattern is not a valid regular expression');
    }
    const problem = registry.subscribe(instance, target);
    return problem === undefined ? noContent(x) : failure(x, problem);
  };

  /** Answers any request. */
  return async (x: Exchange): Promise<void> => {
    if (x.path === '/admin/topics' || x.path === '/admin/topics/') {
      if (x.method !== 'POST') return error(x, 405, 'Method Not Allowed');
      return createTopic(x);
    }
    const route = matchRoute(x.path);
    const methods = route === undefined ? undefined : STRIMZI_ROUTES[route.name];
    if (route === undefined || methods === undefined) return notFound(x);
    if (!methods.includes(x.method)) return error(x, 405, 'Method Not Allowed');
    if (route.name === 'consumer-group') return createConsumer(x, route.group);
    if (route.group !== '') {
      const found = registry.find('v2', route.group, route.instance);
      if (isConsumerFailure(found)) return failure(x, found);
      return onInstance(x, route, found as V2Instance);
    }
    if (x.method === 'POST') return produce(x, route);
    return metadata(x, route);
  };
};
