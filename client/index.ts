/**
 * The typed client of the OTP service for apps (web and React Native): `fetch` only.
 * README "Typed client" shows a login in ten lines.
 */
export { OtpClient, OtpNotSignedInError, type OtpClientOptions, type SendOptions } from './otp-client.js';
export {
  isProblem,
  OtpNetworkError,
  OtpProblemError,
  OtpUnexpectedResponseError,
  PROBLEM_SLUGS,
  RATE_LIMIT_REASONS,
  type FieldError,
  type Problem,
  type ProblemBody,
  type ProblemMembers,
  type ProblemSlug,
  type RateLimitReason,
} from './problems.js';
export { memoryTokenStore, type StoredSession, type TokenStore } from './tokens.js';
export type * from './types.js';
