import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMoveTasks } from './sqs-move-tasks.js';
import { createQueueStore, LOCAL_ACCOUNT, type Queue } from './sqs-queues.js';
import {
  checkBatchEntries,
  checkSendBatch,
  type SqsAttribute,
  SqsError,
  sqsQueryCode,
  toSqsEntry,
} from './sqs-rules.js';
import { intParam, queueAttributes, stringList, toWireMessage } from './sqs-wire.js';

/**
 * A local SQS for `npm start`, chaos and tests: the AWS JSON 1.0 protocol as `@aws-sdk/client-sqs` speaks it
 * (`X-Amz-Target: AmazonSQS.<Op>`, errors as `{__type: "com.amazonaws.sqs#<Error>"}` with the query-compatible
 * code in `x-amzn-query-error`), queues in memory. Queue URLs are `<endpoint>/000000000000/<name>`; the
 * name is read from the path of any URL, so a client's endpoint override and the URL agree. Signatures
 * and credentials are not checked.
 */

export interface LocalSqsOptions {
  /** 0 (the default): any free port. */
  readonly port?: number;
  readonly region?: string;
  /** The clock of visibility, delays, retention and deduplication (epoch ms). */
  readonly now?: () => number;
  /** Created at start, in order (a DLQ before the queue whose RedrivePolicy names it). */
  readonly queues?: readonly {
    readonly name: string;
    readonly attributes?: Readonly<Record<string, string>>;
  }[];
}

/** A message as a test inspects it. */
export interface LocalSqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, SqsAttribute>>;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  readonly sequenceNumber: string | undefined;
  readonly receiveCount: number;
  /** Received and neither deleted nor visible again. */
  readonly inFlight: boolean;
  readonly deadLetterSourceArn: string | undefined;
}

export interface LocalSqs {
  readonly endpoint: string;
  readonly region: string;
  queueUrl(name: string): string;
  queueArn(name: string): string;
  /** CreateQueue as the API does it (attributes as the API spells them); answers the URL. */
  createQueue(name: string, attributes?: Readonly<Record<string, string>>): string;
  /** The queue's messages in its order, in flight or not. Throws for a queue that does not exist. */
  messages(name: string): LocalSqsMessage[];
  close(): Promise<void>;
}

/** How often a long poll looks again: visibility timeouts end by the clock, not by an event. */
const POLL_EVERY_MS = 20;

