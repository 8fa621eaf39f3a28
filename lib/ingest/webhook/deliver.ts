import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describeError, toPayloadPreview } from '../../core/log.js';
import type { ProduceRecord, ProduceSuccess } from '../../kafka-rest/types.js';
import { produceOne, type SourceDeps } from '../produce.js';
import { type BreakerOpenError, isUpstreamFailure, type UpstreamBreaker } from '../spool/breaker.js';
import type { Spool } from '../spool/spool.js';
import type { WebhookRoute } from './config.js';
import { toAcceptedResponse, toSpooledResponse } from './respond.js';

export interface DeliveryDeps extends SourceDeps {
  /** This instance's view of the proxy; absent, every request tries it. */
  readonly breaker?: UpstreamBreaker | undefined;
  /** Present when a route spools (`SPOOL_QUEUE_URL` set). */
  readonly spool?: { readonly spool: Spool; readonly produceBudgetMs: number } | undefined;
}

export interface Delivery {
  readonly route: WebhookRoute;
  readonly record: ProduceRecord;
  readonly requestId: string;
  readonly deadlineMs: number;
  /** Log fields naming the request's trace. */
  readonly trace: Record<string, unknown>;
}

/**
 * The verified record's way into Kafka: produced, answering 202 with its offset; or, on a spooling route,
 * spooled when the proxy cannot take it in time (or its key has spooled records not yet produced),
 * answering 202 with a receipt. Throws what the caller answers with an error: a reject route's upstream
 * failure (503, fast while the breaker is open), a record refused for good (4xx), or a spool that failed
 * too (`ERR_SPOOL_FAILED`, 503).
 */
export const deliverRecord = async (
  deps: DeliveryDeps,
  delivery: Delivery,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const { route, requestId } = delivery;
  const spool = route.onUpstreamFailure === 'spool' ? deps.spool : undefined;
  if (spool === undefined)
    return toAcceptedResponse({
      topic: route.topic,
      ...(await produce(deps, delivery, delivery.deadlineMs)),
    });

  const entry = { route: route.name, topic: route.topic, record: delivery.record, requestId };
  let spooledBecause: string;
  let behind: boolean;
  try {
    behind = await spool.spool.holdsKeyOf(entry, delivery.deadlineMs);
  } catch (error) {
    // Spooling never breaks the key's order; producing might, if it has spooled records.
    deps.log.warn('webhook: spool keys unreadable: spooling to keep the key in order', {
      requestId,
      error: describeError(error),
    });
    behind = true;
  }
  if (behind) {
    spooledBecause = 'key-behind-spool';
  } else {
    try {
      const budgetEndMs = Math.min(delivery.deadlineMs, deps.now() + spool.produceBudgetMs);
      return toAcceptedResponse({ topic: route.topic, ...(await produce(deps, delivery, budgetEndMs)) });
    } catch (error) {
      if (!isUpstreamFailure(error)) throw error;
      spooledBecause =
        (error as Partial<BreakerOpenError>).breakerOpen === true ? 'breaker-open' : 'upstream-failure';
      if (spooledBecause === 'upstream-failure') {
        deps.log.warn('webhook: the proxy did not take the record in time: spooling it', {
          requestId,
          route: route.name,
          error: describeError(error),
        });
      }
    }
  }
  const spooled = await spool.spool.write(entry, delivery.deadlineMs);
  deps.metrics?.spooled(route.topic);
  deps.log.info('webhook record spooled', {
    requestId,
    route: route.name,
    topic: route.topic,
    receipt: spooled.receipt,
    reason: spooledBecause,
    ...delivery.trace,
  });
  return toSpooledResponse(spooled);
};

const produce = async (
  deps: DeliveryDeps,
  delivery: Delivery,
  deadlineMs: number,
): Promise<ProduceSuccess> => {
  const { route, record, requestId } = delivery;
  const attempt = () =>
    produceOne(deps, route.topic, record, {
      deadlineMs,
      noResult: () => new Error('the Kafka REST client returned no result for the record'),
    });
  const result = await (deps.breaker === undefined ? attempt() : deps.breaker.run(attempt));
  deps.log.info('webhook record produced', {
    requestId,
    route: route.name,
    topic: route.topic,
    partition: result.partition,
    offset: result.offset,
    ...delivery.trace,
  });
  if (deps.log.logsPayloads === true) {
    deps.log.debug('webhook record payload', {
      route: route.name,
      key: toPayloadPreview(record.key),
      value: toPayloadPreview(record.value),
    });
  }
  return result;
};
