import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createAdminApi, isAdminPath } from './admin.js';
import { DevKafkaRestError } from './errors.js';
import { checkChaos, createFaultQueue, createPrng } from './faults.js';
import type { LogStore } from './log-store.js';
import { createLogStore } from './log-store.js';
import type { Producible } from './media-types.js';
import { errorContentType, isBinaryProduceContentType, negotiate, PRODUCES } from './media-types.js';
import { partitionForKey } from './murmur2.js';
import type { BodyError } from './produce-request.js';
import { parseProduceBody } from './produce-request.js';
import type {
  Fault,
  KafkaRestServer,
  KafkaRestServerOptions,
  RecordedRequest,
  StoredRecord,
  UnknownTopicMode,
} from './types.js';
import { UNKNOWN_TOPIC_MODES } from './types.js';

export type {
  ChaosOptions,
  Fault,
  FaultMatch,
  KafkaRestServer,
  KafkaRestServerOptions,
  RecordedRequest,
  StoredRecord,
  UnknownTopicMode,
} from './types.js';

/** Kafka REST error codes this server sends (protocol doc §3). */
export const KAFKA_REST_ERROR_CODES = {
  UNAUTHORIZED: 40101,
  FORBIDDEN: 40301,
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  KAFKA_ERROR: 50002,
  KAFKA_RETRIABLE_ERROR: 50003,
} as const;

const DEFAULTS = {
  topics: { demo: 3 },
  unknownTopic: '404',
  autoCreatePartitions: 1,
  maxRecordBytes: 1_048_576,
  latencyMs: 0,
  host: '127.0.0.1',
  port: 0,
} as const;

// A single broker, id 0 like Kafka's sample server.properties, leading every partition.
const BROKER_ID = 0;

const ROUTE_METHODS = {
  root: ['GET'],
  topics: ['GET'],
  topic: ['GET', 'POST'],
  partitions: ['GET'],
  partition: ['GET', 'POST'],
  messages: ['GET'],
  brokers: ['GET'],
} as const satisfies Record<string, readonly string[]>;

type RouteName = keyof typeof ROUTE_METHODS;

interface Route {
  readonly name: RouteName;
  readonly topic: string;
  readonly partition: string;
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Upper-case, HEAD already folded into GET. */
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body: string;
  readonly accept: string | undefined;
}

const DEFAULT_RECORD_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  [KAFKA_REST_ERROR_CODES.KAFKA_ERROR]: 'Kafka error (simulated non-retriable failure)',
  [KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR]: 'This server is not the leader for that topic-partition.',
  [KAFKA_REST_ERROR_CODES.UNAUTHORIZED]: 'Authentication failed',
  [KAFKA_REST_ERROR_CODES.FORBIDDEN]: 'Not authorized to access topics',
};

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Java's `Integer.valueOf` / `Long.valueOf` as JAX-RS applies them to parameters: undefined = not a number → 404. */
const parseJavaInt = (raw: string, bits: 32 | 64): number | undefined => {
  if (!/^[+-]?\d+$/.test(raw)) return undefined;
  if (bits === 32) {
    const n = Number(raw);
    return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
  }
  const big = BigInt(raw);
  return big >= INT64_MIN && big <= INT64_MAX ? Number(big) : undefined;
};

const matchRoute = (path: string): Route | undefined => {
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
  const [a, topic = '', b, partition = '', c, ...rest] = segments;
  if (rest.length > 0) return undefined;
  if (a === undefined) return { name: 'root', topic, partition };
  if (a === 'brokers' && segments.length === 1) return { name: 'brokers', topic, partition };
  if (a !== 'topics') return undefined;
  if (segments.length === 1) return { name: 'topics', topic, partition };
  if (segments.length === 2) return { name: 'topic', topic, partition };
  if (b !== 'partitions') return undefined;
  if (segments.length === 3) return { name: 'partitions', topic, partition };
  if (segments.length === 4) return { name: 'partition', topic, partition };
  return c === 'messages' ? { name: 'messages', topic, partition } : undefined;
};

