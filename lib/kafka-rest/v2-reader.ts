import { AppError, ERROR_CODES, isAppError, UpstreamError } from '../core/errors.js';
import {
  type CallSpec,
  type Exchange,
  FETCH_ANSWER,
  type Reader,
  type ReaderDeps,
  withAuthHeaders,
} from './calls.js';
import type { CallOptions, FetchedRecord, FetchOptions, LogBounds } from './types.js';
import { parseFetchRecords } from './v1-parse.js';
import {
  assignBody,
  consumerGroupPath,
  createConsumerBody,
  instancePath,
  logOffsetsPath,
  parseConsumerCreated,
  parseLogOffsets,
  recordsPath,
  seekBody,
  V2_MEDIA,
} from './v2.js';
import {
  abandon,
  type Consumer,
  confluentLost,
  deleteInstance,
  forget,
  type Lost,
  lostStatus,
  OVERFLOW,
  outOfRange,
  strimziLost,
  type V2ReaderOptions,
} from './v2-consumer.js';

/** Fresh instances a fetch may set up after reads that failed, before it fails itself. */
const MAX_ABANDONED_READS = 2;

/**
 * Reading over v2 (protocol doc §6, "single-partition checkpointed read"): one consumer instance per
 * partition for the life of the client, created with auto-commit off (the checkpoint table is the source
 * of truth), assigned its one partition and seeked to the offset asked for. A fetch that continues where
 * the last one ended reads on; any other offset seeks again. A lost instance (40403; Strimzi 404) is
 * recreated once per fetch, an unassigned one re-assigned. A read that failed is never repeated on its
 * instance (§6, step 7): the fetch reads again through a new one, up to twice. On Strimzi, a read refused with 422 over
 * `max_bytes` (after its poll moved the position) seeks back and reads again at `maxAnswerBytes`.
 * `end`/`endAll` (and so `close()`) delete the instances, also after errors.
 *
 * The bounds from `GET …/partitions/{p}/offsets` are checked before every seek: an offset outside them is
 * `OffsetOutOfRangeError` saying which side, and never a silent reset by the consumer.
 */
