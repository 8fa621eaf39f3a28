import {
  type AwsJsonClient,
  createAwsJsonClient,
  type SdkClientLike,
  SECRETS_MANAGER,
  toAwsJsonClient,
} from '../aws/json-client.js';
import type { AwsCredentials } from '../aws/sigv4.js';
import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';
import type { SecretFetcher } from './types.js';

/** A Secrets Manager client (`createSecretsManagerClient`), or an AWS SDK client whose settings it uses. */
export type SecretsManagerClientSource = AwsJsonClient | SdkClientLike;

/** How long one `GetSecretValue` (the client's retries included) may take. */
const GET_SECRET_TIMEOUT_MS = 5_000;

/**
 * `GetSecretValue`, one signed call (with the client's retries), bounded as a whole (headers, body,
 * retries) by `timeoutMs` (default 5 000). Throws `ERR_SECRET`.
 */
export const createSecretsManagerFetcher = (
  client: SecretsManagerClientSource,
  options: { readonly timeoutMs?: number } = {},
): SecretFetcher => {
  const secretsManager = toAwsJsonClient(SECRETS_MANAGER, client);
  return async (secretId) => {
    try {
      const output = await secretsManager.call<unknown>(
        'GetSecretValue',
        { SecretId: secretId },
        { abortSignal: AbortSignal.timeout(options.timeoutMs ?? GET_SECRET_TIMEOUT_MS) },
      );
      const value = secretValueOf(output);
      if (value === undefined) {
        throw new AppError(
          ERROR_CODES.SECRET,
          `could not read secret ${secretId}: the answer is not GetSecretValue JSON`,
        );
      }
      if (value === null) throw noValue(secretId);
      return value;
    } catch (error) {
      if (isAppError(error)) throw error;
      // AWS's own message names the failure (not found, access denied, throttled); it never carries the value.
      const name = (error as Error | undefined)?.name ?? 'Error';
      const detail = (error as Error | undefined)?.message ?? String(error);
      throw new AppError(ERROR_CODES.SECRET, `could not read secret ${secretId}: ${name}: ${detail}`, {
        cause: error,
      });
    }
  };
};

export const noValue = (secretId: string): AppError =>
  new AppError(ERROR_CODES.SECRET, `secret ${secretId} has neither a string nor a binary value`, {
    retriable: false,
  });

export interface SecretsManagerClientOptions {
  /** A local stand-in's URL; unset in AWS. */
  readonly endpoint?: URL | string | undefined;
  /** Unset in Lambda: `AWS_REGION`. */
  readonly region?: string | undefined;
  /** Fixed credentials (tests against a local endpoint); unset in AWS, where the role's (environment) are used. */
  readonly credentials?: AwsCredentials | undefined;
}

/** Signed Secrets Manager calls over a pool of their own; nothing connects until the first read. */
export const createSecretsManagerClient = (options: SecretsManagerClientOptions = {}): AwsJsonClient =>
  createAwsJsonClient(SECRETS_MANAGER, options);

/**
 * `GetSecretValue`'s answer (from Secrets Manager or the extension): `SecretString`, else `SecretBinary`
 * (base64 in JSON) as UTF-8; null when neither; undefined when not that JSON.
 */
export const secretValueOf = (parsed: unknown): string | null | undefined => {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { SecretString, SecretBinary } = parsed as { SecretString?: unknown; SecretBinary?: unknown };
  if (typeof SecretString === 'string') return SecretString;
  if (typeof SecretBinary === 'string') return Buffer.from(SecretBinary, 'base64').toString('utf8');
  return null;
};
