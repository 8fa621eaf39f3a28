import { setTimeout as sleep } from 'node:timers/promises';
import { b64, type RawReply, rawCall } from '../../dev/kafka-rest/raw-client.js';

/**
 * A fixed list of raw HTTP exchanges with a Strimzi-style v2 server, sent in order against one topic (2
 * partitions, empty at the start), so the real bridge's answers and the local server's `strimzi` flavor can
 * be set side by side: status, content type and the shape of the body. Each step names what it shows.
 */
export interface Exchange {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** Waited before the request (a lost instance needs the server's inactivity timeout to pass). */
  readonly waitMs?: number;
  /**
   * Sent again, up to this many times in all, while the answer is an empty record list: a first poll after
   * an assign or a seek may legitimately come back empty (protocol doc §6), on the bridge as on our server.
   */
  readonly attempts?: number;
}

export interface ExchangeSetup {
  readonly topic: string;
  /** Consumer group and instance names, fresh per run so a server that keeps state answers the same. */
  readonly group: string;
  /** The server's consumer inactivity timeout (the bridge's `http.timeoutSeconds`), for the lost instance. */
  readonly consumerTimeoutMs: number;
}

export const V2_JSON = 'application/vnd.kafka.v2+json';
export const V2_BINARY = 'application/vnd.kafka.binary.v2+json';

const json = (contentType: string) => ({ 'content-type': contentType, accept: V2_JSON });

export const exchangesFor = ({ topic, group, consumerTimeoutMs }: ExchangeSetup): Exchange[] => {
  const instance = `/consumers/${group}/instances/reader`;
  const other = `/consumers/${group}/instances/other`;
  const produce = (name: string, body: unknown, extra: Partial<Exchange> = {}): Exchange => ({
    name,
    method: 'POST',
    path: `/topics/${topic}`,
    headers: json(V2_BINARY),
    body,
    ...extra,
  });
  return [
    {
      name: "consumer create with Confluent's auto.commit.enable",
      method: 'POST',
      path: `/consumers/${group}`,
      headers: json(V2_JSON),
      body: { name: 'confluent-style', format: 'binary', 'auto.commit.enable': 'false' },
    },
    {
      name: 'consumer create with enable.auto.commit false',
      method: 'POST',
      path: `/consumers/${group}`,
      headers: json(V2_JSON),
      body: {
        name: 'reader',
        format: 'binary',
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': false,
      },
    },
    {
      name: 'consumer create, the same name again',
      method: 'POST',
      path: `/consumers/${group}`,
      headers: json(V2_JSON),
      body: { name: 'reader', format: 'binary', 'enable.auto.commit': false },
    },
    produce('produce with keys and headers', {
      records: [
        { key: b64('k1'), value: b64('one'), partition: 0, headers: [{ key: 'h', value: b64('hv') }] },
        { key: b64('k2'), value: b64('two'), partition: 0 },
        { value: b64('three'), partition: 0 },
      ],
    }),
    produce('produce with value null', { records: [{ value: null, partition: 1 }] }),
    produce('produce with no value field', { records: [{ key: b64('k'), partition: 1 }] }),
    produce('produce with key null', { records: [{ key: null, value: b64('v'), partition: 1 }] }),
    produce('produce to a partition that does not exist (per-record)', {
      records: [
        { value: b64('ok'), partition: 1 },
        { value: b64('nowhere'), partition: 7 },
      ],
    }),
    produce(
      'produce to an unknown topic',
      { records: [{ value: b64('lost') }] },
      { path: `/topics/${topic}-unknown` },
    ),
    produce('produce a record over the broker limit (1.5 MB)', {
      records: [
        { value: b64('small'), partition: 1 },
        { value: Buffer.alloc(1_500_000, 1).toString('base64'), partition: 1 },
      ],
    }),
    produce('produce with bad base64', { records: [{ value: '***', partition: 1 }] }),
    produce('produce with an unknown record field', { records: [{ value: b64('x'), offset: 3 }] }),
    produce(
      'produce with a charset in the content type',
      { records: [{ value: b64('x'), partition: 1 }] },
      { headers: json(`${V2_BINARY}; charset=utf-8`) },
    ),
    produce(
      'produce with the JSON content type',
      { records: [{ value: b64('x'), partition: 1 }] },
      { headers: json('application/json') },
    ),
    {
      name: 'assign partition 0',
      method: 'POST',
      path: `${instance}/assignments`,
      headers: json(V2_JSON),
      body: { partitions: [{ topic, partition: 0 }] },
    },
    {
      name: 'seek on an unassigned partition',
      method: 'POST',
      path: `${instance}/positions`,
      headers: json(V2_JSON),
      body: { offsets: [{ topic, partition: 1, offset: 0 }] },
    },
    {
      name: 'seek past the log end (no bounds check?)',
      method: 'POST',
      path: `${instance}/positions`,
      headers: json(V2_JSON),
      body: { offsets: [{ topic, partition: 0, offset: 1000 }] },
    },
    {
      name: 'records after seeking past the end (auto.offset.reset applied?)',
      method: 'GET',
      path: `${instance}/records?timeout=2000`,
      headers: { accept: V2_BINARY },
      attempts: 5,
    },
    {
      name: 'seek to offset 0',
      method: 'POST',
      path: `${instance}/positions`,
      headers: json(V2_JSON),
      body: { offsets: [{ topic, partition: 0, offset: 0 }] },
    },
    {
      name: 'records with Accept application/vnd.kafka.v2+json',
      method: 'GET',
      path: `${instance}/records?timeout=1000`,
      headers: { accept: V2_JSON },
    },
    {
      name: 'records with a list in Accept',
      method: 'GET',
      path: `${instance}/records?timeout=1000`,
      headers: { accept: `${V2_BINARY}, application/json` },
    },
    {
      name: 'records with max_bytes 10 (smaller than the answer)',
      method: 'GET',
      path: `${instance}/records?timeout=2000&max_bytes=10`,
      headers: { accept: V2_BINARY },
      attempts: 5,
    },
    {
      name: 'records after the overflow (has the position moved?)',
      method: 'GET',
      path: `${instance}/records?timeout=2000`,
      headers: { accept: V2_BINARY },
    },
    {
      name: 'seek to offset 0 again',
      method: 'POST',
      path: `${instance}/positions`,
      headers: json(V2_JSON),
      body: { offsets: [{ topic, partition: 0, offset: 0 }] },
    },
    {
      name: 'records from offset 0',
      method: 'GET',
      path: `${instance}/records?timeout=3000`,
      headers: { accept: V2_BINARY },
      attempts: 5,
    },
    {
      name: 'commit offset 2',
      method: 'POST',
      path: `${instance}/offsets`,
      headers: json(V2_JSON),
      body: { offsets: [{ topic, partition: 0, offset: 2 }] },
    },
    {
      name: 'log bounds of partition 0',
      method: 'GET',
      path: `/topics/${topic}/partitions/0/offsets`,
      headers: { accept: V2_JSON },
    },
    {
      name: 'log bounds of a partition that does not exist',
      method: 'GET',
      path: `/topics/${topic}/partitions/7/offsets`,
      headers: { accept: V2_JSON },
    },
    {
      name: 'log bounds of an unknown topic',
      method: 'GET',
      path: `/topics/${topic}-unknown/partitions/0/offsets`,
      headers: { accept: V2_JSON },
    },
    { name: 'partitions', method: 'GET', path: `/topics/${topic}/partitions`, headers: { accept: V2_JSON } },
    {
      name: 'second consumer, for partition 1',
      method: 'POST',
      path: `/consumers/${group}`,
      headers: json(V2_JSON),
      body: { name: 'other', format: 'binary', 'enable.auto.commit': false },
    },
    {
      name: 'assign partition 1 to it',
      method: 'POST',
      path: `${other}/assignments`,
      headers: json(V2_JSON),
      body: { partitions: [{ topic, partition: 1 }] },
    },
    {
      name: 'seek it to offset 0',
      method: 'POST',
      path: `${other}/positions`,
      headers: json(V2_JSON),
      body: { offsets: [{ topic, partition: 1, offset: 0 }] },
    },
    {
      name: 'records of partition 1 (what value null became)',
      method: 'GET',
      path: `${other}/records?timeout=3000`,
      headers: { accept: V2_BINARY },
      attempts: 5,
    },
    { name: 'delete an instance', method: 'DELETE', path: other, headers: { accept: V2_JSON } },
    { name: 'delete it again', method: 'DELETE', path: other, headers: { accept: V2_JSON } },
    {
      name: 'records of an unknown instance',
      method: 'GET',
      path: `/consumers/${group}/instances/nobody/records`,
      headers: { accept: V2_BINARY },
    },
    {
      name: 'records of an instance lost to the inactivity timeout',
      method: 'GET',
      path: `${instance}/records`,
      headers: { accept: V2_BINARY },
      // The bridge looks for idle instances every half timeout: one and a half timeouts always suffice.
      waitMs: Math.ceil(consumerTimeoutMs * 1.6),
    },
    { name: 'delete the lost instance', method: 'DELETE', path: instance, headers: { accept: V2_JSON } },
  ];
};

export interface Observed {
  readonly exchange: Exchange;
  readonly reply: RawReply;
  /** Parsed JSON body, or the text when it is not JSON. */
  readonly body: unknown;
}

const parse = (text: string): unknown => {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const EXCHANGE_TIMEOUT_MS = 30_000;

/** Sends every exchange in order, each after its wait. Rejects on a network error or a silent server. */
export const runExchanges = async (baseUrl: string, exchanges: readonly Exchange[]): Promise<Observed[]> => {
  const observed: Observed[] = [];
  for (const exchange of exchanges) {
    if (exchange.waitMs !== undefined) await sleep(exchange.waitMs);
    const send = () =>
      rawCall(baseUrl, exchange.method, exchange.path, {
        ...(exchange.headers === undefined ? {} : { headers: exchange.headers }),
        ...(exchange.body === undefined ? {} : { body: exchange.body }),
        // A hung exchange names itself instead of holding the whole recording until its hook times out.
        timeoutMs: EXCHANGE_TIMEOUT_MS,
      });
    // The real bridge now and then leaves one request unanswered (seen on the unknown-topic produce, whose
    // record is never written): sent again on a fresh connection once; a second silence fails the run.
    let reply = await send().catch((error: unknown) => {
      if (!String(error).includes('no answer within')) throw error;
      return send();
    });
    for (
      let attempt = 1;
      attempt < (exchange.attempts ?? 1) && reply.status === 200 && reply.text === '[]';
      attempt += 1
    )
      reply = await send();
    observed.push({ exchange, reply, body: parse(reply.text) });
  }
  return observed;
};

/**
 * The shape of a JSON body: its keys and value types (strings and numbers as their type, arrays as the
 * shapes of their elements), so two servers compare without their offsets, timestamps or hosts. A list
 * of plain values (`validation_errors`) is only its element types: its length is the validator's wording.
 */
export const shapeOf = (value: unknown): unknown => {
  if (Array.isArray(value)) {
    const shapes = value.map(shapeOf);
    return value.every((v) => v === null || typeof v !== 'object') ? [...new Set(shapes)].sort() : shapes;
  }
  if (value === null) return null;
  if (typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shapeOf(v)]),
    );
  return typeof value;
};
