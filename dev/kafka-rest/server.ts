import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createAdminApi, isAdminPath } from './admin.js';
import {
  KAFKA_REST_ERROR_CODES,
  notAcceptable,
  notFound,
  partitionNotFound,
  topicNotFound,
  unsupportedMediaType,
} from './answers.js';
import { createCredentialGate } from './auth.js';
import { createConsumerHttp } from './consumer-routes.js';
import { createConsumerRegistry } from './consumers.js';
import type { Exchange } from './exchange.js';
import { envelope, firstQueryValues, parseJavaInt, send, sendError } from './exchange.js';
import { createFaultAnswers, cutOff, drop } from './fault-answers.js';
import { createFaultQueue } from './faults.js';
import { createLifecycle } from './lifecycle.js';
import type { AppendItem, LogStore } from './log-store.js';
import { createLogStore } from './log-store.js';
import type { Producible } from './media-types.js';
import {
  errorContentType,
  isBinaryProduceContentType,
  isV2BinaryProduceContentType,
  isV2Type,
  MEDIA_TYPES,
  negotiate,
  PRODUCES,
  V2_ERROR_CONTENT_TYPE,
} from './media-types.js';
import { resolveOptions } from './options.js';
import { createProduceHttp } from './produce-routes.js';
import type { Route, RouteName } from './routes.js';
import { flavorHasRoute, matchRoute, ROUTE_METHODS } from './routes.js';
import { createSimpleConsumeHttp } from './simple-consume.js';
import { createStrimziHttp } from './strimzi.js';
import type {
  KafkaRestServer,
  KafkaRestServerOptions,
  RecordedRequest,
  StoredHeader,
  StoredRecord,
} from './types.js';
import { createV3ProduceHttp } from './v3-produce-routes.js';

export type {
  ChaosOptions,
  Fault,
  FaultMatch,
  Flavor,
  KafkaRestServer,
  KafkaRestServerOptions,
  RecordedRequest,
  StoredHeader,
  StoredRecord,
  UnknownTopicMode,
} from './types.js';

// A single broker, id 0 like Kafka's sample server.properties, leading every partition.
const BROKER_ID = 0;

/** What a v1/v2 metadata GET can answer with: v1's types first, so that no Accept (a tie at qs 0.9) means v1. */
const producesFor = (route: RouteName): readonly Producible[] => {
  if (route === 'messages') return PRODUCES.messages;
  if (route === 'partitions' || route === 'partition')
    return [...PRODUCES.partitions, ...PRODUCES.v2Metadata];
  return [...PRODUCES.metadata, ...PRODUCES.v2Metadata];
};

const partitionJson = (partition: number): string =>
  `{"partition":${partition},"leader":${BROKER_ID},"replicas":[{"broker":${BROKER_ID},"leader":true,"in_sync":true}]}`;

const b64Json = (b64: string | null): string => (b64 === null ? 'null' : `"${b64}"`);

const decode = (b64: string | null): Buffer | null => (b64 === null ? null : Buffer.from(b64, 'base64'));

const CONSUMER_ROUTES: ReadonlySet<RouteName> = new Set([
  'consumer-group',
  'instance',
  'instance-topic',
  'instance-offsets',
  'instance-records',
  'instance-assignments',
  'instance-subscription',
  'instance-positions',
  'instance-positions-beginning',
  'instance-positions-end',
]);

/**
 * Starts a local Kafka REST server that follows `kafka-rest-protocol.md`: v1 (the IBM Message Hub dialect,
 * §1–§3, §8) and v2 side by side as CP 5.x serves them (the media types pick one, §6), v1 and v2 consumer
 * instances (§2.6, §6), v3 produce (§7), a `flavor` for Redpanda's or Karapace's v2 quirks (Redpanda's
 * also its own v2 routes, see `flavors.ts`), and scripted faults for tests. Binary embedded format only.
 * Throws `DevKafkaRestError` `ERR_INVALID_ARG` listing every bad option, or when the data directory cannot
 * be loaded; rejects when the port cannot be bound.
 */
