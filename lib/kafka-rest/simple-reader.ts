import { ERROR_CODES, UpstreamError } from '../core/errors.js';
import { isAnswerTooLargeError } from '../http/errors.js';
import { type Exchange, FETCH_ANSWER, type Reader, type ReaderDeps, withAuthHeaders } from './calls.js';
import { OffsetOutOfRangeError } from './errors.js';
import type { CallOptions, FetchedRecord, LogBounds } from './types.js';
import { messagesPath, V1_MEDIA } from './v1.js';
import { parseErrorMessage, parseFetchRecords } from './v1-parse.js';
import { partitionRecordsPath, V2_MEDIA } from './v2.js';

/** The highest offset a probe may ask for: JSON numbers stay exact up to here. */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

type Probe = 'inside' | 'end' | 'outside';

/** One stateless read of a partition: what a simple-consume endpoint is asked. */
export interface SimpleRead {
  readonly offset: number;
  /**
   * How much to read, in the endpoint's unit ({@link SimpleConsumeApi.sizeUnit}): records where it takes a
   * count (v1), bytes where it takes `max_bytes` (Redpanda).
   */
  readonly size: number;
  /** How long the proxy may hold the read at the log end waiting for records. */
  readonly waitMs: number;
}

/** Kafka REST's own cap on one read (`consumer.request.max.bytes`, protocol doc §6). */
const MAX_READ_BYTES = 64 * 1024 * 1024;

/** A stateless "read a partition from an offset" endpoint: v1's `…/messages`, Redpanda's `…/records`. */
export interface SimpleConsumeApi {
  readonly path: (topic: string, partition: number, read: SimpleRead) => string;
  readonly accept: string;
  /** The answer to an offset outside [log start, log end], whichever side: handed back, never retried. */
  readonly isOutOfRange: (status: number, kafkaErrorCode: number | null, body: string) => boolean;
  /** How long a fetch may wait at the log end (0 where the endpoint never waits). */
  readonly waitMs: number;
  /** What `SimpleRead.size` counts, for messages: `count` (records) or `max_bytes`. */
  readonly sizeUnit: 'count' | 'max_bytes';
  /** The size of a fetch's first read for `maxRecords`. */
  readonly firstSize: (maxRecords: number) => number;
  /** The largest size the endpoint takes. */
  readonly maxSize: number;
  /** The size of a probe: one record is enough (Kafka answers at least one whole batch whatever `max_bytes` says). */
  readonly probeSize: number;
}

/** v1 simple consume (protocol doc §2.4): `count` bounds the read, 500/50002 outside the log. */
export const v1SimpleConsume = (basePath: string): SimpleConsumeApi => ({
  path: (topic, partition, read) => messagesPath(basePath, topic, partition, read.offset, read.size),
  accept: V1_MEDIA.fetchAccept,
  isOutOfRange: (status, kafkaErrorCode) => status === 500 && kafkaErrorCode === 50002,
  waitMs: 0,
  sizeUnit: 'count',
  firstSize: (maxRecords) => maxRecords,
  maxSize: MAX_OFFSET,
  probeSize: 1,
});

/**
 * Redpanda's simple consume (protocol doc §6, its only way to read a partition from an offset: it has no
 * assignments, positions or `…/partitions/{p}/offsets`). Bounded by bytes, not records, and it answers whole
 * batches, so a read can start before the offset asked for. Kafka's OFFSET_OUT_OF_RANGE comes back as its
 * `kafka_bad_request`: 400/40002 with the Kafka error name as message.
 */
export const redpandaSimpleConsume = (
  basePath: string,
  options: { readonly maxBytes: number; readonly waitMs: number },
): SimpleConsumeApi => ({
  path: (topic, partition, read) =>
    partitionRecordsPath(basePath, topic, partition, read.offset, read.waitMs, read.size),
  accept: V2_MEDIA.fetchAccept,
  isOutOfRange: (status, kafkaErrorCode, body) =>
    status === 400 && kafkaErrorCode === 40002 && parseErrorMessage(body) === 'offset_out_of_range',
  waitMs: options.waitMs,
  sizeUnit: 'max_bytes',
  firstSize: () => Math.min(options.maxBytes, MAX_READ_BYTES),
  maxSize: MAX_READ_BYTES,
  probeSize: 1,
});

/**
 * Reading through a stateless simple-consume endpoint, and log bounds found by probing with it where the
 * API has no offsets endpoint (v1, protocol doc §2.5; Redpanda). Nothing is held on the proxy. Records a read
 * returned beyond what a fetch asked for (a byte-bounded read) are kept for the next fetch of that partition
 * if it continues where this one ended, until `end`.
 */
