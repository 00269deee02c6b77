import type * as z from 'zod/mini';
import type { SigningAlgorithm } from '../functions/core/signing-keys.js';
import { type CorsOrigins, parseCorsOrigins } from '../functions/http/cors.js';
import type { BreakerSettings, SmsHourlyLimits } from './function-environment.js';
import type { SmsDeliveryStatusLogs } from './otp-sms-account.js';
import {
  ACCESS_TOKEN_ALGORITHM,
  BREAKER_MIN_CONVERSION,
  BREAKER_MIN_SENDS,
  BREAKER_MODE,
  BREAKER_SECONDS,
  type BreakerMode,
  brokenRule,
  COUNTRY_CODE,
  E164_NUMBER,
  EMAIL_SENDER,
  ISSUER_URL,
  isProductionStage,
  SES_IDENTITY,
  SMS_HOURLY_LIMIT,
  SMS_SENDER_ID,
  senderAddress,
  senderDomain,
  STAGE_NAME,
} from '../functions/settings-rules.js';

/**
 * The deploy-time settings of the stack, from CDK context (`-c name=value` or cdk.json), validated
 * with the rules the functions apply to their environment, so that a bad value fails synth with a
 * message naming it rather than every function at start.
 */
export interface StackSettings {
  /** Lower-case; a name starting with prod or prd (prod, production, prd, prod-eu) is production. */
  stage: string;
  /** Decided by the stage name: retains data, refuses dev mode. */
  production: boolean;
  /** Responses carry mockCode. Refused in production. */
  devMode: boolean;
  /** Sender of code e-mails, `address` or `Name <address>`; e-mail is off without it. */
  emailFrom?: string;
  /** The SES identity (domain or address) that may send; defaults to the domain of emailFrom. */
  sesIdentity?: string;
  /**
   * ISO 3166 alpha-2 codes that SMS may go to; SMS is off without them (no default: a deploy with
   * emailFrom alone sends no SMS and may not publish to SNS). Without them and without emailFrom the
   * stack has no channel: it synthesises, with a warning, and every send is refused.
   */
  smsCountries?: string[];
  smsSenderId?: string;
  smsOriginationNumber?: string;
  /** Hourly SMS caps (OTP_SMS_LIMIT_PER_*); where unset the functions keep their defaults. */
  smsHourlyLimits: SmsHourlyLimits;
  /** The conversion breaker (OTP_BREAKER_*); where unset the functions keep their defaults. */
  breaker: BreakerSettings;
  /** An End User Messaging protect configuration allowing SMS to smsCountries only; on unless turned off. */
  protectConfiguration: boolean;
  /** Makes that protect configuration the account's default, which SNS applies; off unless asked for. */
  protectConfigurationDefault: boolean;
  /** The account's SNS MonthlySpendLimit, set by the stack (account-wide); left alone unless set. */
  smsMonthlySpendLimitUsd?: number;
  /** SNS delivery-status logging of the account (account-wide): failures, all, or left alone. */
  smsDeliveryStatusLogs?: SmsDeliveryStatusLogs;
  /** Reserved concurrency of the send function; 0 reserves none. */
  sendConcurrency: number;
  /** Alarm threshold for the account's SMS spend this month, in USD. */
  smsMonthlyBudgetUsd: number;
  /** The WAF web ACL in front of the API; on unless turned off. */
  waf: boolean;
  /** Calls without X-API-Key get 401 invalid-api-key; on unless turned off. */
  requireApiKey: boolean;
  /** `iss` of access tokens, for a custom domain; the REST API's stage URL without it. */
  issuer?: string;
  /** ES256 (API.md's contract) unless RS256 is asked for, which an HTTP API JWT authorizer needs. */
  accessTokenAlgorithm: SigningAlgorithm;
  /** Web origins that may call the API (OTP_CORS_ORIGINS), or `*`; no CORS without it. */
  corsOrigins?: CorsOrigins;
}

export class SettingsError extends Error {
  constructor(name: string, problem: string) {
    super(`Invalid context "${name}": ${problem}`);
    this.name = 'SettingsError';
  }
}

