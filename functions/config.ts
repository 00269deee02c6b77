import { CHANNELS, type Channel } from './core/purposes.js';

/**
 * The environment, read once and validated. A bad value stops start-up with an error naming the
 * variable (API.md, "Configuration").
 */
export interface OtpConfig {
  codeLength: number;
  codeTtlSeconds: number;
  maxAttempts: number;
  sendLimitPerHour: number;
  sendLimitPerDay: number;
  resendCooldownSeconds: number;
  /** 0 turns the per-IP limit off. */
  sendLimitPerIpPerHour: number;
  sessionTtlSeconds: number;
  /** Items the scheduled cleanup removes at most in one run. */
  cleanupMaxItems: number;
  /** Wrong codes in a row for one target, over all its codes, before it is locked for a day. */
  maxFailuresPerTarget: number;
  devMode: boolean;
  stage: string;
  /** The pepper itself (local runs, tests), or… */
  pepper?: string;
  /** …the Secrets Manager secret that holds it (AWS). Read once per container by wiring.ts. */
  pepperSecretArn?: string;
  stateTable: string;
  customersTable: string;
  /** `local` prints codes to the console outbox; `aws` sends through SNS and SES. */
  delivery: 'aws' | 'local';
  allowedChannels: readonly Channel[];
  /** ISO 3166-1 alpha-2 codes; undefined allows every country. */
  smsAllowedCountries?: readonly string[];
  emailFrom?: string;
  smsSenderId?: string;
  smsOriginationNumber?: string;
  appName: string;
  dynamoEndpoint?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export const MIN_PEPPER_LENGTH = 32;

/** Functions that hash codes or targets need the pepper; the session function does not. */
export function missingPepper(): ConfigError {
  return new ConfigError(
    'OTP_PEPPER',
    `must be set to a secret of at least ${MIN_PEPPER_LENGTH} characters, or OTP_PEPPER_SECRET_ARN to the secret that holds it.`,
  );
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}").`);
  }
  return Number(raw);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${env[name]}").`);
}

function text(env: Env, name: string, fallback: string, pattern: RegExp, rule: string): string {
  const raw = env[name]?.trim();
  const value = raw === undefined || raw === '' ? fallback : raw;
  if (!pattern.test(value)) throw new ConfigError(name, `${rule} (got "${value}").`);
  return value;
}

function optional(env: Env, name: string, pattern: RegExp, rule: string): string | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!pattern.test(raw)) throw new ConfigError(name, `${rule} (got "${raw}").`);
  return raw;
}

function list(env: Env, name: string): string[] | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '' || raw === '*') return undefined;
  return raw.split(',').map((item) => item.trim());
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_RULE = 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)';

