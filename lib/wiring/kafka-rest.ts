import type { Log } from '../core/log.js';
import { type AuthProvider, apiKeyAuth, basicAuth, bearerAuth, noAuth } from '../kafka-rest/auth.js';
import type { KafkaRestOptions } from '../kafka-rest/options.js';
import { createKafkaRestProducer } from '../kafka-rest/producer.js';
import type { KafkaRestClient } from '../kafka-rest/types.js';
import { literalSecret, secretValue } from '../secrets/cache.js';
import type { SecretsCache, SecretValue } from '../secrets/types.js';
import { createSecretsCacheFromConfig } from './secrets.js';
import type { CoreConfig } from './settings/core.js';

export interface KafkaRestFromConfigOptions {
  readonly log?: Log;
  /**
   * A cache to share (or a test's); by default `createSecretsCacheFromConfig` builds one (the Lambda
   * extension or the SDK, per `config.secrets.source`), which loads nothing until the first read.
   */
  readonly secrets?: SecretsCache;
}

/**
 * The client options every handler builds its client from (once per cold start): base URL, dialect and
 * flavor, auth, timeouts, retries and limits all from `config.kafka`. The Secrets Manager SDK is loaded only
 * when the credential is a secret id, and only at the first request (not here), so `auth=none` and a
 * literal key never load it.
 */
export const kafkaRestOptionsFromConfig = (
  config: CoreConfig,
  options: KafkaRestFromConfigOptions = {},
): KafkaRestOptions => {
  const kafka = config.kafka;
  return {
    baseUrl: kafka.url,
    allowHttp: kafka.allowHttp,
    auth: toAuthProvider(config, options),
    dialect: kafka.dialect,
    flavor: kafka.flavor,
    ...(kafka.clusterId === undefined ? {} : { clusterId: kafka.clusterId }),
    v3PathPrefix: kafka.v3PathPrefix,
    connections: kafka.connections,
    connectTimeoutMs: kafka.connectTimeoutMs,
    requestTimeoutMs: kafka.requestTimeoutMs,
    maxAttempts: kafka.maxAttempts,
    backoffBaseMs: kafka.backoffBaseMs,
    backoffMaxMs: kafka.backoffMaxMs,
    maxRecordBytes: kafka.maxRecordBytes,
    maxRequestBytes: kafka.maxRequestBytes,
    maxRequestRecords: kafka.maxRequestRecords,
    consumerGroup: kafka.consumerGroup,
    fetchMaxBytes: kafka.fetchMaxBytes,
    fetchWaitMs: kafka.fetchWaitMs,
    ...(kafka.fetchBudgetBytes === undefined ? {} : { fetchBudgetBytes: kafka.fetchBudgetBytes }),
    ...(options.log === undefined ? {} : { log: options.log }),
  };
};

/** The auth provider `config.kafka.auth` asks for; its secret is read through `options.secrets` (or a new cache). */
export const toAuthProvider = (config: CoreConfig, options: KafkaRestFromConfigOptions): AuthProvider => {
  const auth = config.kafka.auth;
  if (auth.scheme === 'none') return noAuth();
  const secret: SecretValue =
    'value' in auth.secret
      ? literalSecret(auth.secret.value)
      : secretValue(
          options.secrets ??
            createSecretsCacheFromConfig(config, options.log === undefined ? {} : { log: options.log }),
          auth.secret,
        );
  switch (auth.scheme) {
    case 'api-key':
      return apiKeyAuth(secret);
    case 'basic':
      return basicAuth(secret);
    case 'bearer':
      return bearerAuth(secret);
  }
};

/** `createKafkaRestProducer` with every option from the settings (`kafkaRestOptionsFromConfig`). */
export const createKafkaRestProducerFromConfig = (
  config: CoreConfig,
  options: KafkaRestFromConfigOptions = {},
): KafkaRestClient => createKafkaRestProducer(kafkaRestOptionsFromConfig(config, options));
