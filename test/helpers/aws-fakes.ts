import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkSendBatch,
  checkSqsEntry,
  createDeduplicationWindow,
  type DeduplicationWindow,
  deduplicationIdOf,
  md5Hex,
  SQS_DEFAULT_MAX_MESSAGE_BYTES,
  type SqsEntry,
  type SqsEntryFault,
  SqsError,
  sqsQueryCode,
  toSqsEntry,
} from '../../dev/aws-local/sqs-rules.js';
import { type SinkRecord, toRecordId } from '../../lib/sinks/index.js';

/**
 * Local stand-ins for the SQS and EventBridge JSON APIs, for the real AWS SDK clients pointed at them with
 * `endpoint`. They speak what the installed SDKs send (read from `@aws-sdk/client-sqs` and
 * `client-eventbridge` `dist-cjs`): SQS is AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`, query-compatible
 * errors in `x-amzn-query-error`), EventBridge is AWS JSON 1.1 (`X-Amz-Target: AWSEvents.<Op>`). Both
 * enforce the service limits the sinks must respect, record every call, and let a test script failures of
 * whole calls or of single entries. Signatures are not checked.
 */

/** The namespace of the records {@link sinkRecord} makes. */
export const TEST_NAMESPACE = 'test-stage';

/**
 * The sink tests' record: topic `orders`, partition 0, epoch 1 unless overridden, with the id the drain
 * would give it.
 */
export const sinkRecord = (
  offset: number,
  value: Buffer | string | null,
  overrides: Partial<Omit<SinkRecord, 'id'>> & { readonly epoch?: number } = {},
): SinkRecord => {
  const { epoch = 1, ...fields } = overrides;
  const base = {
    topic: 'orders',
    partition: 0,
    offset,
    key: null,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    ...fields,
  };
  return { ...base, id: toRecordId({ ...base, namespace: TEST_NAMESPACE, epoch }) };
};

/** Fixed fake credentials and region for SDK clients aimed at these fakes. */
export const FAKE_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

export interface FakeAwsCall {
  /** `SendMessageBatch`, `PutEvents`, … */
  readonly operation: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  /** What the fake answered; null when it dropped the connection. */
  status: number | null;
}

/** Scripted failure of the next `times` calls (default 1), in the order injected. */
export type CallFault =
  | {
      readonly kind: 'error';
      readonly status: number;
      /** The AWS error name, e.g. `InternalError`, `ThrottlingException`. */
      readonly type: string;
      readonly message?: string;
      readonly times?: number;
    }
  | { readonly kind: 'delay'; readonly ms: number; readonly times?: number }
  | { readonly kind: 'drop'; readonly times?: number }
  /** 200 headers at once, then one byte of a body that never completes every `intervalMs`. */
  | { readonly kind: 'trickle'; readonly intervalMs: number; readonly times?: number };

interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

interface FakeServer {
  readonly endpoint: string;
  readonly calls: FakeAwsCall[];
  failCalls(fault: CallFault): void;
  close(): Promise<void>;
}

