import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type PartitionAction,
  type PartitionActionDeps,
  runPartitionAction,
} from '../../cli/partition-actions.js';
import type { DlqPanel } from './dlq-panel.js';
import { type ConsoleSources, describeError, readSnapshot } from './snapshot.js';

export interface ConsoleServerOptions {
  /** 0: any free port. */
  readonly port: number;
  readonly sources: ConsoleSources;
  /** The operator commands' own deps: the buttons go through `runPartitionAction`, audit entry and all. */
  readonly actions: PartitionActionDeps;
  /** The Redrive buttons: `npm run dlq redrive --drain D`'s code, its answers and audit entries. */
  readonly dlq: Pick<DlqPanel, 'redrive'>;
}

export interface ConsoleServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Only this machine: the page can move checkpoints, and it has no login. */
const HOST = '127.0.0.1';
const MAX_ACTION_BYTES = 4_096;
const PAGE = new URL('page/', import.meta.url);
const STATIC: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};
const COMMANDS = ['pause', 'resume', 'set-offset', 'redrive'] as const;

const HEADERS = {
  // No inline script or style anywhere, so a record value that slipped into markup could not run.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

const send = (response: ServerResponse, status: number, type: string, body: string | Buffer): void => {
  response.writeHead(status, { ...HEADERS, 'content-type': type });
  response.end(body);
};

const sendJson = (response: ServerResponse, status: number, body: unknown): void =>
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));

const readBody = async (request: IncomingMessage): Promise<string | undefined> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ACTION_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
};

type ParsedAction =
  | { readonly drainId: string; readonly partition: number; readonly action: PartitionAction }
  | { readonly drainId: string; readonly redrive: true }
  | { readonly problem: string };

/**
 * `{"drainId","partition","command"[,"target"]}`, or `{"drainId","command":"redrive"}` (a drain's whole
 * DLQ), each field checked with a message naming it.
 */
const parseActionBody = (text: string): ParsedAction => {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { problem: 'the body must be JSON: {"drainId","partition","command"[,"target"]}' };
  }
  if (typeof body !== 'object' || body === null) return { problem: 'the body must be a JSON object' };
  const { drainId, partition, command, target } = body as Record<string, unknown>;
  if (typeof drainId !== 'string' || drainId === '') return { problem: 'drainId must be a non-empty string' };
  if (command === 'redrive') return { drainId, redrive: true };
  if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0)
    return { problem: `partition must be an integer ≥ 0, got ${JSON.stringify(partition)}` };
  if (!COMMANDS.includes(command as (typeof COMMANDS)[number]))
    return { problem: `command must be one of ${COMMANDS.join(', ')}, got ${JSON.stringify(command)}` };
  if (command === 'set-offset') {
    if (typeof target !== 'string' || target.trim() === '')
      return { problem: 'set-offset needs a target: an offset (an integer ≥ 0), earliest or latest' };
    return { drainId, partition, action: { command, target: target.trim() } };
  }
  return { drainId, partition, action: { command: command as 'pause' | 'resume' } };
};

/**
 * The console's HTTP server on 127.0.0.1: the page, `GET /api/snapshot`, and `POST /api/action`. Every
 * request must name this server in `Host` (a DNS-rebound name pointing here is refused), and a POST must
 * come from the page's own origin (`Origin`), so another site open in the browser cannot press the buttons.
 */
export const startConsoleServer = async (options: ConsoleServerOptions): Promise<ConsoleServer> => {
  let origins: readonly string[] = [];
  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 502, { ok: false, message: describeError(error) });
      else response.destroy();
    });
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const host = request.headers.host ?? '';
    if (!origins.includes(`http://${host}`)) {
      send(
        response,
        403,
        'text/plain; charset=utf-8',
        `unknown host ${JSON.stringify(host)}: open ${origins[0]}\n`,
      );
      return;
    }
    const path = new URL(request.url ?? '/', `http://${host}`).pathname;
    const page = STATIC[path];
    if (request.method === 'GET' && page !== undefined) {
      send(response, 200, page.type, await readFile(new URL(page.file, PAGE)));
      return;
    }
    if (request.method === 'GET' && path === '/api/snapshot') {
      sendJson(response, 200, await readSnapshot(options.sources));
      return;
    }
    if (request.method === 'POST' && path === '/api/action') {
      await act(request, response, host);
      return;
    }
    sendJson(response, 404, { ok: false, message: `no ${request.method} ${path} here` });
  };

  const act = async (request: IncomingMessage, response: ServerResponse, host: string): Promise<void> => {
    // Browsers send Origin with every POST from script; a foreign page's form or fetch carries its own.
    const origin = request.headers.origin;
    if (origin !== `http://${host}`) {
      sendJson(response, 403, {
        ok: false,
        message: `cross-origin request refused: Origin ${JSON.stringify(origin ?? null)} is not this console's`,
      });
      return;
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      sendJson(response, 415, { ok: false, message: 'the body must be application/json' });
      return;
    }
    const text = await readBody(request);
    if (text === undefined) {
      sendJson(response, 413, { ok: false, message: `the body is over ${MAX_ACTION_BYTES} bytes` });
      return;
    }
    const parsed = parseActionBody(text);
    if ('problem' in parsed) {
      sendJson(response, 400, { ok: false, message: parsed.problem });
      return;
    }
    if ('redrive' in parsed) {
      const outcome = await options.dlq.redrive(parsed.drainId);
      sendJson(response, outcome.ok ? 200 : 409, outcome);
      return;
    }
    const outcome = await runPartitionAction(options.actions, {
      ...parsed.action,
      drainId: parsed.drainId,
      partition: parsed.partition,
    });
    sendJson(response, outcome.ok ? 200 : outcome.usage ? 400 : 409, outcome);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origins = [`http://${HOST}:${port}`, `http://localhost:${port}`];
  return {
    url: `http://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
