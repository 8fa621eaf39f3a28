import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrng } from './kafka-rest/faults.js';

/**
 * A fault-injecting HTTP proxy in front of a DynamoDB endpoint (dynalite), for the tests and the chaos run.
 * DynamoDB's own failure modes, as its clients meet them:
 * - `throttle`: 400 `ProvisionedThroughputExceededException`, nothing written (the SDK retries it);
 * - `server-error`: 500 `InternalServerError`, nothing written (the SDK retries it);
 * - `lose-answer`: the request is applied, then the connection is cut before the answer reaches the client,
 *   so the SDK retries a write that already happened: its condition now fails on our own write;
 * - `delay`: the request is applied after `ms`.
 */
export type DynamoFaultKind = 'throttle' | 'server-error' | 'lose-answer' | 'delay';

export interface DynamoFault {
  readonly kind: DynamoFaultKind;
  /** The operation it applies to (`UpdateItem`, `PutItem`, `GetItem`, …); any when absent. */
  readonly operation?: string;
  /** How many matching requests it applies to; 1 when absent. */
  readonly times?: number;
  /** For `delay`. */
  readonly ms?: number;
}

export interface DynamoChaos {
  /** Chance per request of a random fault of `kinds`. */
  readonly rate: number;
  readonly kinds: readonly DynamoFaultKind[];
  readonly seed: number;
  /** Operations the random faults apply to; all when absent. */
  readonly operations?: readonly string[];
  /** For random `delay` faults; 50 when absent. */
  readonly delayMs?: number;
}

export interface DynamoFaultProxy {
  /** The endpoint to give the SDK client instead of the target's. */
  readonly endpoint: string;
  /** Queues a fault for the next matching requests (queued faults run before random ones). */
  inject(fault: DynamoFault): void;
  /** Random faults from now on; `undefined` stops them. */
  setChaos(chaos: DynamoChaos | undefined): void;
  /** Drops queued and random faults. */
  clear(): void;
  /** Faults applied so far, by kind, and requests seen by operation. */
  stats(): {
    readonly faults: Readonly<Record<DynamoFaultKind, number>>;
    readonly requests: Readonly<Record<string, number>>;
  };
  close(): Promise<void>;
}

const THROTTLED = {
  __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
};
const SERVER_ERROR = {
  __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
  message: 'Internal error (injected)',
};

/** Starts the proxy on 127.0.0.1:0 in front of `target` (e.g. dynalite's endpoint). */
export const startDynamoFaultProxy = async (target: string): Promise<DynamoFaultProxy> => {
  const targetUrl = new URL(target);
  const queued: { fault: DynamoFault; left: number }[] = [];
  let chaos: { readonly options: DynamoChaos; readonly random: () => number } | undefined;
  const faults: Record<DynamoFaultKind, number> = {
    throttle: 0,
    'server-error': 0,
    'lose-answer': 0,
    delay: 0,
  };
  const requests: Record<string, number> = {};

  const pick = (operation: string): DynamoFault | undefined => {
    const index = queued.findIndex(
      ({ fault }) => fault.operation === undefined || fault.operation === operation,
    );
    if (index >= 0) {
      const entry = queued[index] as { fault: DynamoFault; left: number };
      entry.left -= 1;
      if (entry.left <= 0) queued.splice(index, 1);
      return entry.fault;
    }
    if (chaos === undefined) return undefined;
    const { options, random } = chaos;
    if (options.operations !== undefined && !options.operations.includes(operation)) return undefined;
    if (random() >= options.rate) return undefined;
    const kind = options.kinds[Math.floor(random() * options.kinds.length)];
    return kind === undefined ? undefined : { kind, ms: options.delayMs ?? 50 };
  };

  const forward = (
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstream = httpRequest(
        {
          host: targetUrl.hostname,
          port: targetUrl.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: targetUrl.host },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () =>
            resolve({
              status: answer.statusCode ?? 502,
              headers: answer.headers,
              body: Buffer.concat(chunks),
            }),
          );
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const answerJson = (res: ServerResponse, status: number, body: object): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const operation =
          String(req.headers['x-amz-target'] ?? '')
            .split('.')
            .pop() ?? '';
        requests[operation] = (requests[operation] ?? 0) + 1;
        const fault = pick(operation);
        if (fault !== undefined) faults[fault.kind] += 1;
        if (fault?.kind === 'throttle') return answerJson(res, 400, THROTTLED);
        if (fault?.kind === 'server-error') return answerJson(res, 500, SERVER_ERROR);
        if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 50));
        const answer = await forward(req, Buffer.concat(chunks));
        // Applied, answer lost: the client sees a reset connection and cannot tell whether the write happened.
        if (fault?.kind === 'lose-answer') return void req.socket.destroy();
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      })().catch(() => {
        if (!res.headersSent) answerJson(res, 500, SERVER_ERROR);
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (fault) => void queued.push({ fault, left: fault.times ?? 1 }),
    setChaos: (options) => {
      chaos = options === undefined ? undefined : { options, random: createPrng(options.seed) };
    },
    clear: () => {
      queued.length = 0;
      chaos = undefined;
    },
    stats: () => ({ faults: { ...faults }, requests: { ...requests } }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
