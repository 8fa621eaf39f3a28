import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AppError, ERROR_CODES } from '../../core/errors.js';
import type { ProduceRecord } from '../../kafka-rest/types.js';
import { decodeBase64Strict } from '../base64.js';
import { describeFound, headerValue, readJsonPointer } from '../fields.js';
import type { KeySource, WebhookRoute } from './config.js';

/** A request matched to its route, with the exact body bytes, not yet verified. */
export interface WebhookRequest {
  readonly route: WebhookRoute;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

const HOOK_PATH = /^(?:\/[^/]+)*?\/hooks\/([^/]+)\/?$/;

/**
 * Matches an API Gateway HTTP API (payload v2) or Function URL event to its route and reads its body.
 * Cheap checks only, so that nothing is parsed before the caller is verified. Throws `AppError`:
 * `ERR_ROUTE_NOT_FOUND`, `ERR_METHOD_NOT_ALLOWED`, `ERR_PAYLOAD_TOO_LARGE`, and `ERR_PAYLOAD_INVALID` for
 * an `isBase64Encoded` body that is not canonical base64.
 */
export const parseWebhookRequest = (
  event: APIGatewayProxyEventV2,
  routes: ReadonlyMap<string, WebhookRoute>,
): WebhookRequest => {
  const route = routes.get(routeName(event) ?? '');
  if (route === undefined) throw new AppError(ERROR_CODES.ROUTE_NOT_FOUND, 'no webhook route at this path');
  if (event.requestContext.http.method !== 'POST') {
    throw new AppError(ERROR_CODES.METHOD_NOT_ALLOWED, 'webhook routes accept POST only');
  }
  const body = bodyBytes(event);
  if (body.byteLength > route.maxBodyBytes) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_TOO_LARGE,
      `request body is ${body.byteLength} bytes; this route accepts at most ${route.maxBodyBytes}`,
    );
  }
  return { route, body, headers: event.headers ?? {} };
};

/**
 * The record a verified request becomes: the exact body bytes as value, the key from the route's source.
 * A key from a JSON pointer is a string's UTF-8 bytes, `true`/`false`, or a number's exact source text
 * (`9007199254740993`, `1.50`, `1e3` as written, never rounded). Throws `ERR_PAYLOAD_INVALID` when the key
 * cannot be found (header missing, body not JSON, pointer empty).
 */
export const toRecord = ({ route, body, headers }: WebhookRequest): ProduceRecord => {
  const key = recordKey(route.key, headers, body);
  return route.partition === undefined
    ? { key, value: body }
    : { key, value: body, partition: route.partition };
};

const routeName = (event: APIGatewayProxyEventV2): string | undefined => {
  // API Gateway fills pathParameters from `/hooks/{route}`; a Function URL has only the raw path.
  const fromRoute = event.pathParameters?.route;
  if (fromRoute !== undefined) return fromRoute;
  const match = HOOK_PATH.exec(event.rawPath);
  if (match?.[1] === undefined) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
};

const bodyBytes = (event: APIGatewayProxyEventV2): Buffer => {
  // No body: API Gateway omits it, serverless-offline (and a Function URL) may send null.
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  if (!event.isBase64Encoded) return Buffer.from(event.body, 'utf8');
  // The value is the exact bytes the caller sent: API Gateway base64-encodes bodies it does not treat as
  // text. A lenient decode would store other bytes than those (`!!!!` → nothing) and answer 202.
  const bytes = decodeBase64Strict(event.body);
  if (bytes === undefined) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      'request body is marked isBase64Encoded but is not valid base64 (RFC 4648, padded, no whitespace)',
    );
  }
  return bytes;
};

const recordKey = (source: KeySource, headers: WebhookRequest['headers'], body: Buffer): Buffer | null => {
  switch (source.from) {
    case 'none':
      return null;
    case 'header': {
      const header = headerValue(headers, source.header);
      if (header === undefined || header === '') {
        throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `the key header ${source.header} is missing`);
      }
      return Buffer.from(header, 'utf8');
    }
    case 'json-pointer':
      return Buffer.from(pointerKey(body, source.pointer), 'utf8');
  }
};

const pointerKey = (body: Buffer, pointer: string): string => {
  const found = readJsonPointer(body, pointer, 'key');
  if (found.type === 'string' && found.value !== '') return found.value;
  if (found.type === 'number') return found.text;
  if (found.type === 'boolean') return String(found.value);
  throw new AppError(
    ERROR_CODES.PAYLOAD_INVALID,
    `the key at JSON pointer ${pointer} must be a non-empty string, number or boolean; found ${describeFound(found)}`,
  );
};
