import * as z from 'zod/mini';
import { CHANNELS, type Channel } from './core/purposes.js';
import { type CorsOrigins, parseCorsOrigins } from './http/cors.js';
import {
  DEFAULT_SIGNING_ALGORITHM,
  KeySetError,
  parseKeySet,
  type SigningAlgorithm,
  type SigningKeySet,
} from './core/signing-keys.js';
import {
  ACCESS_TOKEN_ALGORITHM,
  BREAKER_MIN_CONVERSION,
  BREAKER_MIN_SENDS,
  BREAKER_MODE,
  type BreakerMode,
  BREAKER_SECONDS,
  brokenRule,
  COUNTRY_CODE,
  E164_NUMBER,
  EMAIL_SENDER,
  ISSUER_URL,
  isProductionStage,
  SMS_HOURLY_LIMIT,
  SMS_SENDER_ID,
  STAGE_NAME,
  wholeNumber,
} from './settings-rules.js';

/**
 * The environment, read once and validated. A bad value stops start-up with an error naming the
 * variable.
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
  /** Step-up session lifetime, and how recent an OTP must be for an action that requires one. */
  stepUpTtlSeconds: number;
  /** Refresh token lifetime, counted from the login. */
  refreshTtlSeconds: number;
  /** A refresh family not refreshed for this long ends. */
  refreshIdleSeconds: number;
  /** Access token lifetime. */
  accessTokenTtlSeconds: number;
  /** `iss` of access tokens, and the base of the discovery document's URLs (no trailing slash). */
  issuer: string;
  /** The signing keys themselves (local runs, tests; refused by a production stage), or… */
  signingKeys?: SigningKeySet;
  /** …the Secrets Manager secret that holds them (AWS). Read once per container by wiring.ts. */
  signingKeysSecretArn?: string;
  /**
   * The algorithm of new signing keys, hence of access tokens once a key of it signs: ES256 (API.md)
   * or RS256 (API Gateway HTTP API JWT authorizers). A stored set of another algorithm moves to it
   * through its rotations (core/signing-keys.ts).
   */
  accessTokenAlgorithm: SigningAlgorithm;
  /** The scheduled function rotates the signing keys when the current one has signed this long. */
  signingKeyRotationDays: number;
  /** Calls without X-API-Key are refused (401 invalid-api-key). */
  requireApiKey: boolean;
  /** Items the scheduled cleanup removes at most in one run. */
  cleanupMaxItems: number;
  /**
   * The expiry sweep: every expiring item is listed in the state table's `due` index, and the
   * scheduled function deletes expired items before TTL does. Off: TTL alone removes them (free,
   * within a few days), and no item pays the index write (functions/adapters/dynamo/due-index.ts).
   */
  expirySweep: boolean;
  /** Wrong codes in a row for one target, over all its codes, before it is locked for a day. */
  maxFailuresPerTarget: number;
  /** SMS per destination country per UTC hour, all clients together; 0 turns it off. */
  smsLimitPerCountryPerHour: number;
  /** SMS per number block (a number without its last three digits) per UTC hour; 0 turns it off. */
  smsLimitPerPrefixPerHour: number;
  /** SMS per UTC hour for the whole deployment; 0 turns it off. */
  smsLimitPerHour: number;
  /** The conversion breaker (core/breaker.ts): refuse SMS to a country, only log it, or neither. */
  breakerMode: BreakerMode;
  /** SMS to a country within the window before its conversion is judged. */
  breakerMinSends: number;
  /** Verified / sent below this trips the breaker. */
  breakerMinConversion: number;
  breakerWindowSeconds: number;
  /** How long SMS to a country stays refused once its breaker trips. */
  breakerPauseSeconds: number;
  /**
   * How many items a counter that every SMS touches (per deployment, per country, the breaker's) is
   * spread over, so that no item takes every write (DESIGN.md, Data).
   */
  counterShards: number;
  devMode: boolean;
  stage: string;
  /** The stage's name starts with prod or prd: dev mode and local delivery are refused. */
  production: boolean;
  /** The pepper itself (local runs, tests), or… */
  pepper?: string;
  /**
   * With `pepper`, during a rotation (README, "Rotating the pepper"): the pepper it replaced, and the
   * one about to replace it (core/peppers.ts). In AWS the secret's AWSPREVIOUS and AWSPENDING versions.
   */
  previousPepper?: string;
  nextPepper?: string;
  /** …the Secrets Manager secret that holds it (AWS). Read once per container by wiring.ts. */
  pepperSecretArn?: string;
  stateTable: string;
  customersTable: string;
  clientsTable: string;
  /** `local` prints codes to the console outbox; `aws` sends through SNS and SES. */
  delivery: 'aws' | 'local';
  allowedChannels: readonly Channel[];
  /** ISO 3166-1 alpha-2 codes; undefined allows every country. */
  smsAllowedCountries?: readonly string[];
  emailFrom?: string;
  /** The SES configuration set code e-mails are sent through (bounce and complaint suppression). */
  sesConfigurationSet?: string;
  smsSenderId?: string;
  smsOriginationNumber?: string;
  appName: string;
  dynamoEndpoint?: string;
  /** The web origins whose scripts may read the answers (http/cors.ts); undefined for none. */
  corsOrigins?: CorsOrigins;
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
/** A pepper's least count of different characters: a placeholder such as 'ab' repeated has 2. */
export const MIN_PEPPER_DISTINCT_CHARACTERS = 8;
/**
 * A pepper's least estimated strength in bits: its length times the Shannon entropy of its own
 * character frequencies. 32 random hex digits estimate at 84 to 125, 32 random bytes in base64url
 * (43 characters) at about 200; a repeated word or keyboard run falls far below.
 */