class AwsFault extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const startJsonServer = async (spec: {
  readonly contentType: string;
  readonly targetPrefix: string;
  readonly errorNamespace: string;
  /** SQS: the query-compatible code of `x-amzn-query-error: <code>;Sender`, per error type. */
  readonly queryCode?: (type: string) => string;
  handle(operation: string, body: Record<string, unknown>): JsonAnswer;
}): Promise<FakeServer> => {
  const calls: FakeAwsCall[] = [];
  const faults: { fault: CallFault; left: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const send = (res: ServerResponse, call: FakeAwsCall, status: number, body: unknown, headers = {}) => {
    call.status = status;
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': spec.contentType, 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(JSON.stringify(body));
  };
  const sendError = (res: ServerResponse, call: FakeAwsCall, status: number, type: string, message: string) =>
    send(
      res,
      call,
      status,
      { __type: `${spec.errorNamespace}#${type}`, message },
      spec.queryCode === undefined
        ? {}
        : { 'x-amzn-query-error': `${spec.queryCode(type)};${status < 500 ? 'Sender' : 'Receiver'}` },
    );

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        // Recorded as {}, answered below as a serialization error.
      }
      const call: FakeAwsCall = {
        operation: target.startsWith(spec.targetPrefix) ? target.slice(spec.targetPrefix.length) : target,
        headers: req.headers,
        body,
        status: null,
      };
      calls.push(call);
      const head = faults[0];
      if (head !== undefined) {
        head.left -= 1;
        if (head.left <= 0) faults.shift();
      }
      const fault = head?.fault;
      if (fault?.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'error') {
        sendError(res, call, fault.status, fault.type, fault.message ?? 'scripted failure');
        return;
      }
      if (fault?.kind === 'trickle') {
        call.status = 200;
        res.writeHead(200, { 'content-type': spec.contentType, 'x-amzn-requestid': randomUUID() });
        res.write('{');
        const timer = setInterval(() => res.write(' '), fault.intervalMs);
        timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      const respond = () => {
        if (!target.startsWith(spec.targetPrefix) || req.method !== 'POST') {
          sendError(res, call, 400, 'UnknownOperationException', `unknown target ${target}`);
          return;
        }
        try {
          const answer = spec.handle(call.operation, body);
          send(res, call, answer.status, answer.body);
        } catch (error) {
          if (!(error instanceof AwsFault || error instanceof SqsError)) throw error;
          sendError(res, call, error.status, error.type, error.message);
        }
      };
      if (fault?.kind === 'delay') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          respond();
        }, fault.ms);
        timers.add(timer);
      } else {
        respond();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    failCalls: (fault) => {
      faults.push({ fault, left: fault.times ?? 1 });
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

// ---------------------------------------------------------------------------------------------------- SQS

export type { SqsAttribute, SqsEntry, SqsEntryFault } from '../../dev/aws-local/sqs-rules.js';
export { SQS_DEDUPLICATION_WINDOW_MS, sqsMessageBytes } from '../../dev/aws-local/sqs-rules.js';

/** A message the queue holds (accepted and not deduplicated). */
export interface SqsMessage extends SqsEntry {
  readonly queueUrl: string;
  readonly messageId: string;
  /** FIFO queues: the queue's `SequenceNumber`, increasing in acceptance order. */
  readonly sequenceNumber?: string;
}

export interface FakeSqs extends FakeServer {
  /** `<endpoint>/000000000000/<name>`; a name ending in `.fifo` is a FIFO queue. */
  queueUrl(name: string): string;
  /** Accepted messages of every queue in acceptance order, per the queues' dedup rules. */
  readonly messages: SqsMessage[];
  /** Accepted FIFO entries dropped as duplicates (same deduplication id within the 5-minute window). */
  readonly deduplicated: SqsEntry[];
  /**
   * The FIFO queue `name` as a consumer sees it: per `MessageGroupId`, the bodies in the order the queue
   * accepted them (SQS hands a group's messages out in that order).
   */
  groups(name: string): Record<string, string[]>;
  /** Entries for which `rule` answers a fault fail with it (after the fake's own checks pass). */
  failEntries(rule: (entry: SqsEntry) => SqsEntryFault | undefined): void;
}

export interface FakeSqsOptions {
  /** The queues' `MaximumMessageSize` (body + attributes); SQS's default 256 KiB. */
  readonly maxMessageBytes?: number;
  /**
   * Names of the FIFO queues with `ContentBasedDeduplication` on: an entry without a deduplication id is
   * deduplicated by the SHA-256 of its body. Off everywhere else, as SQS's default.
   */
  readonly contentBasedDeduplication?: readonly string[];
  /** The clock of the deduplication window (epoch ms). */
  readonly now?: () => number;
}

/**
 * The send side of SQS (`SendMessageBatch` only) with fault scripting, for the sink tests; the limits and
 * deduplication are the local SQS server's own (`dev/aws-local/sqs-rules.ts`).
 */
export const startFakeSqs = async (options: FakeSqsOptions = {}): Promise<FakeSqs> => {
  const maxMessageBytes = options.maxMessageBytes ?? SQS_DEFAULT_MAX_MESSAGE_BYTES;
  const now = options.now ?? Date.now;
  const messages: SqsMessage[] = [];
  const deduplicated: SqsEntry[] = [];
  const windows = new Map<string, DeduplicationWindow>();
  const sequences = new Map<string, number>();
  let entryRule: (entry: SqsEntry) => SqsEntryFault | undefined = () => undefined;
  const queueName = (queueUrl: string) => queueUrl.slice(queueUrl.lastIndexOf('/') + 1);

  const sendMessageBatch = (body: Record<string, unknown>): JsonAnswer => {
    const queueUrl = String(body.QueueUrl ?? '');
    const raw = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
    const entries = raw.map(toSqsEntry);
    checkSendBatch(entries);
    const fifo = queueUrl.endsWith('.fifo');
    const rules = {
      fifo,
      contentBasedDeduplication:
        fifo && (options.contentBasedDeduplication ?? []).includes(queueName(queueUrl)),
      maxMessageBytes,
    };
    let window = windows.get(queueUrl);
    if (fifo && window === undefined) {
      window = createDeduplicationWindow(now);
      windows.set(queueUrl, window);
    }
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      const fault = checkSqsEntry(entry, rules) ?? entryRule(entry);
      if (fault !== undefined) {
        Failed.push({
          Id: entry.Id,
          SenderFault: fault.senderFault,
          Code: fault.code,
          Message: fault.message ?? '',
        });
        continue;
      }
      // The SDK checks MD5OfMessageBody against the body it sent and throws on a mismatch.
      const md5 = md5Hex(entry.MessageBody);
      if (window === undefined) {
        const messageId = randomUUID();
        messages.push({ ...entry, queueUrl, messageId });
        Successful.push({ Id: entry.Id, MessageId: messageId, MD5OfMessageBody: md5 });
        continue;
      }
      const dedupId = deduplicationIdOf(entry);
      const previous = window.duplicateOf(dedupId);
      if (previous !== undefined) {
        // SQS answers a duplicate as a success, with the first message's id, and enqueues nothing.
        deduplicated.push(entry);
        Successful.push({ Id: entry.Id, MessageId: previous, MD5OfMessageBody: md5 });
        continue;
      }
      const messageId = randomUUID();
      window.remember(dedupId, messageId);
      const sequence = (sequences.get(queueUrl) ?? 0) + 1;
      sequences.set(queueUrl, sequence);
      const sequenceNumber = String(sequence).padStart(20, '0');
      messages.push({ ...entry, queueUrl, messageId, sequenceNumber });
      Successful.push({
        Id: entry.Id,
        MessageId: messageId,
        MD5OfMessageBody: md5,
        SequenceNumber: sequenceNumber,
      });
    }
    return { status: 200, body: { Successful, Failed } };
  };

  const server = await startJsonServer({
    contentType: 'application/x-amz-json-1.0',
    targetPrefix: 'AmazonSQS.',
    errorNamespace: 'com.amazonaws.sqs',
    queryCode: sqsQueryCode,
    handle: (operation, body) => {
      if (operation === 'SendMessageBatch') return sendMessageBatch(body);
      throw new SqsError(400, 'UnsupportedOperation', `the fake SQS does not implement ${operation}`);
    },
  });
  return {
    ...server,
    queueUrl: (name) => `${server.endpoint}/000000000000/${name}`,
    messages,
    deduplicated,
    groups: (name) => {
      const groups: Record<string, string[]> = {};
      for (const message of messages) {
        if (queueName(message.queueUrl) !== name || message.MessageGroupId === undefined) continue;
        groups[message.MessageGroupId] = [...(groups[message.MessageGroupId] ?? []), message.MessageBody];
      }
      return groups;
    },
    failEntries: (rule) => {
      entryRule = rule;
    },
  };
};

// -------------------------------------------------------------------------------------------- EventBridge

export interface EventBridgeEntry {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Time?: string;
  readonly Resources?: readonly string[];
}

export interface PutEvent extends EventBridgeEntry {
  readonly eventId: string;
}

export interface EventBridgeEntryFault {
  readonly code: string;
  readonly message?: string;
}

export interface FakeEventBridge extends FakeServer {
  /** Accepted events in order. */
  readonly events: PutEvent[];
  failEntries(rule: (entry: EventBridgeEntry) => EventBridgeEntryFault | undefined): void;
}

const EVENTBRIDGE_MAX_BATCH_BYTES = 262_144;

export const startFakeEventBridge = async (): Promise<FakeEventBridge> => {
  const events: PutEvent[] = [];
  let entryRule: (entry: EventBridgeEntry) => EventBridgeEntryFault | undefined = () => undefined;

  const putEvents = (body: Record<string, unknown>): JsonAnswer => {
    const entries = (Array.isArray(body.Entries) ? body.Entries : []) as EventBridgeEntry[];
    if (entries.length === 0 || entries.length > 10) {
      throw new AwsFault(
        400,
        'ValidationException',
        `Entries must have 1 to 10 items, got ${entries.length}`,
      );
    }
    const total = entries.reduce((sum, entry) => sum + eventBridgeEntryBytes(entry), 0);
    if (total > EVENTBRIDGE_MAX_BATCH_BYTES) {
      throw new AwsFault(
        400,
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    }
    const results = entries.map((entry) => {
      const fault = checkEventBridgeEntry(entry) ?? entryRule(entry);
      if (fault !== undefined) return { ErrorCode: fault.code, ErrorMessage: fault.message ?? '' };
      const eventId = randomUUID();
      events.push({ ...entry, eventId });
      return { EventId: eventId };
    });
    return {
      status: 200,
      body: { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results },
    };
  };

  const server = await startJsonServer({
    contentType: 'application/x-amz-json-1.1',
    targetPrefix: 'AWSEvents.',
    errorNamespace: 'com.amazonaws.eventbridge',
    handle: (operation, body) => {
      if (operation === 'PutEvents') return putEvents(body);
      throw new AwsFault(400, 'UnsupportedOperation', `the fake EventBridge does not implement ${operation}`);
    },
  });
  return {
    ...server,
    events,
    failEntries: (rule) => {
      entryRule = rule;
    },
  };
};

/** EventBridge's "Calculating PutEvents event entry size". */
export const eventBridgeEntryBytes = (entry: EventBridgeEntry): number =>
  (entry.Time === undefined ? 0 : 14) +
  Buffer.byteLength(entry.Source ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(entry.Detail ?? '') +
  (entry.Resources ?? []).reduce((sum, resource) => sum + Buffer.byteLength(resource), 0);

const checkEventBridgeEntry = (entry: EventBridgeEntry): EventBridgeEntryFault | undefined => {
  if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
    return { code: 'InvalidArgument', message: 'Parameters Source, DetailType and Detail are required.' };
  }
  try {
    const detail = JSON.parse(entry.Detail) as unknown;
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      throw new Error('not an object');
  } catch {
    return { code: 'MalformedDetail', message: 'Detail is malformed.' };
  }
  return undefined;
};
