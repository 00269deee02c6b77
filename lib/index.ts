/**
 * `otp-service/cdk`: the constructs a CDK app of its own puts the service in with (README, "Use as a
 * construct in your own CDK app"). Compiled to dist/ by `npm run build:cdk` (tsconfig.cdk.json); the
 * functions are bundled from their TypeScript sources in functions/handlers/ when the app synthesises.
 */
export type { SigningAlgorithm } from '../functions/core/signing-keys.js';
export type { BreakerMode } from '../functions/settings-rules.js';
export type { BreakerSettings, SmsHourlyLimits } from './function-environment.js';
export type { SmsDeliveryStatusLogs } from './otp-sms-account.js';
export type { TableMaxThroughput } from './otp-tables.js';
export { acknowledgeAuthorizerNagFindings, acknowledgeNagFindings } from './nag-acknowledgements.js';
export { OtpAuthorizer, type OtpAuthorizerProps, type OtpIdentityHeader } from './otp-authorizer.js';
export { OtpService, type OtpEmailProps, type OtpServiceProps, type OtpSmsProps } from './otp-service.js';
