import { userInfo } from 'node:os';
import type { Checkpoint } from '../lib/drain/checkpoint.js';
import type { AuditState } from '../lib/drain/checkpoint-item.js';

/** What the operator commands share: who runs them, and their audit and argument helpers. */

/**
 * Who runs an operator command, for the audit trail: the OS user, and the AWS profile or access key id in
 * use (an identifier, not a secret: its last four characters, as the IAM console shows them). No STS call:
 * the command must work where the caller may not call it.
 */
export const operatorName = (env: NodeJS.ProcessEnv = process.env): string => {
  const profile = env.AWS_PROFILE;
  const keyId = env.AWS_ACCESS_KEY_ID;
  return [
    `os:${osUser()}`,
    ...(profile === undefined ? [] : [`aws-profile:${profile}`]),
    ...(keyId === undefined ? [] : [`aws-key:…${keyId.slice(-4)}`]),
  ].join(' ');
};

/** The OS user running the command, for the audit trail; `unknown` for a user without a passwd entry. */
export const osUser = (): string => {
  try {
    return userInfo().username;
  } catch {
    // Some containers run as a uid with no passwd entry: the rest of the operator's name still says who.
    return 'unknown';
  }
};

/** A partition's state as an audit entry records it; undefined: no checkpoint row. */
export const toAuditState = (checkpoint: Checkpoint | undefined): AuditState | undefined =>
  checkpoint === undefined ? undefined : { nextOffset: checkpoint.nextOffset, paused: checkpoint.paused };

/** A partition or offset argument: digits only, a safe integer; undefined otherwise (or when absent). */
export const toNonNegativeInt = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
