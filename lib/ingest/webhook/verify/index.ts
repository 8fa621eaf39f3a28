export {
  DEFAULT_TOLERANCE_SECONDS,
  MAX_TOLERANCE_SECONDS,
  parseVerification,
  VERIFICATION_SCHEMES,
  type Verification,
  type VerificationScheme,
} from './config.js';
export { signGithub, signStandardWebhook, signStripe } from './sign.js';
export {
  type SecretReader,
  VERIFY_FAILURES,
  type VerifiableRequest,
  type VerifyFailure,
  verifyWebhook,
} from './verify.js';
