import { checkInt, isPlainObject, unknownKeys } from '../../../core/checks.js';
import { isHeaderName } from '../../../core/names.js';
import { standardWebhooksKey } from '../../../formats/hmac.js';
import type { SecretSource } from '../../../secrets/types.js';
import { isOneOf } from '../route-settings.js';

/** The verification schemes a webhook route can name under `"verify"`. */
export const VERIFICATION_SCHEMES = {
  NONE: 'none',
  STANDARD_WEBHOOKS: 'standard-webhooks',
  GITHUB: 'github',
  STRIPE: 'stripe',
  TOKEN: 'token',
} as const;

export type VerificationScheme = (typeof VERIFICATION_SCHEMES)[keyof typeof VERIFICATION_SCHEMES];

/** Standard Webhooks and Stripe both recommend five minutes between signing and checking. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** A day: anything longer is no longer replay protection. */
export const MAX_TOLERANCE_SECONDS = 86_400;

/**
 * How a route proves its caller. `secret` says where the signing secret (or token) comes from: a Secrets
 * Manager id, or a literal for local runs. `header` (token scheme) is lower-cased.
 */
export type Verification =
  | { readonly scheme: 'none' }
  | { readonly scheme: 'standard-webhooks'; readonly secret: SecretSource; readonly toleranceSeconds: number }
  | { readonly scheme: 'github'; readonly secret: SecretSource }
  | { readonly scheme: 'stripe'; readonly secret: SecretSource; readonly toleranceSeconds: number }
  | { readonly scheme: 'token'; readonly header: string; readonly secret: SecretSource };

const SHAPES: Readonly<Record<VerificationScheme, string>> = {
  none: '{"scheme":"none"}',
  'standard-webhooks':
    '{"scheme":"standard-webhooks","secretId":"<Secrets Manager id>","toleranceSeconds"?:300}',
  github: '{"scheme":"github","secretId":"<Secrets Manager id>"}',
  stripe: '{"scheme":"stripe","secretId":"<Secrets Manager id>","toleranceSeconds"?:300}',
  token: '{"scheme":"token","header":"<header name>","secretId":"<Secrets Manager id>"}',
};

const KEYS: Readonly<Record<VerificationScheme, readonly string[]>> = {
  none: ['scheme'],
  'standard-webhooks': ['scheme', 'secretId', 'secret', 'toleranceSeconds'],
  github: ['scheme', 'secretId', 'secret'],
  stripe: ['scheme', 'secretId', 'secret', 'toleranceSeconds'],
  token: ['scheme', 'header', 'secretId', 'secret'],
};

const SCHEMES = Object.values(VERIFICATION_SCHEMES);
/** Secrets Manager accepts a name or an ARN of at most 2048 characters. */
const MAX_SECRET_ID_LENGTH = 2048;

/**
 * Checks the `"verify"` object of the route at `at` (e.g. `WEBHOOK_ROUTES.github`). Pushes one line per
 * problem onto `problems`, each naming the path and the expected shape, and returns undefined when there
 * was any. Never throws, and never echoes a secret (a literal `secret` is only ever described).
 */
export const parseVerification = (
  value: unknown,
  at: string,
  problems: string[],
): Verification | undefined => {
  const path = `${at}.verify`;
  if (value === undefined) {
    // Opting out must be a visible decision in the route's config, never the result of forgetting.
    problems.push(`${path} is required: name a scheme, or {"scheme":"none"} to accept unsigned requests`);
    return undefined;
  }
  if (!isPlainObject(value) || !isOneOf(SCHEMES, value.scheme)) {
    problems.push(
      `${path} must be an object whose "scheme" is one of ${SCHEMES.join(' | ')}, e.g. ${SHAPES['standard-webhooks']} or ${SHAPES.none}`,
    );
    return undefined;
  }
  const scheme = value.scheme;
  const shape = SHAPES[scheme];
  const problemsBefore = problems.length;
  for (const key of unknownKeys(value, KEYS[scheme])) {
    problems.push(`${path}.${key} is not a setting of scheme ${scheme}: expected ${shape}`);
  }
  if (scheme === 'none') return problems.length === problemsBefore ? { scheme } : undefined;

  const secret = parseSecretSource(value, path, shape, problems);
  if (scheme === 'standard-webhooks' && secret !== undefined && 'value' in secret) {
    if (standardWebhooksKey(secret.value) === undefined) {
      problems.push(`${path}.secret must be whsec_<base64> (the Standard Webhooks signing secret)`);
    }
  }
  const toleranceSeconds = value.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (scheme === 'standard-webhooks' || scheme === 'stripe') {
    const problem = checkInt(toleranceSeconds, { min: 1, max: MAX_TOLERANCE_SECONDS });
    if (problem) problems.push(`${path}.toleranceSeconds must be ${problem} (seconds)`);
  }
  const header = value.header;
  if (scheme === 'token' && !isHeaderName(header)) {
    problems.push(`${path}.header must be an HTTP header name: expected ${shape}`);
  }
  if (problems.length !== problemsBefore || secret === undefined) return undefined;

  switch (scheme) {
    case 'github':
      return { scheme, secret };
    case 'standard-webhooks':
    case 'stripe':
      return { scheme, secret, toleranceSeconds: toleranceSeconds as number };
    case 'token':
      return { scheme, header: (header as string).toLowerCase(), secret };
  }
};

const parseSecretSource = (
  spec: Record<string, unknown>,
  path: string,
  shape: string,
  problems: string[],
): SecretSource | undefined => {
  const { secretId, secret } = spec;
  if (secretId !== undefined && secret !== undefined) {
    problems.push(`${path}: set exactly one of secretId and secret (a literal, for local runs only)`);
    return undefined;
  }
  if (secretId !== undefined) {
    if (typeof secretId === 'string' && secretId !== '' && secretId.length <= MAX_SECRET_ID_LENGTH) {
      return { secretId };
    }
    problems.push(`${path}.secretId must be a Secrets Manager secret name or ARN (1-2048 characters)`);
    return undefined;
  }
  if (secret !== undefined) {
    // Only the type is described: the value may be the real secret.
    if (typeof secret === 'string' && secret !== '') return { value: secret };
    problems.push(`${path}.secret must be a non-empty string`);
    return undefined;
  }
  problems.push(
    `${path}.secretId is required: expected ${shape} (or "secret":"<literal>" instead of secretId, for local runs)`,
  );
  return undefined;
};
