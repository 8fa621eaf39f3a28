import type { KafkaRestFlavor } from './flavors.js';
import type { LogBounds } from './types.js';
import { createBinaryWire } from './v1.js';
import { isOffset } from './v1-parse.js';
import type { WireFormat, WireSettings } from './wire.js';

/**
 * The Kafka REST v2 wire format (protocol doc §6), as pure functions. Produce and metadata keep v1's bodies
 * under v2 media types; reading goes through a consumer instance (create → assign → seek → records →
 * delete), and the log bounds come from `GET …/partitions/{p}/offsets`.
 */
export const V2_MEDIA = {
  produceContentType: 'application/vnd.kafka.binary.v2+json',
  /** Produce, metadata and offsets answers, and the consumer control calls (both ways). */
  accept: 'application/vnd.kafka.v2+json',
  /** `records` answers carry base64 binary records. */
  fetchAccept: 'application/vnd.kafka.binary.v2+json',
} as const;

export const createV2Wire = (settings: WireSettings): WireFormat =>
  createBinaryWire('v2', settings, V2_MEDIA);

export const logOffsetsPath = (basePath: string, topic: string, partition: number): string =>
  `${basePath}/topics/${topic}/partitions/${partition}/offsets`;

export const consumerGroupPath = (basePath: string, group: string): string =>
  `${basePath}/consumers/${encodeURIComponent(group)}`;

/**
 * The instance path to use for every later call. Instances live on the proxy node that created them, so
 * `base_uri` is followed when it points at our own origin; a proxy behind a gateway may name its internal
 * host instead, and then the instance is addressed through the base URL like the create call was.
 */
export const instancePath = (
  baseUrl: URL,
  basePath: string,
  group: string,
  created: ConsumerCreated,
): string => {
  try {
    const uri = new URL(created.baseUri);
    if (uri.origin === baseUrl.origin && uri.pathname.length > 1) return uri.pathname.replace(/\/+$/, '');
  } catch {
    // Not an absolute URL: fall through.
  }
  return `${consumerGroupPath(basePath, group)}/instances/${encodeURIComponent(created.instanceId)}`;
};

/** Redpanda's simple consume (protocol doc §6): all three query parameters are mandatory. */
export const partitionRecordsPath = (
  basePath: string,
  topic: string,
  partition: number,
  offset: number,
  timeoutMs: number,
  maxBytes: number,
): string =>
  `${basePath}/topics/${topic}/partitions/${partition}/records?offset=${offset}&timeout=${timeoutMs}&max_bytes=${maxBytes}`;

export const recordsPath = (instance: string, timeoutMs: number, maxBytes: number): string =>
  `${instance}/records?timeout=${timeoutMs}&max_bytes=${maxBytes}`;

/**
 * A consumer that never commits (the checkpoint table is the source of truth) and reads binary. Reset
 * `earliest`: positions are always set by a seek checked against the log bounds first, so a reset only
 * happens when retention overtakes a reader, which then sees a gap and checks the bounds again.
 *
 * No `isolation.level`: Confluent's v2 `CreateConsumerInstanceRequest` takes only name/id, format,
 * `auto.offset.reset`, `auto.commit.enable`, `fetch.min.bytes` and `consumer.request.timeout.ms` (an
 * unknown field is a 422 on some versions), and Karapace passes none on to its consumer. Which records of
 * aborted transactions a drain sees is the proxy's consumer configuration: on Confluent's, Kafka consumer
 * settings given with the `consumer.` prefix (`consumer.isolation.level=read_committed`); on Karapace, its
 * client library's default (read_committed with librdkafka, read_uncommitted with the older aiokafka).
 * Strimzi would take `isolation.level`, but one setting for every flavor keeps drains alike: the bridge's
 * `kafka.consumer.isolation.level` decides there.
 */
export const createConsumerBody = (name: string, flavor: KafkaRestFlavor): string =>
  JSON.stringify({
    name,
    format: 'binary',
    'auto.offset.reset': 'earliest',
    // Strimzi validates against its OpenAPI document: Confluent's string field is an unknown one there (a
    // 400), and its own is Kafka's name, a JSON boolean (auto-commit is on unless `false` is sent, §9).
    ...(flavor === 'strimzi' ? { 'enable.auto.commit': false } : { 'auto.commit.enable': 'false' }),
  });

export const assignBody = (topic: string, partition: number): string =>
  JSON.stringify({ partitions: [{ topic, partition }] });

/** `offset` is the next record to fetch (protocol doc §6). */
export const seekBody = (topic: string, partition: number, offset: number): string =>
  JSON.stringify({ offsets: [{ topic, partition, offset }] });

export interface ConsumerCreated {
  readonly instanceId: string;
  readonly baseUri: string;
}

export const parseConsumerCreated = (body: string): ConsumerCreated | undefined => {
  const parsed = parseJson(body) as { instance_id?: unknown; base_uri?: unknown } | undefined;
  const instanceId = parsed?.instance_id;
  const baseUri = parsed?.base_uri;
  if (typeof instanceId !== 'string' || instanceId === '' || typeof baseUri !== 'string') return undefined;
  return { instanceId, baseUri };
};

/** `{"beginning_offset","end_offset"}`, both offsets, start ≤ end. */
export const parseLogOffsets = (body: string): LogBounds | undefined => {
  const parsed = parseJson(body) as { beginning_offset?: unknown; end_offset?: unknown } | undefined;
  const start = parsed?.beginning_offset;
  const end = parsed?.end_offset;
  if (!isOffset(start) || !isOffset(end) || start > end) return undefined;
  return { start, end };
};

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};
