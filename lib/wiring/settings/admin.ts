import { ConfigError } from '../../core/errors.js';
import { createEnvReader, type Env, type EnvReader } from './env.js';

/** Settings of topic administration beyond the functions' own (`loadConfig`). */
export interface AdminConfig {
  /** Message Hub's `kafka_admin_url`; undefined: list and describe only. */
  readonly adminUrl: URL | undefined;
  /** The functions' `KAFKA_REST_ALLOW_HTTP`: one switch for local development covers both APIs. */
  readonly allowHttp: boolean;
}

/** Reads `KAFKA_ADMIN_URL`; problems are collected in `read.problems`, none thrown. */
export const parseAdminConfig = (read: EnvReader): AdminConfig => {
  const adminUrl = read.url('KAFKA_ADMIN_URL');
  const allowHttp = read.bool('KAFKA_REST_ALLOW_HTTP', false);
  if (
    adminUrl !== undefined &&
    adminUrl.protocol !== 'https:' &&
    !(adminUrl.protocol === 'http:' && allowHttp)
  ) {
    read.problems.push(
      `KAFKA_ADMIN_URL must use https (got ${adminUrl.protocol}); set KAFKA_REST_ALLOW_HTTP=true for local development only`,
    );
  }
  return Object.freeze({ adminUrl, allowHttp });
};

/** Pure, like `loadConfig`. Throws `ConfigError` (`ERR_CONFIG`) listing every problem. */
export const loadAdminConfig = (env: Env): AdminConfig => {
  const read = createEnvReader(env);
  const config = parseAdminConfig(read);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
};
