import type { KafkaRestDialect } from './flavors.js';
import { REQUEST_SIZE, type RequestSizeModel } from './request-size.js';
import { createV1Wire } from './v1.js';
import { createV2Wire } from './v2.js';
import { createV3Wire } from './v3.js';
import type { WireFormat, WireSettings } from './wire.js';

/**
 * The one place a dialect is chosen (protocol doc §0): each registers its wire format and its request-size
 * model. A new dialect is a module of the same shape and a line here; the reading side is chosen alike in
 * readers.ts, kept apart so that a client that only produces bundles no reader.
 */
export interface DialectModule {
  /** Paths, media types, bodies and parsers, for the flavor in `settings`. */
  createWire(settings: WireSettings): WireFormat;
  /** How big a produce request of this dialect is (also published to the ingest planner). */
  readonly requestSize: RequestSizeModel;
}

export const DIALECTS: Readonly<Record<KafkaRestDialect, DialectModule>> = {
  v1: { createWire: createV1Wire, requestSize: REQUEST_SIZE.v1 },
  v2: { createWire: createV2Wire, requestSize: REQUEST_SIZE.v2 },
  v3: { createWire: createV3Wire, requestSize: REQUEST_SIZE.v3 },
};
