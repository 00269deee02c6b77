import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Dynamo, dynamoClient, FUNCTION_REQUEST_LIMITS } from './adapters/dynamo/client.js';
import { DynamoClientRegistry } from './adapters/dynamo/clients.js';
import {
  attemptStore,
  bearerStore,
  breakerStore,
  codeStore,
  conversionStore,
  dynamoOf,
  dynamoStore,
  expiryStore,
  failureStore,
  idempotencyStore,
  identityStore,
  loginStore,
  logoutStore,
  ownerStore,
  refreshStore,
  sendLimitStore,
  sendLockStore,
  sessionListStore,
} from './adapters/dynamo/store.js';
import { emailClient, smsClient } from './adapters/delivery-clients.js';
import { localSenders } from './adapters/local-outbox.js';
import { SesEmailSender } from './adapters/ses-email.js';
import { SnsSmsSender } from './adapters/sns-sms.js';
import { JwtAccessTokens, type KeyRing, staticKeyRing } from './adapters/jwt-access-tokens.js';
import { SecretsManagerKeyVault, secretsClient, vaultKeyRing } from './adapters/secret-signing-keys.js';
import { readAtStartup } from './adapters/startup-secrets.js';
import { ConfigError, missingPepper, missingSigningKeys, type OtpConfig } from './config.js';
import { pepperRing, readPeppers } from './adapters/secret-pepper.js';
import type { Peppers, PepperSource } from './core/peppers.js';
import type { AccessTokens } from './core/access-tokens.js';
import { type ClientDirectory, cachedDirectory } from './core/clients.js';
import { KeySetError, type SigningKeyVault } from './core/signing-keys.js';
import { createLogger } from './http/logger.js';
import { traced } from './http/tracer.js';
import type { CodeSender, OtpStore, Senders } from './core/ports.js';
import type { Channel } from './core/purposes.js';
import { checkedCountries } from './core/targets.js';

/**
 * The configuration with its peppers (core/peppers.ts) and where to get them as they are now: from
 * OTP_PEPPER (and OTP_PEPPER_PREVIOUS / OTP_PEPPER_NEXT during a rotation), fixed; or read from the
 * Secrets Manager secret when the function's container starts (handlers await this at module level),
 * by staging label, and re-read every 5 minutes (adapters/secret-pepper.ts), so that a rotation
 * reaches every warm container within a known time.
 */
export async function withPepper(config: OtpConfig): Promise<OtpConfig & Peppers & { peppers: PepperSource }> {
  if (config.pepper) {
    const fixed: Peppers = {
      pepper: config.pepper,
      ...(config.previousPepper ? { previousPepper: config.previousPepper } : {}),
      ...(config.nextPepper ? { nextPepper: config.nextPepper } : {}),
    };
    return { ...config, ...fixed, peppers: () => Promise.resolve(fixed) };
  }
  if (!config.pepperSecretArn) throw missingPepper();
  const secretArn = config.pepperSecretArn;
  const client = traced(secretsClient());
  // The first read bounded (adapters/startup-secrets.ts): a Secrets Manager that does not answer
  // stops the start with a line that says so; later re-reads keep the peppers they have.
  const peppers = await readAtStartup('OTP_PEPPER_SECRET_ARN', () =>
    pepperRing(() => readPeppers(client, secretArn), Date.now, createLogger()),
  );
  return { ...config, ...(await peppers(Date.now())), peppers };
}

/** One DynamoDB client per endpoint and container, shared by the store and the client directory. */
const dynamoClients = new Map<string | undefined, DynamoDBClient>();
function sharedDynamoClient(config: OtpConfig): DynamoDBClient {
  let client = dynamoClients.get(config.dynamoEndpoint);
  if (!client) {
    client = traced(dynamoClient(config.dynamoEndpoint, FUNCTION_REQUEST_LIMITS));
    dynamoClients.set(config.dynamoEndpoint, client);
  }
  return client;
}

/** The tables on the shared client: what every part of the store is built on. */
function dynamo(config: OtpConfig): Dynamo {
  return dynamoOf(sharedDynamoClient(config), config);
}

