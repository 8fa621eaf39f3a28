import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';

/**
 * The SQS calls of `npm run dlq`, over an SDK client: reading a queue without consuming it (every message
 * received under a visibility timeout and released with ChangeMessageVisibility 0 unless deleted), the
 * deletes and resends of a redrive, and SQS's own message move tasks.
 */

/** A message received and hidden from other consumers until released or deleted. */
export interface HeldMessage {
  readonly queueUrl: string;
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, MessageAttributeValue>>;
  readonly groupId: string | undefined;
  readonly sentMs: number;
}

export interface MoveTaskProgress {
  readonly status: string;
  readonly handle: string | undefined;
  readonly moved: number;
  readonly toMove: number | undefined;
  readonly failureReason: string | undefined;
}

export interface DlqQueues {
  /**
   * Every message the queue hands out, up to `max`, each hidden for `visibilitySeconds`. Each receive
   * waits up to `waitSeconds` (1 unless given) for a message: an empty answer then ends the read.
   */
  hold(
    queueUrl: string,
    visibilitySeconds: number,
    max: number,
    waitSeconds?: number,
  ): Promise<HeldMessage[]>;
  /** Makes held messages visible again at once. */
  release(messages: readonly HeldMessage[]): Promise<void>;
  remove(message: HeldMessage): Promise<void>;
  /** Sends `body` as a new message with the held one's attributes (and group, with `deduplicationId`). */
  resend(message: HeldMessage, body: string, deduplicationId: string): Promise<void>;
  /** A queue's URL from its name or URL. */
  urlOf(nameOrUrl: string): Promise<string>;
  arnOf(queueUrl: string): Promise<string>;
  startMove(sourceArn: string, destinationArn: string | undefined): Promise<string>;
  /** The source queue's latest move task. */
  moveProgress(sourceArn: string): Promise<MoveTaskProgress | undefined>;
  cancelMove(handle: string): Promise<void>;
}

const IN_TENS = 10;

/**
 * `waitSeconds`: what `hold` waits by default. 1 against SQS; the local SQS answers a short poll (0) with
 * every visible message, so its users (the console, the tests) may pass 0.
 */
export const createDlqQueues = (
  client: SQSClient,
  options: { readonly waitSeconds?: number } = {},
): DlqQueues => ({
  hold: async (queueUrl, visibilitySeconds, max, waitSeconds = options.waitSeconds ?? 1) => {
    const held: HeldMessage[] = [];
    while (held.length < max) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(IN_TENS, max - held.length),
          VisibilityTimeout: visibilitySeconds,
          // A short wait: an empty answer then means the queue has nothing visible left. A short poll (0)
          // asks only some of SQS's servers and can answer empty while messages wait: only the local
          // console passes 0, on the local SQS, which answers it with everything.
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['SentTimestamp', 'MessageGroupId'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        held.push({
          queueUrl,
          messageId: message.MessageId ?? '',
          receiptHandle: message.ReceiptHandle ?? '',
          body: message.Body ?? '',
          attributes: message.MessageAttributes ?? {},
          groupId: message.Attributes?.MessageGroupId,
          sentMs: Number(message.Attributes?.SentTimestamp ?? 0),
        });
      }
    }
    return held;
  },
  release: async (messages) => {
    for (const queueUrl of new Set(messages.map((message) => message.queueUrl))) {
      const ofQueue = messages.filter((message) => message.queueUrl === queueUrl);
      for (let i = 0; i < ofQueue.length; i += IN_TENS) {
        await client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: ofQueue.slice(i, i + IN_TENS).map((message, n) => ({
              Id: `m${n}`,
              ReceiptHandle: message.receiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        );
      }
    }
  },
  remove: async (message) => {
    await client.send(
      new DeleteMessageCommand({ QueueUrl: message.queueUrl, ReceiptHandle: message.receiptHandle }),
    );
  },
  resend: async (message, body, deduplicationId) => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: message.queueUrl,
        MessageBody: body,
        MessageAttributes: { ...message.attributes },
        ...(message.groupId === undefined
          ? {}
          : { MessageGroupId: message.groupId, MessageDeduplicationId: deduplicationId }),
      }),
    );
  },
  urlOf: async (nameOrUrl) =>
    /^https?:\/\//.test(nameOrUrl)
      ? nameOrUrl
      : ((await client.send(new GetQueueUrlCommand({ QueueName: nameOrUrl }))).QueueUrl ?? nameOrUrl),
  arnOf: async (queueUrl) => {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    return Attributes?.QueueArn ?? '';
  },
  startMove: async (sourceArn, destinationArn) =>
    (
      await client.send(
        new StartMessageMoveTaskCommand({
          SourceArn: sourceArn,
          ...(destinationArn === undefined ? {} : { DestinationArn: destinationArn }),
        }),
      )
    ).TaskHandle ?? '',
  moveProgress: async (sourceArn) => {
    const { Results = [] } = await client.send(
      new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }),
    );
    const task = Results[0];
    return task === undefined
      ? undefined
      : {
          status: task.Status ?? 'UNKNOWN',
          handle: task.TaskHandle,
          moved: task.ApproximateNumberOfMessagesMoved ?? 0,
          toMove: task.ApproximateNumberOfMessagesToMove,
          failureReason: task.FailureReason,
        };
  },
  cancelMove: async (handle) => {
    await client.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle }));
  },
});
