import { notFound, partitionNotFound, topicNotFound } from './answers.js';
import type { Exchange } from './exchange.js';
import { parseJavaInt, send } from './exchange.js';
import type { LogStore } from './log-store.js';
import type { Producible } from './media-types.js';
import { PRODUCES } from './media-types.js';
import type { Route, RouteName } from './routes.js';

// A single broker, id 0 like Kafka's sample server.properties, leading every partition.
const BROKER_ID = 0;

/** What a v1/v2 metadata GET can answer with: v1's types first, so that no Accept (a tie at qs 0.9) means v1. */
export const producesFor = (route: RouteName): readonly Producible[] => {
  if (route === 'messages') return PRODUCES.messages;
  if (route === 'partitions' || route === 'partition')
    return [...PRODUCES.partitions, ...PRODUCES.v2Metadata];
  return [...PRODUCES.metadata, ...PRODUCES.v2Metadata];
};

const partitionJson = (partition: number): string =>
  `{"partition":${partition},"leader":${BROKER_ID},"replicas":[{"broker":${BROKER_ID},"leader":true,"in_sync":true}]}`;

const partitionsJson = (count: number): string => {
  const parts: string[] = [];
  for (let p = 0; p < count; p++) parts.push(partitionJson(p));
  return `[${parts.join(',')}]`;
};

/** The v1/v2 metadata GETs (`/`, `/topics[/{t}[/partitions[/{p}[/offsets]]]]`, `/brokers`) over the log. */
export const createMetadataHttp = (store: Pick<LogStore, 'topicNames' | 'partitionCount' | 'bounds'>) => {
  /** The partition a route names, or undefined once it answered 404 for a bad one. */
  const partitionOf = (x: Exchange, route: Route): number | undefined => {
    const partition = parseJavaInt(route.partition, 32);
    if (partition === undefined) return void notFound(x);
    const count = store.partitionCount(route.topic);
    if (count === undefined) return void topicNotFound(x);
    if (partition < 0 || partition >= count) return void partitionNotFound(x);
    return partition;
  };

  return {
    /** A GET of `root`, `topics`, `brokers`, `topic`, `partitions` or `partition`, in `contentType`. */
    get: (x: Exchange, route: Route, contentType: string) => {
      switch (route.name) {
        case 'root':
          return send(x, 200, contentType, '{}');
        case 'topics':
          return send(x, 200, contentType, JSON.stringify(store.topicNames()));
        case 'brokers':
          return send(x, 200, contentType, `{"brokers":[${BROKER_ID}]}`);
        case 'topic': {
          const count = store.partitionCount(route.topic);
          if (count === undefined) return topicNotFound(x);
          const name = JSON.stringify(route.topic);
          return send(
            x,
            200,
            contentType,
            `{"name":${name},"configs":{},"partitions":${partitionsJson(count)}}`,
          );
        }
        case 'partitions': {
          const count = store.partitionCount(route.topic);
          if (count === undefined) return topicNotFound(x);
          return send(x, 200, contentType, partitionsJson(count));
        }
        case 'partition': {
          const partition = partitionOf(x, route);
          if (partition !== undefined) send(x, 200, contentType, partitionJson(partition));
          return;
        }
        default:
          return notFound(x);
      }
    },
    /** v2 (CP 5.4+): `GET /topics/{t}/partitions/{p}/offsets`; `end_offset` is the next offset to be written. */
    partitionOffsets: (x: Exchange, route: Route, contentType: string) => {
      const partition = partitionOf(x, route);
      if (partition === undefined) return;
      const { start, end } = store.bounds(route.topic, partition);
      send(x, 200, contentType, `{"beginning_offset":${start},"end_offset":${end}}`);
    },
  };
};
