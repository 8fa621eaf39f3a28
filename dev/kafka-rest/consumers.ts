import { randomUUID } from 'node:crypto';
import type {
  ConsumedRecord,
  ConsumerApi,
  ConsumerFailure,
  ConsumerInstance,
  ConsumerRegistry,
  ConsumerRegistryOptions,
  TopicPartition,
  V1Commit,
  V2Instance,
} from './consumer-types.js';
import { CONSUMER_ERROR_CODES, fail, INSTANCE_NOT_FOUND } from './consumer-types.js';
import { base64DecodedLength } from './produce-request.js';

/**
 * Consumer instances of the v1 high-level consumer (protocol doc §2.6) and of the v2 consumer (§6), as
 * state only: the HTTP side is in `consumer-routes.ts`. Committed offsets belong to the group, as in Kafka
 * (v2) or ZooKeeper (v1), so they outlive the instances, a "restart" of the proxy and each other's
 * deletion; the two APIs keep separate stores, as the old and the new consumer did.
 *
 * Simplifications, on purpose: one instance never shares partitions with another (no group rebalancing:
 * every instance reading a topic reads all of its partitions, and only the `unassign` fault takes them
 * away), reads hand out headers only to Strimzi's record shape (Confluent's v1 and v2 have no field for
 * them) and no timestamps, and only the binary embedded format exists (IBM Message Hub's only one).
 */

/** Kafka's `max.poll.records` default: a v2 read returns at most this many records. */
export const MAX_POLL_RECORDS = 500;

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Decoded key + value size, what `max_bytes` counts. */
export const recordBytes = (key: string | null, value: string | null): number =>
  (key === null ? 0 : base64DecodedLength(key)) + (value === null ? 0 : base64DecodedLength(value));

const illegalState = (message: string): ConsumerFailure =>
  fail(409, CONSUMER_ERROR_CODES.ILLEGAL_STATE, `Illegal state: ${message}`);

const MUTUALLY_EXCLUSIVE = illegalState(
  'Subscription to topics, partitions and pattern are mutually exclusive',
);

