import type { SQSBatchResponse } from 'aws-lambda';
import { type LocalS3, startLocalS3 } from './aws-local/s3-server.js';
import { createSqsEventSource, type SqsEventSource } from './aws-local/sqs-event-source.js';
import { LOCAL_ACCOUNT } from './aws-local/sqs-queues.js';
import { type LocalSqs, startLocalSqs } from './aws-local/sqs-server.js';
import { invokeLocal } from './local-invoke.js';
import { LOCAL, type LocalEventSource, type LocalQueue } from './local-stage.js';

/**
 * The local stage's AWS services for `npm start`: the local SQS with the stage's queues (`LOCAL.queues`),
 * the local S3 with its buckets, and its SQS event source mappings (`LOCAL.eventSources`) invoking the
 * functions through the offline Lambda API.
 */

/** A queue's URL on the local SQS at `sqsPort`, before the server is up (settings are made first). */
export const localQueueUrl = (sqsPort: number, name: string): string =>
  `http://127.0.0.1:${sqsPort}/${LOCAL_ACCOUNT}/${name}`;

/** CreateQueue's attributes for a queue of the local stage's table. */
export const toQueueAttributes = (
  queue: LocalQueue,
  arnOf: (name: string) => string,
): Record<string, string> => ({
  ...(queue.fifo === true ? { FifoQueue: 'true' } : {}),
  ...(queue.contentBasedDeduplication === true ? { ContentBasedDeduplication: 'true' } : {}),
  ...(queue.visibilityTimeoutSeconds === undefined
    ? {}
    : { VisibilityTimeout: String(queue.visibilityTimeoutSeconds) }),
  ...(queue.redrive === undefined
    ? {}
    : {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: arnOf(queue.redrive.deadLetterQueue),
          maxReceiveCount: queue.redrive.maxReceiveCount,
        }),
      }),
});

/**
 * Creates the table's queues in order. Throws naming the entry of the table that SQS refused (a redrive
 * target must come before the queue that names it).
 */
export const createQueues = async (sqs: LocalSqs, queues: readonly LocalQueue[]): Promise<void> => {
  for (const queue of queues) {
    try {
      const arnOf = (name: string) => {
        if (!queues.some((other) => other.name === name))
          throw new Error(`its redrive target ${name} is not in the table`);
        try {
          return sqs.queueArn(name);
        } catch {
          throw new Error(`its redrive target ${name} must come before it in the table`);
        }
      };
      sqs.createQueue(queue.name, toQueueAttributes(queue, arnOf));
    } catch (error) {
      await sqs.close();
      throw new Error(`LOCAL.queues ${queue.name}: ${(error as Error).message}`);
    }
  }
};

export interface LocalAws {
  readonly sqs: LocalSqs;
  readonly s3: LocalS3;
  /** Starts the event source mappings: once the functions answer. */
  startEventSources(lambdaPort: number, say: (line: string) => void): void;
  close(): Promise<void>;
}

export const startLocalAws = async (ports: {
  readonly sqsPort: number;
  readonly s3Port: number;
}): Promise<LocalAws> => {
  const sqs = await startLocalSqs({ port: ports.sqsPort, region: LOCAL.region });
  await createQueues(sqs, LOCAL.queues);
  const s3 = await startLocalS3({ port: ports.s3Port, buckets: LOCAL.buckets });
  const sources: SqsEventSource[] = [];

  const toEventSource = (mapping: LocalEventSource, lambdaPort: number, say: (line: string) => void) =>
    createSqsEventSource({
      endpoint: sqs.endpoint,
      region: LOCAL.region,
      credentials: LOCAL.credentials,
      queueUrl: sqs.queueUrl(mapping.queue),
      ...(mapping.batchSize === undefined ? {} : { batchSize: mapping.batchSize }),
      ...(mapping.maximumBatchingWindowMs === undefined
        ? {}
        : { maximumBatchingWindowMs: mapping.maximumBatchingWindowMs }),
      invoke: async (event) => {
        const result = await invokeLocal(lambdaPort, mapping.function, event);
        // As Lambda: a function error leaves the whole batch to come back after its visibility timeout.
        if (!result.ok) throw new Error(`the ${mapping.function} function failed: ${result.error}`);
        return result.payload as SQSBatchResponse | undefined;
      },
      onError: (error) => say(`${mapping.queue} → ${mapping.function}: ${error.message}`),
    });

  return {
    sqs,
    s3,
    startEventSources: (lambdaPort, say) => {
      for (const mapping of LOCAL.eventSources) {
        const source = toEventSource(mapping, lambdaPort, say);
        source.start();
        sources.push(source);
      }
    },
    close: async () => {
      await Promise.allSettled(sources.map((source) => source.stop()));
      await Promise.allSettled([sqs.close(), s3.close()]);
    },
  };
};
