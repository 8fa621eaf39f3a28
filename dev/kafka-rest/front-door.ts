import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminApi } from './admin.js';
import { isAdminPath } from './admin.js';
import { KAFKA_REST_ERROR_CODES } from './answers.js';
import type { CredentialGate } from './auth.js';
import type { ConsumerRegistry } from './consumer-types.js';
import type { Exchange } from './exchange.js';
import { firstQueryValues, send, sendError } from './exchange.js';
import type { FaultAnswers } from './fault-answers.js';
import type { FaultQueue } from './faults.js';
import type { Lifecycle } from './lifecycle.js';
import { errorContentType, MEDIA_TYPES } from './media-types.js';
import type { ServerSettings } from './options.js';
import { matchRoute } from './routes.js';
import type { RecordedRequest } from './types.js';

export interface FrontDoorDeps {
  readonly settings: Pick<ServerSettings, 'flavor' | 'latencyMs' | 'recordRequests'>;
  /** Where each request is recorded when `recordRequests` is on. */
  readonly requests: RecordedRequest[];
  readonly faults: Pick<FaultQueue, 'takeFront'>;
  readonly faultAnswers: Pick<FaultAnswers, 'applyFront' | 'applyChaos'>;
  readonly consumers: Pick<ConsumerRegistry, 'restart' | 'unassign'>;
  readonly admin: AdminApi;
  readonly credentials: CredentialGate;
  readonly lifecycle: Pick<Lifecycle, 'sleep' | 'isClosing'>;
  /** The rest of the API, once the request passed the door. */
  readonly route: (x: Exchange, requestMethod: string) => Promise<void>;
}

/**
 * What every request goes through before its route: recorded, held (`latencyMs`, `delay` faults), front
 * faults and chaos, Message Hub's admin API, then the credential check.
 */
export const createFrontDoor = (deps: FrontDoorDeps) => {
  const { settings, faults, faultAnswers, consumers, admin, credentials } = deps;
  const { sleep, isClosing } = deps.lifecycle;

  /** The `unassign` fault: the v2 instance the path addresses, if any, loses its assignment. */
  const unassignAddressed = (path: string): void => {
    const addressed = matchRoute(path);
    if (addressed !== undefined && addressed.instance !== '') {
      consumers.unassign(addressed.group, addressed.instance);
    }
  };

  return async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const requestMethod = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (settings.recordRequests) {
      deps.requests.push({
        method: requestMethod,
        path,
        query: firstQueryValues(query),
        headers: req.headers,
        body,
      });
    }
    const accept = req.headers.accept;
    // Node leaves the body out of a HEAD answer by itself; everything else is the GET.
    const x: Exchange = {
      req,
      res,
      method: requestMethod === 'HEAD' ? 'GET' : requestMethod,
      path,
      query,
      body,
      accept,
      errorContentType: settings.flavor === 'strimzi' ? MEDIA_TYPES.V2_JSON : errorContentType(accept),
    };

    if (settings.latencyMs > 0) await sleep(settings.latencyMs);
    const front = faults.takeFront(requestMethod, path);
    if (front.delayMs > 0) await sleep(front.delayMs);
    if (isClosing()) return;
    if (front.restartConsumers) consumers.restart();
    if (front.unassign) unassignAddressed(path);
    if (front.fault !== undefined) return faultAnswers.applyFront(x, front.fault);
    if (faultAnswers.applyChaos(x)) return;
    // Message Hub's admin API (protocol doc §5), with its own camelCase errors, 401 included; the bridge
    // has its own `/admin/topics`.
    if (settings.flavor !== 'strimzi' && isAdminPath(path)) {
      const answer = admin.handle({
        method: x.method,
        path,
        body,
        authorized: credentials.isAuthorized(req.headers),
      });
      return send(x, answer.status, answer.contentType, answer.body, answer.headers);
    }
    // The gateway (IBM's, Confluent Cloud's) checks the credential before the proxy sees the request.
    if (!credentials.isAuthorized(req.headers)) {
      return sendError(x, 401, KAFKA_REST_ERROR_CODES.UNAUTHORIZED, credentials.refusal());
    }
    await deps.route(x, requestMethod);
  };
};
