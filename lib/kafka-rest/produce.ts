import { AppError, ERROR_CODES } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { type BackoffSettings, parseRetryAfterMs } from '../http/retry.js';
import type { TransportFailure, TransportOutcome, TransportReply } from '../http/transport.js';
import type { AnswerErrors } from './answers.js';
import { type HeaderMerge, withAuthHeaders } from './calls.js';
import { checkRecord, checkTopic } from './checks.js';
import { type RetryClock, type RetrySteps, runWithRetries, type Sender, type Step } from './exchange.js';
import type { KafkaRestDialect } from './flavors.js';
import { toStatusVerdict } from './retry.js';
import type { CallOptions, KafkaRestStats, ProduceRecord, ProduceResult } from './types.js';
import { parseErrorCode } from './v1-parse.js';
import type { ProduceWire, RecordReport } from './wire.js';

/**
 * The produce engine: a call split into requests within the limits, each request sent until every record
 * has a result, resending only the records that failed retriably. What an answer means for each record is
 * {@link classifyProduceAnswer}, a pure function.
 */

/**
 * A produce answer per record: a position, or an error code with Kafka's message (a few hundred bytes),
 * with room for v3's longer reports; plus slack for the envelope.
 */
const PRODUCE_ANSWER_BYTES_PER_RECORD = 1024;
const PRODUCE_ANSWER_SLACK_BYTES = 64 * 1024;

export interface AnswerContext {
  readonly topic: string;
  /** `produce to topic <topic>`, for messages. */
  readonly what: string;
  readonly wire: ProduceWire;
  readonly dialect: KafkaRestDialect;
  readonly errors: AnswerErrors;
  /** When the answer arrived, for `Retry-After` dates. */
  readonly nowMs: number;
}

/** What one attempt's answer means for the records it carried. */
export type ProduceVerdict =
  | { readonly kind: 'auth'; readonly reply: TransportReply; readonly code: number | null }
  | ProduceSettlement;

export interface ProduceSettlement {
  readonly kind: 'settled';
  /** By position in the records sent: each one's result, or undefined for a record in `retry`. */
  readonly results: readonly (ProduceResult | undefined)[];
  /** The records (call indices) worth sending again. */
  readonly retry: readonly number[];
  /** How many of `retry` this attempt may have written (a timeout, a connection lost after sending). */
  readonly ambiguous: number;
  /** Records reported failed although they may have been written. */
  readonly possibleDuplicates: number;
  readonly retryAfterMs?: number | undefined;
  /** The result of a record of `retry` when no attempt is left: its own code, or the attempt's failure. */
  readonly giveUp: (index: number) => AppError;
}

const failAll = (count: number, error: AppError, possibleDuplicates = 0): ProduceSettlement => ({
  kind: 'settled',
  results: Array.from({ length: count }, () => ({ ok: false, error })),
  retry: [],
  ambiguous: 0,
  possibleDuplicates,
  giveUp: () => error,
});

const retryAll = (
  pending: readonly number[],
  failure: Pick<TransportFailure, 'error' | 'ambiguous'>,
  retryAfterMs?: number,
): ProduceSettlement => ({
  kind: 'settled',
  results: new Array(pending.length),
  retry: pending,
  ambiguous: failure.ambiguous ? pending.length : 0,
  possibleDuplicates: 0,
  retryAfterMs,
  giveUp: () => failure.error,
});

/**
 * What `outcome`, the answer to the records `pending` (call indices, in the order sent), means for each of
 * them. Pure: no I/O, no clock but `ctx.nowMs`.
 */
export const classifyProduceAnswer = (
  outcome: TransportOutcome,
  pending: readonly number[],
  ctx: AnswerContext,
): ProduceVerdict => {
  const { wire, errors, what } = ctx;
  if (!outcome.ok) {
    return outcome.retriable ? retryAll(pending, outcome) : failAll(pending.length, outcome.error);
  }
  const { status } = outcome;
  const ok = status >= 200 && status < 300;
  const code = ok ? null : parseErrorCode(outcome.body);
  const verdict = ok ? undefined : toStatusVerdict(status, code, false);
  if (verdict === 'auth') return { kind: 'auth', reply: outcome, code };
  // Per-record results come with 200, and with 500 on Karapace when any record failed (protocol doc §4).
  const reports = wire.hasRecordResults(status) ? wire.parse(outcome.body, pending.length) : undefined;
  const cut = outcome.cut;
  if (reports !== undefined) return classifyReports(reports, pending, outcome, ctx);
  if (cut !== undefined) {
    // Nothing usable arrived before the connection broke: as if no answer had.
    return cut.retriable ? retryAll(pending, cut) : failAll(pending.length, cut.error);
  }
  if (ok) {
    // The records may have been written: resending could duplicate them, reporting keeps them honest (and
    // whoever retries them later may duplicate them: counted).
    const expected = `a ${ctx.dialect} produce response with one entry per record`;
    return failAll(pending.length, errors.protocol(outcome, what, expected), pending.length);
  }
  const retryAfterMs = parseRetryAfterMs(outcome.headers['retry-after'], ctx.nowMs);
  if (verdict === 'fail') {
    const rejected = status === 400 || status === 422;
    const retriable = status >= 500 || status === 408 || status === 429;
    return failAll(
      pending.length,
      rejected
        ? errors.requestRejected(outcome, code, what)
        : errors.status(outcome, code, what, retriable, retryAfterMs),
    );
  }
  const error = errors.status(outcome, code, what, true, retryAfterMs);
  return retryAll(pending, { error, ambiguous: false }, retryAfterMs);
};