type Context = (name: string) => unknown;

const text = (context: Context, name: string): string | undefined => {
  const value: unknown = context(name);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new SettingsError(name, 'must be a single value.');
  }
  return String(value).trim();
};

/** The value of `name` checked against a shared rule, when it is set. */
const checked = (context: Context, name: string, schema: z.ZodMiniType): string | undefined => {
  const value = text(context, name);
  const problem = value === undefined ? undefined : brokenRule(schema, value);
  if (problem !== undefined) throw new SettingsError(name, `${problem} (got "${value}").`);
  return value;
};

/** The number `name` holds, checked against a shared rule, when it is set. */
const numeric = (context: Context, name: string, schema: z.ZodMiniType): number | undefined => {
  const value = checked(context, name, schema);
  return value === undefined ? undefined : Number(value);
};

const flag = (context: Context, name: string, fallback: boolean): boolean => {
  const value = text(context, name);
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new SettingsError(name, `must be true or false (got "${value}").`);
};

/** API Gateway answers on https only, so an issuer that callers reach it at is https. */
function httpsIssuer(context: Context): string | undefined {
  const issuer = checked(context, 'issuer', ISSUER_URL);
  if (issuer !== undefined && !issuer.startsWith('https://')) {
    throw new SettingsError('issuer', `must be an https URL (got "${issuer}").`);
  }
  return issuer;
}

/** The context settings that concern SMS alone. */
const SMS_ONLY_SETTINGS = [
  'smsLimitPerCountryPerHour',
  'smsLimitPerPrefixPerHour',
  'smsLimitPerHour',
  'breakerMode',
  'breakerMinSends',
  'breakerMinConversion',
  'breakerWindowSeconds',
  'breakerPauseSeconds',
  'protectConfiguration',
  'protectConfigurationDefault',
  'smsMonthlyBudgetUsd',
  'smsMonthlySpendLimitUsd',
  'smsDeliveryStatusLogs',
] as const;

/**
 * `corsOrigins`: `*` or exact origins. The `:*` port form the functions accept for npm start is
 * refused: the gateway's preflight answer matches origins exactly.
 */
function corsSetting(context: Context): CorsOrigins | undefined {
  const value = text(context, 'corsOrigins');
  let origins: CorsOrigins | undefined;
  try {
    origins = parseCorsOrigins(value);
  } catch (error) {
    throw new SettingsError('corsOrigins', `${(error as Error).message}.`);
  }
  const anyPort = origins === '*' ? undefined : origins?.find((origin) => origin.endsWith(':*'));
  if (anyPort !== undefined) {
    throw new SettingsError(
      'corsOrigins',
      `must list exact origins; the gateway cannot match any port (got "${anyPort}").`,
    );
  }
  return origins;
}

