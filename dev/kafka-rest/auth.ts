import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { DevKafkaRestError } from './errors.js';
import { base64DecodedLength } from './produce-request.js';

/**
 * The credentials the server asks for, as the gateway in front of a proxy would: IBM Message Hub's
 * `X-Auth-Token` (protocol doc §5) and HTTP Basic (Confluent Cloud key:secret §7, Redpanda SCRAM
 * user:password §6). Each one configured is accepted on its own, so a server with both stands in for
 * either gateway; with neither, every request passes. Secrets are compared in constant time (only their
 * length can leak) and never echoed.
 */
export interface CredentialGate {
  isAuthorized(headers: IncomingHttpHeaders): boolean;
  /** The 401 message: what would have been accepted, never the secrets. */
  refusal(): string;
  setApiKey(key: string | undefined): void;
  /** Throws `ERR_INVALID_ARG` for a credential without a colon. */
  setBasicAuth(userPassword: string | undefined): void;
}

/** RFC 7617: the user id ends at the first colon, so a credential without one has no user. */
export const isBasicCredential = (value: unknown): value is string =>
  typeof value === 'string' && value.includes(':');

/**
 * What a request must carry, e.g. `X-Auth-Token header or HTTP Basic Authorization header`; undefined when
 * the server is open.
 */
export const requiredCredentials = (configured: {
  readonly apiKey?: unknown;
  readonly basicAuth?: unknown;
}): string | undefined => {
  const names: string[] = [];
  if (configured.apiKey !== undefined) names.push('X-Auth-Token header');
  if (configured.basicAuth !== undefined) names.push('HTTP Basic Authorization header');
  return names.length === 0 ? undefined : names.join(' or ');
};

const sameSecret = (given: Buffer, expected: Buffer): boolean =>
  given.length === expected.length && timingSafeEqual(given, expected);

/** The decoded `user:password` of `Basic <base64>` (any case of scheme, RFC 7617); undefined if malformed. */
const basicCredentialOf = (header: string | undefined): Buffer | undefined => {
  const match = header === undefined ? null : /^basic +(\S+)$/i.exec(header);
  const encoded = match?.[1];
  if (encoded === undefined || base64DecodedLength(encoded) < 0) return undefined;
  return Buffer.from(encoded, 'base64');
};

export const createCredentialGate = (options: {
  readonly apiKey: string | undefined;
  readonly basicAuth: string | undefined;
}): CredentialGate => {
  const toSecret = (value: string | undefined): Buffer | undefined =>
    value === undefined ? undefined : Buffer.from(value, 'utf8');
  let apiKey = toSecret(options.apiKey);
  let basicAuth = toSecret(options.basicAuth);

  return {
    isAuthorized: (headers) => {
      if (apiKey === undefined && basicAuth === undefined) return true;
      const token = headers['x-auth-token'];
      if (apiKey !== undefined && typeof token === 'string' && sameSecret(Buffer.from(token), apiKey)) {
        return true;
      }
      if (basicAuth === undefined) return false;
      const given = basicCredentialOf(headers.authorization);
      return given !== undefined && sameSecret(given, basicAuth);
    },
    refusal: () => `Unauthorized: a valid ${requiredCredentials({ apiKey, basicAuth })} is required`,
    setApiKey: (key) => {
      apiKey = toSecret(key);
    },
    setBasicAuth: (userPassword) => {
      if (userPassword !== undefined && !isBasicCredential(userPassword)) {
        throw new DevKafkaRestError(
          'ERR_INVALID_ARG',
          'the basic-auth credential must look like user:password',
        );
      }
      basicAuth = toSecret(userPassword);
    },
  };
};