export const createV2Reader = (deps: ReaderDeps, options: V2ReaderOptions): Reader => {
  const consumers = new Map<string, Consumer>();
  /** Failures of instance reads: where the instance's position stands after them is unknown. */
  const unanswered = new WeakSet<AppError>();
  const lostOf = options.flavor === 'strimzi' ? strimziLost : confluentLost;
  const overflows = options.flavor === 'strimzi';
  const controlHeaders = withAuthHeaders({ 'content-type': V2_MEDIA.accept, accept: V2_MEDIA.accept });
  const metadataHeaders = withAuthHeaders({ accept: V2_MEDIA.accept });
  const recordsHeaders = withAuthHeaders({ accept: V2_MEDIA.fetchAccept });
  const instanceDeletes = { ...deps, headers: metadataHeaders, flavor: options.flavor };

  const consumerOf = (topic: string, partition: number): Consumer => {
    const key = `${topic}/${partition}`;
    let consumer = consumers.get(key);
    if (consumer === undefined) {
      consumer = {
        topic,
        partition,
        path: undefined,
        assigned: false,
        cursor: undefined,
        buffer: [],
        knownEnd: 0,
        queue: Promise.resolve(),
        abandoned: [],
      };
      consumers.set(key, consumer);
    }
    return consumer;
  };

  const serialised = <T>(consumer: Consumer, task: () => Promise<T>): Promise<T> => {
    const run = consumer.queue.then(task, task);
    consumer.queue = run.catch(() => {});
    return run;
  };

  const logBounds = async (topic: string, partition: number, call: CallOptions): Promise<LogBounds> => {
    const what = `read the log bounds of ${topic}/${partition}`;
    const reply = await deps.exchange(call, {
      what,
      method: 'GET',
      path: logOffsetsPath(options.basePath, topic, partition),
      headers: metadataHeaders,
    });
    const bounds = parseLogOffsets(reply.body);
    if (bounds === undefined) {
      throw deps.protocolError(reply, what, '{"beginning_offset","end_offset"} with 0 ≤ beginning ≤ end');
    }
    return bounds;
  };

  /** A call on the instance: the answer, or why the instance cannot serve it (or a read overflowed). */
  const onInstance = async (
    consumer: Consumer,
    call: CallOptions,
    spec: Omit<CallSpec, 'passThrough' | 'path' | 'once'> & { readonly subPath: string },
  ): Promise<Exchange | Lost | typeof OVERFLOW> => {
    const isRead = spec.method === 'GET';
    const overflowed = (status: number): boolean => overflows && isRead && status === 422;
    const reply = await deps.exchange(call, {
      what: spec.what,
      method: spec.method,
      path: `${consumer.path}${spec.subPath}`,
      headers: spec.headers,
      ...(spec.body === undefined ? {} : { body: spec.body }),
      ...(spec.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: spec.maxAnswerBytes }),
      passThrough: (status, code, body) => overflowed(status) || lostOf(status, code, body) !== undefined,
      // A read the proxy served whose answer was lost (a dropped connection, a timeout, or served late
      // after the client gave up) moved the position past records never seen; read again there it would
      // answer what follows them, a gap that looks like compaction. So a read is never repeated as it is:
      // `fetch` gives its instance up, since even a seek cannot stop a late read from moving it again.
      ...(isRead ? { once: true as const } : {}),
    });
    if (reply.status >= 200 && reply.status < 300) return reply;
    if (overflowed(reply.status)) return OVERFLOW;
    return lostOf(reply.status, reply.kafkaErrorCode, reply.body) ?? 'gone';
  };

  /** Moves the instance's position to `offset`; why not, when the instance was lost meanwhile. */
  const seek = async (consumer: Consumer, offset: number, call: CallOptions): Promise<Lost | undefined> => {
    const reply = await onInstance(consumer, call, {
      what: `seek ${consumer.topic}/${consumer.partition} to offset ${offset}`,
      method: 'POST',
      subPath: '/positions',
      headers: controlHeaders,
      body: seekBody(consumer.topic, consumer.partition, offset),
    });
    // A control call never overflows: only reads do.
    return typeof reply === 'string' ? (reply as Lost) : undefined;
  };

  /** Creates, assigns and seeks as far as needed; why not, when the instance was lost on the way. */
  const prepare = async (
    consumer: Consumer,
    offset: number,
    call: CallOptions,
  ): Promise<Lost | undefined> => {
    const { topic, partition } = consumer;
    let bounds: LogBounds | undefined;
    if (consumer.cursor === undefined) {
      // Checked first: a consumer seeked outside the log resets silently (or fails vaguely) on its own.
      bounds = await logBounds(topic, partition, call);
      if (offset < bounds.start || offset > bounds.end) throw outOfRange(consumer, offset, bounds);
      consumer.knownEnd = bounds.end;
    }
    if (consumer.path === undefined) {
      const what = `create a consumer instance for ${topic}/${partition}`;
      const reply = await deps.exchange(call, {
        what,
        method: 'POST',
        path: consumerGroupPath(options.basePath, options.group),
        headers: controlHeaders,
        body: createConsumerBody(options.newInstanceName(), options.flavor),
      });
      const created = parseConsumerCreated(reply.body);
      if (created === undefined) throw deps.protocolError(reply, what, '{"instance_id","base_uri"}');
      consumer.path = instancePath(options.baseUrl, options.basePath, options.group, created);
      consumer.assigned = false;
      deps.log.debug('created a Kafka REST consumer instance', {
        topic,
        partition,
        instance: created.instanceId,
      });
    }
    if (!consumer.assigned) {
      const reply = await onInstance(consumer, call, {
        what: `assign ${topic}/${partition} to its consumer instance`,
        method: 'POST',
        subPath: '/assignments',
        headers: controlHeaders,
        body: assignBody(topic, partition),
      });
      if (typeof reply === 'string') return reply as Lost;
      consumer.assigned = true;
      consumer.cursor = undefined;
    }
    if (consumer.cursor === undefined) {
      const lost = await seek(consumer, offset, call);
      if (lost !== undefined) return lost;
      consumer.cursor = offset;
      consumer.buffer = [];
    }
    return undefined;
  };

  const handOut = (consumer: Consumer, maxRecords: number): FetchedRecord[] => {
    const records = consumer.buffer.splice(0, maxRecords);
    const last = records[records.length - 1];
    if (last !== undefined) consumer.cursor = last.offset + 1;
    return records;
  };

  /** Reads from the instance's position (= `offset`) until records come, or the log says caught up. */
  const read = async (
    consumer: Consumer,
    offset: number,
    fetchOptions: FetchOptions,
  ): Promise<FetchedRecord[] | Lost> => {
    const { topic, partition } = consumer;
    const what = `fetch ${topic}/${partition} from offset ${offset}`;
    let maxBytes = options.maxBytes;
    for (let emptyReads = 0; ; ) {
      // Half of what is left at most, so the answer still arrives before the deadline.
      const waitMs = Math.max(
        0,
        Math.min(options.waitMs, Math.floor((fetchOptions.deadlineMs - deps.now()) / 2)),
      );
      const reply = await onInstance(consumer, fetchOptions, {
        what,
        method: 'GET',
        subPath: recordsPath('', waitMs, maxBytes),
        headers: recordsHeaders,
        maxAnswerBytes: options.maxAnswerBytes,
      }).catch((error: unknown) => {
        if (isAppError(error) && error.retriable) unanswered.add(error);
        throw error;
      });
      if (reply === OVERFLOW) {
        // Strimzi polled records whose encoded answer exceeds max_bytes, refused them and moved on: taking
        // that as data or as the end would skip them. Its poll size is the bridge's consumer settings, not
        // max_bytes, so the same position is read again with the largest answer this client accepts.
        if (maxBytes >= options.maxAnswerBytes) {
          throw new UpstreamError(
            ERROR_CODES.UPSTREAM_PROTOCOL,
            `the bridge's poll of ${topic}/${partition} at offset ${offset} encodes to more than the fetch budget of ${options.maxAnswerBytes} bytes (422): raise KAFKA_REST_FETCH_BUDGET_BYTES, or lower the bridge's kafka.consumer.max.poll.records or max.partition.fetch.bytes`,
            { status: 422, retriable: false },
          );
        }
        deps.log.warn('Kafka REST bridge refused a read over max_bytes after polling: reading it again', {
          topic,
          partition,
          offset,
          maxBytes,
        });
        maxBytes = options.maxAnswerBytes;
        const lost = await seek(consumer, offset, fetchOptions);
        if (lost !== undefined) return lost;
        continue;
      }
      if (typeof reply === 'string') return reply;
      const parsed = parseFetchRecords(reply.body, offset, { topic, partition });
      if (parsed === undefined) throw deps.protocolError(reply, what, FETCH_ANSWER);
      const first = parsed.records[0];
      if (first !== undefined) {
        if (first.offset > offset) {
          // A gap: compaction, or retention overtook the position and the consumer reset itself.
          const bounds = await logBounds(topic, partition, fetchOptions);
          consumer.knownEnd = bounds.end;
          if (offset < bounds.start) throw outOfRange(consumer, offset, bounds);
        }
        consumer.buffer = parsed.records;
        return handOut(consumer, fetchOptions.maxRecords);
      }
      // The first reads after an assign or a seek may legitimately be empty (protocol doc §6): only the log
      // end says whether there is nothing more.
      if (offset >= consumer.knownEnd) {
        const bounds = await logBounds(topic, partition, fetchOptions);
        consumer.knownEnd = bounds.end;
        if (offset < bounds.start) throw outOfRange(consumer, offset, bounds);
        if (offset >= bounds.end) return [];
      }
      emptyReads++;
      // Never "caught up" below the log end: that would report lag 0 over records never delivered. What
      // is left may be only transaction markers or compacted records (the next records written end this),
      // or a stalled proxy: a retriable failure says so and the next run reads again.
      if (deps.now() + options.waitMs >= fetchOptions.deadlineMs) {
        throw new AppError(
          ERROR_CODES.DEADLINE,
          `the deadline came while reading ${topic}/${partition} at offset ${offset}`,
        );
      }
      if (emptyReads >= options.maxEmptyReads) {
        deps.log.warn('Kafka REST consumer instance returned no records although the log has more', {
          topic,
          partition,
          offset,
          logEnd: consumer.knownEnd,
          emptyReads,
        });
        throw new UpstreamError(
          ERROR_CODES.UPSTREAM_PROTOCOL,
          `the proxy answered no records at ${topic}/${partition} offset ${offset} in ${emptyReads} reads although the log ends at ${consumer.knownEnd} (a stalled proxy, or only transaction markers or compacted records left)`,
          { retriable: true },
        );
      }
    }
  };

  const fetch = (
    topic: string,
    partition: number,
    offset: number,
    fetchOptions: FetchOptions,
  ): Promise<FetchedRecord[]> => {
    const consumer = consumerOf(topic, partition);
    return serialised(consumer, async () => {
      if (consumer.cursor !== offset) {
        consumer.cursor = undefined;
        consumer.buffer = [];
      }
      if (consumer.buffer.length > 0) return handOut(consumer, fetchOptions.maxRecords);
      try {
        for (let recovered = false, abandoned = 0; ; ) {
          let records: FetchedRecord[] | Lost;
          try {
            records =
              (await prepare(consumer, offset, fetchOptions)) ?? (await read(consumer, offset, fetchOptions));
          } catch (error) {
            if (!isAppError(error) || !unanswered.has(error) || abandoned >= MAX_ABANDONED_READS) throw error;
            abandoned++;
            deps.log.warn('Kafka REST consumer read failed: reading again through a new instance', {
              topic,
              partition,
              offset,
              code: error.code,
            });
            abandon(consumer);
            continue;
          }
          if (typeof records !== 'string') return records;
          // Expired, or the proxy restarted (IBM: daily): a new instance. Lost its assignment: assign again.
          // Once per fetch: a proxy that keeps losing it is failing, and the drain's next run tries again.
          deps.log.warn('Kafka REST consumer instance lost: setting it up again', {
            topic,
            partition,
            lost: records,
            recovered,
          });
          if (records === 'gone') forget(consumer);
          consumer.assigned = false;
          consumer.cursor = undefined;
          if (recovered) {
            throw new UpstreamError(
              ERROR_CODES.UPSTREAM_STATUS,
              `Kafka REST proxy lost the consumer instance of ${topic}/${partition} again right after it was set up (${records === 'gone' ? 'instance not found' : 'partition not assigned'})`,
              lostStatus(options.flavor, records),
            );
          }
          recovered = true;
        }
      } catch (error) {
        // Where the instance stands is unknown now: the next fetch seeks.
        consumer.cursor = undefined;
        consumer.buffer = [];
        throw error;
      }
    });
  };

  const end = (topic: string, partition: number, call: CallOptions): Promise<void> => {
    const key = `${topic}/${partition}`;
    const consumer = consumers.get(key);
    if (consumer === undefined) return Promise.resolve();
    return serialised(consumer, async () => {
      consumers.delete(key);
      const paths = [...consumer.abandoned, ...(consumer.path === undefined ? [] : [consumer.path])];
      forget(consumer);
      consumer.abandoned = [];
      for (const path of paths) await deleteInstance(instanceDeletes, consumer, path, call);
    });
  };

  return {
    exactBounds: true,
    fetch,
    logBounds: (topic, partition, call) => logBounds(topic, partition, call),
    end,
    endAll: async (call) => {
      await Promise.all(
        [...consumers.values()].map((consumer) => end(consumer.topic, consumer.partition, call)),
      );
    },
  };
};