const producesFor = (route: RouteName): readonly Producible[] => {
  if (route === 'messages') return PRODUCES.messages;
  if (route === 'partitions' || route === 'partition') return PRODUCES.partitions;
  return PRODUCES.metadata;
};

const envelope = (errorCode: number, message: string): string =>
  JSON.stringify({ error_code: errorCode, message });

const partitionJson = (partition: number): string =>
  `{"partition":${partition},"leader":${BROKER_ID},"replicas":[{"broker":${BROKER_ID},"leader":true,"in_sync":true}]}`;

const b64Json = (b64: string | null): string => (b64 === null ? 'null' : `"${b64}"`);

const firstQueryValues = (query: string): Record<string, string> => {
  const out: Record<string, string> = {};
  if (query === '') return out;
  for (const [name, value] of new URLSearchParams(query)) if (!(name in out)) out[name] = value;
  return out;
};

const checkOptions = (options: KafkaRestServerOptions): string[] => {
  const problems: string[] = [];
  const positiveInt = (name: string, value: unknown): void => {
    if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
      problems.push(`${name} must be a positive integer`);
    }
  };
  if (options.topics !== undefined) {
    for (const [name, partitions] of Object.entries(options.topics)) {
      if (name === '') problems.push('topics: a topic name must not be empty');
      positiveInt(`topics.${name}`, partitions);
    }
  }
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey === '')) {
    problems.push('apiKey must be a non-empty string');
  }
  if (options.unknownTopic !== undefined && !UNKNOWN_TOPIC_MODES.includes(options.unknownTopic)) {
    problems.push(`unknownTopic must be one of ${UNKNOWN_TOPIC_MODES.join(', ')}`);
  }
  positiveInt('autoCreatePartitions', options.autoCreatePartitions);
  positiveInt('maxRecordBytes', options.maxRecordBytes);
  if (options.latencyMs !== undefined && !(Number.isFinite(options.latencyMs) && options.latencyMs >= 0)) {
    problems.push('latencyMs must be a number >= 0');
  }
  if (
    options.port !== undefined &&
    !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)
  ) {
    problems.push('port must be an integer in [0, 65535]');
  }
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) {
    problems.push('host must be a non-empty string');
  }
  if (options.log !== undefined && typeof options.log !== 'function') problems.push('log must be a function');
  if (options.chaos !== undefined) problems.push(...checkChaos(options.chaos));
  return problems;
};

/**
 * Starts a local Kafka REST **v1** server (binary embedded format, the IBM Message Hub dialect) that
 * follows `kafka-rest-protocol.md` §1–§3 and §8, with scripted faults for tests. Throws
 * `DevKafkaRestError` `ERR_INVALID_ARG` listing every bad option, or when the data directory cannot be
 * loaded; rejects when the port cannot be bound.
 */
