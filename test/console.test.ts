import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { launchChromium } from '../dev/chromium.js';
import type { ConsoleServer } from '../dev/console/server.js';
import { startConsole } from '../dev/console/start-console.js';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { rawCall } from '../dev/kafka-rest/raw-client.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { makeHandler as makeDrainHandler } from '../handlers/drain.js';
import { makeHandler as makeWebhookHandler } from '../handlers/webhook.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { createDrainDeps, type DrainHandlerDeps } from '../lib/wiring/drain.js';
import { loadDrainConfig } from '../lib/wiring/settings/drain.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';
import { createWebhookDeps, type WebhookHandlerDeps } from '../lib/wiring/webhook.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { localDrainEnv } from './helpers/drain-worker.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { waitUntil } from './helpers/poll.js';

const ROOT = join(import.meta.dirname, '..');
/** CI keeps this file as an artifact; `npm run console:screenshot` writes the README's instead. */
const SCREENSHOT = join(ROOT, process.env.CONSOLE_SCREENSHOT ?? 'artifacts/console.png');
const DRAIN = 'demo-to-sink';
const PARTITION = 1;
const ROW = `tr[data-drain-partition="${DRAIN}/${PARTITION}"]`;
const KEY = { drainId: DRAIN, topic: 'demo', partition: PARTITION };
/** A drain of its own for the DLQ panel, so the letters and redeliveries stay out of the demo drain's. */
const DEAD_DRAIN = 'dead-to-sink';
const DEAD_QUEUE = 'dead-to-sink-dlq';
const DLQ = `div[data-dlq="${DEAD_DRAIN}"]`;

