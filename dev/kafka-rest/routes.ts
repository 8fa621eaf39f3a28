import type { Flavor } from './flavors.js';

/** Every resource the server knows, with the methods it allows (405 with `Allow` for the others). */
export const ROUTE_METHODS = {
  root: ['GET'],
  topics: ['GET'],
  topic: ['GET', 'POST'],
  partitions: ['GET'],
  partition: ['GET', 'POST'],
  messages: ['GET'],
  brokers: ['GET'],
  /** v2 (CP 5.4+): `GET /topics/{t}/partitions/{p}/offsets`. */
  'partition-offsets': ['GET'],
  /** Redpanda's simple consume: `GET /topics/{t}/partitions/{p}/records?offset&timeout&max_bytes`. */
  'partition-records': ['GET'],
  /** `POST /consumers/{g}`: create a v1 or v2 instance. */
  'consumer-group': ['POST'],
  instance: ['DELETE'],
  /** v1 read: `GET /consumers/{g}/instances/{i}/topics/{t}`. */
  'instance-topic': ['GET'],
  'instance-offsets': ['GET', 'POST'],
  'instance-records': ['GET'],
  'instance-assignments': ['GET', 'POST'],
  'instance-subscription': ['GET', 'POST', 'DELETE'],
  'instance-positions': ['POST'],
  'instance-positions-beginning': ['POST'],
  'instance-positions-end': ['POST'],
  /** v3: `POST [/kafka]/v3/clusters/{c}/topics/{t}/records`. */
  'v3-records': ['POST'],
} as const satisfies Record<string, readonly string[]>;

export type RouteName = keyof typeof ROUTE_METHODS;

/** A matched path; the fields a route does not have are ''. */
export interface Route {
  readonly name: RouteName;
  readonly topic: string;
  /** Raw, still to be parsed as a Java int (JAX-RS: not a number → 404). */
  readonly partition: string;
  readonly group: string;
  readonly instance: string;
  readonly cluster: string;
}

const INSTANCE_SUBRESOURCES: Readonly<Record<string, RouteName>> = {
  offsets: 'instance-offsets',
  records: 'instance-records',
  assignments: 'instance-assignments',
  subscription: 'instance-subscription',
  positions: 'instance-positions',
};

const route = (
  name: RouteName,
  fields: { readonly [K in keyof Omit<Route, 'name'>]?: string | undefined } = {},
): Route => ({
  name,
  topic: fields.topic ?? '',
  partition: fields.partition ?? '',
  group: fields.group ?? '',
  instance: fields.instance ?? '',
  cluster: fields.cluster ?? '',
});

const matchTopics = (s: readonly string[]): Route | undefined => {
  const [, topic, b, partition, c, ...rest] = s;
  if (s.length === 1) return route('topics');
  if (s.length === 2) return route('topic', { topic });
  if (b !== 'partitions') return undefined;
  if (s.length === 3) return route('partitions', { topic });
  if (s.length === 4) return route('partition', { topic, partition });
  if (rest.length > 0) return undefined;
  if (c === 'messages') return route('messages', { topic, partition });
  if (c === 'records') return route('partition-records', { topic, partition });
  return c === 'offsets' ? route('partition-offsets', { topic, partition }) : undefined;
};

const matchConsumers = (s: readonly string[]): Route | undefined => {
  const [, group, b, instance, c, d, ...rest] = s;
  if (rest.length > 0) return undefined;
  if (s.length === 2) return route('consumer-group', { group });
  if (b !== 'instances' || s.length < 4) return undefined;
  if (s.length === 4) return route('instance', { group, instance });
  if (s.length === 5) {
    const name = INSTANCE_SUBRESOURCES[c as string];
    return name === undefined ? undefined : route(name, { group, instance });
  }
  if (c === 'topics') return route('instance-topic', { group, instance, topic: d });
  if (c === 'positions' && d === 'beginning')
    return route('instance-positions-beginning', { group, instance });
  if (c === 'positions' && d === 'end') return route('instance-positions-end', { group, instance });
  return undefined;
};

const matchV3 = (s: readonly string[]): Route | undefined => {
  const [, clusters, cluster, topics, topic, records, ...rest] = s;
  if (rest.length > 0 || clusters !== 'clusters' || topics !== 'topics' || records !== 'records')
    return undefined;
  return route('v3-records', { cluster, topic });
};

/** Matches a raw (percent-encoded) path; undefined → 404. */
export const matchRoute = (path: string): Route | undefined => {
  const raw = path.split('/');
  if (raw[0] !== '') return undefined;
  raw.shift();
  // Jersey tolerates one trailing slash.
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  let segments: string[];
  try {
    segments = raw.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  if (segments.some((s) => s === '')) return undefined;
  const [a] = segments;
  if (a === undefined) return route('root');
  if (a === 'brokers') return segments.length === 1 ? route('brokers') : undefined;
  if (a === 'topics') return matchTopics(segments);
  if (a === 'consumers') return matchConsumers(segments);
  if (a === 'v3') return matchV3(segments);
  // Confluent Cloud and Confluent Server put v3 under `/kafka`.
  if (a === 'kafka' && segments[1] === 'v3') return matchV3(segments.slice(1));
  return undefined;
};

/** The v2 routes Redpanda's pandaproxy does not register (rest/proxy.cc); v1 and v3 stay on every flavor. */
const ABSENT_FROM_REDPANDA: ReadonlySet<RouteName> = new Set([
  'partition-offsets',
  'instance-assignments',
  'instance-positions',
  'instance-positions-beginning',
  'instance-positions-end',
]);

/** Whether a flavor's proxy has the route at all: the simple consume `…/records` is Redpanda's alone. */
export const flavorHasRoute = (flavor: Flavor, name: RouteName): boolean =>
  flavor === 'redpanda' ? !ABSENT_FROM_REDPANDA.has(name) : name !== 'partition-records';

/** The `/consumers/…` routes, all answered by the consumer-instance handler. */
export const isConsumerRoute = (name: RouteName): boolean =>
  name === 'consumer-group' || name.startsWith('instance');
