import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/**
 * What Lambda's SQS event source mapping does, against an SQS endpoint (the local server): long-poll the
 * queue, gather a batch (up to `batchSize`, waiting up to the batching window), invoke the function with
 * the `SQSEvent` Lambda builds, and with `ReportBatchItemFailures` delete every message the answer does not
 * list. A thrown invoke deletes nothing: the whole batch comes back after its visibility timeout. One
 * batch at a time, so a FIFO queue's groups reach the function in their order, as Lambda keeps them.
 */

/** The function: its answer is read as Lambda reads it with `functionResponseType: ReportBatchItemFailures`. */
export type SqsInvoke = (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null>;

export interface SqsEventSourceOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly queueUrl: string;
  readonly invoke: SqsInvoke;
  /** Lambda's default 10; above 10 it needs a batching window, as in Lambda. */
  readonly batchSize?: number;
  /** `MaximumBatchingWindowInSeconds` in ms: how long to gather a batch once a message is in hand (0: none). */
  readonly maximumBatchingWindowMs?: number;
  /** Told of a failed invoke or SQS call; the mapping goes on polling, as Lambda's does. */
  readonly onError?: (error: Error) => void;
}

export interface SqsEventSource {
  start(): void;
  /**
   * Stops polling and resolves once the invocation in flight (if any) has ended and been settled; final
   * (it closes the SQS client): start another source to poll again.
   */
  stop(): Promise<void>;
}

/** Lambda's long poll. */
const WAIT_SECONDS = 20;
/** How long to wait before polling again after an SQS call failed. */
const RETRY_AFTER_FAILURE_MS = 1_000;

const toMessageAttributes = (message: Message): SQSMessageAttributes =>
  Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      {
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined
          ? {}
          : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        stringListValues: value.StringListValues ?? [],
        binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
        dataType: value.DataType ?? 'String',
      },
    ]),
  );

/** One record as Lambda delivers it (its field names, its camelCase attribute shape). */
export const toSqsRecord = (message: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: message.MessageId ?? '',
  receiptHandle: message.ReceiptHandle ?? '',
  body: message.Body ?? '',
  attributes: message.Attributes as SQSRecord['attributes'],
  messageAttributes: toMessageAttributes(message),
  md5OfBody: message.MD5OfBody ?? '',
  ...(message.MD5OfMessageAttributes === undefined
    ? {}
    : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: region,
});

/**
 * The receipt handles Lambda deletes after an invoke: all but the reported ones; none when the invoke
 * threw or the answer names an item that is not a message of the batch (Lambda then fails the whole batch).
 */
const toDelete = (
  records: readonly SQSRecord[],
  answer: SQSBatchResponse | undefined | null,
): SQSRecord[] => {
  const failures = answer?.batchItemFailures ?? [];
  const ids = new Set(records.map((record) => record.messageId));
  if (
    failures.some(
      (failure) => typeof failure?.itemIdentifier !== 'string' || !ids.has(failure.itemIdentifier),
    )
  ) {
    return [];
  }
  const failed = new Set(failures.map((failure) => failure.itemIdentifier));
  return records.filter((record) => !failed.has(record.messageId));
};

const inTens = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / 10) }, (_, i) => items.slice(i * 10, i * 10 + 10));

export const createSqsEventSource = (options: SqsEventSourceOptions): SqsEventSource => {
  const batchSize = options.batchSize ?? 10;
  const windowMs = options.maximumBatchingWindowMs ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new RangeError(`batchSize must be an integer from 1 to 10000, got ${batchSize}`);
  }
  if (batchSize > 10 && windowMs <= 0) {
    throw new RangeError('a batchSize over 10 needs a maximumBatchingWindowMs, as in Lambda');
  }
  const client = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
  });
  const { queueUrl } = options;
  let controller: AbortController | undefined;
  let running: Promise<void> | undefined;
  const report = (error: unknown) =>
    options.onError?.(error instanceof Error ? error : new Error(String(error)));

  const receive = async (max: number, waitSeconds: number, signal: AbortSignal): Promise<Message[]> =>
    (
      await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      )
    ).Messages ?? [];

  /** A batch as Lambda gathers one: the first long poll, then more until full or the window closes. */
  const gather = async (signal: AbortSignal): Promise<Message[]> => {
    const batch = await receive(batchSize, WAIT_SECONDS, signal);
    const closesAt = Date.now() + windowMs;
    while (batch.length > 0 && batch.length < batchSize && Date.now() < closesAt && !signal.aborted) {
      const more = await receive(
        batchSize - batch.length,
        Math.min(WAIT_SECONDS, Math.ceil((closesAt - Date.now()) / 1000)),
        signal,
      ).catch((error: unknown) => {
        if (signal.aborted) return [];
        throw error;
      });
      if (more.length === 0) break;
      batch.push(...more);
    }
    return batch;
  };

  const release = async (messages: readonly Message[]) => {
    for (const chunk of inTens(messages)) {
      await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, i) => ({
            Id: `m${i}`,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  };

  const deliver = async (queueArn: string, messages: readonly Message[]) => {
    const records = messages.map((message) => toSqsRecord(message, queueArn, options.region));
    let answer: SQSBatchResponse | undefined | null;
    try {
      answer = await options.invoke({ Records: records });
    } catch (error) {
      report(error);
      return;
    }
    for (const chunk of inTens(toDelete(records, answer))) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((record, i) => ({ Id: `m${i}`, ReceiptHandle: record.receiptHandle })),
        }),
      );
    }
  };

  const poll = async (signal: AbortSignal) => {
    const attributes = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const queueArn = attributes.Attributes?.QueueArn ?? '';
    while (!signal.aborted) {
      try {
        const batch = await gather(signal);
        if (batch.length === 0) continue;
        // Stopped while gathering: hand the messages back rather than leave them hidden for a timeout.
        if (signal.aborted) await release(batch);
        else await deliver(queueArn, batch);
      } catch (error) {
        if (signal.aborted) return;
        report(error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_FAILURE_MS));
      }
    }
  };

  return {
    start: () => {
      if (running !== undefined) return;
      controller = new AbortController();
      running = poll(controller.signal).catch(report);
    },
    stop: async () => {
      controller?.abort();
      await running;
      running = undefined;
      client.destroy();
    },
  };
};