export const MIN_PEPPER_ENTROPY_BITS = 80;

/** Functions that hash codes or targets need the pepper; the session function does not. */
export function missingPepper(): ConfigError {
  return new ConfigError(
    'OTP_PEPPER',
    `must be set to a secret of at least ${MIN_PEPPER_LENGTH} characters, or OTP_PEPPER_SECRET_ARN to the secret that holds it.`,
  );
}

/** Functions that sign or check access tokens, or publish their keys, need the signing keys. */
export function missingSigningKeys(): ConfigError {
  return new ConfigError(
    'OTP_SIGNING_KEYS_SECRET_ARN',
    'must be set to the secret that holds the signing keys (or, outside production, OTP_SIGNING_KEYS to the keys).',
  );
}

/** Bits: length times the Shannon entropy of the string's own character frequencies. */
export function estimatedEntropyBits(value: string): number {
  const characters = [...value];
  const counts = new Map<string, number>();
  for (const character of characters) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bitsPerCharacter = 0;
  for (const count of counts.values()) {
    const p = count / characters.length;
    bitsPerCharacter -= p * Math.log2(p);
  }
  return bitsPerCharacter * characters.length;
}

/**
 * Refuses a pepper that is short or has too little variety (32 spaces, 'a' repeated, 'abab…'):
 * every code hash and table key is only as secret as the pepper. `variable` names where it came
 * from, so that a pepper read from Secrets Manager is refused naming the secret's variable.
 */