/**
 * The one place that picks real or local adapters. The whole store, for what needs all of it (tests,
 * tools); no function of the stack does: each takes one of the stores below, as does the local
 * server, which loads the handler modules themselves.
 */
export function createStore(config: OtpConfig): OtpStore {
  return dynamoStore(sharedDynamoClient(config), config);
}

/*
 * One store per need, each made of the parts (adapters/dynamo/store.ts) that its function's use
 * cases call, so that esbuild leaves every other part out of that function's bundle, and the store
 * modules only they call. The handler's deps type is derived from its use cases (core/deps.ts
 * StoreOf): a part missing here fails the handler's type check.
 */

/** GET and DELETE /v1/session: checking a token, logging out. */
export function createSessionStore(config: OtpConfig) {
  const tables = dynamo(config);
  return { ...bearerStore(tables), ...logoutStore(tables) };
}

/** GET /v1/sessions: checking a token, listing the customer's sessions. */
export function createSessionListStore(config: OtpConfig) {
  const tables = dynamo(config);
  return { ...bearerStore(tables), ...sessionListStore(tables) };
}

/** The authorizer (lib/otp-authorizer.ts): checking a token, nothing else. */
export function createBearerStore(config: OtpConfig) {
  return bearerStore(dynamo(config));
}

/** POST /v1/session/refresh: refresh tokens, and the customer read beside the rotation. */
export function createRefreshStore(config: OtpConfig) {
  const tables = dynamo(config);
  return { ...refreshStore(tables), ...ownerStore(tables) };
}

/** POST /v1/otp/send: limits, codes, the SMS breaker, a linking session's customer, Idempotency-Key. */
export function createSendStore(config: OtpConfig) {
  const tables = dynamo(config);
  return {
    ...sendLimitStore(tables),
    ...codeStore(tables),
    ...breakerStore(tables),
    ...bearerStore(tables),
    ...ownerStore(tables),
    ...idempotencyStore(tables),
  };
}

/** POST /v1/otp/verify: attempts, runs of wrong codes and their locks, customers, the login, conversions. */
export function createVerifyStore(config: OtpConfig) {
  const tables = dynamo(config);
  return {
    ...attemptStore(tables),
    ...failureStore(tables),
    ...sendLockStore(tables),
    ...conversionStore(tables),
    ...bearerStore(tables),
    ...ownerStore(tables),
    ...identityStore(tables),
    ...loginStore(tables),
  };
}

/** The scheduled cleanup: expired items only. */
export function createCleanupStore(config: OtpConfig) {
  return expiryStore(dynamo(config));
}

/** Who calls, by API key: read from the clients table, remembered per container for a minute. */
export function createClientDirectory(config: OtpConfig): ClientDirectory {
  return cachedDirectory(new DynamoClientRegistry(sharedDynamoClient(config), config.clientsTable), Date.now);
}

/**
 * Only the send function calls this, so only it creates SNS and SES clients; and each only where the
 * build keeps its channel. The stack knows its channels when it builds (lib/function-defaults.ts,
 * `channels`) and defines OTP_BUILD_SMS or OTP_BUILD_EMAIL as `off` for a channel it leaves out:
 * esbuild then drops that branch, and with it the sender and its client's package (about 22 to
 * 25 KB each). Static imports and a literal condition, not `await import()` as in http/tracer.ts:
 * esbuild does not tree-shake a package reached by a dynamic import, and the SDK client of a kept
 * channel would come in whole (every command and schema, 20 to 30 KB more). Unbundled (npm start,
 * the tests) the variables are read at run time, and unset keep both. A function whose configuration
 * allows a channel its build left out stops at start, naming the variable.
 */
