import type { ConsumerRegistry, V2Instance } from './consumer-types.js';
import { isConsumerFailure } from './consumer-types.js';
import type { Exchange } from './exchange.js';
import { parseJavaInt, send } from './exchange.js';
import type { RecordOutcome } from './flavors.js';
import { RECORD_FAILURE_REASONS, renderProduceResponse } from './flavors.js';
import type { LogHeader, LogStore } from './log-store.js';
import { MEDIA_TYPES } from './media-types.js';
import { base64DecodedLength } from './produce-request.js';
import type { RecordWait } from './record-wait.js';
import type { Route, RouteName } from './routes.js';
import { matchRoute } from './routes.js';
import {
  answer,
  BINARY_V2,
  body,
  controlType,
  error,
  failure,
  JSON_V2,
  notFound,
  UNSUPPORTED_BODY_FORMAT,
} from './strimzi-answers.js';
import { createStrimziConsumers } from './strimzi-consumers.js';
import { SCHEMAS } from './strimzi-schemas.js';

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

/** What `POST /admin/topics` takes (protocol doc §9). */
const ADMIN_CONTENT_TYPE = MEDIA_TYPES.V2_JSON_EMBEDDED;

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

/** Builds the handler of every request on the strimzi flavor; it answers each one itself and never rejects. */
export const createStrimziHttp = (deps: StrimziDeps) => {
  const { store, registry } = deps;
  const consumers = createStrimziConsumers(deps);

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
    if (route.name === 'consumer-group') return consumers.createConsumer(x, route.group);
    if (route.group !== '') {
      const found = registry.find('v2', route.group, route.instance);
      if (isConsumerFailure(found)) return failure(x, found);
      return consumers.onInstance(x, route, found as V2Instance);
    }
    if (x.method === 'POST') return produce(x, route);
    return metadata(x, route);
  };
};
