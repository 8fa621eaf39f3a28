import type { Log } from '../core/log.js';
import { createSecretsCache } from '../secrets/cache.js';
import { createExtensionSecretFetcher } from '../secrets/extension.js';
import { createSecretsManagerFetcher } from '../secrets/secrets-manager.js';
import type { SecretsCache } from '../secrets/types.js';
import { secretsManagerFor } from './aws.js';
import type { CoreConfig } from './settings/core.js';

export interface SecretsFromConfigOptions {
  /**
   * The extension's token. By default `AWS_SESSION_TOKEN` from the environment, read at each fetch: it is
   * the execution role's credential, so it stays out of the frozen config (which may be logged whole).
   */
  readonly sessionToken?: () => string | undefined;
  readonly log?: Log;
  readonly now?: () => number;
}

/**
 * The secrets cache a function's deps factory builds (once per cold start): through the Lambda extension
 * when `config.secrets.source` is `extension` (a direct `GetSecretValue` as the fallback), else directly
 * (`sdk`: the setting's name from when that read went through the AWS SDK). Neither connects until the
 * first read.
 */
export const createSecretsCacheFromConfig = (
  config: CoreConfig,
  options: SecretsFromConfigOptions = {},
): SecretsCache => {
  const { secrets } = config;
  const direct = createSecretsManagerFetcher(
    secretsManagerFor({ region: secrets.region, secretsManager: secrets.endpoint }),
  );
  const timing = { ttlMs: secrets.cacheTtlMs, ...(options.now === undefined ? {} : { now: options.now }) };
  if (secrets.source === 'sdk') return createSecretsCache({ ...timing, fetcher: direct });
  return createSecretsCache({
    ...timing,
    fetcher: createExtensionSecretFetcher({
      port: secrets.extensionPort,
      sessionToken: options.sessionToken ?? (() => process.env.AWS_SESSION_TOKEN),
      fallback: direct,
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  });
};
