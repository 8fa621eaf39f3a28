import { userInfo } from 'node:os';

/**
 * Who runs the command, for the audit trail: the OS user, and the AWS profile or access key id in use (an
 * identifier, not a secret: its last four characters, as the IAM console shows them). No STS call: the
 * command must work where the caller may not call it.
 */
export const operatorName = (): string => {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // A user without a passwd entry (some containers): the AWS part still names the caller.
  }
  const profile = process.env.AWS_PROFILE;
  const keyId = process.env.AWS_ACCESS_KEY_ID;
  return [
    `os:${user}`,
    ...(profile === undefined ? [] : [`aws-profile:${profile}`]),
    ...(keyId === undefined ? [] : [`aws-key:…${keyId.slice(-4)}`]),
  ].join(' ');
};
