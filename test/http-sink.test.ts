import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HttpSink, startHttpSink, toPrintedLines } from '../dev/http-sink.js';

const post = async (url: string, body: string, headers: Record<string, string> = {}) => {
  try {
    const response = await request(`${url}/in`, { method: 'POST', body, headers });
    await response.body.dump();
    return response.statusCode;
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
};

describe('dev HTTP sink', () => {
  let sink: HttpSink;
  let printed: string[];

  beforeEach(async () => {
    printed = [];
    sink = await startHttpSink({ print: (line) => printed.push(line) });
  });
  afterEach(async () => {
    await sink.close();
  });

  it('answers 200 by default and records every request in order', async () => {
    // Act
    const statuses = [await post(sink.url, 'one'), await post(sink.url, 'two', { 'x-test': 'yes' })];

    // Assess
    expect(statuses).toEqual([200, 200]);
    expect(sink.received.map((r) => [r.method, r.path, r.body.toString(), r.status])).toEqual([
      ['POST', '/in', 'one', 200],
      ['POST', '/in', 'two', 200],
    ]);
    expect(sink.received[1]?.headers['x-test']).toBe('yes');
  });

  it('applies injected faults in order, each for its number of times, then answers 200 again', async () => {
    // Prepare
    sink.inject({ kind: 'status', status: 503, headers: { 'retry-after': '3' }, times: 2 });
    sink.inject({ kind: 'drop' });
    sink.inject({ kind: 'delay', ms: 20 });

    // Act
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await post(sink.url, `r${i}`));

    // Assess
    expect(statuses).toEqual([503, 503, 'UND_ERR_SOCKET', 200, 200]);
    expect(sink.received.map((r) => [r.body.toString(), r.status])).toEqual([
      ['r0', 503],
      ['r1', 503],
      ['r2', null],
      ['r3', 200],
      ['r4', 200],
    ]);
  });

  it('trickles a body after the headers, a byte per interval, until the client gives up', async () => {
    // Prepare
    sink.inject({ kind: 'trickle', status: 503, intervalMs: 20 });
    const response = await request(`${sink.url}/in`, { method: 'POST', body: 'x' });
    const bytes: number[] = [];

    // Act
    for await (const chunk of response.body) {
      bytes.push((chunk as Buffer).length);
      if (bytes.length === 5) break;
    }

    // Assess
    expect(response.statusCode).toBe(503);
    expect(bytes).toEqual([1, 1, 1, 1, 1]);
    expect(sink.received.map((r) => r.status)).toEqual([503]);
  });

  it('forgets pending faults on clearFaults', async () => {
    // Prepare
    sink.inject({ kind: 'status', status: 500, times: 10 });
    sink.clearFaults();

    // Act
    const status = await post(sink.url, 'x');

    // Assess
    expect(status).toBe(200);
  });

  it('prints single-mode records with coordinates, key and value text', async () => {
    // Act
    await post(sink.url, '{"hello":"world"}', {
      'kafka-topic': 'orders',
      'kafka-partition': '0',
      'kafka-offset': '42',
      'kafka-key': Buffer.from('user-1').toString('base64'),
    });
    await post(sink.url, '', {
      'kafka-topic': 'orders',
      'kafka-partition': '0',
      'kafka-offset': '43',
      'kafka-value-null': 'true',
    });

    // Assess
    expect(printed).toEqual(['orders/0@42 key=user-1 {"hello":"world"}', 'orders/0@43 (null)']);
  });

  it.each([
    {
      name: 'a batch, one line per record',
      request: {
        headers: { 'kafka-topic': 'orders', 'kafka-record-count': '2' },
        body: JSON.stringify([
          { topic: 'orders', partition: 1, offset: 5, key: null, value: Buffer.from('a').toString('base64') },
          { topic: 'orders', partition: 1, offset: 6, key: 'aw==', value: null },
        ]),
      },
      lines: ['orders/1@5 a', 'orders/1@6 key=k (null)'],
    },
    {
      name: 'a long value, truncated',
      request: {
        headers: { 'kafka-topic': 't', 'kafka-partition': '0', 'kafka-offset': '1' },
        body: 'v'.repeat(500),
      },
      lines: [`t/0@1 ${'v'.repeat(200)}… (500 bytes)`],
    },
    {
      name: 'control characters, replaced',
      request: {
        headers: { 'kafka-topic': 't', 'kafka-partition': '0', 'kafka-offset': '1' },
        body: 'a\u001b[31mb',
      },
      lines: ['t/0@1 a\uFFFD[31mb'],
    },
    {
      name: 'a request that is not from the sink',
      request: { headers: {}, body: 'abc' },
      lines: ['POST /x: 3 bytes'],
    },
  ])('prints $name', ({ request: { headers, body }, lines }) => {
    // Act
    const printedLines = toPrintedLines({ method: 'POST', path: '/x', headers, body: Buffer.from(body) });

    // Assess
    expect(printedLines).toEqual(lines);
  });
});
