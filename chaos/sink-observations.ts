import type { ReceivedRequest } from '../dev/http-sink.js';
import type { PutEvent, SqsMessage } from '../test/helpers/aws-fakes.js';
import type { SinkObservation } from './reconcile.js';

/**
 * What each kind of sink got, read back from the sink's own record of it in the sink's own format, so
 * that the reconciliation compares Kafka's bytes with what a receiver would really decode.
 */

const header = (request: ReceivedRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const fromBase64 = (value: string | null): Buffer =>
  value === null ? Buffer.alloc(0) : Buffer.from(value, 'base64');

/**
 * HTTP `single` requests carry one record in headers + body; `batch` requests a JSON array of
 * `{topic, partition, offset, value}` (value base64), expanded in body order with the request's status.
 */
export const fromHttpRequests = (requests: readonly ReceivedRequest[]): SinkObservation[] =>
  requests.flatMap((request): SinkObservation[] => {
    if (header(request, 'kafka-record-count') === undefined) {
      return [
        {
          topic: String(header(request, 'kafka-topic')),
          partition: Number(header(request, 'kafka-partition')),
          offset: Number(header(request, 'kafka-offset')),
          status: request.status,
          body: request.body,
          ordered: true,
        },
      ];
    }
    const items = JSON.parse(request.body.toString('utf8')) as {
      topic: string;
      partition: number;
      offset: number;
      value: string | null;
    }[];
    return items.map((item) => ({
      topic: item.topic,
      partition: item.partition,
      offset: item.offset,
      status: request.status,
      body: fromBase64(item.value),
      ordered: true,
    }));
  });

const attribute = (message: SqsMessage, name: string): string =>
  message.MessageAttributes[name]?.StringValue ?? '';

/** The messages a queue holds, in queue order; only a FIFO queue promises that order. */
export const fromSqsMessages = (messages: readonly SqsMessage[], ordered: boolean): SinkObservation[] =>
  messages.map((message) => {
    const encoding = attribute(message, 'kafka.value-encoding');
    return {
      topic: attribute(message, 'kafka.topic'),
      partition: Number(attribute(message, 'kafka.partition')),
      offset: Number(attribute(message, 'kafka.offset')),
      status: 200,
      body:
        encoding === 'base64'
          ? Buffer.from(message.MessageBody, 'base64')
          : encoding === 'utf-8'
            ? Buffer.from(message.MessageBody, 'utf8')
            : Buffer.alloc(0),
      ordered,
      sinkKeepsRefusals: false,
    };
  });

const VALUE_FIELD = ',"value":';

/**
 * Events as the bus accepted them. A JSON value is embedded as its own text (`…,"value":<text>}`), so it
 * is cut out of `Detail` rather than parsed and re-serialised, which could change its bytes.
 */
export const fromPutEvents = (events: readonly PutEvent[]): SinkObservation[] =>
  events.map((event) => {
    const detailText = event.Detail ?? '{}';
    const detail = JSON.parse(detailText) as {
      topic: string;
      partition: number;
      offset: number;
      valueBase64?: string;
    };
    const at = detailText.indexOf(VALUE_FIELD);
    const body =
      detail.valueBase64 !== undefined
        ? Buffer.from(detail.valueBase64, 'base64')
        : Buffer.from(at < 0 ? '' : detailText.slice(at + VALUE_FIELD.length, -1), 'utf8');
    return {
      topic: detail.topic,
      partition: detail.partition,
      offset: detail.offset,
      status: 200,
      body,
      ordered: false,
      sinkKeepsRefusals: false,
    };
  });