export const startLocalSqs = async (options: LocalSqsOptions = {}): Promise<LocalSqs> => {
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const store = createQueueStore({ region, now });
  const moves = createMoveTasks(store, now);
  let endpoint = '';
  let closing = false;

  const queueUrl = (name: string) => `${endpoint}/${LOCAL_ACCOUNT}/${name}`;
  const queueOf = (body: Record<string, unknown>): Queue => {
    if (typeof body.QueueUrl !== 'string')
      throw new SqsError(400, 'MissingParameter', 'QueueUrl is required');
    return store.get(body.QueueUrl.slice(body.QueueUrl.lastIndexOf('/') + 1));
  };

  const expired = (queue: Queue): Queue => {
    store.expire(queue);
    return queue;
  };

  const receiveMessage = async (body: Record<string, unknown>, gone: () => boolean) => {
    const queue = queueOf(body);
    const max = intParam(body, 'MaxNumberOfMessages', 1, 1, 10);
    const visibility = intParam(
      body,
      'VisibilityTimeout',
      queue.attributes.visibilityTimeoutSeconds,
      0,
      43_200,
    );
    const waitSeconds = intParam(body, 'WaitTimeSeconds', queue.attributes.receiveWaitSeconds, 0, 20);
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      // A caller that hung up takes nothing: what it never saw must not go in flight.
      if (gone() || closing) return { Messages: [] };
      const messages = store.receive(queue, max, visibility);
      if (messages.length > 0 || Date.now() >= deadline) {
        return { Messages: messages.map((message) => toWireMessage(queue, message, body)) };
      }
      await sleep(POLL_EVERY_MS);
    }
  };

  const batch = (
    body: Record<string, unknown>,
    each: (queue: Queue, entry: Record<string, unknown>) => Record<string, unknown>,
  ) => {
    const queue = queueOf(body);
    const entries = (Array.isArray(body.Entries) ? body.Entries : []) as Record<string, unknown>[];
    checkBatchEntries(entries.map((entry) => ({ Id: String(entry.Id ?? '') })));
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...each(queue, entry) });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        Failed.push({
          Id: entry.Id,
          SenderFault: error.status < 500,
          Code: error.type,
          Message: error.message,
        });
      }
    }
    return { Successful, Failed };
  };

  const sendOne = (queue: Queue, raw: Record<string, unknown>) => {
    const accepted = store.send(queue, toSqsEntry(raw));
    if ('code' in accepted) throw new SqsError(400, accepted.code, accepted.message ?? accepted.code);
    return {
      MessageId: accepted.messageId,
      MD5OfMessageBody: accepted.md5OfBody,
      ...(accepted.md5OfAttributes === undefined ? {} : { MD5OfMessageAttributes: accepted.md5OfAttributes }),
      ...(accepted.sequenceNumber === undefined ? {} : { SequenceNumber: accepted.sequenceNumber }),
    };
  };

  const operations: Record<string, (body: Record<string, unknown>, gone: () => boolean) => unknown> = {
    CreateQueue: (body) => {
      if (typeof body.QueueName !== 'string')
        throw new SqsError(400, 'MissingParameter', 'QueueName is required');
      const queue = store.create(body.QueueName, (body.Attributes ?? {}) as Record<string, string>);
      return { QueueUrl: queueUrl(queue.name) };
    },
    GetQueueUrl: (body) => ({ QueueUrl: queueUrl(store.get(String(body.QueueName ?? '')).name) }),
    ListQueues: (body) => {
      const prefix = typeof body.QueueNamePrefix === 'string' ? body.QueueNamePrefix : '';
      const max = intParam(body, 'MaxResults', 1000, 1, 1000);
      const urls = store
        .all()
        .filter((queue) => queue.name.startsWith(prefix))
        .slice(0, max)
        .map((queue) => queueUrl(queue.name));
      return urls.length === 0 ? {} : { QueueUrls: urls };
    },
    GetQueueAttributes: (body) => {
      const attributes = queueAttributes(expired(queueOf(body)), now());
      const names = stringList(body.AttributeNames);
      const unknown = names.filter((name) => name !== 'All' && !(name in attributes) && name !== 'Policy');
      if (unknown.length > 0)
        throw new SqsError(400, 'InvalidAttributeName', `Unknown Attribute ${unknown[0]}.`);
      const selected = Object.entries(attributes).filter(
        ([name]) => names.includes('All') || names.includes(name),
      );
      return selected.length === 0 ? {} : { Attributes: Object.fromEntries(selected) };
    },
    SendMessage: (body) => sendOne(queueOf(body), body),
    SendMessageBatch: (body) => {
      const entries = (Array.isArray(body.Entries) ? body.Entries : []) as Record<string, unknown>[];
      checkSendBatch(entries.map(toSqsEntry));
      return batch(body, sendOne);
    },
    ReceiveMessage: receiveMessage,
    DeleteMessage: (body) => {
      store.delete(queueOf(body), String(body.ReceiptHandle ?? ''));
      return {};
    },
    DeleteMessageBatch: (body) =>
      batch(body, (queue, entry) => {
        store.delete(queue, String(entry.ReceiptHandle ?? ''));
        return {};
      }),
    ChangeMessageVisibility: (body) => {
      store.changeVisibility(queueOf(body), String(body.ReceiptHandle ?? ''), Number(body.VisibilityTimeout));
      return {};
    },
    ChangeMessageVisibilityBatch: (body) =>
      batch(body, (queue, entry) => {
        store.changeVisibility(queue, String(entry.ReceiptHandle ?? ''), Number(entry.VisibilityTimeout));
        return {};
      }),
    PurgeQueue: (body) => {
      const queue = queueOf(body);
      // SQS allows one purge a minute per queue.
      if (queue.lastPurgeMs !== undefined && now() - queue.lastPurgeMs < 60_000) {
        throw new SqsError(
          403,
          'PurgeQueueInProgress',
          `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`,
        );
      }
      queue.lastPurgeMs = now();
      queue.messages = [];
      return {};
    },
    StartMessageMoveTask: (body) => ({
      TaskHandle: moves.start(
        String(body.SourceArn ?? ''),
        typeof body.DestinationArn === 'string' ? body.DestinationArn : undefined,
        typeof body.MaxNumberOfMessagesPerSecond === 'number' ? body.MaxNumberOfMessagesPerSecond : undefined,
      ),
    }),
    ListMessageMoveTasks: (body) => ({
      Results: moves.list(String(body.SourceArn ?? ''), intParam(body, 'MaxResults', 1, 1, 10)),
    }),
    CancelMessageMoveTask: (body) => ({
      ApproximateNumberOfMessagesMoved: moves.cancel(String(body.TaskHandle ?? '')),
    }),
  };

  const answer = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.destroyed) return;
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const answerError = (res: ServerResponse, error: SqsError) =>
    answer(
      res,
      error.status,
      { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
      { 'x-amzn-query-error': `${sqsQueryCode(error.type)};${error.status < 500 ? 'Sender' : 'Receiver'}` },
    );

  const handle = async (req: IncomingMessage, res: ServerResponse, text: string) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonSQS.')
      ? operations[target.slice('AmazonSQS.'.length)]
      : undefined;
    if (req.method !== 'POST' || operation === undefined) {
      throw new SqsError(
        400,
        'UnsupportedOperation',
        `The local SQS does not implement ${JSON.stringify(target)}`,
      );
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text || '{}') as Record<string, unknown>;
    } catch {
      throw new SqsError(400, 'SerializationException', 'The request body is not JSON');
    }
    answer(res, 200, await operation(body, () => res.destroyed || req.socket.destroyed));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
        if (error instanceof SqsError) answerError(res, error);
        else answerError(res, new SqsError(500, 'InternalError', (error as Error).message));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const queue of options.queues ?? []) store.create(queue.name, queue.attributes ?? {});

  return {
    endpoint,
    region,
    queueUrl,
    queueArn: (name) => store.get(name).arn,
    createQueue: (name, attributes = {}) => queueUrl(store.create(name, attributes).name),
    messages: (name) => {
      const at = now();
      return store.get(name).messages.map((message) => ({
        messageId: message.messageId,
        body: message.body,
        attributes: message.attributes,
        groupId: message.groupId,
        deduplicationId: message.deduplicationId,
        sequenceNumber: message.sequenceNumber,
        receiveCount: message.receiveCount,
        inFlight: message.receiptHandle !== undefined && message.visibleAtMs > at,
        deadLetterSourceArn: message.deadLetterSourceArn,
      }));
    },
    close: async () => {
      closing = true;
      moves.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