export const createConsumerRegistry = (options: ConsumerRegistryOptions): ConsumerRegistry => {
  const { store, now, idleMs, emptyReadsAfterSeek } = options;
  const instances = new Map<string, ConsumerInstance>();
  // `${api}\u0000${group}` → tpKey → committed next-to-read offset.
  const committed = new Map<string, Map<string, number>>();

  const instanceKey = (group: string, id: string): string => `${group}\u0000${id}`;

  const groupOffsets = (api: ConsumerApi, group: string): Map<string, number> => {
    const key = `${api}\u0000${group}`;
    let offsets = committed.get(key);
    if (offsets === undefined) {
      offsets = new Map();
      committed.set(key, offsets);
    }
    return offsets;
  };

  // Confluent's expiration thread runs every second; checking on each access gives the same answers.
  const expire = (): void => {
    const cutoff = now() - idleMs;
    for (const [key, instance] of instances) {
      if (instance.lastUsedMs <= cutoff && !(instance.api === 'v1' && instance.busy)) instances.delete(key);
    }
  };

  const checkPartition = (topic: string, partition: number): ConsumerFailure | undefined => {
    const count = store.partitionCount(topic);
    if (count === undefined) return fail(404, CONSUMER_ERROR_CODES.TOPIC_NOT_FOUND, 'Topic not found.');
    if (partition < 0 || partition >= count)
      return fail(404, CONSUMER_ERROR_CODES.PARTITION_NOT_FOUND, 'Partition not found.');
    return undefined;
  };

  const isAssigned = (instance: V2Instance, topic: string, partition: number): boolean =>
    instance.assignment.some((tp) => tp.topic === topic && tp.partition === partition);

  const notAssigned = (tp: TopicPartition): ConsumerFailure =>
    illegalState(`No current assignment for partition ${tp.topic}-${tp.partition}`);

  /** Where to start when there is no position: the group's commit, else the reset policy (undefined: none). */
  const startingOffset = (
    api: ConsumerApi,
    group: string,
    reset: string,
    topic: string,
    partition: number,
  ): number | undefined => {
    const commit = groupOffsets(api, group).get(tpKey(topic, partition));
    const { start, end } = store.bounds(topic, partition);
    if (commit !== undefined && commit >= start && commit <= end) return commit;
    return resetOffset(reset, start, end);
  };

  const resetOffset = (reset: string, start: number, end: number): number | undefined =>
    reset === 'earliest' || reset === 'smallest'
      ? start
      : reset === 'latest' || reset === 'largest'
        ? end
        : undefined;

  /** Drops the partitions and their positions; a subscription, if any, is joined again at the next read. */
  const revoke = (instance: V2Instance): void => {
    instance.assignment = [];
    instance.positions.clear();
    instance.joined = false;
  };

  const joinSubscription = (instance: V2Instance): void => {
    const subscription = instance.subscription;
    if (subscription === undefined) return;
    const matches = (topic: string): boolean =>
      'topics' in subscription ? subscription.topics.includes(topic) : subscription.pattern.test(topic);
    const assignment: TopicPartition[] = [];
    for (const topic of store.topicNames()) {
      if (!matches(topic)) continue;
      const count = store.partitionCount(topic) ?? 0;
      for (let p = 0; p < count; p++) assignment.push({ topic, partition: p });
    }
    instance.assignment = assignment;
    instance.joined = true;
    instance.emptyReadsLeft = emptyReadsAfterSeek;
  };

  return {
    create: (api, group, config) => {
      expire();
      const id = config.name ?? `rest-consumer-${randomUUID()}`;
      const key = instanceKey(group, id);
      if (instances.has(key)) {
        return fail(
          409,
          CONSUMER_ERROR_CODES.INSTANCE_EXISTS,
          'Consumer with specified consumer ID already exists in the specified consumer group.',
        );
      }
      const base = { group, id, config, lastUsedMs: now() };
      const instance: ConsumerInstance =
        api === 'v1'
          ? { ...base, api, topic: undefined, positions: new Map(), consumed: new Map(), busy: false }
          : {
              ...base,
              api,
              assignment: [],
              positions: new Map(),
              subscription: undefined,
              joined: false,
              emptyReadsLeft: 0,
            };
      instances.set(key, instance);
      return instance;
    },
    find: (api, group, id) => {
      expire();
      const instance = instances.get(instanceKey(group, id));
      if (instance === undefined || (api !== undefined && instance.api !== api)) return INSTANCE_NOT_FOUND;
      instance.lastUsedMs = now();
      return instance;
    },
    remove: (instance) => {
      instances.delete(instanceKey(instance.group, instance.id));
    },
    restart: () => instances.clear(),
    unassign: (group, id) => {
      const instance = instances.get(instanceKey(group, id));
      if (instance?.api === 'v2') revoke(instance);
    },
    size: () => {
      expire();
      return instances.size;
    },

    assign: (instance, partitions) => {
      if (instance.subscription !== undefined) return MUTUALLY_EXCLUSIVE;
      for (const tp of partitions) {
        const problem = checkPartition(tp.topic, tp.partition);
        if (problem !== undefined) return problem;
      }
      const keep = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
      for (const key of instance.positions.keys()) if (!keep.has(key)) instance.positions.delete(key);
      const unique = new Map(partitions.map((tp) => [tpKey(tp.topic, tp.partition), tp]));
      instance.assignment = [...unique.values()].map((tp) => ({ topic: tp.topic, partition: tp.partition }));
      instance.emptyReadsLeft = emptyReadsAfterSeek;
      return undefined;
    },
    subscribe: (instance, topics) => {
      if (instance.subscription === undefined && instance.assignment.length > 0) return MUTUALLY_EXCLUSIVE;
      instance.subscription = topics instanceof RegExp ? { pattern: topics } : { topics: [...topics] };
      revoke(instance);
      return undefined;
    },
    unsubscribe: (instance) => {
      instance.subscription = undefined;
      revoke(instance);
    },
    seek: (instance, offsets) => {
      for (const entry of offsets)
        if (!isAssigned(instance, entry.topic, entry.partition)) return notAssigned(entry);
      for (const entry of offsets) instance.positions.set(tpKey(entry.topic, entry.partition), entry.offset);
      instance.emptyReadsLeft = emptyReadsAfterSeek;
      return undefined;
    },
    seekToEdge: (instance, partitions, edge) => {
      for (const tp of partitions) if (!isAssigned(instance, tp.topic, tp.partition)) return notAssigned(tp);
      // Kafka resolves these lazily, at the next poll: `end` then skips records written in between.
      for (const tp of partitions) instance.positions.set(tpKey(tp.topic, tp.partition), edge);
      instance.emptyReadsLeft = emptyReadsAfterSeek;
      return undefined;
    },
    readV2: (instance, maxBytes) => {
      if (instance.subscription !== undefined && !instance.joined) joinSubscription(instance);
      if (instance.emptyReadsLeft > 0) {
        instance.emptyReadsLeft -= 1;
        return { records: [], warmingUp: true };
      }
      // Resolve every position first, so an out-of-range one fails the read before anything moves.
      const plan: { tp: TopicPartition; from: number; end: number }[] = [];
      for (const tp of instance.assignment) {
        // A topic deleted (or re-created smaller) since the assignment has nothing to read.
        if (tp.partition >= (store.partitionCount(tp.topic) ?? 0)) continue;
        const key = tpKey(tp.topic, tp.partition);
        const { start, end } = store.bounds(tp.topic, tp.partition);
        const position = instance.positions.get(key);
        let from =
          position === 'beginning'
            ? start
            : position === 'end'
              ? end
              : (position ??
                startingOffset(
                  'v2',
                  instance.group,
                  instance.config.autoOffsetReset,
                  tp.topic,
                  tp.partition,
                ));
        if (from !== undefined && (from < start || from > end)) {
          from = resetOffset(instance.config.autoOffsetReset, start, end);
          if (from === undefined) {
            return fail(
              500,
              CONSUMER_ERROR_CODES.KAFKA_ERROR,
              `Kafka error: Offsets out of range with no configured reset policy for partitions: {${tp.topic}-${tp.partition}=${position}}`,
            );
          }
        }
        if (from === undefined) {
          return fail(
            500,
            CONSUMER_ERROR_CODES.KAFKA_ERROR,
            `Kafka error: Undefined offset with no reset policy for partitions: [${tp.topic}-${tp.partition}]`,
          );
        }
        instance.positions.set(key, from);
        plan.push({ tp, from, end });
      }
      const records: ConsumedRecord[] = [];
      let bytes = 0;
      for (const { tp, from, end } of plan) {
        if (records.length >= MAX_POLL_RECORDS || bytes >= maxBytes) break;
        const entries = store.read(tp.topic, tp.partition, from, Math.min(end - from, MAX_POLL_RECORDS));
        let next = from;
        for (const entry of entries) {
          const size = recordBytes(entry.key, entry.value);
          // At least one record per read, so a record larger than max_bytes cannot stall the consumer.
          if (records.length >= MAX_POLL_RECORDS || (records.length > 0 && bytes + size > maxBytes)) break;
          records.push({
            topic: tp.topic,
            partition: tp.partition,
            offset: next,
            key: entry.key,
            value: entry.value,
            ...(entry.headers === undefined ? {} : { headers: entry.headers }),
            ...(entry.timestamp === undefined ? {} : { timestamp: entry.timestamp }),
          });
          bytes += size;
          next += 1;
        }
        instance.positions.set(tpKey(tp.topic, tp.partition), next);
      }
      if (instance.config.autoCommit) {
        const offsets = groupOffsets('v2', instance.group);
        for (const { tp } of plan) {
          const position = instance.positions.get(tpKey(tp.topic, tp.partition));
          if (typeof position === 'number') offsets.set(tpKey(tp.topic, tp.partition), position);
        }
      }
      return { records, warmingUp: false };
    },
    commitV2: (instance, offsets) => {
      const store2 = groupOffsets('v2', instance.group);
      if (offsets === undefined) {
        for (const tp of instance.assignment) {
          const position = instance.positions.get(tpKey(tp.topic, tp.partition));
          if (typeof position === 'number') store2.set(tpKey(tp.topic, tp.partition), position);
        }
        return undefined;
      }
      for (const entry of offsets) {
        const problem = checkPartition(entry.topic, entry.partition);
        if (problem !== undefined) return problem;
      }
      // The proxy adds 1: a client sends the last offset it processed (protocol doc §6, S11).
      for (const entry of offsets) store2.set(tpKey(entry.topic, entry.partition), entry.offset + 1);
      return undefined;
    },
    committedV2: (instance, partitions) => {
      const offsets = groupOffsets('v2', instance.group);
      const out: (TopicPartition & { offset: number })[] = [];
      for (const tp of partitions) {
        const offset = offsets.get(tpKey(tp.topic, tp.partition));
        // Kafka's committed() is null for a partition with no commit; Confluent leaves it out.
        if (offset !== undefined) out.push({ topic: tp.topic, partition: tp.partition, offset });
      }
      return out;
    },

    readV1: (instance, topic, maxBytes) => {
      const count = store.partitionCount(topic);
      if (count === undefined) return fail(404, CONSUMER_ERROR_CODES.TOPIC_NOT_FOUND, 'Topic not found.');
      if (instance.topic !== undefined && instance.topic !== topic) {
        return fail(
          409,
          CONSUMER_ERROR_CODES.ALREADY_SUBSCRIBED,
          'Consumer cannot subscribe the the specified target because it has already subscribed to other topics.',
        );
      }
      instance.topic = topic;
      const records: ConsumedRecord[] = [];
      let bytes = 0;
      for (let p = 0; p < count; p++) {
        const { start, end } = store.bounds(topic, p);
        let from =
          instance.positions.get(p) ??
          startingOffset('v1', instance.group, instance.config.autoOffsetReset, topic, p) ??
          end;
        // The old consumer applies auto.offset.reset when retention removed its position.
        if (from < start || from > end)
          from = resetOffset(instance.config.autoOffsetReset, start, end) ?? end;
        let next = from;
        for (const entry of store.read(topic, p, from, end - from)) {
          const size = recordBytes(entry.key, entry.value);
          if (records.length > 0 && bytes + size > maxBytes) break;
          records.push({ topic, partition: p, offset: next, key: entry.key, value: entry.value });
          bytes += size;
          next += 1;
        }
        instance.positions.set(p, next);
        if (next > from) instance.consumed.set(p, next - 1);
        if (records.length > 0 && bytes >= maxBytes) break;
      }
      if (instance.config.autoCommit) {
        const offsets = groupOffsets('v1', instance.group);
        for (const [p, last] of instance.consumed) offsets.set(tpKey(topic, p), last + 1);
      }
      return records;
    },
    commitV1: (instance) => {
      const topic = instance.topic;
      if (topic === undefined) return [];
      const offsets = groupOffsets('v1', instance.group);
      const out: V1Commit[] = [];
      for (const [partition, last] of [...instance.consumed].sort((a, b) => a[0] - b[0])) {
        offsets.set(tpKey(topic, partition), last + 1);
        // Confluent's v1 ConsumerState reports the last consumed offset as both consumed and committed.
        out.push({ topic, partition, consumed: last, committed: last });
      }
      return out;
    },
  };
};