/** Each record's report of an answer that has them (a stream cut short included). */
const classifyReports = (
  reports: readonly RecordReport[],
  pending: readonly number[],
  outcome: TransportReply,
  ctx: AnswerContext,
): ProduceSettlement => {
  const { topic, errors, wire } = ctx;
  const { status, cut } = outcome;
  const results = new Array<ProduceResult | undefined>(pending.length);
  const retry: number[] = [];
  let ambiguous = 0;
  let possibleDuplicates = 0;
  let cutError: AppError | undefined;
  // Allocated on the first retriable failure only: the common all-success answer needs none of it.
  let retriableCodes: Map<number, { code: number; message: unknown }> | undefined;
  for (let j = 0; j < reports.length; j++) {
    const report = reports[j] as RecordReport;
    const index = pending[j] as number;
    if (report.kind === 'acked') {
      results[j] = { ok: true, partition: report.partition, offset: report.offset };
    } else if (report.kind === 'unacked' && cut?.retriable === true) {
      // The stream broke before its report: maybe written. Resent now, as an ambiguous resend.
      retry.push(index);
      if (cut.ambiguous) ambiguous++;
      cutError = cut.error;
    } else if (report.kind === 'unacked') {
      // No error, yet no usable position (`-1`, `1.5`, null, or no report): maybe written, maybe not. Not
      // acknowledged, so reported retriable; whoever retries it may write it twice.
      possibleDuplicates++;
      results[j] = {
        ok: false,
        error: cut?.error ?? errors.protocol(outcome, ctx.what, wire.unackedExpected),
      };
    } else if (wire.isRetriable(report.code)) {
      retry.push(index);
      retriableCodes ??= new Map();
      retriableCodes.set(index, { code: report.code as number, message: report.message });
    } else {
      // Not resent by us, but only a code the server itself calls final is a rejection for good: anything
      // else (a Karapace code 1 includes timeouts) may succeed later, so it stays retriable for the caller
      // (a 503 to a webhook sender, a redelivery for SQS).
      const final = typeof report.code === 'number' && wire.isFinal(report.code);
      results[j] = {
        ok: false,
        error: errors.record(final ? 'final' : 'not-final', topic, report.code, report.message, status),
      };
    }
  }
  const codes = retriableCodes;
  return {
    kind: 'settled',
    results,
    retry,
    ambiguous,
    possibleDuplicates,
    // Each record keeps its own code if the retries run out (or the break, if it had no report).
    giveUp: (index) => {
      const own = codes?.get(index);
      return own === undefined
        ? (cutError as AppError)
        : errors.record('retried', topic, own.code, own.message, status);
    },
  };
};

export interface ProduceLimits {
  readonly maxRecordBytes: number;
  readonly maxRequestBytes: number;
  readonly maxRequestRecords: number;
}

/**
 * Checks a call's records and splits them into requests within `limits`, by the wire's size model. A
 * record the dialect cannot carry gets its result at once and goes in no request. Throws
 * `ERR_PAYLOAD_INVALID` or `ERR_PAYLOAD_TOO_LARGE` for a record that is not a record or too large.
 */
export const splitProduceCall = (
  topic: string,
  records: readonly ProduceRecord[],
  wire: ProduceWire,
  limits: ProduceLimits,
): { readonly requests: number[][]; readonly results: ProduceResult[] } => {
  checkTopic(topic);
  if (!Array.isArray(records) || records.length === 0) {
    throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `produce to topic ${topic} needs at least one record`);
  }
  const results = new Array<ProduceResult>(records.length);
  const requests: number[][] = [];
  let current: number[] = [];
  let bytes = wire.frameBytes;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as ProduceRecord;
    checkRecord(record, i, limits.maxRecordBytes);
    const refused = wire.refuse(record);
    if (refused !== undefined) {
      // This record alone: the others of the call are fine and go out.
      results[i] = {
        ok: false,
        error: new AppError(ERROR_CODES.PAYLOAD_INVALID, `record ${i} for topic ${topic}: ${refused}`),
      };
      continue;
    }
    const recordBytes = wire.recordBytes(record);
    if (
      current.length > 0 &&
      (current.length >= limits.maxRequestRecords || bytes + recordBytes > limits.maxRequestBytes)
    ) {
      requests.push(current);
      current = [];
      bytes = wire.frameBytes;
    }
    current.push(i);
    bytes += recordBytes;
  }
  if (current.length > 0) requests.push(current);
  return { requests, results };
};

