import type {
  ConsumedRecord,
  ConsumerFailure,
  ConsumerRegistry,
  TopicPartition,
  V2Instance,
} from './consumer-types.js';
import { isConsumerFailure } from './consumer-types.js';
import type { Exchange } from './exchange.js';
import { firstQueryValues, parseJavaInt, send } from './exchange.js';
import type { RecordWait } from './record-wait.js';
import { readWithWait } from './record-wait.js';
import type { Route } from './routes.js';
import { answer, BINARY_V2, body, controlType, error, failure, noContent } from './strimzi-answers.js';
import { SCHEMAS } from './strimzi-schemas.js';

/** The bridge's `timeout` default for a records read, in ms. */
const DEFAULT_POLL_TIMEOUT_MS = 100;
/** Kafka's `max.partition.fetch.bytes` default: what one poll hands back, whatever `max_bytes` says. */
const POLL_MAX_BYTES = 1_048_576;

/** The bridge's consumer instances (protocol doc §9) over the shared registry. */
export const createStrimziConsumers = (
  deps: RecordWait & { readonly registry: ConsumerRegistry; readonly requestTimeoutMs: number },
) => {
  const { registry } = deps;

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

  return { createConsumer, onInstance };
};