export function assertStrongPepper(pepper: string, variable: string): void {
  const rule =
    `must be a secret of at least ${MIN_PEPPER_LENGTH} characters with at least ` +
    `${MIN_PEPPER_DISTINCT_CHARACTERS} different characters and ${MIN_PEPPER_ENTROPY_BITS} bits of estimated entropy, ` +
    'such as the output of `openssl rand -base64 32`';
  if ([...pepper].length < MIN_PEPPER_LENGTH) throw new ConfigError(variable, `${rule}: it is too short.`);
  if (new Set(pepper).size < MIN_PEPPER_DISTINCT_CHARACTERS || estimatedEntropyBits(pepper) < MIN_PEPPER_ENTROPY_BITS) {
    throw new ConfigError(variable, `${rule}: it has too little variety.`);
  }
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The value of `name` checked against a shared rule; the message names the variable and the value. */
function checked(name: string, schema: z.ZodMiniType, value: string): string {
  const problem = brokenRule(schema, value);
  if (problem !== undefined) throw new ConfigError(name, `${problem} (got "${value}").`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  return value === undefined ? fallback : Number(checked(name, wholeNumber(min, max), value));
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${env[name]}").`);
}

function text(env: Env, name: string, fallback: string, schema: z.ZodMiniType): string {
  return checked(name, schema, raw(env, name) ?? fallback);
}

function optional(env: Env, name: string, schema: z.ZodMiniType): string | undefined {
  const value = raw(env, name);
  return value === undefined ? undefined : checked(name, schema, value);
}

function list(env: Env, name: string): string[] | undefined {
  const value = raw(env, name);
  if (value === undefined || value === '*') return undefined;
  return value.split(',').map((item) => item.trim());
}

const TABLE_NAME = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)'));
const DELIVERY = z.enum(['aws', 'local'], 'must be aws or local');
const SES_CONFIGURATION_SET = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an SES configuration set name (1-64 of A-Z a-z 0-9 _ -)'));
const SECRET_ARN = z
  .string()
  .check(
    z.regex(
      /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$/,
      'must be the ARN of a Secrets Manager secret',
    ),
  );
const APP_NAME = z
  .string()
  .check(z.regex(/^[^\r\n<>]{1,40}$/, 'must be 1-40 characters without line breaks or angle brackets'));
const HTTP_URL = z.string().check(z.regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'));
/** The local server's own base URL unless OTP_ISSUER says otherwise (functions/local/main.ts sets it). */
function issuer(env: Env): string {
  const port = raw(env, 'PORT');
  const fallback = `http://127.0.0.1:${port !== undefined && /^\d+$/.test(port) ? port : '3000'}`;
  return text(env, 'OTP_ISSUER', fallback, ISSUER_URL);
}

/**
 * OTP_CORS_ORIGINS; every handler reads it when its chain is built (http/http-handler.ts), and
 * loadConfig too, so that npm start refuses a bad value before serving.
 */
export function corsOrigins(env: Env): CorsOrigins | undefined {
  try {
    return parseCorsOrigins(env.OTP_CORS_ORIGINS);
  } catch (error) {
    throw new ConfigError('OTP_CORS_ORIGINS', `${(error as Error).message}.`);
  }
}

/** OTP_ACCESS_TOKEN_ALGORITHM; npm start reads it before loadConfig, to make its keys. */
export function accessTokenAlgorithm(env: Env): SigningAlgorithm {
  return text(env, 'OTP_ACCESS_TOKEN_ALGORITHM', DEFAULT_SIGNING_ALGORITHM, ACCESS_TOKEN_ALGORITHM) as SigningAlgorithm;
}

/** OTP_SIGNING_KEYS, parsed and checked; refused in production, where keys rotate in Secrets Manager. */
function inlineSigningKeys(
  env: Env,
  stage: string,
  production: boolean,
  algorithm: SigningAlgorithm,
): SigningKeySet | undefined {
  const value = raw(env, 'OTP_SIGNING_KEYS');
  if (value === undefined) return undefined;
  if (production) {
    throw new ConfigError(
      'OTP_SIGNING_KEYS',
      `must not be set in the ${stage} stage: keys in the environment cannot rotate and show in the function's configuration; use OTP_SIGNING_KEYS_SECRET_ARN.`,
    );
  }
  try {
    const keys = parseKeySet(value);
    if (keys === undefined) throw new KeySetError('holds no keys.');
    // Inline keys never rotate, so they would never move to the configured algorithm: refused
    // rather than signing with another algorithm than the one asked for.
    if (keys.algorithm !== algorithm) {
      throw new KeySetError(
        `holds ${keys.algorithm} keys, but OTP_ACCESS_TOKEN_ALGORITHM is ${algorithm}: inline keys do not rotate to another algorithm.`,
      );
    }
    return keys;
  } catch (error) {
    if (error instanceof KeySetError) throw new ConfigError('OTP_SIGNING_KEYS', error.message);
    throw error;
  }
}

export function loadConfig(env: Env): OtpConfig {
  const stage = text(env, 'OTP_STAGE', 'dev', STAGE_NAME);
  const production = isProductionStage(stage);
  const devMode = boolean(env, 'OTP_DEV_MODE', false);
  if (devMode && production) {
    throw new ConfigError('OTP_DEV_MODE', `must not be true in the ${stage} stage: it returns codes in responses.`);
  }
  const delivery = text(env, 'OTP_DELIVERY', 'aws', DELIVERY) as 'aws' | 'local';
  if (delivery === 'local' && production) {
    throw new ConfigError(
      'OTP_DELIVERY',
      `must be aws in the ${stage} stage: local delivery prints codes to the logs.`,
    );
  }

  const pepper = env.OTP_PEPPER || undefined;
  if (pepper !== undefined) assertStrongPepper(pepper, 'OTP_PEPPER');
  const previousPepper = env.OTP_PEPPER_PREVIOUS || undefined;
  const nextPepper = env.OTP_PEPPER_NEXT || undefined;
  for (const [variable, other] of [
    ['OTP_PEPPER_PREVIOUS', previousPepper],
    ['OTP_PEPPER_NEXT', nextPepper],
  ] as const) {
    if (other === undefined) continue;
    // Only beside the pepper itself: with the secret, the secret's own versions say it.
    if (pepper === undefined) throw new ConfigError(variable, 'needs OTP_PEPPER, the current pepper, beside it.');
    assertStrongPepper(other, variable);
  }

  const sendLimitPerHour = integer(env, 'OTP_SEND_LIMIT_PER_HOUR', 5, 1, 1000);
  const sendLimitPerDay = integer(env, 'OTP_SEND_LIMIT_PER_DAY', 10, 1, 10_000);
  if (sendLimitPerDay < sendLimitPerHour) {
    throw new ConfigError('OTP_SEND_LIMIT_PER_DAY', `must be at least OTP_SEND_LIMIT_PER_HOUR (${sendLimitPerHour}).`);
  }

  // `none`: a stack deployed with no channel (lib/stack-config.ts) sends nothing, and every send is
  // refused as channel-not-allowed; an empty value would mean every channel.
  const allowedChannels =
    raw(env, 'OTP_ALLOWED_CHANNELS') === 'none' ? [] : (list(env, 'OTP_ALLOWED_CHANNELS') ?? [...CHANNELS]);
  for (const channel of allowedChannels) {
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      throw new ConfigError(
        'OTP_ALLOWED_CHANNELS',
        `must be none or a comma-separated list of sms, email (got "${channel}").`,
      );
    }
  }

  const smsAllowedCountries = list(env, 'OTP_SMS_ALLOWED_COUNTRIES')?.map((country) => {
    if (brokenRule(COUNTRY_CODE, country) !== undefined) {
      throw new ConfigError(
        'OTP_SMS_ALLOWED_COUNTRIES',
        `must be * or a comma-separated list of ISO 3166 alpha-2 codes (got "${country}").`,
      );
    }
    return country.toUpperCase();
  });

  const algorithm = accessTokenAlgorithm(env);

  const emailFrom = optional(env, 'OTP_EMAIL_FROM', EMAIL_SENDER);
  if (delivery === 'aws' && allowedChannels.includes('email') && !emailFrom) {
    throw new ConfigError('OTP_EMAIL_FROM', 'must be set to a verified SES identity when e-mail is sent through AWS.');
  }

  return {
    // NIST SP 800-63B 5.1.3: under 6 digits a code holds less than 20 bits.
    codeLength: integer(env, 'OTP_CODE_LENGTH', 6, 6, 10),
    codeTtlSeconds: integer(env, 'OTP_TTL_SECONDS', 300, 1, 600),
    maxAttempts: integer(env, 'OTP_MAX_ATTEMPTS', 3, 1, 10),
    sendLimitPerHour,
    sendLimitPerDay,
    resendCooldownSeconds: integer(env, 'OTP_RESEND_COOLDOWN_SECONDS', 30, 0, 3600),
    sendLimitPerIpPerHour: integer(env, 'OTP_SEND_LIMIT_PER_IP_PER_HOUR', 30, 0, 1_000_000),
    sessionTtlSeconds: integer(env, 'SESSION_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    stepUpTtlSeconds: integer(env, 'OTP_STEP_UP_TTL_SECONDS', 1800, 5, 86_400),
    refreshTtlSeconds: integer(env, 'OTP_REFRESH_TTL_SECONDS', 30 * 86_400, 3600, 365 * 86_400),
    refreshIdleSeconds: integer(env, 'OTP_REFRESH_IDLE_SECONDS', 7 * 86_400, 300, 365 * 86_400),
    accessTokenTtlSeconds: integer(env, 'OTP_ACCESS_TOKEN_TTL_SECONDS', 900, 60, 3600),
    issuer: issuer(env),
    accessTokenAlgorithm: algorithm,
    signingKeys: inlineSigningKeys(env, stage, production, algorithm),
    signingKeysSecretArn: optional(env, 'OTP_SIGNING_KEYS_SECRET_ARN', SECRET_ARN),
    signingKeyRotationDays: integer(env, 'OTP_SIGNING_KEY_ROTATION_DAYS', 30, 1, 365),
    // Keys are required unless turned off: a deployment that forgets the variable is not left open.
    requireApiKey: boolean(env, 'OTP_REQUIRE_API_KEY', true),
    // NIST SP 800-63B allows at most 100; no concurrency lets more be compared (core/guesses.ts).
    maxFailuresPerTarget: integer(env, 'OTP_MAX_FAILURES_PER_TARGET', 50, 1, 100),
    cleanupMaxItems: integer(env, 'OTP_CLEANUP_MAX_ITEMS', 5000, 1, 100_000),
    // Off: expired items are never honoured anyway (every condition checks expiry), and TTL is free.
    expirySweep: boolean(env, 'OTP_EXPIRY_SWEEP', false),
    // The stack checks its context settings against the same rules (settings-rules.ts).
    smsLimitPerCountryPerHour: Number(text(env, 'OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR', '500', SMS_HOURLY_LIMIT)),
    smsLimitPerPrefixPerHour: Number(text(env, 'OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR', '10', SMS_HOURLY_LIMIT)),
    smsLimitPerHour: Number(text(env, 'OTP_SMS_LIMIT_PER_HOUR', '2000', SMS_HOURLY_LIMIT)),
    breakerMode: text(env, 'OTP_BREAKER_MODE', 'enforce', BREAKER_MODE) as BreakerMode,
    breakerMinSends: Number(text(env, 'OTP_BREAKER_MIN_SENDS', '50', BREAKER_MIN_SENDS)),
    breakerMinConversion: Number(text(env, 'OTP_BREAKER_MIN_CONVERSION', '0.2', BREAKER_MIN_CONVERSION)),
    breakerWindowSeconds: Number(text(env, 'OTP_BREAKER_WINDOW_SECONDS', '3600', BREAKER_SECONDS)),
    breakerPauseSeconds: Number(text(env, 'OTP_BREAKER_PAUSE_SECONDS', '900', BREAKER_SECONDS)),
    counterShards: integer(env, 'OTP_COUNTER_SHARDS', 10, 1, 100),
    devMode,
    stage,
    production,
    pepper,
    previousPepper,
    nextPepper,
    pepperSecretArn: optional(env, 'OTP_PEPPER_SECRET_ARN', SECRET_ARN),
    stateTable: text(env, 'OTP_STATE_TABLE', 'otp-state', TABLE_NAME),
    customersTable: text(env, 'OTP_CUSTOMERS_TABLE', 'otp-customers', TABLE_NAME),
    clientsTable: text(env, 'OTP_CLIENTS_TABLE', 'otp-clients', TABLE_NAME),
    delivery,
    allowedChannels: allowedChannels as Channel[],
    smsAllowedCountries,
    emailFrom,
    sesConfigurationSet: optional(env, 'OTP_SES_CONFIGURATION_SET', SES_CONFIGURATION_SET),
    smsSenderId: optional(env, 'OTP_SMS_SENDER_ID', SMS_SENDER_ID),
    smsOriginationNumber: optional(env, 'OTP_SMS_ORIGINATION_NUMBER', E164_NUMBER),
    appName: text(env, 'OTP_APP_NAME', 'OTP', APP_NAME),
    dynamoEndpoint: optional(env, 'DYNAMODB_ENDPOINT', HTTP_URL),
    corsOrigins: corsOrigins(env),
  };
}