export const createSimpleConsumeReader = (
  deps: ReaderDeps,
  api: SimpleConsumeApi,
  budgetBytes: number,
): Reader => {
  const readHeaders = withAuthHeaders({ accept: api.accept });
  /** Per partition: records read but not returned yet, and the offset the fetch that wants them asks for. */
  const unused = new Map<string, { readonly continuesAt: number; readonly records: FetchedRecord[] }>();

  const read = (topic: string, partition: number, request: SimpleRead, call: CallOptions, what: string) =>
    deps.exchange(call, {
      what,
      method: 'GET',
      path: api.path(topic, partition, request),
      headers: readHeaders,
      maxAnswerBytes: budgetBytes,
      passThrough: api.isOutOfRange,
    });

  const isOutOfRange = (reply: Exchange): boolean =>
    api.isOutOfRange(reply.status, reply.kafkaErrorCode, reply.body);

  /** One read of a record (protocol doc §2.5): records → inside the log, `[]` → its end, out of range → outside. */
  const probe = async (
    topic: string,
    partition: number,
    offset: number,
    call: CallOptions,
  ): Promise<Probe> => {
    const what = `probe ${topic}/${partition} at offset ${offset}`;
    const reply = await read(topic, partition, { offset, size: api.probeSize, waitMs: 0 }, call, what);
    if (isOutOfRange(reply)) return 'outside';
    const parsed = parseFetchRecords(reply.body, offset, { topic, partition });
    if (parsed === undefined) throw deps.protocolError(reply, what, FETCH_ANSWER);
    // Some servers answer with a whole batch that starts before `offset` (and a count of 1 may cut it
    // there): any record means inside, since at the log end the answer is empty.
    return parsed.rawCount > 0 ? 'inside' : 'end';
  };

  return {
    exactBounds: false,
    fetch: async (topic, partition, offset, options) => {
      const key = `${topic}/${partition}`;
      const kept = unused.get(key);
      unused.delete(key);
      // Offsets can skip (compaction): what matters is that this fetch starts where the last one ended.
      if (kept?.continuesAt === offset) return take(kept.records, options.maxRecords, key);
      const what = `fetch ${topic}/${partition} from offset ${offset}`;
      // Half of what is left at most, so the answer still arrives before the deadline.
      const waitMs = Math.max(0, Math.min(api.waitMs, Math.floor((options.deadlineMs - deps.now()) / 2)));
      // An answer of records that all lie below the offset (the start of the batch holding it, cut by
      // count; or a batch whose later records were compacted away, alone over max_bytes) is no answer:
      // the read is widened until it reaches past the offset, without a fixed cap: only the byte budget
      // bounds it (and the deadline, through every read). An answer over the budget narrows the next one.
      let size = api.firstSize(options.maxRecords);
      let below = 0; // the widest size answered with records below the offset only
      let belowRecords = 0; // how many records that answer held
      let over = Number.POSITIVE_INFINITY; // the narrowest size whose answer was over the budget
      for (let first = true; ; first = false) {
        let reply: Exchange | undefined;
        try {
          reply = await read(topic, partition, { offset, size, waitMs: first ? waitMs : 0 }, options, what);
        } catch (error) {
          if (!isAnswerTooLargeError(error)) throw error;
          over = size;
        }
        if (reply !== undefined) {
          if (isOutOfRange(reply)) {
            throw new OffsetOutOfRangeError(
              `offset ${offset} is outside the log of ${topic}/${partition} (below its start or above its end)`,
              { topic, partition, offset },
            );
          }
          const parsed = parseFetchRecords(reply.body, offset, { topic, partition });
          if (parsed === undefined) throw deps.protocolError(reply, what, FETCH_ANSWER);
          // Records, nothing at all (the log end), or no more than a narrower read brought (nothing lies
          // past those records): this is the answer.
          if (parsed.records.length > 0 || parsed.rawCount <= belowRecords) {
            return take(parsed.records, options.maxRecords, key);
          }
          below = size;
          belowRecords = parsed.rawCount;
        }
        const next =
          over === Number.POSITIVE_INFINITY
            ? Math.min(size * 2, api.maxSize)
            : Math.floor((below + over) / 2);
        if (next <= below || next === size) {
          const unit = api.sizeUnit;
          const why =
            below === 0
              ? `even a read of ${unit} ${over} was over the fetch budget of ${budgetBytes} bytes`
              : over === Number.POSITIVE_INFINITY
                ? `the widest read the endpoint takes (${unit} ${below}) held only records below the offset`
                : `a read of ${unit} ${below} held only records below the offset and one of ${unit} ${over} was over the fetch budget of ${budgetBytes} bytes`;
          // Never "caught up" while records past the offset may exist: the partition stops, loudly.
          throw new UpstreamError(
            ERROR_CODES.UPSTREAM_PROTOCOL,
            `Kafka REST proxy answered no fetch of ${topic}/${partition} from offset ${offset} with records at or past it: ${why}; raise fetchBudgetBytes, or read this partition through another API`,
            { retriable: false },
          );
        }
        size = next;
      }
    },

    logBounds: async (topic, partition, options): Promise<LogBounds> => {
      const near = options.near;
      const at = (offset: number): Promise<Probe> => probe(topic, partition, offset, options);

      // 1. Offset 0: a topic that was (re-)created and never truncated starts there.
      let point = 0;
      let kind = await at(0);
      if (kind === 'end') return { start: 0, end: 0 };
      let start = 0;
      if (kind === 'outside') {
        // 2. 0 is below the log start (retention). Find any offset inside [start, end], then bisect down to start.
        const found = await findInLog(at, near);
        if (found === undefined) {
          throw new OffsetOutOfRangeError(
            `could not locate the log of ${topic}/${partition} by probing: offset 0 is below its start and no probe${near === undefined ? '' : ` around ${near}`} landed inside it; the remaining log is too short to find this way`,
            { topic, partition, ...(near === undefined ? {} : { offset: near }) },
          );
        }
        point = found.offset;
        kind = found.kind;
        // Every offset in (0, point) is below start (outside) or inside: a monotone predicate.
        let below = 0;
        let atOrAbove = point;
        while (atOrAbove - below > 1) {
          const mid = below + Math.floor((atOrAbove - below) / 2);
          if ((await at(mid)) === 'outside') below = mid;
          else atOrAbove = mid;
        }
        start = atOrAbove;
      }
      if (kind === 'end') return { start, end: point };

      // 3. `point` is inside: the end is the first offset that answers `[]`. Start from `near` when it is
      //    further up (a checkpoint is usually close to the end), then gallop and bisect.
      let inside = point;
      let beyond = Number.NaN;
      if (near !== undefined && near > inside) {
        const nearKind = await at(near);
        if (nearKind === 'end') return { start, end: near };
        if (nearKind === 'inside') inside = near;
        else beyond = near;
      }
      for (let step = 1; Number.isNaN(beyond); step *= 2) {
        const candidate = Math.min(inside + step, MAX_OFFSET);
        const candidateKind = await at(candidate);
        if (candidateKind === 'end') return { start, end: candidate };
        if (candidateKind === 'outside') beyond = candidate;
        else if (candidate === MAX_OFFSET) return { start, end: MAX_OFFSET };
        else inside = candidate;
      }
      while (beyond - inside > 1) {
        const mid = inside + Math.floor((beyond - inside) / 2);
        const midKind = await at(mid);
        if (midKind === 'end') return { start, end: mid };
        if (midKind === 'inside') inside = mid;
        else beyond = mid;
      }
      // `inside` answered records and `inside + 1` did not: the log grew or shrank while probing.
      return { start, end: inside + 1 };
    },

    end: async (topic, partition) => {
      unused.delete(`${topic}/${partition}`);
    },
    endAll: async () => {
      unused.clear();
    },
  };

  /** The first `maxRecords` of `records`; the rest is kept for the fetch that continues there. */
  function take(records: FetchedRecord[], maxRecords: number, key: string): FetchedRecord[] {
    if (records.length <= maxRecords) return records;
    const returned = records.slice(0, maxRecords);
    unused.set(key, { continuesAt: (returned.at(-1)?.offset ?? -1) + 1, records: records.slice(maxRecords) });
    return returned;
  }
};

/**
 * Finds an offset in [log start, log end] when offset 0 is below the start. Probes `near` and then
 * `near ± 2^k` (interleaved), or `1, 2, 4, …` without `near`. A log shorter than the gaps between probes
 * at that distance is stepped over: then this gives up (undefined) rather than scan.
 */
const findInLog = async (
  at: (offset: number) => Promise<Probe>,
  near: number | undefined,
): Promise<{ offset: number; kind: Exclude<Probe, 'outside'> } | undefined> => {
  const tried = new Set<number>([0]);
  const tryAt = async (offset: number) => {
    if (offset <= 0 || offset > MAX_OFFSET || tried.has(offset)) return undefined;
    tried.add(offset);
    const kind = await at(offset);
    return kind === 'outside' ? undefined : { offset, kind };
  };
  const center = near !== undefined && near > 0 ? near : 0;
  const found = await tryAt(center);
  if (found !== undefined) return found;
  for (let step = 1; step <= MAX_OFFSET; step *= 2) {
    const up = await tryAt(center + step);
    if (up !== undefined) return up;
    const down = await tryAt(center - step);
    if (down !== undefined) return down;
    if (center + step > MAX_OFFSET && center - step <= 0) break;
  }
  return undefined;
};
