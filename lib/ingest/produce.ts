import { AppError, ERROR_CODES, toAppError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { KafkaRest, ProduceRecord, ProduceResult, ProduceSuccess } from '../kafka-rest/types.js';
import { type IngestMetrics, withProduceLatency } from './metrics.js';
import { checkRecordFits, type PlannedRequest, planProduceRequests } from './plan.js';
import type { IngestItem, ItemOutcome, ParsedItem, ProduceLimits } from './types.js';

export interface IngestDeps {
  readonly kafka: KafkaRest;
  readonly log: Log;
  readonly now: () => number;
}

/** What every ingest source (webhook, SQS, EventBridge) is given besides its own settings. */
export interface SourceDeps extends IngestDeps {
  /** Records produced/failed and produce latency by topic (and the SQS source's failed messages); absent: not counted. */
  readonly metrics?: IngestMetrics | undefined;
  /**
   * Whether the proxy keeps record headers (`carriesRecordHeaders`): then trace context travels as record
   * headers and CloudEvents go in binary mode. Absent: false, the record is its key and value only.
   */
  readonly recordHeaders?: boolean | undefined;
}

/**
 * The one record of a webhook request or an EventBridge event, produced and counted: where it was
 * acknowledged, or a throw (the record's failure itself, or `noResult()` when the client answered for no
 * record, which each source words its own way).
 */
export const produceOne = async (
  deps: Pick<SourceDeps, 'kafka' | 'now' | 'metrics'>,
  topic: string,
  record: ProduceRecord,
  options: { readonly deadlineMs: number; readonly noResult: () => Error },
): Promise<ProduceSuccess> => {
  const { metrics } = deps;
  const kafka = metrics === undefined ? deps.kafka : withProduceLatency(deps.kafka, metrics, deps.now);
  const [result] = await kafka.produce(topic, [record], { deadlineMs: options.deadlineMs });
  if (result === undefined) throw options.noResult();
  if (!result.ok) throw result.error;
  metrics?.record(topic, true);
  return result;
};

export interface ProduceItemsOptions {
  /** Absolute time (epoch ms, `deps.now` clock) by which every request must have settled. */
  readonly deadlineMs: number;
  readonly limits: ProduceLimits;
  /** Produce requests in flight at once. */
  readonly concurrency: number;
}

/** {@link produceItems} with every produce call timed into the source's metrics, when it counts them. */
export const produceItemsTimed = (
  deps: SourceDeps,
  parsed: readonly ParsedItem[],
  options: ProduceItemsOptions,
): Promise<ProduceItemsSummary> => {
  const { metrics } = deps;
  return produceItems(
    metrics === undefined ? deps : { ...deps, kafka: withProduceLatency(deps.kafka, metrics, deps.now) },
    parsed,
    options,
  );
};

/** What a batch cost: for the log and the benchmark. */
export interface ProduceItemsSummary {
  readonly outcomes: ItemOutcome[];
  /** Produce requests planned, and how many were actually sent (the rest met the deadline or a failed group). */
  readonly requestsPlanned: number;
  readonly requestsSent: number;
}

/**
 * Produces every acceptable item, packed into as few requests as the limits allow, and answers one
 * outcome per input item, in input order. Never throws: whatever goes wrong is an item's failed outcome.
 *
 * - An item too large for any request, or rejected by the parser, fails for good (`retriable: false`).
 * - The client retries failed retriable records itself until `deadlineMs`; what still fails is reported.
 *   A request that is due after `deadlineMs` is not sent and its items fail with `ERR_DEADLINE`.
 * - FIFO: an item is sent only once every earlier item of its group is acknowledged (see
 *   {@link planProduceRequests}). Once one fails, every later item of its group fails too without being
 *   sent, so Kafka holds the group's first copies in order and SQS redelivers the rest in order.
 */
export const produceItems = async (
  deps: IngestDeps,
  parsed: readonly ParsedItem[],
  options: ProduceItemsOptions,
): Promise<ProduceItemsSummary> => {
  const outcomes: (ItemOutcome | undefined)[] = new Array(parsed.length);
  // The first failed message of each FIFO group, by batch position: every later one of the group fails too.
  const failedGroups = new Map<string, { readonly index: number; readonly id: string }>();
  const sendable: Indexed[] = [];

  const fail = (
    index: number,
    item: Pick<IngestItem, 'id' | 'group'> & { topic: string | undefined },
    error: AppError,
  ) => {
    outcomes[index] = { ok: false, id: item.id, topic: item.topic, error };
    if (item.group === undefined) return;
    const first = failedGroups.get(item.group);
    if (first === undefined || index < first.index) failedGroups.set(item.group, { index, id: item.id });
  };
  /** Fails the item when an earlier message of its group failed; true when it did. */
  const groupFailed = (index: number, item: Indexed['item'] | ParsedItem): boolean => {
    const first = item.group === undefined ? undefined : failedGroups.get(item.group);
    if (first === undefined || first.index >= index) return false;
    outcomes[index] = { ok: false, id: item.id, topic: item.topic, error: blockedBy(first.id) };
    return true;
  };

  parsed.forEach((item, index) => {
    if (groupFailed(index, item)) return;
    const misfit = item.ok ? checkRecordFits(item.record, options.limits) : item.error;
    if (misfit) fail(index, item, misfit);
    else if (item.ok)
      sendable.push({ index, topic: item.topic, group: item.group, record: item.record, item });
  });

  const plan = planProduceRequests(sendable, options.limits);
  let requestsSent = 0;

  const settle = (topic: string, sent: readonly Indexed[], results: readonly ProduceResult[]): void => {
    sent.forEach(({ index, item }, position) => {
      const result = results[position];
      if (result === undefined) {
        fail(
          index,
          item,
          new AppError(
            ERROR_CODES.UPSTREAM_PROTOCOL,
            'the Kafka REST client returned no result for this record',
          ),
        );
      } else if (!result.ok) {
        fail(index, item, result.error);
      } else {
        outcomes[index] = {
          ok: true,
          id: item.id,
          topic,
          partition: result.partition,
          offset: result.offset,
        };
      }
    });
  };

  const run = async (request: PlannedRequest<Indexed>): Promise<void> => {
    // The requests holding these items' predecessors have settled (`after`); an item whose predecessor
    // failed is not sent, as it would land before that one's redelivery.
    const sent = request.items.filter(({ index, item }) => !groupFailed(index, item));
    if (sent.length === 0) return;
    if (deps.now() >= options.deadlineMs) {
      const error = new AppError(
        ERROR_CODES.DEADLINE,
        'the invocation deadline came before this record was sent',
      );
      for (const { index, item } of sent) fail(index, item, error);
      return;
    }
    requestsSent += 1;
    let results: readonly ProduceResult[];
    try {
      results = await deps.kafka.produce(
        request.topic,
        sent.map((entry) => entry.record),
        { deadlineMs: options.deadlineMs },
      );
    } catch (error) {
      const reason = toAppError(
        error,
        ERROR_CODES.UPSTREAM_PROTOCOL,
        'the produce request failed unexpectedly',
      );
      deps.log.error('produce request failed whole', {
        topic: request.topic,
        records: sent.length,
        code: reason.code,
        reason: reason.message,
      });
      for (const { index, item } of sent) fail(index, item, reason);
      return;
    }
    settle(request.topic, sent, results);
  };

  await runWithDependencies(plan, options.concurrency, run);

  return {
    // Every slot is filled above; the fallback keeps a bug from ever acknowledging a message silently.
    outcomes: Array.from(
      parsed,
      (item, index): ItemOutcome =>
        outcomes[index] ?? {
          ok: false,
          id: item.id,
          topic: item.topic,
          error: new AppError(ERROR_CODES.UPSTREAM_PROTOCOL, 'no outcome was recorded for this message'),
        },
    ),
    requestsPlanned: plan.length,
    requestsSent,
  };
};

/**
 * Logs what the batch came to, never payloads: an error line for each reason a message failed for good,
 * naming every such message (the DLQ will hold them without a reason, so this line is the record of why);
 * one warning per error code for those left to redelivery; and an info summary.
 */
export const logOutcomes = (log: Log, summary: ProduceItemsSummary, source: string): void => {
  // A request failing whole shares one error among its messages: one line for all of them.
  const permanent = new Map<AppError, { topic: string | undefined; messageIds: string[] }>();
  const retriable = new Map<string, { count: number; reason: string; messageIds: string[] }>();
  let acknowledged = 0;
  for (const outcome of summary.outcomes) {
    if (outcome.ok) {
      acknowledged += 1;
    } else if (!outcome.error.retriable) {
      const entry = permanent.get(outcome.error) ?? { topic: outcome.topic, messageIds: [] };
      entry.messageIds.push(outcome.id);
      permanent.set(outcome.error, entry);
    } else {
      const entry = retriable.get(outcome.error.code) ?? {
        count: 0,
        reason: outcome.error.message,
        messageIds: [],
      };
      entry.count += 1;
      if (entry.messageIds.length < MAX_IDS_PER_WARNING) entry.messageIds.push(outcome.id);
      retriable.set(outcome.error.code, entry);
    }
  }
  for (const [error, entry] of permanent) {
    log.error(`${source} message failed for good`, {
      messageIds: entry.messageIds,
      topic: entry.topic,
      code: error.code,
      reason: error.message,
    });
  }
  for (const [code, entry] of retriable) {
    log.warn(`${source} messages left for redelivery`, { code, ...entry });
  }
  log.info(`${source} batch produced`, {
    messages: summary.outcomes.length,
    acknowledged,
    failed: summary.outcomes.length - acknowledged,
    requestsPlanned: summary.requestsPlanned,
    requestsSent: summary.requestsSent,
  });
};

const MAX_IDS_PER_WARNING = 20;

interface Indexed {
  readonly index: number;
  readonly topic: string;
  readonly group: string | undefined;
  readonly record: IngestItem['record'];
  readonly item: IngestItem;
}

const blockedBy = (firstFailureId: string): AppError =>
  new AppError(
    ERROR_CODES.RECORD_REJECTED,
    `an earlier message of its FIFO group (${firstFailureId}) failed; it is redelivered after that one`,
    { retriable: true },
  );

/**
 * Runs `requests` with at most `concurrency` in flight, each after the requests it names in `after`.
 * Requests are taken in id order and `after` only names lower ids, so a waiting request always waits for
 * one that is already running or done: no deadlock.
 */
const runWithDependencies = async <T extends { readonly id: number; readonly after: readonly number[] }>(
  requests: readonly T[],
  concurrency: number,
  run: (request: T) => Promise<void>,
): Promise<void> => {
  const settled: Promise<void>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const request = requests[next] as T;
      next += 1;
      const done = (async () => {
        await Promise.all(request.after.map((id) => settled[id]));
        await run(request);
      })();
      settled[request.id] = done;
      await done;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
};
