import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeDeadline, createTimedAbort } from '../lib/http/timed-abort.js';

/** A server that reads requests and never answers them. */
let server: Server;
let pool: InstanceType<typeof Pool>;

beforeAll(async () => {
  server = createServer((req) => req.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 2 });
});
afterAll(async () => {
  await pool.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('createTimedAbort', () => {
  it('abandons an undici request at its time, rejecting with its reason', async () => {
    const reason = new Error('deadline');
    const timed = createTimedAbort(80, reason);
    const startedAt = performance.now();

    const outcome = await request
      .call(pool, { path: '/', method: 'POST', body: 'x', signal: timed.signal, headersTimeout: 10_000 })
      .then(
        () => 'answered',
        (error: unknown) => error,
      );

    timed.clear();
    expect(outcome).toBe(reason);
    // An exact timer: not undici's coarse clock, which fires up to a second late.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(75);
    expect(performance.now() - startedAt).toBeLessThan(600);
  });

  it('aborts at once with the parent’s reason when the parent aborts first, or already had', () => {
    const parent = new AbortController();
    const timed = createTimedAbort(60_000, new Error('late'));
    const linked = createTimedAbort(60_000, new Error('late'), parent.signal);
    parent.abort('lease lost');
    const afterParent = createTimedAbort(60_000, 'late', parent.signal);

    expect(linked.signal).toMatchObject({ aborted: true, reason: 'lease lost' });
    expect(afterParent.signal).toMatchObject({ aborted: true, reason: 'lease lost' });
    expect(timed.signal.aborted).toBe(false);
    for (const each of [timed, linked, afterParent]) each.clear();
  });

  it('never fires once cleared', async () => {
    const timed = createTimedAbort(10, 'late');
    timed.clear();

    await new Promise((resolve) => setTimeout(resolve, 40));

    expect(timed.signal.aborted).toBe(false);
  });

  it('says it timed out only when its own timer fired, not when the parent aborted first', async () => {
    // Arrange
    const parent = new AbortController();
    const fired = createTimedAbort(5, 'late');
    const overtaken = createTimedAbort(5, 'late', parent.signal);

    // Act
    parent.abort('lease lost');
    await new Promise((resolve) => setTimeout(resolve, 30));

    // Assess
    expect([fired.timedOut(), fired.signal.reason]).toEqual([true, 'late']);
    expect([overtaken.timedOut(), overtaken.signal.reason]).toEqual([false, 'lease lost']);
    for (const each of [fired, overtaken]) each.clear();
  });
});

describe('beforeDeadline', () => {
  it('answers the value when it comes first', async () => {
    expect(await beforeDeadline(Promise.resolve('v'), Date.now() + 1_000)).toBe('v');
  });

  it('answers undefined at the deadline when the work is still going', async () => {
    // Prepare
    const never = new Promise<string>(() => {});
    const deadlineMs = Date.now() + 60;

    // Act
    const value = await beforeDeadline(never, deadlineMs);

    // Assess
    expect(value).toBeUndefined();
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineMs - 1);
  });

  it('passes the work’s failure on when it fails first', async () => {
    await expect(beforeDeadline(Promise.reject(new Error('boom')), Date.now() + 1_000)).rejects.toThrow(
      'boom',
    );
  });

  it('reads the time left from the clock it is given', async () => {
    // A clock an hour behind: the deadline is an hour and 50 ms away, so the work wins.
    const value = await beforeDeadline(
      new Promise<string>((resolve) => setTimeout(() => resolve('late'), 100)),
      Date.now() + 50,
      () => Date.now() - 3_600_000,
    );
    expect(value).toBe('late');
  });
});
