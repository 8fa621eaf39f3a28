import { beforeAll, describe, expect, it } from 'vitest';
import { OUTAGE_SUITE, type OutageReport, runOutage } from '../chaos/outage.js';
import {
  type KafkaCopy,
  reconcileOutage,
  type SentWebhook,
  type WebhookAnswer,
} from '../chaos/outage-reconcile.js';
import { formatOutageReport, isOutageClean } from '../chaos/outage-report.js';

/**
 * The webhook spool's outage scenario at suite size (300 webhooks through 4 s of outage; `npm run chaos`
 * runs 5,000 through a minute), once per dialect. Correctness only: latencies and the drain time are
 * printed figures, never asserted.
 */
describe.each(['v1', 'v2'] as const)('outage scenario over %s', (dialect) => {
  let report: OutageReport;

  beforeAll(async () => {
    report = await runOutage({ ...OUTAGE_SUITE, dialect });
    console.log(formatOutageReport(report));
  }, 60_000);

  it('answers every webhook 202, produced before and after the outage, spooled during it', () => {
    const r = report.reconciliation;
    expect(r.non202).toEqual({});
    expect(r.answered202).toBe(OUTAGE_SUITE.webhooks);
    expect(r.produced + r.spooled).toBe(OUTAGE_SUITE.webhooks);
    expect(r.byPhase.before.produced).toBeGreaterThan(0);
    for (const phase of ['refused', '503', 'timeouts'] as const) {
      expect(r.byPhase[phase].sent).toBeGreaterThan(0);
      expect(r.byPhase[phase].produced).toBe(0);
    }
    // Once the proxy is back, keys with spooled records still spool behind them; the others produce.
    expect(r.byPhase.after.produced).toBeGreaterThan(0);
  });

  it('answered from the spool while the breakers were open, and spooled the large bodies through the bucket', () => {
    expect(report.reconciliation.breakerOpenAnswers).toBeGreaterThan(0);
    expect(report.spooledLarge).toBeGreaterThan(0);
    expect(report.objectsLeft).toBe(0);
  });

  it('finds every request in Kafka exactly as sent, at the offset a produced answer named, in per-key order', () => {
    const r = report.reconciliation;
    expect(r.lost).toEqual([]);
    expect(r.altered).toEqual([]);
    expect(r.wrongAnswers).toEqual([]);
    expect(r.keysChecked).toBeGreaterThan(0);
    expect(r.orderViolations).toEqual([]);
    expect(r.unknownRecords).toBe(0);
  });

  it('drains the spool: nothing left queued or dead-lettered, no key still held', () => {
    expect(report.undrained).toBe(0);
    expect(report.deadLettered).toBe(0);
    expect(report.markersLeft).toBe(0);
    expect(isOutageClean(report)).toBe(true);
  });
});

describe('the outage reconciliation', () => {
  const webhook = (uid: string, key: string | undefined, seq: number): SentWebhook => ({
    uid,
    route: key === undefined ? 'loose' : 'orders',
    key,
    seq,
    body: JSON.stringify({ uid, note: 'café' }),
  });
  const answer = (overrides: Partial<WebhookAnswer> = {}): WebhookAnswer => ({
    status: 202,
    spooled: true,
    partition: undefined,
    offset: undefined,
    latencyMs: 1,
    breakerOpen: false,
    phase: 'refused',
    ...overrides,
  });
  const copy = (of: SentWebhook, offset: number, overrides: Partial<KafkaCopy> = {}): KafkaCopy => ({
    partition: 0,
    offset,
    key: of.key === undefined ? null : Buffer.from(of.key),
    value: Buffer.from(of.body),
    ...overrides,
  });
  const a = webhook('a', 'k', 0);
  const b = webhook('b', 'k', 1);
  const c = webhook('c', undefined, 0);

  it('is clean for every request once in Kafka, in order, and counts copies beyond the first', () => {
    const r = reconcileOutage(
      [a, b, c],
      [answer(), answer(), answer()],
      [copy(a, 0), copy(b, 1), copy(a, 2), copy(c, 3)],
    );

    expect(r.lost).toEqual([]);
    expect(r.orderViolations).toEqual([]);
    expect(r.duplicates).toBe(1);
    expect(r.spooled).toBe(3);
  });

  it('reports a request missing from Kafka, a changed byte, a wrong offset, a key out of order and a non-202', () => {
    const r = reconcileOutage(
      [a, b, c],
      [answer({ spooled: false, partition: 0, offset: 7 }), answer(), answer({ status: 503 })],
      [copy(b, 0), copy(a, 1), copy(b, 2, { value: Buffer.from(b.body.replace('é', 'e')) })],
    );

    expect(r.lost).toEqual(['c']);
    expect(r.altered).toEqual(['b']);
    expect(r.wrongAnswers).toEqual(['a']);
    expect(r.orderViolations).toEqual(['orders/k: #0 a after #1 b']);
    expect(r.non202).toEqual({ 503: 1 });
  });

  it('counts a key split over two partitions as out of order: one key has one partition', () => {
    const r = reconcileOutage([a, b], [answer(), answer()], [copy(a, 0), copy(b, 1, { partition: 1 })]);

    expect(r.orderViolations).toHaveLength(1);
  });
});
