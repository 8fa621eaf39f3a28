import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createAdminApi } from './admin.js';
import { createCredentialGate } from './auth.js';
import { createConsumerHttp } from './consumer-routes.js';
import { createConsumerRegistry } from './consumers.js';
import { createControl } from './control.js';
import { envelope } from './exchange.js';
import { createFaultAnswers, cutOff, drop } from './fault-answers.js';
import { createFaultQueue } from './faults.js';
import { createFrontDoor } from './front-door.js';
import { createLifecycle } from './lifecycle.js';
import type { AppendItem } from './log-store.js';
import { createLogStore } from './log-store.js';
import { errorContentType } from './media-types.js';
import { createMetadataHttp } from './metadata-routes.js';
import { resolveOptions } from './options.js';
import { createProduceHttp } from './produce-routes.js';
import { createRouter } from './router.js';
import { createSimpleConsumeHttp, createV1MessagesHttp } from './simple-consume.js';
import { createStrimziHttp } from './strimzi.js';
import type { KafkaRestServer, KafkaRestServerOptions, RecordedRequest } from './types.js';
import { createV3ProduceHttp } from './v3-produce-routes.js';

export type * from './types.js';

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
  const { flavor, now, log } = settings;
  const requestTimeoutMs = settings.consumerRequestTimeoutMs;

  const store = createLogStore(settings.topics, settings.dataDir);
  const lifecycle = createLifecycle();
  const { sleep, waitForRecords, isClosing } = lifecycle;
  const faults = createFaultQueue();
  const faultAnswers = createFaultAnswers(lifecycle, settings.chaos);
  const credentials = createCredentialGate({ apiKey: settings.apiKey, basicAuth: settings.basicAuth });
  const requests: RecordedRequest[] = [];
  const append = (topic: string, items: readonly AppendItem[]): number[] => {
    const offsets = store.append(topic, items);
    lifecycle.recordsAppended();
    return offsets;
  };
  const consumers = createConsumerRegistry({
    store,
    now,
    idleMs: settings.consumerIdleMs,
    emptyReadsAfterSeek: settings.emptyReadsAfterSeek,
  });

  const produceDeps = { store, settings, append, faults, faultAnswers, lifecycle };
  const { pickPartition, writeRecords, produce } = createProduceHttp(produceDeps);
  const metadata = createMetadataHttp(store);
  const route = createRouter({
    flavor,
    strimzi: createStrimziHttp({
      store,
      now,
      registry: consumers,
      requestTimeoutMs,
      waitForRecords,
      isClosing,
      autoCreate:
        settings.unknownTopic === 'auto-create' ? { partitions: settings.autoCreatePartitions } : undefined,
      pickPartition,
      writeRecords,
      drop,
      cutOff,
      sleep,
    }),
    consumers: createConsumerHttp({
      registry: consumers,
      flavor,
      requestTimeoutMs,
      waitForRecords,
      isClosing,
      get url() {
        return serverUrl;
      },
    }),
    simpleConsume: createSimpleConsumeHttp({ store, requestTimeoutMs, waitForRecords, isClosing }),
    v1Messages: createV1MessagesHttp(store, settings.v1WholeBatches),
    metadata: metadata.get,
    partitionOffsets: metadata.partitionOffsets,
    produce,
    v3Produce: createV3ProduceHttp({ ...produceDeps, pickPartition }),
  });
  const handle = createFrontDoor({
    settings,
    requests,
    faults,
    faultAnswers,
    consumers,
    admin: createAdminApi(store),
    credentials,
    lifecycle,
    route,
  });

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

  return {
    url: serverUrl,
    ...createControl({ store, append, requests, faults, consumers, credentials }),
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
