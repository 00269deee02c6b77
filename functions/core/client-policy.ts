import type { CoreConfig } from './deps.js';
import type { Channel } from './purposes.js';

/** How much a client's integration is trusted to have checked the customer already (Zupy's presets). */
export const TRUST_LEVELS = ['strict', 'relaxed', 'trusted'] as const;
export type Trust = (typeof TRUST_LEVELS)[number];

/** What `relaxed` leaves without an OTP unless the policy names its own `otpOptional`. */
export const RELAXED_OPTIONAL_DEFAULT: readonly string[] = ['enroll'];

/** An action name as `?action=` and the policy lists carry it. */
export const ACTION_PATTERN = /^[a-z0-9._-]{1,64}$/;

export interface TestTarget {
  /** Normalised, as the service stores targets. */
  target: string;
  code: string;
}

/**
 * A client's own rules (API.md, "Client policy"). Every field is optional; a missing one takes the
 * deployment's value. Channels and SMS countries can only narrow what the deployment allows.
 */
export interface ClientPolicy {
  codeLength?: number;
  codeTtlSeconds?: number;
  maxAttempts?: number;
  sendLimitPerHour?: number;
  sendLimitPerDay?: number;
  resendCooldownSeconds?: number;
  /** This client's own SMS per UTC hour, and per destination country per hour (its own counters). */
  smsLimitPerHour?: number;
  smsLimitPerCountryPerHour?: number;
  /** A lower cap on SMS per number block per hour for this client's sends (the block's count is shared). */
  smsLimitPerPrefixPerHour?: number;
  channels?: Channel[];
  smsCountries?: string[];
  sessionTtlSeconds?: number;
  stepUpTtlSeconds?: number;
  refreshTtlSeconds?: number;
  requireOtpToken?: boolean;
  trust?: Trust;
  otpRequiredFor?: string[];
  otpOptional?: string[];
  testTargets?: TestTarget[];
  webOtpDomain?: string;
  androidAppHash?: string;
}

/** What a policy adds to the deployment's settings. */
export interface PolicyExtras {
  requireOtpToken: boolean;
  testTargets: readonly TestTarget[];
  /** The client's own caps on its SMS (0: none), besides the deployment's. */
  clientSmsLimitPerHour: number;
  clientSmsLimitPerCountryPerHour: number;
  /** Lines that let a phone fill the code in by itself (core/messages.ts, smsText). */
  webOtpDomain?: string;
  androidAppHash?: string;
}

/** What a request runs under: the deployment's settings with the calling client's policy applied. */
export type EffectiveConfig = CoreConfig & PolicyExtras;

/** The settings a policy can apply to: all of CoreConfig but the peppers, which some functions never hold. */
export type PolicyScope = Omit<CoreConfig, 'pepper' | 'previousPepper' | 'nextPepper'>;

/** The deployment's settings as one client's calls see them; `policy` undefined for anonymous calls. */
export function effectiveConfig<C extends PolicyScope>(config: C, policy: ClientPolicy | undefined): C & PolicyExtras {
  const p = policy ?? {};
  return {
    ...config,
    codeLength: p.codeLength ?? config.codeLength,
    codeTtlSeconds: p.codeTtlSeconds ?? config.codeTtlSeconds,
    maxAttempts: p.maxAttempts ?? config.maxAttempts,
    sendLimitPerHour: p.sendLimitPerHour ?? config.sendLimitPerHour,
    sendLimitPerDay: p.sendLimitPerDay ?? config.sendLimitPerDay,
    resendCooldownSeconds: p.resendCooldownSeconds ?? config.resendCooldownSeconds,
    // Lower only: a client cannot lift the deployment's cap on a number block.
    smsLimitPerPrefixPerHour: lowerCap(config.smsLimitPerPrefixPerHour, p.smsLimitPerPrefixPerHour),
    clientSmsLimitPerHour: p.smsLimitPerHour ?? 0,
    clientSmsLimitPerCountryPerHour: p.smsLimitPerCountryPerHour ?? 0,
    sessionTtlSeconds: p.sessionTtlSeconds ?? config.sessionTtlSeconds,
    stepUpTtlSeconds: stepUpSeconds(config, policy),
    refreshTtlSeconds: p.refreshTtlSeconds ?? config.refreshTtlSeconds,
    // A policy narrows channels and countries; it never opens what the deployment closed.
    allowedChannels: p.channels
      ? config.allowedChannels.filter((channel) => p.channels?.includes(channel))
      : config.allowedChannels,
    smsAllowedCountries: p.smsCountries
      ? (config.smsAllowedCountries?.filter((country) => p.smsCountries?.includes(country)) ?? p.smsCountries)
      : config.smsAllowedCountries,
    requireOtpToken: p.requireOtpToken ?? false,
    testTargets: p.testTargets ?? [],
    ...(p.webOtpDomain ? { webOtpDomain: p.webOtpDomain } : {}),
    ...(p.androidAppHash ? { androidAppHash: p.androidAppHash } : {}),
  };
}

/** The lower of two caps, where 0 means no cap. */
function lowerCap(deployment: number, client: number | undefined): number {
  if (client === undefined || client === 0) return deployment;
  return deployment === 0 ? client : Math.min(deployment, client);
}

/** The step-up window of a client's calls: how recent an OTP must be for an action that needs one. */
export function stepUpSeconds(config: Pick<CoreConfig, 'stepUpTtlSeconds'>, policy: ClientPolicy | undefined): number {
  return policy?.stepUpTtlSeconds ?? config.stepUpTtlSeconds;
}

/**
 * Whether the policy wants a fresh OTP before `action`: the lists name actions that override the
 * preset; `strict` (the default, as for an unknown partner) requires one for every other action,
 * `relaxed` for every action but those in `otpOptional`, `trusted` for none.
 */
export function otpRequired(policy: ClientPolicy | undefined, action: string): boolean {
  const trust = policy?.trust ?? 'strict';
  if (policy?.otpRequiredFor?.includes(action)) return true;
  const optional = policy?.otpOptional ?? (trust === 'relaxed' ? RELAXED_OPTIONAL_DEFAULT : []);
  if (optional.includes(action)) return false;
  return trust !== 'trusted';
}

/**
 * A fixed code anyone would try first: all zeros or one repeated digit, 123456 and other straight
 * runs up or down (wrapping 9 to 0 or not), and a repeated pair or triple such as 121212 or 123123.
 */
export function isGuessableCode(code: string): boolean {
  const digits = [...code].map(Number);
  const steps = new Set(digits.slice(1).map((digit, i) => (digit - (digits[i] as number) + 10) % 10));
  if (steps.size === 1 && [0, 1, 9].includes([...steps][0] as number)) return true;
  for (const period of [2, 3]) {
    if (code.length % period === 0 && code === code.slice(0, period).repeat(code.length / period)) return true;
  }
  return false;
}

/** The fixed code of a test identity, when `target` (normalised) is one of the policy's. */
export function testCodeFor(config: EffectiveConfig, target: string): string | undefined {
  return config.testTargets.find((test) => test.target === target && test.code.length === config.codeLength)?.code;
}
