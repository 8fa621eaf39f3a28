import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the sink got it; `status` is what it answered, null when it dropped the connection. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly receivedAt: number;
  status: number | null;
}

/**
 * A scripted misbehaviour, used by the next `times` requests (default 1) in the order injected:
 * answer `status` (with `headers`, e.g. `Retry-After`, and an optional `body`), answer 200 only after
 * `ms`, destroy the connection without an answer, or send `status` (default 200) headers at once and then
 * a body byte every `intervalMs`, never ending on its own (what an idle timeout cannot catch).
 */
export type HttpSinkFault =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
      readonly times?: number;
    }
  | { readonly kind: 'delay'; readonly ms: number; readonly times?: number }
  | { readonly kind: 'drop'; readonly times?: number }
  | {
      readonly kind: 'trickle';
      readonly status?: number;
      readonly intervalMs: number;
      readonly times?: number;
    };

export interface HttpSinkOptions {
  /** 0 (default): any free port. */
  readonly port?: number;
  readonly host?: string;
  /** Print each received record (coordinates + value as text, truncated); a function receives the lines. */
  readonly print?: boolean | ((line: string) => void);
}

export interface HttpSink {
  readonly url: string;
  /** Every request in arrival order, faulted ones included. */
  readonly received: ReceivedRequest[];
  inject(fault: HttpSinkFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const PRINT_VALUE_CHARS = 200;

/**
 * A local HTTP endpoint for the drain to deliver to: answers 200 unless a fault is injected, records
 * every request, and optionally prints what arrives (`npm start` uses it, so a newcomer sees records come
 * out). Understands the HTTP sink's `single` and `batch` formats when printing; accepts anything.
 */
export const startHttpSink = async (options: HttpSinkOptions = {}): Promise<HttpSink> => {
  const received: ReceivedRequest[] = [];
  const faults: { fault: HttpSinkFault; left: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const print =
    options.print === true
      ? (line: string) => process.stdout.write(`${line}\n`)
      : options.print === false || options.print === undefined
        ? undefined
        : options.print;

  const nextFault = (): HttpSinkFault | undefined => {
    const head = faults[0];
    if (head === undefined) return undefined;
    head.left -= 1;
    if (head.left <= 0) faults.shift();
    return head.fault;
  };

  const answer = (
    response: ServerResponse,
    request: ReceivedRequest,
    status: number,
    headers = {},
    body = '',
  ) => {
    request.status = status;
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'text/plain', ...headers });
    response.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
        status: null,
      };
      received.push(request);
      if (print) for (const line of toPrintedLines(request)) print(line);
      const fault = nextFault();
      if (fault?.kind === 'drop') {
        req.socket.destroy();
      } else if (fault?.kind === 'status') {
        answer(res, request, fault.status, fault.headers, fault.body);
      } else if (fault?.kind === 'trickle') {
        request.status = fault.status ?? 200;
        res.writeHead(request.status, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), fault.intervalMs);
        timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          timers.delete(timer);
        });
      } else if (fault?.kind === 'delay') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer(res, request, 200, {}, 'ok');
        }, fault.ms);
        timers.add(timer);
      } else {
        answer(res, request, 200, {}, 'ok');
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === undefined || isWildcard(options.host) ? '127.0.0.1' : options.host;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received,
    inject: (fault) => {
      faults.push({ fault, left: fault.times ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

/** One line per record: `topic/partition@offset key=… value` for both sink formats, else a summary. */
export const toPrintedLines = (
  request: Pick<ReceivedRequest, 'method' | 'path' | 'headers' | 'body'>,
): string[] => {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const topic = header('kafka-topic');
  if (topic !== undefined && header('kafka-record-count') !== undefined) {
    try {
      const items = JSON.parse(request.body.toString('utf8')) as {
        topic: string;
        partition: number;
        offset: number;
        key: string | null;
        value: string | null;
      }[];
      return items.map((item) =>
        toLine(item.topic, item.partition, item.offset, fromBase64(item.key), fromBase64(item.value)),
      );
    } catch {
      return [`${request.method} ${request.path}: unreadable batch of ${request.body.length} bytes`];
    }
  }
  if (topic !== undefined) {
    const value = header('kafka-value-null') === 'true' ? null : request.body;
    return [
      toLine(
        topic,
        header('kafka-partition'),
        header('kafka-offset'),
        fromBase64(header('kafka-key')),
        value,
      ),
    ];
  }
  return [`${request.method} ${request.path}: ${request.body.length} bytes`];
};

const fromBase64 = (value: string | null | undefined): Buffer | null =>
  value === null || value === undefined ? null : Buffer.from(value, 'base64');

const toLine = (
  topic: string,
  partition: number | string | undefined,
  offset: number | string | undefined,
  key: Buffer | null,
  value: Buffer | null,
): string =>
  `${topic}/${partition ?? '?'}@${offset ?? '?'}${key === null ? '' : ` key=${toText(key)}`} ${value === null ? '(null)' : toText(value)}`;

const toText = (bytes: Buffer): string => {
  // Control characters would garble the terminal; show them as the replacement character.
  const text = bytes.toString('utf8').replace(/[^\P{Cc}\t\n]/gu, '\uFFFD');
  return text.length > PRINT_VALUE_CHARS
    ? `${text.slice(0, PRINT_VALUE_CHARS)}… (${bytes.length} bytes)`
    : text;
};