export function createSenders(config: OtpConfig): Senders {
  if (config.delivery === 'local') return localSenders();
  const sms =
    process.env.OTP_BUILD_SMS === 'off'
      ? undefined
      : new SnsSmsSender(traced(smsClient()), {
          senderId: config.smsSenderId,
          originationNumber: config.smsOriginationNumber,
        });
  const email =
    process.env.OTP_BUILD_EMAIL === 'off'
      ? undefined
      : config.emailFrom
        ? new SesEmailSender(traced(emailClient()), config.emailFrom, config.sesConfigurationSet)
        : unavailable('email');
  if (!sms && config.allowedChannels.includes('sms')) throw builtWithout('sms');
  if (!email && config.allowedChannels.includes('email')) throw builtWithout('email');
  if (config.allowedChannels.includes('sms')) assertCountriesBuiltIn(config.smsAllowedCountries);
  return { sms: sms ?? unavailable('sms'), email: email ?? unavailable('email') };
}

/**
 * The build carries the phone metadata of some countries only (lib/phone-metadata.ts): an allow-list
 * widened at run time past them (the function's environment edited) would meet numbers it cannot
 * check. send-code.ts refuses those anyway; this says so at start, naming the variable.
 */
function assertCountriesBuiltIn(allowed: readonly string[] | undefined, built = checkedCountries()): void {
  if (built === undefined) return;
  const missing = allowed === undefined ? ['every country'] : allowed.filter((country) => !built.includes(country));
  if (missing.length > 0) {
    throw new ConfigError(
      'OTP_SMS_ALLOWED_COUNTRIES',
      `allows ${missing.join(', ')}, but this function was built with the phone numbers of ${built.join(', ') || 'no country'} only: deploy it again with those countries.`,
    );
  }
}

function builtWithout(channel: Channel): ConfigError {
  return new ConfigError('OTP_ALLOWED_CHANNELS', `allows ${channel}, but this function was built without its sender.`);
}

/** For a channel switched off by OTP_ALLOWED_CHANNELS: the policy check refuses it before any send. */
function unavailable(channel: string): CodeSender {
  return { send: () => Promise.reject(new Error(`no sender configured for ${channel}`)) };
}

/**
 * The configuration with its signing keys: OTP_SIGNING_KEYS, or the secret named by
 * OTP_SIGNING_KEYS_SECRET_ARN read once when the function's container starts (handlers await this at
 * module level, like withPepper). A warm container re-reads the secret after an hour, and at most
 * once a minute when a token names a key it does not know (adapters/secret-signing-keys.ts).
 */
export async function withSigningKeys<C extends OtpConfig>(config: C): Promise<C & { keyRing: KeyRing }> {
  if (config.signingKeys) return { ...config, keyRing: await staticKeyRing(config.signingKeys) };
  const vault = createSigningKeyVault(config);
  if (!vault) throw missingSigningKeys();
  try {
    return {
      ...config,
      keyRing: await readAtStartup('OTP_SIGNING_KEYS_SECRET_ARN', () => vaultKeyRing(vault, Date.now, createLogger())),
    };
  } catch (error) {
    if (error instanceof KeySetError) throw new ConfigError('OTP_SIGNING_KEYS_SECRET_ARN', error.message);
    throw error;
  }
}

/**
 * withPepper and withSigningKeys for a function that needs both (verify): the two secrets are read at
 * the same time, so a cold start waits for the slower read rather than for the two one after the other.
 */
export async function withPepperAndSigningKeys(config: OtpConfig) {
  const [peppered, signing] = await Promise.all([withPepper(config), withSigningKeys(config)]);
  return { ...peppered, keyRing: signing.keyRing };
}

/** Signs and checks access tokens with the keys of withSigningKeys. */
export function createAccessTokens(
  config: Pick<OtpConfig, 'issuer' | 'accessTokenTtlSeconds'> & { keyRing: KeyRing },
): AccessTokens {
  return new JwtAccessTokens(config.keyRing, { issuer: config.issuer, ttlSeconds: config.accessTokenTtlSeconds });
}

/** The stored key set the scheduled function rotates; undefined where keys are inline or absent. */
export function createSigningKeyVault(config: Pick<OtpConfig, 'signingKeysSecretArn'>): SigningKeyVault | undefined {
  return config.signingKeysSecretArn
    ? new SecretsManagerKeyVault(traced(secretsClient()), config.signingKeysSecretArn)
    : undefined;
}
