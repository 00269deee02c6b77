import type * as z from 'zod/mini';
import type { SigningAlgorithm } from '../functions/core/signing-keys.js';
import { type CorsOrigins, parseCorsOrigins } from '../functions/http/cors.js';
import type { BreakerSettings, SmsHourlyLimits } from './function-environment.js';
import { type ApiThrottle, THROTTLE_LIMITS } from './otp-rest-api.js';
import { TABLE_MAX_THROUGHPUT, type TableMaxThroughput } from './otp-tables.js';
import { WAF_RATE_LIMIT_RANGE, type WafRateLimits } from './otp-waf.js';
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
  /** Powertools Tracer and the X-Ray SDK built into the functions; off unless asked for. */
  xraySdkTracing: boolean;
  /** Calls without X-API-Key get 401 invalid-api-key; on unless turned off. */
  requireApiKey: boolean;
  /** `iss` of access tokens, for a custom domain; the REST API's stage URL without it. */
  issuer?: string;
  /** ES256 (API.md's contract) unless RS256 is asked for, which an HTTP API JWT authorizer needs. */
  accessTokenAlgorithm: SigningAlgorithm;
  /** Web origins that may call the API (OTP_CORS_ORIGINS), or `*`; no CORS without it. */
  corsOrigins?: CorsOrigins;
  /** Per-IP limits of the WAF's rate rules, per 5 minutes; where unset the rules keep their defaults. */
  wafRateLimits: WafRateLimits;
  /** The stage's throttle (requests a second, burst), which each route's own is a share of. */
  throttle: ApiThrottle;
  /** A custom domain (ACM certificate in the stack's region) in front of the API; the execute-api URL is then off. */
  customDomain?: { domainName: string; certificateArn: string };
  /** Each table's on-demand maximum throughput, request units a second; none where unset. */
  tableMaxThroughput: TableMaxThroughput;
  /** The expiry sweep (OTP_EXPIRY_SWEEP): the cleanup deletes expired items before TTL; off unless turned on. */
  expirySweep: boolean;
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

/** A whole number within bounds, when it is set. */
const wholeNumber = (context: Context, name: string, min: number, max: number): number | undefined => {
  const value = text(context, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SettingsError(name, `must be a whole number from ${min} to ${max} (got "${value}").`);
  }
  return Number(value);
};

/** `wafRateLimit*`: requests per source IP per 5 minutes, within what WAF accepts. */
function wafRateLimitSettings(context: Context): WafRateLimits {
  const limit = (name: string) => wholeNumber(context, name, WAF_RATE_LIMIT_RANGE.min, WAF_RATE_LIMIT_RANGE.max);
  const limits = {
    all: limit('wafRateLimitAll'),
    send: limit('wafRateLimitSend'),
    verify: limit('wafRateLimitVerify'),
    session: limit('wafRateLimitSession'),
  };
  const set = Object.entries(limits).find(([, value]) => value !== undefined);
  if (set && !flag(context, 'waf', true)) {
    const name = `wafRateLimit${set[0][0]?.toUpperCase()}${set[0].slice(1)}`;
    throw new SettingsError(name, 'needs the WAF, which waf=false turns off.');
  }
  return limits;
}

/**
 * `throttleRate` and `throttleBurst`: within the account's default regional limits (10,000 requests
 * a second, burst 5,000), and at least 10 a second so that every route's share is at least 1.
 */
function throttleSettings(context: Context): ApiThrottle {
  const rate = wholeNumber(context, 'throttleRate', THROTTLE_LIMITS.minRate, THROTTLE_LIMITS.maxRate);
  const burst = wholeNumber(context, 'throttleBurst', THROTTLE_LIMITS.minBurst, THROTTLE_LIMITS.maxBurst);
  return { rate, burst };
}

/** `tableMaxReadRequestUnits` and `tableMaxWriteRequestUnits`: each table's cap, request units a second. */
function tableMaxThroughputSettings(context: Context): TableMaxThroughput {
  const { min, max } = TABLE_MAX_THROUGHPUT;
  return {
    readRequestUnits: wholeNumber(context, 'tableMaxReadRequestUnits', min, max),
    writeRequestUnits: wholeNumber(context, 'tableMaxWriteRequestUnits', min, max),
  };
}

/** A lower-case host name of at least two labels: what API Gateway takes as a custom domain. */
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** An ACM certificate's ARN; its region is the stack's, checked by OtpService where the region is known. */
export const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

/** `domainName` and `certificateArn`, both or neither. */
function customDomainSetting(context: Context): StackSettings['customDomain'] {
  const domainName = text(context, 'domainName');
  const certificateArn = text(context, 'certificateArn');
  if (domainName === undefined && certificateArn === undefined) return undefined;
  if (domainName === undefined) throw new SettingsError('certificateArn', 'needs domainName, the domain it is for.');
  if (certificateArn === undefined) {
    throw new SettingsError('domainName', "needs certificateArn, an ACM certificate for it in the stack's region.");
  }
  if (!DOMAIN_NAME.test(domainName)) {
    throw new SettingsError(
      'domainName',
      `must be a lower-case host name like otp.acme.example (got "${domainName}").`,
    );
  }
  if (!CERTIFICATE_ARN.test(certificateArn)) {
    throw new SettingsError(
      'certificateArn',
      `must be an ACM certificate ARN, arn:aws:acm:REGION:ACCOUNT:certificate/ID (got "${certificateArn}").`,
    );
  }
  return { domainName, certificateArn };
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
    xraySdkTracing: flag(context, 'xraySdkTracing', false),
    requireApiKey: flag(context, 'requireApiKey', true),
    issuer: httpsIssuer(context),
    accessTokenAlgorithm: (checked(context, 'accessTokenAlgorithm', ACCESS_TOKEN_ALGORITHM) ??
      'ES256') as SigningAlgorithm,
    corsOrigins: corsSetting(context),
    wafRateLimits: wafRateLimitSettings(context),
    throttle: throttleSettings(context),
    customDomain: customDomainSetting(context),
    tableMaxThroughput: tableMaxThroughputSettings(context),
    expirySweep: flag(context, 'expirySweep', false),
  };
}
