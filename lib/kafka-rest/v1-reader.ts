import { FETCH_ANSWER, type Reader, type ReaderDeps, withAuthHeaders } from './calls.js';
import { OffsetOutOfRangeError } from './errors.js';
import type { CallOptions, LogBounds } from './types.js';
import { messagesPath, parseFetchRecords, V1_MEDIA } from './v1.js';

/** The highest offset a probe may ask for: JSON numbers stay exact up to here. */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

type Probe = 'inside' | 'end' | 'outside';

/**
 * Reading over v1: the stateless simple consume `GET …/messages?offset=N&count=M` (protocol doc §2.4), and
 * log bounds found by probing with it, since v1 has no offsets endpoint (§2.5). Nothing is held on the
 * proxy, so there is nothing to end.
 */
export const createV1Reader = (deps: ReaderDeps, basePath: string): Reader => {
  const fetchHeaders = withAuthHeaders({ accept: V1_MEDIA.fetchAccept });

  const read = (
    topic: string,
    partition: number,
    offset: number,
    count: number,
    call: CallOptions,
    what: string,
  ) =>
    deps.exchange(call, {
      what,
      method: 'GET',
      path: messagesPath(basePath, topic, partition, offset, count),
      headers: fetchHeaders,
      passThrough: isOutOfRange,
    });

  /** One count=1 read (protocol doc §2.5): records → inside the log, `[]` → its end, 50002 → outside. */
  const probe = async (
    topic: string,
    partition: number,
    offset: number,
    call: CallOptions,
  ): Promise<Probe> => {
    const what = `probe ${topic}/${partition} at offset ${offset}`;
    const reply = await read(topic, partition, offset, 1, call, what);
    if (isOutOfRange(reply.status, reply.kafkaErrorCode)) return 'outside';
    const parsed = parseFetchRecords(reply.body, offset, { topic, partition });
    if (parsed === undefined) throw deps.protocolError(reply, what, FETCH_ANSWER);
    // Some servers answer with a whole batch that starts before `offset`: any record means inside.
    return parsed.rawCount > 0 ? 'inside' : 'end';
  };

  return {
    exactBounds: false,
    fetch: async (topic, partition, offset, options) => {
      const what = `fetch ${topic}/${partition} from offset ${offset}`;
      const reply = await read(topic, partition, offset, options.maxRecords, options, what);
      if (isOutOfRange(reply.status, reply.kafkaErrorCode)) {
        throw new OffsetOutOfRangeError(
          `offset ${offset} is outside the log of ${topic}/${partition} (below its start or above its end)`,
          { topic, partition, offset },
        );
      }
      const parsed = parseFetchRecords(reply.body, offset, { topic, partition });
      if (parsed === undefined) throw deps.protocolError(reply, what, FETCH_ANSWER);
      return parsed.records.length > options.maxRecords
        ? parsed.records.slice(0, options.maxRecords)
        : parsed.records;
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

    end: async () => {},
    endAll: async () => {},
  };
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

/** v1 answers an offset outside [log start, log end] with 500/50002, whichever side (protocol doc §2.4). */
const isOutOfRange = (status: number, kafkaErrorCode: number | null): boolean =>
  status === 500 && kafkaErrorCode === 50002;
