import type { OtpConfig } from '../config.js';
import type { OtpStore, Senders } from './ports.js';

/** The settings the use cases read. */
export type CoreConfig = { pepper: string } & Pick<
  OtpConfig,
  | 'codeLength'
  | 'codeTtlSeconds'
  | 'maxAttempts'
  | 'sendLimitPerHour'
  | 'sendLimitPerDay'
  | 'resendCooldownSeconds'
  | 'sendLimitPerIpPerHour'
  | 'sessionTtlSeconds'
  | 'stepUpTtlSeconds'
  | 'refreshTtlSeconds'
  | 'maxFailuresPerTarget'
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

/** What every use case is given: pure apart from these. */
export interface CoreDeps {
  config: CoreConfig;
  store: OtpStore;
  now: () => number;
  log: CoreLog;
}

export type SendDeps = CoreDeps & { senders: Senders };
