export { signGithub, signStandardWebhook, signStripe } from '../../../formats/webhook-signature.js';
export {
  DEFAULT_TOLERANCE_SECONDS,
  MAX_TOLERANCE_SECONDS,
  parseVerification,
  VERIFICATION_SCHEMES,
  type Verification,
  type VerificationScheme,
} from './config.js';
export {
  type SecretReader,
  VERIFY_FAILURES,
  type VerifiableRequest,
  type VerifyFailure,
  verifyWebhook,
} from './verify.js';
