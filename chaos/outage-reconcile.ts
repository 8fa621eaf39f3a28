/**
 * The outage scenario's verdicts (`outage.ts`), computed only from what each side observed: the answers
 * the senders got, and the records the Kafka REST server holds after the spool drained.
 */

export const OUTAGE_PHASES = ['before', 'refused', '503', 'timeouts', 'after'] as const;
export type OutagePhase = (typeof OUTAGE_PHASES)[number];

export interface SentWebhook {
  /** Unique per request; in the body, so each Kafka record names the request it came from. */
  readonly uid: string;
  readonly route: string;
  readonly body: string;
  /** The record key the route takes from the body; undefined on the key-less route. */
  readonly key: string | undefined;
  /** The request's place among its key's requests, which are sent one after the other. */
  readonly seq: number;
}

export interface WebhookAnswer {
  readonly status: number;
  readonly spooled: boolean;
  /** The produced answer's position; undefined for a spooled one. */
  readonly partition: number | undefined;
  readonly offset: number | undefined;
  readonly latencyMs: number;
  /** The answering instance's breaker was open when the request arrived. */
  readonly breakerOpen: boolean;
  readonly phase: OutagePhase;
}

export interface KafkaCopy {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface OutageReconciliation {
  readonly sent: number;
  readonly answered202: number;
  readonly produced: number;
  readonly spooled: number;
  /** Any answer but 202, by status. */
  readonly non202: Readonly<Record<string, number>>;
  readonly byPhase: Readonly<Record<OutagePhase, { sent: number; produced: number; spooled: number }>>;
  /** Requests of which Kafka holds no copy. */
  readonly lost: readonly string[];
  /** Copies whose value bytes or key differ from what was sent. */
  readonly altered: readonly string[];
  /** Produced answers whose partition and offset hold no copy of the request. */
  readonly wrongAnswers: readonly string[];
  /** Copies beyond the first: a produce that timed out after its write, then spooled, is the usual one. */
  readonly duplicates: number;
  /** Records in Kafka that no request sent. */
  readonly unknownRecords: number;
  /** Pairs of one key's consecutive requests whose first copies are not in send order (in one partition). */
  readonly orderViolations: readonly string[];
  readonly keysChecked: number;
  readonly breakerOpenAnswers: number;
  /** Answer latency while the answering instance's breaker was open, and over every answer. */
  readonly latencyOpen: Percentiles;
  /** The same by phase: where the slow answers were (a stall of the one process all servers share shows). */
  readonly latencyOpenByPhase: Readonly<Record<OutagePhase, Percentiles>>;
  readonly latencyAll: Percentiles;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
}

export const percentiles = (values: readonly number[]): Percentiles => {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
};

const uidOf = (value: Buffer | null): string | undefined => {
  try {
    const parsed = JSON.parse(value?.toString() ?? '') as { uid?: unknown };
    return typeof parsed.uid === 'string' ? parsed.uid : undefined;
  } catch {
    return undefined;
  }
};

const sameBytes = (a: Buffer | null, b: Buffer | null): boolean =>
  a === null || b === null ? a === b : a.equals(b);

const byPosition = (a: KafkaCopy, b: KafkaCopy) => a.partition - b.partition || a.offset - b.offset;

/** `answers[i]` is the answer to `sent[i]`; `records` is every record of the routes' topic. */
export const reconcileOutage = (
  sent: readonly SentWebhook[],
  answers: readonly WebhookAnswer[],
  records: readonly KafkaCopy[],
): OutageReconciliation => {
  const copies = new Map<string, KafkaCopy[]>(sent.map((webhook) => [webhook.uid, []]));
  let unknownRecords = 0;
  for (const record of records) {
    const found = copies.get(uidOf(record.value) ?? '');
    if (found === undefined) unknownRecords += 1;
    else found.push(record);
  }
  const byPhase = Object.fromEntries(
    OUTAGE_PHASES.map((phase) => [phase, { sent: 0, produced: 0, spooled: 0 }]),
  ) as Record<OutagePhase, { sent: number; produced: number; spooled: number }>;
  const non202: Record<string, number> = {};
  const lost: string[] = [];
  const altered: string[] = [];
  const wrongAnswers: string[] = [];
  let duplicates = 0;
  let produced = 0;
  let spooled = 0;
  const firstCopies = new Map<string, { seq: number; uid: string; first: KafkaCopy }[]>();
  sent.forEach((webhook, index) => {
    const answer = answers[index];
    if (answer !== undefined) {
      const tally = byPhase[answer.phase];
      tally.sent += 1;
      if (answer.status !== 202) non202[answer.status] = (non202[answer.status] ?? 0) + 1;
      else if (answer.spooled) {
        spooled += 1;
        tally.spooled += 1;
      } else {
        produced += 1;
        tally.produced += 1;
      }
    }
    const found = (copies.get(webhook.uid) ?? []).sort(byPosition);
    const [first] = found;
    if (first === undefined) {
      lost.push(webhook.uid);
      return;
    }
    duplicates += found.length - 1;
    const body = Buffer.from(webhook.body);
    const key = webhook.key === undefined ? null : Buffer.from(webhook.key);
    if (found.some((copy) => !sameBytes(copy.value, body) || !sameBytes(copy.key, key))) {
      altered.push(webhook.uid);
    }
    if (
      answer?.status === 202 &&
      !answer.spooled &&
      !found.some((copy) => copy.partition === answer.partition && copy.offset === answer.offset)
    ) {
      wrongAnswers.push(webhook.uid);
    }
    if (webhook.key !== undefined) {
      const ofKey = `${webhook.route}/${webhook.key}`;
      const list = firstCopies.get(ofKey) ?? [];
      list.push({ seq: webhook.seq, uid: webhook.uid, first });
      firstCopies.set(ofKey, list);
    }
  });
  // One key's records share a partition, so offsets order them; a key split over partitions is a violation.
  const orderViolations: string[] = [];
  for (const [key, list] of firstCopies) {
    list.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < list.length; i += 1) {
      const before = list[i - 1];
      const after = list[i];
      if (before === undefined || after === undefined) continue;
      if (after.seq !== before.seq + 1) continue;
      if (before.first.partition !== after.first.partition || after.first.offset < before.first.offset) {
        orderViolations.push(`${key}: #${before.seq} ${before.uid} after #${after.seq} ${after.uid}`);
      }
    }
  }
  const open = answers.filter((answer) => answer.breakerOpen);
  return {
    sent: sent.length,
    answered202: answers.filter((answer) => answer.status === 202).length,
    produced,
    spooled,
    non202,
    byPhase,
    lost,
    altered,
    wrongAnswers,
    duplicates,
    unknownRecords,
    orderViolations,
    keysChecked: firstCopies.size,
    breakerOpenAnswers: open.length,
    latencyOpen: percentiles(open.map((answer) => answer.latencyMs)),
    latencyOpenByPhase: Object.fromEntries(
      OUTAGE_PHASES.map((phase) => [
        phase,
        percentiles(open.filter((answer) => answer.phase === phase).map((answer) => answer.latencyMs)),
      ]),
    ) as Record<OutagePhase, Percentiles>,
    latencyAll: percentiles(answers.map((answer) => answer.latencyMs)),
  };
};