describe('the local console in Chromium (local Kafka REST server, dynalite, the local SQS, the drain, an HTTP sink)', () => {
  const dynamo = dynaliteForFile();
  let kafka: KafkaRestServer;
  let sqs: LocalSqs;
  let sink: HttpSink;
  let localConsole: ConsoleServer;
  let drainDeps: DrainHandlerDeps;
  let webhookDeps: WebhookHandlerDeps;
  let browser: Browser;
  let page: Page;
  // The drain as `npm start` runs it: invoked again and again, one run after the other.
  let drainRuns = 0;
  /** Failed drain runs and the console's warnings: none expected. */
  const problems: unknown[] = [];
  let stopDrain = false;
  let drainLoop: Promise<void> | undefined;
  let gate: { readonly opened: Promise<void>; readonly open: () => void } | undefined;
  let drainParked = false;

  const webhook = makeWebhookHandler(() => webhookDeps);
  const send = async (body: string, route = 'demo'): Promise<{ partition: number; offset: number }> => {
    const answer = await webhook(httpApiEvent(`/hooks/${route}`, body), lambdaContext());
    expect(answer.statusCode).toBe(202);
    return JSON.parse(answer.body ?? '') as { partition: number; offset: number };
  };
  /**
   * Holds the drain between two runs while `act` clicks: an operator write while a run holds the lease
   * makes that run stop, and the partition waits for the lease to expire (the CLI says so), which would
   * make the test wait on the lease's duration.
   */
  const betweenRuns = async (act: () => Promise<void>): Promise<void> => {
    let open = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    gate = { opened, open };
    await waitUntil(() => drainParked, 5);
    try {
      await act();
    } finally {
      gate = undefined;
      open();
    }
  };
  /** Resolves once `count` more drain runs have completed, each of them started after this call. */
  const drainRunsMore = async (count: number): Promise<void> => {
    const target = drainRuns + count + 1;
    await waitUntil(() => drainRuns >= target, 20);
  };
  const cellText = (column: string) => page.locator(`${ROW} td.${column}`).textContent();
  const checkpoints = () =>
    createCheckpointStore({
      client: dynamo().client,
      tableName: dynamo().tableName,
      leaseMs: 60_000,
      now: Date.now,
    });
  const delivered = () =>
    sink.received.filter((request) => request.headers['kafka-partition'] === String(PARTITION));

  beforeAll(async () => {
    kafka = await startKafkaRestServer({ topics: { demo: 3, dead: 1 } });
    sink = await startHttpSink();
    sqs = await startLocalSqs();
    const env = localDrainEnv({
      kafkaRestUrl: kafka.url,
      dynamo: dynamo(),
      drains: [
        {
          id: DRAIN,
          topic: 'demo',
          partitions: 'all',
          sink: { type: 'http', url: `${sink.url}/records`, allowHttp: true },
        },
        {
          id: DEAD_DRAIN,
          topic: 'dead',
          partitions: 'all',
          sink: { type: 'http', url: `${sink.url}/dead`, allowHttp: true },
          dlq: { queueUrl: sqs.createQueue(DEAD_QUEUE) },
        },
      ],
      extra: { SQS_ENDPOINT: sqs.endpoint },
      functionName: 'drain',
      // Fan-out is off: nothing is invoked.
      lambdaEndpoint: 'http://127.0.0.1:1',
    });
    // The drain's DynamoDB client takes its credentials from the environment, as in Lambda.
    vi.stubEnv('AWS_ACCESS_KEY_ID', env.AWS_ACCESS_KEY_ID);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', env.AWS_SECRET_ACCESS_KEY);
    drainDeps = createDrainDeps(loadDrainConfig(env));
    webhookDeps = createWebhookDeps(
      loadWebhookConfig({
        ...env,
        WEBHOOK_ROUTES: JSON.stringify({
          demo: { topic: 'demo', verify: { scheme: 'none' }, partition: PARTITION },
          dead: { topic: 'dead', verify: { scheme: 'none' } },
        }),
      }),
    );
    localConsole = await startConsole({ port: 0, env, warn: (line) => problems.push(line) });
    const drain = makeDrainHandler(() => drainDeps);
    drainLoop = (async () => {
      while (!stopDrain) {
        const held = gate;
        if (held !== undefined) {
          drainParked = true;
          await held.opened;
          drainParked = false;
          continue;
        }
        await drain({}, lambdaContext(5_000, `run-${drainRuns}`)).catch((error: unknown) =>
          problems.push(error),
        );
        drainRuns += 1;
        // Paced like npm start's schedule, faster; nothing waits on this interval.
        await delay(50);
      }
    })();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 600 } });
    await page.goto(localConsole.url);
  }, 30_000);

  afterAll(async () => {
    stopDrain = true;
    gate?.open();
    await drainLoop;
    await browser?.close();
    await localConsole?.close();
    await drainDeps?.close?.();
    await webhookDeps?.kafka.close();
    await sink?.close();
    await sqs?.close();
    await kafka?.close();
    vi.unstubAllEnvs();
  });

  it('shows a webhook as a record, pauses the partition from the page (the drain stops) and resumes it', async () => {
    // Act: a webhook whose body is markup, as any sender may post
    const body = '{"hello":"console","html":"<img src=x onerror=alert(1)>"}';
    const first = await send(body);

    // Assess: the record appears in the page as text, never as markup
    const value = page.locator(
      `tr[data-partition="demo/${PARTITION}"] li[data-offset="${first.offset}"] .value`,
    );
    await value.waitFor();
    expect(await value.textContent()).toBe(body);
    expect(await page.locator('main img').count()).toBe(0);
    // … and the drain delivers it: the page shows the checkpoint past it, no lag
    await waitUntil(async () => (await cellText('next-offset')) === String(first.offset + 1), 20);
    expect(await cellText('lag')).toBe('0');

    // Act: pause from the page, then two more webhooks
    await betweenRuns(async () => {
      await page.locator(`${ROW} button.toggle`).click();
      await waitUntil(async () => (await cellText('paused')) === 'yes', 20);
    });
    const deliveredBefore = delivered().length;
    await send('{"n":2}');
    const third = await send('{"n":3}');
    await drainRunsMore(2);

    // Assess: the drain skipped the paused partition: the checkpoint stayed, the sink got nothing more
    const store = checkpoints();
    expect((await store.get(KEY))?.nextOffset).toBe(first.offset + 1);
    expect(delivered().length).toBe(deliveredBefore);
    await waitUntil(async () => (await cellText('lag')) === '2', 20);
    await waitUntil(async () => (await page.locator(`${ROW} button.toggle`).textContent()) === 'Resume', 20);

    // Act: resume from the page
    await betweenRuns(async () => {
      await page.locator(`${ROW} button.toggle`).click();
      await waitUntil(async () => (await cellText('paused')) === 'no', 20);
    });

    // Assess: the drain delivers the two held records, and the audit trail names the console
    await waitUntil(async () => (await cellText('next-offset')) === String(third.offset + 1), 20);
    expect(
      delivered()
        .map((request) => request.body.toString())
        .slice(-2),
    ).toEqual(['{"n":2}', '{"n":3}']);
    const history = await store.history({ drainId: DRAIN, partition: PARTITION });
    expect(history.map((entry) => [entry.action, entry.who])).toEqual([
      ['pause', `console:${userInfo().username}`],
      ['resume', `console:${userInfo().username}`],
    ]);
    expect(problems).toEqual([]);
  });

  it('replays from an offset typed in the page, and shows the refusal of one past the log end', async () => {
    // Prepare: the partition's records delivered (the test before leaves them so)
    const end = (await checkpoints().get(KEY))?.nextOffset ?? 0;
    expect(end).toBeGreaterThan(0);
    const redeliveredFrom = delivered().length;
    const replay = page.locator(`${ROW} input.offset`);

    // Act: a target past the log end
    await replay.fill(String(end + 100));
    await page.locator(`${ROW} form.replay button`).click();

    // Assess: the CLI's own refusal, and nothing moved
    await waitUntil(
      async () => ((await page.locator('#outcome').textContent()) ?? '').includes('past the log end'),
      20,
    );
    expect(await page.locator('#outcome').getAttribute('class')).toBe('bad');
    expect((await checkpoints().get(KEY))?.nextOffset).toBe(end);

    // Act: replay from 0
    await betweenRuns(async () => {
      await replay.fill('0');
      await page.locator(`${ROW} form.replay button`).click();
      await waitUntil(
        async () =>
          ((await page.locator('#outcome').textContent()) ?? '').includes(`next offset ${end} → 0 (replay)`),
        20,
      );
    });

    // Assess: the move as the CLI prints it (above), then the drain delivers the partition again, in order
    await waitUntil(() => delivered().length >= redeliveredFrom + end, 20);
    expect(
      delivered()
        .slice(redeliveredFrom)
        .map((request) => request.headers['kafka-offset']),
    ).toEqual(Array.from({ length: end }, (_, offset) => String(offset)));
    const last = (await checkpoints().history({ drainId: DRAIN, partition: PARTITION })).at(-1);
    expect(last).toMatchObject({
      action: 'set-offset 0',
      before: { nextOffset: end },
      after: { nextOffset: 0 },
    });
  });

  it('answers only on 127.0.0.1 under its own name, and refuses a POST from another origin', async () => {
    // Prepare
    const { port } = new URL(localConsole.url);
    const pause = { drainId: DRAIN, partition: PARTITION, command: 'pause' };
    const post = (headers: Record<string, string>, body: unknown = pause) =>
      rawCall(localConsole.url, 'POST', '/api/action', {
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const auditBefore = (await checkpoints().history({ drainId: DRAIN })).length;

    // Act
    const foreign = await post({ origin: 'http://attacker.example' });
    const noOrigin = await post({});
    const rebound = await rawCall(localConsole.url, 'GET', '/api/snapshot', {
      headers: { host: `attacker.example:${port}` },
    });
    const foreignRedrive = await post(
      { origin: 'http://attacker.example' },
      { drainId: DEAD_DRAIN, command: 'redrive' },
    );
    const malformed = await post(
      { origin: `http://127.0.0.1:${port}` },
      { drainId: DRAIN, partition: -1, command: 'pause' },
    );

    // Assess
    expect(new URL(localConsole.url).hostname).toBe('127.0.0.1');
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.text)).toEqual({
      ok: false,
      message: 'cross-origin request refused: Origin "http://attacker.example" is not this console\'s',
    });
    expect(noOrigin.status).toBe(403);
    expect(foreignRedrive.status).toBe(403);
    expect(rebound.status).toBe(403);
    expect(rebound.text).toContain('unknown host "attacker.example');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toEqual({
      ok: false,
      message: 'partition must be an integer ≥ 0, got -1',
    });
    expect((await checkpoints().get(KEY))?.paused).toBe(false);
    expect(await checkpoints().history({ drainId: DRAIN })).toHaveLength(auditBefore);
    expect(await checkpoints().history({ drainId: DEAD_DRAIN })).toEqual([]);
  });

  it("shows a drain's last error while its sink refuses a record, and clears it once delivered", async () => {
    // Prepare: the sink refuses every delivery for good (a 400), and the drain has no DLQ
    sink.inject({ kind: 'status', status: 400, times: Number.MAX_SAFE_INTEGER });

    // Act
    const refused = await send('{"n":"refused"}');

    // Assess: the partition stopped at the record, and the page says why
    await waitUntil(async () => ((await cellText('last-error')) ?? '').startsWith('ERR_SINK_REJECTED'), 20);
    expect(await cellText('last-error')).toContain(` at ${refused.offset}`);
    expect(await cellText('next-offset')).toBe(String(refused.offset));

    // Act: the sink accepts again
    sink.clearFaults();

    // Assess
    await waitUntil(async () => (await cellText('next-offset')) === String(refused.offset + 1), 20);
    expect(await cellText('last-error')).toBe('-');
  });

  it('shows a refused record in its DLQ, and redrives it from the page once the sink accepts again', async () => {
    // Prepare: the sink refuses every delivery for good, and this drain dead-letters (the test before
    // leaves failed runs of the demo drain among the problems)
    const problemsBefore = problems.length;
    sink.inject({ kind: 'status', status: 400, times: Number.MAX_SAFE_INTEGER });
    const deadDelivered = () =>
      sink.received.filter((request) => request.path === '/dead' && request.status === 200);

    // Act: a webhook the sink will refuse, its value markup as any sender may post
    const refused = await send('{"n":"dead","html":"<b>x</b>"}', 'dead');

    // Assess: the partition moved on past it, and the panel shows the letter, its coordinates and error
    const letter = page.locator(`${DLQ} tbody tr`);
    await waitUntil(async () => (await letter.count()) === 1, 20);
    expect(await letter.locator('td.at').textContent()).toBe(`dead/${refused.partition}@${refused.offset}`);
    expect(await letter.locator('td.drain').textContent()).toBe(DEAD_DRAIN);
    expect(await letter.locator('td.attempts').textContent()).toBe('1');
    expect(await letter.locator('td.error').textContent()).toMatch(/^ERR_SINK_REJECTED: /);
    expect(await letter.locator('td.value').textContent()).toBe(
      JSON.stringify('{"n":"dead","html":"<b>x</b>"}'),
    );
    expect(await page.locator('main b').count()).toBe(0);
    expect(await page.locator(`${DLQ} .summary`).textContent()).toMatch(/^1 letter\(s\), the oldest failed /);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const deadKey = { drainId: DEAD_DRAIN, topic: 'dead', partition: refused.partition };
    expect((await checkpoints().get(deadKey))?.nextOffset).toBe(refused.offset + 1);
    expect(deadDelivered()).toEqual([]);

    // Act: the sink accepts again; Redrive from the page
    sink.clearFaults();
    await page.locator(`${DLQ} button.redrive`).click();

    // Assess: the record delivered through the drain's sink, the letter gone, the redrive audited
    // (the letter leaves the panel as soon as the redrive holds it, so its answer is what to wait for)
    await waitUntil(
      async () => ((await page.locator('#outcome').textContent()) ?? '').startsWith('redrive: '),
      20,
    );
    expect(await page.locator('#outcome').textContent()).toMatch(
      /^redrive: 1 of 1 records \(1 delivered, 0 failed again, 0 kept\)/,
    );
    await waitUntil(async () => (await letter.count()) === 0, 20);
    expect(deadDelivered().map((request) => request.body.toString())).toEqual([
      '{"n":"dead","html":"<b>x</b>"}',
    ]);
    expect(deadDelivered()[0]?.headers['kafka-offset']).toBe(String(refused.offset));
    expect(await page.locator(`${DLQ} .summary`).textContent()).toBe('empty');
    const history = await checkpoints().history({ drainId: DEAD_DRAIN, partition: refused.partition });
    expect(history.map((entry) => [entry.action, entry.who])).toEqual([
      [
        `dlq redrive offsets ${refused.offset}-${refused.offset}: 1 delivered, 0 failed again, 0 kept`,
        `console:${userInfo().username}`,
      ],
    ]);
    expect(problems.slice(problemsBefore)).toEqual([]);
  });
});