export interface ProducerDeps {
  readonly sender: Sender;
  readonly wire: ProduceWire;
  readonly dialect: KafkaRestDialect;
  readonly errors: AnswerErrors;
  readonly settings: BackoffSettings & ProduceLimits;
  readonly counters: { -readonly [K in keyof KafkaRestStats]: number };
  /** Reads the credential again after a 401/403 (counted and logged); throws when that fails. */
  readonly refreshAuth: (what: string, call: CallOptions) => Promise<void>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: Log;
}

/** `KafkaRest.produce` over `deps`: never throws for the proxy's failures, each record gets a result. */
export const createProduce = (deps: ProducerDeps) => {
  const shared: SharedProduce = {
    deps,
    headers: withAuthHeaders(deps.wire.headers),
    clock: { now: deps.now, sleep: deps.sleep, backoff: deps.settings },
  };
  return async (
    topic: string,
    records: readonly ProduceRecord[],
    call: CallOptions,
  ): Promise<ProduceResult[]> => {
    const { requests, results } = splitProduceCall(topic, records, deps.wire, deps.settings);
    // One request after the other: a later part of the call never overtakes an earlier one.
    for (const indices of requests) {
      const request = new ProduceRequest(shared, topic, records, indices, results, call);
      await runWithRetries(call, shared.clock, request);
    }
    return results;
  };
};

/** What every request of one client shares, built once. */
interface SharedProduce {
  readonly deps: ProducerDeps;
  readonly headers: HeaderMerge;
  readonly clock: RetryClock;
}

const DONE: Step<void> = { kind: 'done', value: undefined };

/**
 * The retry steps of one request: sends `pending` of `records` until each has a result and fills
 * `results`, never throws. A class rather than closures: a produce of one record is the hot path, and
 * its per-request allocations showed in the 1-record benchmark (bench/peers.ts).
 */
class ProduceRequest implements RetrySteps<void> {
  private readonly what: string;
  private pending: readonly number[];
  private retry: readonly number[] = [];
  /** How many of `pending` the previous attempt may have written (timeout, connection lost after sending). */
  private ambiguous = 0;

  constructor(
    private readonly shared: SharedProduce,
    private readonly topic: string,
    private readonly records: readonly ProduceRecord[],
    indices: readonly number[],
    private readonly results: ProduceResult[],
    private readonly call: CallOptions,
  ) {
    this.what = `produce to topic ${topic}`;
    this.pending = indices;
  }

  async attempt(attemptNo: number): Promise<Step<void>> {
    const { deps, headers } = this.shared;
    const { wire, counters } = deps;
    const { topic, what, pending, results } = this;
    if (this.ambiguous > 0) {
      counters.ambiguousResends++;
      counters.possibleDuplicates += this.ambiguous;
      deps.log.warn('resending records after an ambiguous failure: they may be written twice', {
        topic,
        records: this.ambiguous,
        attempt: attemptNo,
      });
    }
    const outcome = await deps.sender.send(this.call, what, {
      method: 'POST',
      path: wire.path(topic),
      headers,
      maxBodyBytes: PRODUCE_ANSWER_SLACK_BYTES + pending.length * PRODUCE_ANSWER_BYTES_PER_RECORD,
      body: wire.encode(this.records, pending),
      keepPartialBody: wire.streamsReports,
    });
    this.ambiguous = 0;
    const verdict = classifyProduceAnswer(outcome, pending, {
      topic,
      what,
      wire,
      dialect: deps.dialect,
      errors: deps.errors,
      nowMs: deps.now(),
    });
    if (verdict.kind === 'auth') {
      return {
        kind: 'refresh',
        refused: () => this.failPending(deps.errors.auth(verdict.reply, verdict.code, what)),
      };
    }
    for (let j = 0; j < pending.length; j++) {
      const result = verdict.results[j];
      if (result !== undefined) results[pending[j] as number] = result;
    }
    counters.possibleDuplicates += verdict.possibleDuplicates;
    if (verdict.retry.length === 0) return DONE;
    this.retry = verdict.retry;
    this.ambiguous = verdict.ambiguous;
    return {
      kind: 'retry',
      retryAfterMs: verdict.retryAfterMs,
      giveUp: () => {
        for (const index of verdict.retry) results[index] = { ok: false, error: verdict.giveUp(index) };
      },
    };
  }

  async refresh(): Promise<{ readonly value: undefined } | undefined> {
    const { deps } = this.shared;
    try {
      await deps.refreshAuth(this.what, this.call);
    } catch (error) {
      this.failPending(error as AppError);
      return { value: undefined };
    }
    deps.counters.retries++;
    return undefined;
  }

  onRetry(attemptNo: number, waitMs: number): void {
    const { deps } = this.shared;
    deps.log.debug('retrying produce', {
      topic: this.topic,
      records: this.retry.length,
      attempt: attemptNo,
      waitMs,
    });
    deps.counters.retries++;
    this.pending = this.retry;
  }

  private failPending(error: AppError): void {
    for (const index of this.pending) this.results[index] = { ok: false, error };
  }
}
