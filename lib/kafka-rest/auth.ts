import { AppError, ERROR_CODES } from '../core/errors.js';
import type { SecretReadOptions, SecretValue } from '../secrets/types.js';

export type { SecretValue } from '../secrets/types.js';

/**
 * Supplies the credential headers of every request to the proxy. `refresh()` is called once after a
 * 401/403 (the secret may have been rotated) before the request is tried again. Header values are secrets:
 * they never go into a log line, an error message or a snapshot.
 */
export interface AuthProvider {
  /** Throws `ERR_SECRET` when the credential cannot be read, `ERR_DEADLINE` past `options.deadlineMs`. */
  headers(options?: SecretReadOptions): Promise<Readonly<Record<string, string>>>;
  /** Throws `ERR_SECRET` when the credential cannot be read again, `ERR_DEADLINE` past the deadline. */
  refresh(options?: SecretReadOptions): Promise<void>;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** IBM Message Hub: `X-Auth-Token: <api key>` on every request (protocol doc §5). */
export const apiKeyAuth = (secret: SecretValue): AuthProvider =>
  headerAuth(secret, 'x-auth-token', (key) => key);

/** HTTP Basic; the secret holds `user:password` (Redpanda SCRAM users, Confluent Cloud key:secret). */
export const basicAuth = (secret: SecretValue): AuthProvider =>
  headerAuth(secret, 'authorization', (userPassword) => {
    if (!userPassword.includes(':')) {
      throw new AppError(ERROR_CODES.SECRET, 'the basic-auth credential must have the form user:password', {
        retriable: false,
      });
    }
    return `Basic ${Buffer.from(userPassword, 'utf8').toString('base64')}`;
  });

/** `Authorization: Bearer <token>` (OIDC-fronted proxies). */
export const bearerAuth = (secret: SecretValue): AuthProvider =>
  headerAuth(secret, 'authorization', (token) => `Bearer ${token}`);

/** No credential (local servers, proxies behind a private network). */
export const noAuth = (): AuthProvider => ({
  headers: async () => NO_HEADERS,
  refresh: async () => {},
});

const headerAuth = (secret: SecretValue, name: string, toHeader: (value: string) => string): AuthProvider => {
  // The headers object is rebuilt only when the secret changes (rotation), not on every request.
  let lastValue: string | undefined;
  let lastHeaders: Readonly<Record<string, string>> = NO_HEADERS;
  const toHeaders = (raw: string): Readonly<Record<string, string>> => {
    if (raw === lastValue) return lastHeaders;
    // Secrets pasted into Secrets Manager often end with a newline, which is illegal in a header value.
    const value = raw.trim();
    if (value === '') {
      throw new AppError(ERROR_CODES.SECRET, 'the Kafka REST credential is empty', { retriable: false });
    }
    if (/[\r\n\0]/.test(value)) {
      throw new AppError(ERROR_CODES.SECRET, 'the Kafka REST credential contains a line break or NUL', {
        retriable: false,
      });
    }
    lastHeaders = Object.freeze({ [name]: toHeader(value) });
    lastValue = raw;
    return lastHeaders;
  };
  return {
    headers: async (options) => toHeaders(await secret.get(options)),
    refresh: async (options) => {
      toHeaders(await secret.refresh(options));
    },
  };
};
