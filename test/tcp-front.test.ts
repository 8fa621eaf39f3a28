import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTcpFront, type TcpFront } from '../dev/tcp-front.js';

let server: Server | undefined;
let front: TcpFront | undefined;
const agent = new Agent({ keepAliveTimeout: 60_000 });
afterAll(() => agent.close());

afterEach(async () => {
  await front?.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
  front = undefined;
});

const start = async (): Promise<TcpFront> => {
  server = createServer((_req, res) => res.end('through'));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  front = await startTcpFront(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return front;
};

const get = async (url: string): Promise<string> => {
  const answer = await request(url, { dispatcher: agent });
  return answer.body.text();
};

const failureOf = (url: string): Promise<unknown> =>
  get(url).then(
    () => 'answered',
    (error: unknown) => error,
  );

describe('the TCP front of the outage scenario', () => {
  it('relays, refuses connections while closed (a pooled one too), and relays again on the same port', async () => {
    const f = await start();
    expect(await get(f.url)).toBe('through');

    await f.refuse();
    // The pooled connection is broken, and the new one finds nothing listening.
    expect(await failureOf(f.url)).toMatchObject({ code: 'ECONNREFUSED' });

    await f.accept();
    expect(await get(f.url)).toBe('through');
  });
});
