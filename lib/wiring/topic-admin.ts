import { createTopicAdmin } from '../admin/topic-admin.js';
import type { TopicAdmin } from '../admin/topic-admin-types.js';
import type { Log } from '../core/log.js';
import type { SecretsCache } from '../secrets/types.js';
import { toAuthProvider } from './kafka-rest.js';
import { createKafkaRestFromConfig } from './kafka-rest-reader.js';
import { createSecretsCacheFromConfig } from './secrets.js';
import type { AdminConfig } from './settings/admin.js';
import type { Config } from './settings/all.js';

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
  const logOption = options.log === undefined ? {} : { log: options.log };
  // One cache for both clients: Message Hub has one API key for the REST and the admin API.
  const secrets = options.secrets ?? createSecretsCacheFromConfig(config, logOption);
  const kafka = createKafkaRestFromConfig(config, { ...logOption, secrets });
  const admin = createTopicAdmin({
    kafka,
    adminUrl: adminConfig.adminUrl,
    allowHttp: adminConfig.allowHttp,
    auth: toAuthProvider(config, { ...logOption, secrets }),
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