export function settingsFromContext(context: Context): StackSettings {
  const stage = checked(context, 'stage', STAGE_NAME) ?? 'dev';
  const production = isProductionStage(stage);

  const devMode = flag(context, 'devMode', false);
  if (devMode && production) {
    throw new SettingsError('devMode', `is refused in the ${stage} stage: it returns codes in API responses.`);
  }

  const emailFrom = checked(context, 'emailFrom', EMAIL_SENDER);
  const fromAddress = emailFrom === undefined ? undefined : senderAddress(emailFrom);
  const sesIdentity =
    checked(context, 'sesIdentity', SES_IDENTITY) ?? (emailFrom === undefined ? undefined : senderDomain(emailFrom));
  if (sesIdentity !== undefined && fromAddress === undefined) {
    throw new SettingsError('sesIdentity', 'needs emailFrom, the address codes are sent from.');
  }

  const countries = text(context, 'smsCountries');
  const smsCountries = countries?.split(',').map((country) => country.trim().toUpperCase());
  for (const country of smsCountries ?? []) {
    if (brokenRule(COUNTRY_CODE, country) !== undefined) {
      throw new SettingsError(
        'smsCountries',
        `must be ISO 3166 alpha-2 codes separated by commas, like US,CA (got "${countries}").`,
      );
    }
  }

  const smsSenderId = checked(context, 'smsSenderId', SMS_SENDER_ID);
  const smsOriginationNumber = checked(context, 'smsOriginationNumber', E164_NUMBER);

  const smsHourlyLimits: SmsHourlyLimits = {
    perCountry: numeric(context, 'smsLimitPerCountryPerHour', SMS_HOURLY_LIMIT),
    perPrefix: numeric(context, 'smsLimitPerPrefixPerHour', SMS_HOURLY_LIMIT),
    total: numeric(context, 'smsLimitPerHour', SMS_HOURLY_LIMIT),
  };
  const breaker: BreakerSettings = {
    mode: checked(context, 'breakerMode', BREAKER_MODE) as BreakerMode | undefined,
    minSends: numeric(context, 'breakerMinSends', BREAKER_MIN_SENDS),
    minConversion: numeric(context, 'breakerMinConversion', BREAKER_MIN_CONVERSION),
    windowSeconds: numeric(context, 'breakerWindowSeconds', BREAKER_SECONDS),
    pauseSeconds: numeric(context, 'breakerPauseSeconds', BREAKER_SECONDS),
  };
  const protectConfiguration = flag(context, 'protectConfiguration', true);
  const protectConfigurationDefault = flag(context, 'protectConfigurationDefault', false);
  if (!smsCountries) {
    // Each of these only changes how SMS is sent: set without SMS, it is a mistake, not a no-op.
    const smsOnly = SMS_ONLY_SETTINGS.find((name) => text(context, name) !== undefined);
    if (smsOnly) throw new SettingsError(smsOnly, 'needs smsCountries: SMS is off without it.');
  }
  if (protectConfigurationDefault && !protectConfiguration) {
    throw new SettingsError('protectConfigurationDefault', 'needs protectConfiguration, the one it makes the default.');
  }

  const spendLimit = text(context, 'smsMonthlySpendLimitUsd');
  if (spendLimit !== undefined && (!/^\d+$/.test(spendLimit) || Number(spendLimit) < 1)) {
    throw new SettingsError(
      'smsMonthlySpendLimitUsd',
      `must be a whole number of USD, at least 1, as SNS takes it (got "${spendLimit}").`,
    );
  }
  const deliveryLogs = text(context, 'smsDeliveryStatusLogs');
  if (deliveryLogs !== undefined && deliveryLogs !== 'failures' && deliveryLogs !== 'all') {
    throw new SettingsError('smsDeliveryStatusLogs', `must be failures or all (got "${deliveryLogs}").`);
  }
  const concurrency = text(context, 'sendConcurrency') ?? '10';
  if (!/^\d+$/.test(concurrency) || Number(concurrency) > 1000) {
    throw new SettingsError(
      'sendConcurrency',
      `must be a whole number from 0 (none reserved) to 1000 (got "${concurrency}").`,
    );
  }

  const budget = text(context, 'smsMonthlyBudgetUsd') ?? '100';
  if (!/^\d+(\.\d+)?$/.test(budget) || Number(budget) <= 0) {
    throw new SettingsError('smsMonthlyBudgetUsd', `must be a positive amount in USD (got "${budget}").`);
  }

  return {
    stage,
    production,
    devMode,
    emailFrom,
    sesIdentity,
    smsCountries,
    smsSenderId,
    smsOriginationNumber,
    smsHourlyLimits,
    breaker,
    protectConfiguration,
    protectConfigurationDefault,
    smsMonthlyBudgetUsd: Number(budget),
    smsMonthlySpendLimitUsd: spendLimit === undefined ? undefined : Number(spendLimit),
    smsDeliveryStatusLogs: deliveryLogs,
    sendConcurrency: Number(concurrency),
    waf: flag(context, 'waf', true),
    requireApiKey: flag(context, 'requireApiKey', true),
    issuer: httpsIssuer(context),
    accessTokenAlgorithm: (checked(context, 'accessTokenAlgorithm', ACCESS_TOKEN_ALGORITHM) ??
      'ES256') as SigningAlgorithm,
    corsOrigins: corsSetting(context),
  };
}
