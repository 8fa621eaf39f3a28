import type {
  EventBridgeClient,
  PutEventsCommandInput,
  PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import type {
  SendMessageBatchCommandInput,
  SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';

export interface AwsCallOptions {
  readonly abortSignal: AbortSignal;
}

/** The one SQS call the sinks and the DLQ make. */
export interface SqsPort {
  sendMessageBatch(
    input: SendMessageBatchCommandInput,
    options: AwsCallOptions,
  ): Promise<SendMessageBatchCommandOutput>;
}

/** The one EventBridge call the EventBridge sink makes. */
export interface EventBridgePort {
  putEvents(input: PutEventsCommandInput, options: AwsCallOptions): Promise<PutEventsCommandOutput>;
}

/** SDK clients created on first use; `destroy` closes whatever was created. */
export interface AwsClients {
  sqs(): Promise<SqsPort>;
  eventBridge(): Promise<EventBridgePort>;
  destroy(): void;
}

export interface AwsClientSettings {
  /** Unset in Lambda: the SDK takes the function's region. */
  readonly region?: string | undefined;
  /** The `SQS_ENDPOINT` setting (local stand-ins); unset in AWS. */
  readonly sqsEndpoint?: string | URL | undefined;
  /** The `EVENTBRIDGE_ENDPOINT` setting (local stand-ins); unset in AWS. */
  readonly eventBridgeEndpoint?: string | URL | undefined;
  /** Unset in Lambda (the execution role); fixed fake credentials against local stand-ins. */
  readonly credentials?:
    | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
    | undefined;
}

/**
 * Builds the SDK clients lazily. The SDK packages are imported dynamically on first use, so a drain to an
 * HTTP sink never loads them (design §8: `@aws-sdk/client-*` cost tens of ms each at cold start).
 * Only `SQSClient` + `SendMessageBatchCommand` and `EventBridgeClient` + `PutEventsCommand` are used.
 * The clients make one attempt per call (`maxAttempts: 1`): the drain loop owns retries and attempt counts.
 */
export const createAwsClients = (settings: AwsClientSettings): AwsClients => {
  let sqsClient: SQSClient | undefined;
  let eventBridgeClient: EventBridgeClient | undefined;
  let sqs: Promise<SqsPort> | undefined;
  let eventBridge: Promise<EventBridgePort> | undefined;

  const common = () => ({
    maxAttempts: 1,
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  });
  const endpoint = (value: string | URL | undefined) =>
    value === undefined ? {} : { endpoint: value.toString() };

  const loadSqs = async (): Promise<SqsPort> => {
    const { SQSClient, SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    const client = new SQSClient({ ...common(), ...endpoint(settings.sqsEndpoint) });
    sqsClient = client;
    return {
      sendMessageBatch: (input, options) => client.send(new SendMessageBatchCommand(input), options),
    };
  };
  const loadEventBridge = async (): Promise<EventBridgePort> => {
    const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const client = new EventBridgeClient({ ...common(), ...endpoint(settings.eventBridgeEndpoint) });
    eventBridgeClient = client;
    return { putEvents: (input, options) => client.send(new PutEventsCommand(input), options) };
  };

  return {
    sqs: () => {
      // A failed import is not cached, so the next call tries again.
      sqs ??= loadSqs().catch((error: unknown) => {
        sqs = undefined;
        throw error;
      });
      return sqs;
    },
    eventBridge: () => {
      eventBridge ??= loadEventBridge().catch((error: unknown) => {
        eventBridge = undefined;
        throw error;
      });
      return eventBridge;
    },
    destroy: () => {
      sqsClient?.destroy();
      eventBridgeClient?.destroy();
      sqsClient = undefined;
      eventBridgeClient = undefined;
      sqs = undefined;
      eventBridge = undefined;
    },
  };
};