export const startKafkaRestServer = async (
  options: KafkaRestServerOptions = {},
): Promise<KafkaRestServer> => {
  const settings = resolveOptions(options);
  const { unknownTopic, autoCreatePartitions, latencyMs, recordRequests, log, chaos } = settings;
  const { flavor, consumerRequestTimeoutMs, now, v1WholeBatches } = settings;

  const store: LogStore = createLogStore(settings.topics, settings.dataDir);
  const lifecycle = createLifecycle();
  const { sleep, waitForRecords, isClosing } = lifecycle;
  const faultAnswers = createFaultAnswers(lifecycle, chaos);
  const admin = createAdminApi(store);
  const faults = createFaultQueue();
  const requests: RecordedRequest[] = [];
  const credentials = createCredentialGate({ apiKey: settings.apiKey, basicAuth: settings.basicAuth });
  const append = (topic: string, items: readonly AppendItem[]): number[] => {
    const offsets = store.append(topic, items);
    lifecycle.recordsAppended();
    return offsets;
  };

  const produceDeps = {
    store,
    settings,
    append,
    faults,
    faultAnswers,
    lifecycle,
  };
  const { pickPartition, writeRecords, produce: handleProduce } = createProduceHttp(produceDeps);
  const handleV3Produce = createV3ProduceHttp({ ...produceDeps, pickPartition });

  const consumers = createConsumerRegistry({
    store,
    now,
    idleMs: settings.consumerIdleMs,
    emptyReadsAfterSeek: settings.emptyReadsAfterSeek,
  });

  // A route this flavor's proxy lacks: Redpanda's HTTP server (Seastar) has its own 404 body for one.
  const absentRoute =
    flavor === 'redpanda'
      ? (x: Exchange): void => send(x, 404, MEDIA_TYPES.JSON, '{"message":"Not found","code":404}')
      : notFound;
  /** The `unassign` fault: the v2 instance the path addresses, if any, loses its assignment. */
  const unassignAddressed = (path: string): void => {
    const addressed = matchRoute(path);
    if (addressed !== undefined && addressed.instance !== '') {
      consumers.unassign(addressed.group, addressed.instance);
    }
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
    // The old proxy's simple consumer hands back the decompressed batch from its first record.
    const from =
      v1WholeBatches && offset < end ? store.batchAt(route.topic, partition, offset).start : offset;
    const entries = store.read(route.topic, partition, from, count);
    let out = '[';
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as (typeof entries)[number];
      out += `${i === 0 ? '' : ','}{"key":${b64Json(e.key)},"value":${b64Json(e.value)},"partition":${partition},"offset":${from + i}}`;
    }
    send(x, 200, contentType, `${out}]`);
  };

  /** v2 (CP 5.4+): `GET /topics/{t}/partitions/{p}/offsets`; `end_offset` is the next offset to be written. */
  const handlePartitionOffsets = (x: Exchange, route: Route, contentType: string) => {
    const partition = parseJavaInt(route.partition, 32);
    if (partition === undefined) return notFound(x);
    const partitions = store.partitionCount(route.topic);
    if (partitions === undefined) return topicNotFound(x);
    if (partition < 0 || partition >= partitions) return partitionNotFound(x);
    const { start, end } = store.bounds(route.topic, partition);
    send(x, 200, contentType, `{"beginning_offset":${start},"end_offset":${end}}`);
  };

  const handleConsumers = createConsumerHttp({
    registry: consumers,
    flavor,
    requestTimeoutMs: consumerRequestTimeoutMs,
    waitForRecords,
    isClosing,
    get url() {
      return serverUrl;
    },
  });

  const handleStrimzi = createStrimziHttp({
    store,
    now,
    registry: consumers,
    requestTimeoutMs: consumerRequestTimeoutMs,
    waitForRecords,
    isClosing,
    autoCreate: unknownTopic === 'auto-create' ? { partitions: autoCreatePartitions } : undefined,
    pickPartition: (topic, key, partitions) => pickPartition(topic, key, partitions),
    writeRecords,
    drop,
    cutOff,
    sleep,
  });

  const handleSimpleConsume = createSimpleConsumeHttp({
    store,
    requestTimeoutMs: consumerRequestTimeoutMs,
    waitForRecords,
    isClosing,
  });

  const routeV3 = async (x: Exchange, r: Route): Promise<void> => {
    const y: Exchange = { ...x, errorContentType: MEDIA_TYPES.JSON };
    if (x.req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== MEDIA_TYPES.JSON) {
      return unsupportedMediaType(y);
    }
    if (negotiate(x.accept, PRODUCES.v3) === undefined) return notAcceptable(y);
    return handleV3Produce(y, r);
  };

  /** A v2-typed POST to the produce endpoints. */
  const routeV2Produce = async (x: Exchange, r: Route): Promise<void> => {
    const y: Exchange = { ...x, errorContentType: V2_ERROR_CONTENT_TYPE };
    if (!isV2BinaryProduceContentType(x.req.headers['content-type'])) return unsupportedMediaType(y);
    const contentType = negotiate(x.accept, PRODUCES.v2);
    if (contentType === undefined) return notAcceptable(y);
    return handleProduce(y, r, contentType, r.name === 'partition', 'v2');
  };

  const route = async (x: Exchange, requestMethod: string): Promise<void> => {
    if (flavor === 'strimzi') return handleStrimzi(x);
    const r = matchRoute(x.path);
    if (r === undefined) return notFound(x);
    if (!flavorHasRoute(flavor, r.name)) return absentRoute(x);
    const allowed: readonly string[] = ROUTE_METHODS[r.name];
    const allow = [...allowed, 'HEAD', 'OPTIONS'].join(', ');
    if (requestMethod === 'OPTIONS') return send(x, 200, undefined, undefined, { allow });
    if (!allowed.includes(x.method)) return sendError(x, 405, 405, 'HTTP 405 Method Not Allowed', { allow });

    if (r.name === 'v3-records') return routeV3(x, r);
    if (r.name === 'partition-records') return handleSimpleConsume(x, r);
    if (CONSUMER_ROUTES.has(r.name)) return handleConsumers(x, r);
    const requestType = x.req.headers['content-type'];
    // CP 5.x serves v1 and v2 side by side: a v2 Content-Type picks v2; application/json, octet-stream
    // and no Content-Type stay with v1 (the §6 gotcha).
    if (x.method === 'POST' && requestType !== undefined && isV2Type(requestType))
      return routeV2Produce(x, r);
    if (r.name === 'partition-offsets') {
      const y: Exchange = { ...x, errorContentType: V2_ERROR_CONTENT_TYPE };
      const contentType = negotiate(x.accept, PRODUCES.v2);
      if (contentType === undefined) return notAcceptable(y);
      return handlePartitionOffsets(y, r, contentType);
    }

    if (x.method === 'POST' && !isBinaryProduceContentType(requestType)) return unsupportedMediaType(x);
    // A v1 produce answers only in v1's types; a GET may also be the v2 resource on the same path.
    const contentType = negotiate(
      x.accept,
      x.method === 'POST'
        ? r.name === 'topic'
          ? PRODUCES.metadata
          : PRODUCES.partitions
        : producesFor(r.name),
    );
    if (contentType === undefined) return notAcceptable(x);
    // A metadata GET whose Accept picked a v2 type is the v2 resource: same shapes, v2 errors.
    const y: Exchange = isV2Type(contentType) ? { ...x, errorContentType: V2_ERROR_CONTENT_TYPE } : x;

    switch (r.name) {
      case 'root':
        return send(y, 200, contentType, '{}');
      case 'topics':
        return send(y, 200, contentType, JSON.stringify(store.topicNames()));
      case 'brokers':
        return send(y, 200, contentType, `{"brokers":[${BROKER_ID}]}`);
      case 'topic': {
        if (x.method === 'POST') return handleProduce(y, r, contentType, false, 'v1');
        const count = store.partitionCount(r.topic);
        if (count === undefined) return topicNotFound(y);
        const parts: string[] = [];
        for (let p = 0; p < count; p++) parts.push(partitionJson(p));
        return send(
          y,
          200,
          contentType,
          `{"name":${JSON.stringify(r.topic)},"configs":{},"partitions":[${parts.join(',')}]}`,
        );
      }
      case 'partitions': {
        const count = store.partitionCount(r.topic);
        if (count === undefined) return topicNotFound(y);
        const parts: string[] = [];
        for (let p = 0; p < count; p++) parts.push(partitionJson(p));
        return send(y, 200, contentType, `[${parts.join(',')}]`);
      }
      case 'partition': {
        if (x.method === 'POST') return handleProduce(y, r, contentType, true, 'v1');
        const partition = parseJavaInt(r.partition, 32);
        if (partition === undefined) return notFound(y);
        const count = store.partitionCount(r.topic);
        if (count === undefined) return topicNotFound(y);
        if (partition < 0 || partition >= count) return partitionNotFound(y);
        return send(y, 200, contentType, partitionJson(partition));
      }
      case 'messages':
        return handleMessages(y, r, contentType);
      default:
        return notFound(y);
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
      errorContentType: flavor === 'strimzi' ? MEDIA_TYPES.V2_JSON : errorContentType(accept),
    };

    if (latencyMs > 0) await sleep(latencyMs);
    const front = faults.takeFront(requestMethod, path);
    if (front.delayMs > 0) await sleep(front.delayMs);
    if (isClosing()) return;
    if (front.restartConsumers) consumers.restart();
    if (front.unassign) unassignAddressed(path);
    if (front.fault !== undefined) return faultAnswers.applyFront(x, front.fault);
    if (faultAnswers.applyChaos(x)) return;
    // Message Hub's admin API (protocol doc §5), with its own camelCase errors, 401 included; the bridge
    // has its own `/admin/topics`.
    if (flavor !== 'strimzi' && isAdminPath(path)) {
      const answer = admin.handle({
        method: x.method,
        path,
        body,
        authorized: credentials.isAuthorized(req.headers),
      });
      return send(x, answer.status, answer.contentType, answer.body, answer.headers);
    }
    // The gateway (IBM's, Confluent Cloud's) checks the credential before the proxy sees the request.
    if (!credentials.isAuthorized(req.headers)) {
      return sendError(x, 401, KAFKA_REST_ERROR_CODES.UNAUTHORIZED, credentials.refusal());
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
    server.listen({ host: settings.host, port: settings.port }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    store.close();
    throw error;
  });

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const serverUrl = `http://${host}:${address.port}`;

  const requireBounds = (topic: string, partition: number) => store.bounds(topic, partition);

  return {
    url: serverUrl,
    requests,
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    records: (topic, partition): StoredRecord[] => {
      const { start, end } = requireBounds(topic, partition);
      return store.read(topic, partition, start, end - start).map((e, i) => {
        const record = { offset: start + i, key: decode(e.key), value: decode(e.value) };
        if (e.headers === undefined) return record;
        const headers: StoredHeader[] = e.headers.map((h) => ({ name: h.name, value: decode(h.value) }));
        return { ...record, headers };
      });
    },
    append: (topic, partition, records) => {
      requireBounds(topic, partition);
      return append(
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
    restartConsumers: () => consumers.restart(),
    consumerInstances: () => consumers.size(),
    setApiKey: (key) => credentials.setApiKey(key),
    setBasicAuth: (userPassword) => credentials.setBasicAuth(userPassword),
    close: () =>
      lifecycle.close(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => {
              store.close();
              resolve();
            });
            server.closeAllConnections();
          }),
      ),
  };
};