export const startKafkaRestServer = async (
  options: KafkaRestServerOptions = {},
): Promise<KafkaRestServer> => {
  const problems = checkOptions(options);
  if (problems.length > 0) {
    throw new DevKafkaRestError(
      'ERR_INVALID_ARG',
      `invalid Kafka REST server options:\n- ${problems.join('\n- ')}`,
    );
  }
  const unknownTopic: UnknownTopicMode = options.unknownTopic ?? DEFAULTS.unknownTopic;
  const autoCreatePartitions = options.autoCreatePartitions ?? DEFAULTS.autoCreatePartitions;
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULTS.maxRecordBytes;
  const latencyMs = options.latencyMs ?? DEFAULTS.latencyMs;
  const recordRequests = options.recordRequests ?? true;
  const log = options.log;
  const chaos = options.chaos;
  const random = chaos === undefined ? undefined : createPrng(chaos.seed);

  const store: LogStore = createLogStore(options.topics ?? DEFAULTS.topics, options.dataDir);
  const admin = createAdminApi(store);
  const faults = createFaultQueue();
  const requests: RecordedRequest[] = [];
  let apiKey = options.apiKey === undefined ? undefined : Buffer.from(options.apiKey);
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  // After close() the timer never fires, so a sleeping handler never resumes to touch a closed store.
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const send = (
    x: Exchange,
    status: number,
    contentType: string | undefined,
    body: string | undefined,
    headers?: OutgoingHttpHeaders,
  ): void => {
    const out: OutgoingHttpHeaders = { ...headers };
    if (contentType !== undefined) out['content-type'] = contentType;
    out['content-length'] = body === undefined ? 0 : Buffer.byteLength(body);
    x.res.writeHead(status, out);
    x.res.end(body);
  };

  const sendError = (
    x: Exchange,
    status: number,
    errorCode: number,
    message: string,
    headers?: OutgoingHttpHeaders,
  ): void => send(x, status, errorContentType(x.accept), envelope(errorCode, message), headers);

  const notFound = (x: Exchange): void => sendError(x, 404, 404, 'HTTP 404 Not Found');
  const topicNotFound = (x: Exchange): void =>
    sendError(x, 404, KAFKA_REST_ERROR_CODES.TOPIC_NOT_FOUND, 'Topic not found.');
  const partitionNotFound = (x: Exchange): void =>
    sendError(x, 404, KAFKA_REST_ERROR_CODES.PARTITION_NOT_FOUND, 'Partition not found.');
  const internalError = (x: Exchange): void => sendError(x, 500, 500, 'Internal Server Error');

  const sendBodyError = (x: Exchange, error: BodyError): void => {
    // rest-utils of the v1 era answered Jackson parse failures in plain text, not in the envelope.
    if (error.kind === 'text') send(x, 400, 'text/plain', error.text);
    else sendError(x, error.status, error.errorCode, error.message);
  };

  const drop = (x: Exchange): void => {
    x.res.socket?.destroy();
  };

  const isAuthorized = (token: string | string[] | undefined): boolean => {
    if (apiKey === undefined) return true;
    if (typeof token !== 'string') return false;
    const given = Buffer.from(token);
    return given.length === apiKey.length && timingSafeEqual(given, apiKey);
  };

  const applyFrontFault = (x: Exchange, fault: Extract<Fault, { kind: 'status' | 'throttle' | 'drop' }>) => {
    if (fault.kind === 'drop') return drop(x);
    if (fault.kind === 'throttle') {
      return sendError(x, 429, 429, 'Too Many Requests', { 'retry-after': String(fault.retryAfterSeconds) });
    }
    const headers: OutgoingHttpHeaders = {};
    let contentType: string;
    let body: string;
    if (typeof fault.body === 'string') {
      contentType = 'text/plain';
      body = fault.body;
    } else {
      contentType = errorContentType(x.accept);
      body =
        fault.body === undefined
          ? envelope(fault.status, STATUS_CODES[fault.status] ?? 'Error')
          : JSON.stringify(fault.body);
    }
    for (const [name, value] of Object.entries(fault.headers ?? {})) {
      if (name.toLowerCase() === 'content-type') contentType = value;
      else headers[name.toLowerCase()] = value;
    }
    send(x, fault.status, contentType, body, headers);
  };

  /** Chaos before handling; true when it answered (or dropped) the request. */
  const applyChaos = (x: Exchange): boolean => {
    if (chaos === undefined || random === undefined) return false;
    const roll = random();
    let edge = chaos.dropRate ?? 0;
    if (roll < edge) {
      drop(x);
      return true;
    }
    edge += chaos.throttleRate ?? 0;
    if (roll < edge) {
      sendError(x, 429, 429, 'Too Many Requests', { 'retry-after': String(chaos.retryAfterSeconds ?? 0) });
      return true;
    }
    edge += chaos.statusRate ?? 0;
    if (roll < edge) {
      sendError(x, 503, 503, 'Service Unavailable');
      return true;
    }
    return false;
  };

  const handleMessages = (x: Exchange, route: Route, contentType: string) => {
    const partition = parseJavaInt(route.partition, 32);
    const query = firstQueryValues(x.query);
    // A missing offset reads as 0: it is a primitive `long` without a default in 2.x–5.3.
    const offset = query.offset === undefined || query.offset === '' ? 0 : parseJavaInt(query.offset, 64);
    const count = query.count === undefined || query.count === '' ? 1 : parseJavaInt(query.count, 64);
    if (partition === undefined || offset === undefined || count === undefined) return notFound(x);
    const partitions = store.partitionCount(route.topic);
    if (partitions === undefined) return topicNotFound(x);
    if (partition < 0 || partition >= partitions) return partitionNotFound(x);
    if (count <= 0) return send(x, 200, contentType, '[]');
    const { start, end } = store.bounds(route.topic, partition);
    if (offset < start || offset > end) {
      // The v1 proxy does not say which bound was crossed; clients probe (protocol doc §2.5).
      return sendError(x, 500, KAFKA_REST_ERROR_CODES.KAFKA_ERROR, 'Kafka error: OffsetOutOfRangeCode (1)');
    }
    const entries = store.read(route.topic, partition, offset, count);
    let out = '[';
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as (typeof entries)[number];
      out += `${i === 0 ? '' : ','}{"key":${b64Json(e.key)},"value":${b64Json(e.value)},"partition":${partition},"offset":${offset + i}}`;
    }
    send(x, 200, contentType, `${out}]`);
  };

  const produceResponse = (
    x: Exchange,
    contentType: string,
    results: readonly ({ partition: number; offset: number } | { code: number; message: string })[],
  ): void => {
    let out = '{"offsets":[';
    let status = 200;
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as (typeof results)[number];
      if (i > 0) out += ',';
      if ('code' in r) {
        out += `{"partition":null,"offset":null,"error_code":${r.code},"error":${JSON.stringify(r.message)}}`;
        // CP 5.x turns an auth failure on any record into the request's status, keeping the body.
        if (r.code === KAFKA_REST_ERROR_CODES.UNAUTHORIZED) status = 401;
        else if (r.code === KAFKA_REST_ERROR_CODES.FORBIDDEN && status !== 401) status = 403;
      } else {
        out += `{"partition":${r.partition},"offset":${r.offset},"error_code":null,"error":null}`;
      }
    }
    send(x, status, contentType, `${out}],"key_schema_id":null,"value_schema_id":null}`);
  };

  const handleProduce = async (
    x: Exchange,
    route: Route,
    contentType: string,
    toPartition: boolean,
  ): Promise<void> => {
    let pathPartition: number | undefined;
    if (toPartition) {
      pathPartition = parseJavaInt(route.partition, 32);
      if (pathPartition === undefined) return notFound(x);
    }
    const parsed = parseProduceBody(x.body, !toPartition);
    if (!parsed.ok) return sendBodyError(x, parsed.error);
    const records = parsed.records;
    const topic = route.topic;

    // A negative partition makes the 0.10 producer throw synchronously: a bare 500, nothing written.
    if (records.some((r) => r.partition !== null && r.partition < 0)) return internalError(x);

    let partitions = store.partitionCount(topic);
    if (partitions === undefined) {
      if (unknownTopic === '404') return topicNotFound(x);
      if (unknownTopic === 'error-per-record') {
        // What Confluent answers once the producer's metadata wait (60 s) runs out; we skip the wait.
        const failure = {
          code: KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR,
          message: 'Failed to update metadata after 60000 ms.',
        };
        return produceResponse(
          x,
          contentType,
          records.map(() => failure),
        );
      }
      store.createTopic(topic, autoCreatePartitions);
      partitions = autoCreatePartitions;
    }
    if (pathPartition !== undefined && (pathPartition < 0 || pathPartition >= partitions))
      return partitionNotFound(x);
    // Validated before anything is written, so a bad partition leaves the log untouched (all or nothing).
    if (records.some((r) => r.partition !== null && r.partition >= (partitions as number)))
      return internalError(x);

    const chosen = records.map(
      (r) =>
        pathPartition ??
        r.partition ??
        (r.key === null
          ? store.nextRoundRobin(topic)
          : partitionForKey(Buffer.from(r.key, 'base64'), partitions as number)),
    );

    const write = faults.takeWrite(x.method, x.path);
    const results: ({ partition: number; offset: number } | { code: number; message: string })[] = new Array(
      records.length,
    );
    const items: { partition: number; key: string | null; value: string | null }[] = [];
    const itemIndexes: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as (typeof records)[number];
      const injected = write.recordErrors?.errors[i];
      if (injected !== undefined) {
        results[i] = {
          code: injected.code,
          message:
            injected.message ??
            DEFAULT_RECORD_ERROR_MESSAGES[injected.code] ??
            `Simulated error ${injected.code}`,
        };
      } else if (
        random !== undefined &&
        chaos?.recordErrorRate !== undefined &&
        random() < chaos.recordErrorRate
      ) {
        results[i] = {
          code: KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR,
          message: DEFAULT_RECORD_ERROR_MESSAGES[KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR] as string,
        };
      } else if (r.bytes > maxRecordBytes) {
        results[i] = {
          code: KAFKA_REST_ERROR_CODES.KAFKA_ERROR,
          message: `The message is ${r.bytes} bytes when serialized which is larger than the maximum request size you have configured with the max.request.size configuration.`,
        };
      } else {
        items.push({ partition: chosen[i] as number, key: r.key, value: r.value });
        itemIndexes.push(i);
      }
    }
    const offsets = items.length === 0 ? [] : store.append(topic, items);
    for (let j = 0; j < items.length; j++) {
      results[itemIndexes[j] as number] = {
        partition: (items[j] as (typeof items)[number]).partition,
        offset: offsets[j] as number,
      };
    }

    if (write.afterWrite !== undefined) {
      if (write.afterWrite.action === 'drop') return drop(x);
      await sleep(write.afterWrite.ms ?? 0);
      if (closing !== undefined) return;
    }
    produceResponse(x, contentType, results);
  };

  const route = async (x: Exchange, requestMethod: string): Promise<void> => {
    const r = matchRoute(x.path);
    if (r === undefined) return notFound(x);
    const allowed: readonly string[] = ROUTE_METHODS[r.name];
    const allow = [...allowed, 'HEAD', 'OPTIONS'].join(', ');
    if (requestMethod === 'OPTIONS') return send(x, 200, undefined, undefined, { allow });
    if (!allowed.includes(x.method)) return sendError(x, 405, 405, 'HTTP 405 Method Not Allowed', { allow });

    if (x.method === 'POST' && !isBinaryProduceContentType(x.req.headers['content-type'])) {
      return sendError(x, 415, 415, 'HTTP 415 Unsupported Media Type');
    }
    const contentType = negotiate(x.accept, producesFor(r.name));
    // Jersey's 406 carries no entity and no Content-Type.
    if (contentType === undefined) return send(x, 406, undefined, undefined);

    switch (r.name) {
      case 'root':
        return send(x, 200, contentType, '{}');
      case 'topics':
        return send(x, 200, contentType, JSON.stringify(store.topicNames()));
      case 'brokers':
        return send(x, 200, contentType, `{"brokers":[${BROKER_ID}]}`);
      case 'topic': {
        if (x.method === 'POST') return handleProduce(x, r, contentType, false);
        const count = store.partitionCount(r.topic);
        if (count === undefined) return topicNotFound(x);
        const parts: string[] = [];
        for (let p = 0; p < count; p++) parts.push(partitionJson(p));
        return send(
          x,
          200,
          contentType,
          `{"name":${JSON.stringify(r.topic)},"configs":{},"partitions":[${parts.join(',')}]}`,
        );
      }
      case 'partitions': {
        const count = store.partitionCount(r.topic);
        if (count === undefined) return topicNotFound(x);
        const parts: string[] = [];
        for (let p = 0; p < count; p++) parts.push(partitionJson(p));
        return send(x, 200, contentType, `[${parts.join(',')}]`);
      }
      case 'partition': {
        if (x.method === 'POST') return handleProduce(x, r, contentType, true);
        const partition = parseJavaInt(r.partition, 32);
        if (partition === undefined) return notFound(x);
        const count = store.partitionCount(r.topic);
        if (count === undefined) return topicNotFound(x);
        if (partition < 0 || partition >= count) return partitionNotFound(x);
        return send(x, 200, contentType, partitionJson(partition));
      }
      case 'messages':
        return handleMessages(x, r, contentType);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const requestMethod = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (recordRequests) {
      requests.push({
        method: requestMethod,
        path,
        query: firstQueryValues(query),
        headers: req.headers,
        body,
      });
    }
    const accept = req.headers.accept;
    // Node leaves the body out of a HEAD answer by itself; everything else is the GET.
    const x: Exchange = {
      req,
      res,
      method: requestMethod === 'HEAD' ? 'GET' : requestMethod,
      path,
      query,
      body,
      accept,
    };

    if (latencyMs > 0) await sleep(latencyMs);
    const front = faults.takeFront(requestMethod, path);
    if (front.delayMs > 0) await sleep(front.delayMs);
    if (closing !== undefined) return;
    if (front.fault !== undefined) return applyFrontFault(x, front.fault);
    if (applyChaos(x)) return;
    // Message Hub's admin API (protocol doc §5), with its own camelCase errors, 401 included.
    if (isAdminPath(path)) {
      const answer = admin.handle({
        method: x.method,
        path,
        body,
        authorized: isAuthorized(req.headers['x-auth-token']),
      });
      return send(x, answer.status, answer.contentType, answer.body, answer.headers);
    }
    // The IBM gateway checks the key before the proxy sees the request.
    if (!isAuthorized(req.headers['x-auth-token'])) {
      return sendError(
        x,
        401,
        KAFKA_REST_ERROR_CODES.UNAUTHORIZED,
        'Unauthorized: a valid X-Auth-Token header is required',
      );
    }
    await route(x, requestMethod);
  };

  const server = createServer((req, res) => {
    const startedAt = performance.now();
    if (log !== undefined) {
      res.on('close', () => {
        const outcome = res.writableFinished ? String(res.statusCode) : 'dropped';
        log(`${req.method} ${req.url} ${outcome} ${(performance.now() - startedAt).toFixed(1)}ms`);
      });
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body =
        chunks.length === 0
          ? ''
          : chunks.length === 1
            ? (chunks[0] as Buffer).toString('utf8')
            : Buffer.concat(chunks).toString('utf8');
      handle(req, res, body).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': errorContentType(req.headers.accept) });
          res.end(envelope(500, 'Internal Server Error'));
        }
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host ?? DEFAULTS.host, port: options.port ?? DEFAULTS.port }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    store.close();
    throw error;
  });

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const requireBounds = (topic: string, partition: number) => store.bounds(topic, partition);

  return {
    url: `http://${host}:${address.port}`,
    requests,
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    records: (topic, partition): StoredRecord[] => {
      const { start, end } = requireBounds(topic, partition);
      return store.read(topic, partition, start, end - start).map((e, i) => ({
        offset: start + i,
        key: e.key === null ? null : Buffer.from(e.key, 'base64'),
        value: e.value === null ? null : Buffer.from(e.value, 'base64'),
      }));
    },
    append: (topic, partition, records) => {
      requireBounds(topic, partition);
      return store.append(
        topic,
        records.map((r) => ({
          partition,
          key: r.key === undefined || r.key === null ? null : r.key.toString('base64'),
          value: r.value === null ? null : r.value.toString('base64'),
        })),
      );
    },
    truncateBefore: (topic, partition, offset) => store.truncateBefore(topic, partition, offset),
    createTopic: (name, partitions) => store.createTopic(name, partitions),
    deleteTopic: (name) => store.deleteTopic(name),
    setApiKey: (key) => {
      apiKey = key === undefined ? undefined : Buffer.from(key);
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => {
          store.close();
          resolve();
        });
        server.closeAllConnections();
      });
      return closing;
    },
  };
};
