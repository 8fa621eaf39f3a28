import { notAcceptable, notFound, unsupportedMediaType } from './answers.js';
import type { Exchange } from './exchange.js';
import { send, sendError } from './exchange.js';
import type { Flavor } from './flavors.js';
import {
  isBinaryProduceContentType,
  isV2BinaryProduceContentType,
  isV2Type,
  MEDIA_TYPES,
  negotiate,
  PRODUCES,
  V2_ERROR_CONTENT_TYPE,
} from './media-types.js';
import { producesFor } from './metadata-routes.js';
import type { Route } from './routes.js';
import { flavorHasRoute, isConsumerRoute, matchRoute, ROUTE_METHODS } from './routes.js';

type Handler = (x: Exchange, route: Route) => Promise<void> | void;
/** A handler of a route whose answer's Content-Type the router has negotiated. */
type NegotiatedHandler = (x: Exchange, route: Route, contentType: string) => Promise<void> | void;

/** The handler of each concern; the router picks one by path, method and media types. */
export interface RouterDeps {
  readonly flavor: Flavor;
  /** The Strimzi flavor's whole API (it shares no route with the others). */
  readonly strimzi: (x: Exchange) => Promise<void>;
  readonly consumers: Handler;
  readonly simpleConsume: Handler;
  readonly v1Messages: NegotiatedHandler;
  readonly metadata: NegotiatedHandler;
  readonly partitionOffsets: NegotiatedHandler;
  readonly produce: (
    x: Exchange,
    route: Route,
    contentType: string,
    toPartition: boolean,
    api: 'v1' | 'v2',
  ) => Promise<void>;
  readonly v3Produce: Handler;
}

/**
 * Routes a request that passed the front door (faults, admin, credentials): 404 for an unknown path, the
 * flavor's 404 for a route its proxy lacks, 405 with `Allow`, then 415 and 406 as Jersey checks the media
 * types before a resource method runs.
 */
export const createRouter = (deps: RouterDeps) => {
  const { flavor } = deps;
  // A route this flavor's proxy lacks: Redpanda's HTTP server (Seastar) has its own 404 body for one.
  const absentRoute =
    flavor === 'redpanda'
      ? (x: Exchange): void => send(x, 404, MEDIA_TYPES.JSON, '{"message":"Not found","code":404}')
      : notFound;

  const routeV3 = async (x: Exchange, r: Route): Promise<void> => {
    const y: Exchange = { ...x, errorContentType: MEDIA_TYPES.JSON };
    if (x.req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== MEDIA_TYPES.JSON) {
      return unsupportedMediaType(y);
    }
    if (negotiate(x.accept, PRODUCES.v3) === undefined) return notAcceptable(y);
    return deps.v3Produce(y, r);
  };

  /** A v2 request to a v2-only resource, or a v2-typed POST: v2's error Content-Type and answer types. */
  const routeV2 = (x: Exchange, r: Route, handle: NegotiatedHandler): Promise<void> | void => {
    const y: Exchange = { ...x, errorContentType: V2_ERROR_CONTENT_TYPE };
    if (x.method === 'POST' && !isV2BinaryProduceContentType(x.req.headers['content-type'])) {
      return unsupportedMediaType(y);
    }
    const contentType = negotiate(x.accept, PRODUCES.v2);
    if (contentType === undefined) return notAcceptable(y);
    return handle(y, r, contentType);
  };

  return async (x: Exchange, requestMethod: string): Promise<void> => {
    if (flavor === 'strimzi') return deps.strimzi(x);
    const r = matchRoute(x.path);
    if (r === undefined) return notFound(x);
    if (!flavorHasRoute(flavor, r.name)) return absentRoute(x);
    const allowed: readonly string[] = ROUTE_METHODS[r.name];
    const allow = [...allowed, 'HEAD', 'OPTIONS'].join(', ');
    if (requestMethod === 'OPTIONS') return send(x, 200, undefined, undefined, { allow });
    if (!allowed.includes(x.method)) return sendError(x, 405, 405, 'HTTP 405 Method Not Allowed', { allow });

    if (r.name === 'v3-records') return routeV3(x, r);
    if (r.name === 'partition-records') return deps.simpleConsume(x, r);
    if (isConsumerRoute(r.name)) return deps.consumers(x, r);
    const requestType = x.req.headers['content-type'];
    // CP 5.x serves v1 and v2 side by side: a v2 Content-Type picks v2; application/json, octet-stream
    // and no Content-Type stay with v1 (the §6 gotcha).
    if (x.method === 'POST' && requestType !== undefined && isV2Type(requestType)) {
      return routeV2(x, r, (y, route, contentType) =>
        deps.produce(y, route, contentType, route.name === 'partition', 'v2'),
      );
    }
    if (r.name === 'partition-offsets') return routeV2(x, r, deps.partitionOffsets);

    if (x.method === 'POST' && !isBinaryProduceContentType(requestType)) return unsupportedMediaType(x);
    // A v1 produce answers only in v1's types; a GET may also be the v2 resource on the same path.
    const contentType = negotiate(
      x.accept,
      x.method === 'POST'
        ? r.name === 'topic'
          ? PRODUCES.metadata
          : PRODUCES.partitions
        : producesFor(r.name),
    );
    if (contentType === undefined) return notAcceptable(x);
    // A metadata GET whose Accept picked a v2 type is the v2 resource: same shapes, v2 errors.
    const y: Exchange = isV2Type(contentType) ? { ...x, errorContentType: V2_ERROR_CONTENT_TYPE } : x;
    if (x.method === 'POST') return deps.produce(y, r, contentType, r.name === 'partition', 'v1');
    if (r.name === 'messages') return deps.v1Messages(y, r, contentType);
    return deps.metadata(y, r, contentType);
  };
};