export function loadConfig(env: Env): OtpConfig {
  const stage = text(
    env,
    'OTP_STAGE',
    'dev',
    /^[a-z][a-z0-9-]{0,31}$/,
    'must be a lower-case stage name such as dev or prod',
  );
  const devMode = boolean(env, 'OTP_DEV_MODE', false);
  if (devMode && stage === 'prod') {
    throw new ConfigError('OTP_DEV_MODE', 'must not be true in the prod stage: it returns codes in responses.');
  }

  const pepper = env.OTP_PEPPER || undefined;
  if (pepper !== undefined && pepper.length < MIN_PEPPER_LENGTH) {
    throw new ConfigError('OTP_PEPPER', `must be a secret of at least ${MIN_PEPPER_LENGTH} characters.`);
  }

  const sendLimitPerHour = integer(env, 'OTP_SEND_LIMIT_PER_HOUR', 5, 1, 1000);
  const sendLimitPerDay = integer(env, 'OTP_SEND_LIMIT_PER_DAY', 10, 1, 10_000);
  if (sendLimitPerDay < sendLimitPerHour) {
    throw new ConfigError('OTP_SEND_LIMIT_PER_DAY', `must be at least OTP_SEND_LIMIT_PER_HOUR (${sendLimitPerHour}).`);
  }

  const allowedChannels = list(env, 'OTP_ALLOWED_CHANNELS') ?? [...CHANNELS];
  for (const channel of allowedChannels) {
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      throw new ConfigError('OTP_ALLOWED_CHANNELS', `must be a comma-separated list of sms, email (got "${channel}").`);
    }
  }

  const smsAllowedCountries = list(env, 'OTP_SMS_ALLOWED_COUNTRIES')?.map((country) => {
    if (!/^[A-Za-z]{2}$/.test(country)) {
      throw new ConfigError(
        'OTP_SMS_ALLOWED_COUNTRIES',
        `must be * or a comma-separated list of ISO 3166 alpha-2 codes (got "${country}").`,
      );
    }
    return country.toUpperCase();
  });

  const delivery = text(env, 'OTP_DELIVERY', 'aws', /^(aws|local)$/, 'must be aws or local') as 'aws' | 'local';
  const emailFrom = optional(
    env,
    'OTP_EMAIL_FROM',
    /^[^\s@]+@[^\s@]+\.[^\s@]+$|^.+ <[^\s@]+@[^\s@]+\.[^\s@]+>$/,
    'must be an e-mail address, optionally as "Name <address>"',
  );
  if (delivery === 'aws' && allowedChannels.includes('email') && !emailFrom) {
    throw new ConfigError('OTP_EMAIL_FROM', 'must be set to a verified SES identity when e-mail is sent through AWS.');
  }

  return {
    codeLength: integer(env, 'OTP_CODE_LENGTH', 6, 4, 10),
    codeTtlSeconds: integer(env, 'OTP_TTL_SECONDS', 300, 1, 600),
    maxAttempts: integer(env, 'OTP_MAX_ATTEMPTS', 3, 1, 10),
    sendLimitPerHour,
    sendLimitPerDay,
    resendCooldownSeconds: integer(env, 'OTP_RESEND_COOLDOWN_SECONDS', 30, 0, 3600),
    sendLimitPerIpPerHour: integer(env, 'OTP_SEND_LIMIT_PER_IP_PER_HOUR', 30, 0, 1_000_000),
    sessionTtlSeconds: integer(env, 'SESSION_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    // NIST SP 800-63B allows at most 100; the default leaves room for guesses already in flight.
    maxFailuresPerTarget: integer(env, 'OTP_MAX_FAILURES_PER_TARGET', 50, 1, 100),
    cleanupMaxItems: integer(env, 'OTP_CLEANUP_MAX_ITEMS', 5000, 1, 100_000),
    devMode,
    stage,
    pepper,
    pepperSecretArn: optional(
      env,
      'OTP_PEPPER_SECRET_ARN',
      /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$/,
      'must be the ARN of a Secrets Manager secret',
    ),
    stateTable: text(env, 'OTP_STATE_TABLE', 'otp-state', TABLE_NAME, TABLE_RULE),
    customersTable: text(env, 'OTP_CUSTOMERS_TABLE', 'otp-customers', TABLE_NAME, TABLE_RULE),
    delivery,
    allowedChannels: allowedChannels as Channel[],
    smsAllowedCountries,
    emailFrom,
    smsSenderId: optional(
      env,
      'OTP_SMS_SENDER_ID',
      /^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/,
      'must be 1-11 letters and digits with at least one letter',
    ),
    smsOriginationNumber: optional(
      env,
      'OTP_SMS_ORIGINATION_NUMBER',
      /^\+[1-9]\d{6,14}$/,
      'must be an E.164 phone number',
    ),
    appName: text(
      env,
      'OTP_APP_NAME',
      'OTP',
      /^[^\r\n<>]{1,40}$/,
      'must be 1-40 characters without line breaks or angle brackets',
    ),
    dynamoEndpoint: optional(env, 'DYNAMODB_ENDPOINT', /^https?:\/\/\S+$/, 'must be an http(s) URL'),
  };
}
