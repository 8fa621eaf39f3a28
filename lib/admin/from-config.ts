import type { Config } from '../config.js';
import { type AuthProvider, apiKeyAuth, basicAuth, bearerAuth, noAuth } from '../kafka-rest/auth.js';
import { createKafkaRestFromConfig } from '../kafka-rest/from-config.js';
import type { Log } from '../log.js';
import {
  createSecretsCache,
  createSecretsManagerClient,
  literalSecret,
  type SecretsCache,
  secretValue,
} from '../secrets.js';
import type { AdminConfig } from './config.js';
import { createTopicAdmin, type TopicAdmin } from './topic-admin.js';

export interface TopicAdminFromConfigOptions {
  readonly log?: Log;
  /** A cache to share (or a test's); by default one over a Secrets Manager client made on first use. */
  readonly secrets?: SecretsCache;
}

/**
 * The topic admin the `topics` command uses: a Kafka REST client built exactly as the functions build
 * theirs, and the admin API with the same credential (Message Hub has one API key for both), read once
 * through one shared secrets cache. `close()` closes both.
 */
export const createTopicAdminFromConfig = (
  config: Config,
  adminConfig: AdminConfig,
  options: TopicAdminFromConfigOptions = {},
): TopicAdmin => {
  const auth = config.kafka.auth;
  const secrets =
    options.secrets ??
    (auth.scheme !== 'none' && 'secretId' in auth.secret
      ? createSecretsCache({
          client: createSecretsManagerClient({
            endpoint: config.secrets.endpoint,
            region: config.secrets.region,
          }),
          ttlMs: config.secrets.cacheTtlMs,
        })
      : undefined);
  const logOption = options.log === undefined ? {} : { log: options.log };
  const kafka = createKafkaRestFromConfig(config, {
    ...logOption,
    ...(secrets === undefined ? {} : { secrets }),
  });
  const admin = createTopicAdmin({
    kafka,
    adminUrl: adminConfig.adminUrl,
    allowHttp: adminConfig.allowHttp,
    auth: toAuthProvider(config, secrets),
    connectTimeoutMs: config.kafka.connectTimeoutMs,
    requestTimeoutMs: config.kafka.requestTimeoutMs,
    ...logOption,
  });
  return {
    ...admin,
    close: async () => {
      await Promise.all([admin.close(), kafka.close()]);
    },
  };
};

// The same choice `lib/kafka-rest/from-config.ts` makes for the REST client (kept private there).
const toAuthProvider = (config: Config, secrets: SecretsCache | undefined): AuthProvider => {
  const auth = config.kafka.auth;
  if (auth.scheme === 'none') return noAuth();
  const secret =
    'value' in auth.secret ? literalSecret(auth.secret.value) : secretValue(secrets, auth.secret);
  switch (auth.scheme) {
    case 'api-key':
      return apiKeyAuth(secret);
    case 'basic':
      return basicAuth(secret);
    case 'bearer':
      return bearerAuth(secret);
  }
};
