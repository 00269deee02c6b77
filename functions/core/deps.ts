import type { OtpConfig } from '../config.js';
import type { AccessTokens } from './access-tokens.js';
import type { EffectiveConfig } from './client-policy.js';
import type { ClientDirectory } from './clients.js';
import type { Peppers, PepperSource } from './peppers.js';
import type { OtpStore, Senders } from './ports.js';

/** The settings the use cases read. */
export type CoreConfig = Peppers &
  Pick<
    OtpConfig,
    | 'codeLength'
    | 'codeTtlSeconds'
    | 'maxAttempts'
    | 'sendLimitPerHour'
    | 'sendLimitPerDay'
    | 'resendCooldownSeconds'
    | 'sendLimitPerIpPerHour'
    | 'sessionTtlSeconds'
    | 'requireApiKey'
    | 'stepUpTtlSeconds'
    | 'refreshTtlSeconds'
    | 'refreshIdleSeconds'
    | 'maxFailuresPerTarget'
    | 'smsLimitPerCountryPerHour'
    | 'smsLimitPerPrefixPerHour'
    | 'smsLimitPerHour'
    | 'breakerMode'
    | 'breakerMinSends'
    | 'breakerMinConversion'
    | 'breakerWindowSeconds'
    | 'breakerPauseSeconds'
    | 'counterShards'
    | 'devMode'
    | 'allowedChannels'
    | 'smsAllowedCountries'
    | 'appName'
  >;

/** Structured log sink; the core only ever hands it masked targets and opaque keys. */
export interface CoreLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

/**
 * What every use case is given: pure apart from these. Each use case names the part of the store it
 * calls (`CoreDeps<Pick<OtpStore, ...>>`), so that a function is built with only the store modules
 * its use cases need (functions/wiring.ts); the whole store satisfies every such part.
 */
export interface CoreDeps<Store = OtpStore> {
  /** The deployment's settings with the calling client's policy applied (client-policy.ts). */
  config: EffectiveConfig;
  store: Store;
  now: () => number;
  log: CoreLog;
}

export type SendDeps<Store = OtpStore> = CoreDeps<Store> & { senders: Senders };

/**
 * The part of the store a use case calls, read from its first parameter: a handler's store is the
 * intersection of those of the use cases it calls, so that it grows with them.
 */
export type StoreOf<UseCase extends (...args: never[]) => unknown> = Parameters<UseCase>[0] extends {
  store: infer Store;
}
  ? Store
  : never;

/**
 * What an API handler is given: the deployment's settings (each call runs under them with its
 * client's policy applied) and the directory that says who is calling.
 */
export interface ApiDeps<Store = OtpStore> {
  config: CoreConfig;
  /** The peppers as they are now, when they can change under a running container (a rotation). */
  peppers?: PepperSource;
  store: Store;
  now: () => number;
  clients: ClientDirectory;
}

export type SendApiDeps<Store = OtpStore> = ApiDeps<Store> & { senders: Senders };

/** What the handlers that open sessions (verify, refresh) are given besides: a signer of access tokens. */
export type TokenIssuingDeps = { accessTokens: AccessTokens };
