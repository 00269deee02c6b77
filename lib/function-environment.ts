import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { SigningAlgorithm } from '../functions/core/signing-keys.js';
import type { CorsOrigins } from '../functions/http/cors.js';
import { METRICS_SERVICE } from '../functions/metrics.js';
import type { BreakerMode } from '../functions/settings-rules.js';

/** SMS per hour, all clients together; 0 turns a cap off (functions/config.ts). */
export interface SmsHourlyLimits {
  /** Per destination country (OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR). @default 500 */
  readonly perCountry?: number;
  /** Per number block, all digits but the last three (OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR). @default 10 */
  readonly perPrefix?: number;
  /** For the whole deployment (OTP_SMS_LIMIT_PER_HOUR). @default 2000 */
  readonly total?: number;
}

/** The per-country conversion breaker (functions/config.ts, OTP_BREAKER_*). */
export interface BreakerSettings {
  /** `enforce` pauses, `monitor` only logs and counts a trip, `off` does neither. @default 'enforce' */
  readonly mode?: BreakerMode;
  /** SMS to a country within the window before its conversion is judged. @default 50 */
  readonly minSends?: number;
  /** Verified / sent below this pauses the country. @default 0.2 */
  readonly minConversion?: number;
  /** The window sends and verifications are counted over, in seconds. @default 3600 */
  readonly windowSeconds?: number;
  /** How long a tripped country stays paused, in seconds. @default 900 */
  readonly pauseSeconds?: number;
}

export interface FunctionEnvironmentProps {
  stage: string;
  devMode: boolean;
  state: TableV2;
  customers: TableV2;
  clients: TableV2;
  /** Calls without X-API-Key are refused (functions/config.ts, OTP_REQUIRE_API_KEY). */
  requireApiKey: boolean;
  /** Expiring items are listed for the cleanup to delete before TTL (OTP_EXPIRY_SWEEP). */
  expirySweep: boolean;
  pepper: ISecret;
  /** The signing keys of access tokens (lib/otp-secrets.ts signingKeysSecret). */
  signingKeys: ISecret;
  /** The algorithm of new signing keys (functions/config.ts, OTP_ACCESS_TOKEN_ALGORITHM). */
  accessTokenAlgorithm: SigningAlgorithm;
  smsCountries?: readonly string[];
  smsSenderId?: string;
  smsOriginationNumber?: string;
  /** Written only where set, so that an unset one keeps functions/config.ts's default. */
  smsHourlyLimits?: SmsHourlyLimits;
  breaker?: BreakerSettings;
  emailFrom?: string;
  /** The SES configuration set code e-mails go through (OTP_SES_CONFIGURATION_SET). */
  sesConfigurationSet?: string;
  /** The web origins that may read the answers (functions/http/cors.ts); none where unset. */
  corsOrigins?: CorsOrigins;
}

/**
 * The variables every function starts with, as functions/config.ts reads them: the same for every
 * function, so each validates the same configuration at start.
 */
export function functionEnvironment(props: FunctionEnvironmentProps): Record<string, string> {
  const channels = [...(props.smsCountries ? ['sms'] : []), ...(props.emailFrom ? ['email'] : [])];
  return {
    OTP_STAGE: props.stage,
    OTP_STATE_TABLE: props.state.tableName,
    OTP_CUSTOMERS_TABLE: props.customers.tableName,
    OTP_CLIENTS_TABLE: props.clients.tableName,
    // Always written, so that a deployed function never depends on config.ts's default.
    OTP_REQUIRE_API_KEY: String(props.requireApiKey),
    // Always written too: the table has the `due` index exactly when the functions fill it.
    OTP_EXPIRY_SWEEP: String(props.expirySweep),
    OTP_DEV_MODE: String(props.devMode),
    OTP_DELIVERY: 'aws',
    OTP_PEPPER_SECRET_ARN: props.pepper.secretArn,
    OTP_SIGNING_KEYS_SECRET_ARN: props.signingKeys.secretArn,
    // Always written, like OTP_REQUIRE_API_KEY: every function reads the same value.
    OTP_ACCESS_TOKEN_ALGORITHM: props.accessTokenAlgorithm,
    // `none` rather than an empty value, which functions/config.ts reads as every channel.
    OTP_ALLOWED_CHANNELS: channels.length > 0 ? channels.join(',') : 'none',
    ...(props.smsCountries ? { OTP_SMS_ALLOWED_COUNTRIES: props.smsCountries.join(',') } : {}),
    ...(props.emailFrom ? { OTP_EMAIL_FROM: props.emailFrom } : {}),
    ...(props.sesConfigurationSet ? { OTP_SES_CONFIGURATION_SET: props.sesConfigurationSet } : {}),
    ...(props.smsSenderId ? { OTP_SMS_SENDER_ID: props.smsSenderId } : {}),
    ...(props.smsOriginationNumber ? { OTP_SMS_ORIGINATION_NUMBER: props.smsOriginationNumber } : {}),
    ...(props.corsOrigins ? { OTP_CORS_ORIGINS: props.corsOrigins === '*' ? '*' : props.corsOrigins.join(',') } : {}),
    ...whereSet({
      OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: props.smsHourlyLimits?.perCountry,
      OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: props.smsHourlyLimits?.perPrefix,
      OTP_SMS_LIMIT_PER_HOUR: props.smsHourlyLimits?.total,
      OTP_BREAKER_MODE: props.breaker?.mode,
      OTP_BREAKER_MIN_SENDS: props.breaker?.minSends,
      OTP_BREAKER_MIN_CONVERSION: props.breaker?.minConversion,
      OTP_BREAKER_WINDOW_SECONDS: props.breaker?.windowSeconds,
      OTP_BREAKER_PAUSE_SECONDS: props.breaker?.pauseSeconds,
    }),
    POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The variables whose value is set, as strings (0 is a value: it turns a cap off). */
function whereSet(variables: Record<string, string | number | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]])),
  );
}
