/**
 * The webhook spool's queues as the stack declares them (serverless.yml `SpoolQueue`, `SpoolDlq`), for the
 * local SQS: the FIFO spool queue redriving to its FIFO DLQ past `maxReceiveCount` receives. The
 * visibility timeout is the caller's: the stack's 360 s would make a local run wait minutes for a retry.
 */
export const spoolQueueDefinitions = (
  queue: string,
  dlq: string,
  visibilitySeconds: number,
  maxReceiveCount: number,
) => [
  { name: dlq, attributes: { FifoQueue: 'true' } },
  {
    name: queue,
    attributes: {
      FifoQueue: 'true',
      VisibilityTimeout: String(visibilitySeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${dlq}`,
        maxReceiveCount,
      }),
    },
  },
];
