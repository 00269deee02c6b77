import { randomUUID } from 'node:crypto';
import type { OtpConfig } from '../config.js';
import { generateCode, hashCode, hashesMatch, opaqueKey } from './codes.js';
import {
  ChannelNotAllowedError,
  DeliveryFailedError,
  InvalidCodeError,
  SessionInvalidError,
  TargetLockedError,
  TooManyAttemptsError,
} from './errors.js';
import { ipBucket } from './network.js';
import type { Customer, OtpStore, Senders, SessionRecord } from './ports.js';
import type { Channel, Purpose } from './purposes.js';
import { hashSessionToken, isWellFormedToken, newSessionToken } from './sessions.js';
import { maskTarget, normaliseTarget, type Target } from './targets.js';
import { DAY_MS, secondsUntil } from './windows.js';

/** A run of wrong codes locks a target until a day has passed since the last one. */
const FAILURE_WINDOW_MS = DAY_MS;

/** The use cases of the service. Pure apart from the injected store, senders and clock. */
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

export interface CoreDeps {
  config: CoreConfig;
  store: OtpStore;
  now: () => number;
  log: CoreLog;
}

export interface SendRequest {
  target: string;
  purpose: Purpose;
  channel?: Channel;
  sourceIp?: string;
}

export interface SendResult {
  otpType: Channel;
  expiresIn: number;
  resendAfter: number;
  /** Only in dev mode. */
  mockCode?: string;
}

export async function sendCode(deps: CoreDeps & { senders: Senders }, request: SendRequest): Promise<SendResult> {
  const { config, store } = deps;
  const target = normaliseTarget(request.target, request.channel);
  assertAllowed(config, target);

  const now = deps.now();
  const targetKey = opaqueKey(config.pepper, 'target', target.address);
  // Also refuses a target locked by too many wrong codes: it could not use a code anyway.
  await store.reserveSend({
    targetKey,
    ipKey:
      config.sendLimitPerIpPerHour > 0 && request.sourceIp
        ? opaqueKey(config.pepper, 'ip', ipBucket(request.sourceIp))
        : undefined,
    now,
    perHour: config.sendLimitPerHour,
    perDay: config.sendLimitPerDay,
    perIpPerHour: config.sendLimitPerIpPerHour,
    cooldownSeconds: config.resendCooldownSeconds,
  });

  const code = generateCode(config.codeLength);
  const codeHash = hashCode(config.pepper, target.address, request.purpose, code);
  const codeKey = codeKeyOf(targetKey, request.purpose);
  await store.saveCode({
    codeKey,
    codeHash,
    channel: target.channel,
    sentAt: now,
    expiresAt: now + config.codeTtlSeconds * 1000,
  });

  try {
    await deps.senders[target.channel].send({
      channel: target.channel,
      to: target.address,
      code,
      purpose: request.purpose,
      expiresInSeconds: config.codeTtlSeconds,
      appName: config.appName,
    });
  } catch (error) {
    // The caller is told the code is not usable, so make that true.
    await store.discardCode(codeKey, codeHash);
    deps.log.warn('code delivery failed', {
      channel: target.channel,
      target: maskTarget(target.address),
      reason: error instanceof Error ? error.name : 'unknown',
    });
    throw new DeliveryFailedError();
  }

  deps.log.info('code sent', { channel: target.channel, purpose: request.purpose, target: maskTarget(target.address) });
  return {
    otpType: target.channel,
    expiresIn: config.codeTtlSeconds,
    resendAfter: config.resendCooldownSeconds,
    ...(config.devMode ? { mockCode: code } : {}),
  };
}

export interface VerifyRequest {
  target: string;
  code: string;
  purpose: Purpose;
  name?: string;
}

export interface VerifyResult {
  verifiedTarget: string;
  otpType: Channel;
  sessionToken: string;
  expiresAt: number;
  isNew: boolean;
  customer: Customer;
  verifiedAt: number;
}

export async function verifyCode(deps: CoreDeps, request: VerifyRequest): Promise<VerifyResult> {
  const { config, store } = deps;
  const target = normaliseTarget(request.target);
  const targetKey = opaqueKey(config.pepper, 'target', target.address);
  const codeKey = codeKeyOf(targetKey, request.purpose);
  // Hash the guess before touching the store so that "never sent" and "wrong code" cost the same.
  const guessHash = hashCode(config.pepper, target.address, request.purpose, request.code);
  const now = deps.now();

  const [attempt, existing, failures] = await Promise.all([
    store.recordAttempt(codeKey, now, config.maxAttempts),
    store.findCustomer(target.address),
    store.failures(targetKey, now),
  ]);
  // Checked before any comparison; guesses already in flight can add at most a few more failures.
  if (failures.count >= config.maxFailuresPerTarget) throw new TargetLockedError(secondsUntil(now, failures.expiresAt));
  if (attempt.kind === 'exhausted') throw new TooManyAttemptsError();
  if (attempt.kind === 'missing') {
    deps.log.info('code rejected', {
      purpose: request.purpose,
      reason: 'no live code',
      target: maskTarget(target.address),
    });
    throw new InvalidCodeError();
  }
  if (!hashesMatch(attempt.codeHash, guessHash)) {
    const count = await store.recordFailure(targetKey, now, FAILURE_WINDOW_MS);
    if (count >= config.maxFailuresPerTarget) {
      await store.lockSends(targetKey, now, now + FAILURE_WINDOW_MS, config.resendCooldownSeconds);
    }
    deps.log.info('code rejected', {
      purpose: request.purpose,
      failures: failures.count + 1,
      target: maskTarget(target.address),
    });
    throw new InvalidCodeError();
  }

  const sessionToken = newSessionToken();
  const session: SessionRecord = {
    tokenHash: hashSessionToken(sessionToken),
    customerId: existing?.id ?? randomUUID(),
    target: target.address,
    channel: attempt.channel,
    purpose: request.purpose,
    issuedAt: now,
    expiresAt: now + config.sessionTtlSeconds * 1000,
  };
  const { customer, isNew } = await store.completeLogin({
    codeKey,
    codeHash: attempt.codeHash,
    now,
    session,
    isNew: !existing,
    customer: existing ?? {
      id: session.customerId,
      target: target.address,
      channel: attempt.channel,
      name: request.name?.trim() || null,
      createdAt: now,
    },
  });

  if (failures.count > 0) await store.clearFailures(targetKey);
  deps.log.info('code verified', { purpose: request.purpose, isNew, target: maskTarget(target.address) });
  return {
    verifiedTarget: target.address,
    otpType: attempt.channel,
    sessionToken,
    expiresAt: session.expiresAt,
    isNew,
    customer,
    verifiedAt: now,
  };
}

/** Valid only while unexpired and unrevoked; every failure looks the same to the caller. */
export async function checkSession(
  deps: Pick<CoreDeps, 'store' | 'now'>,
  token: string | undefined,
): Promise<SessionRecord> {
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const session = await deps.store.getSession(hashSessionToken(token));
  if (!session || session.revokedAt !== undefined || session.expiresAt <= deps.now()) {
    throw new SessionInvalidError();
  }
  return session;
}

export async function revokeSession(deps: Pick<CoreDeps, 'store' | 'now'>, token: string | undefined): Promise<void> {
  if (!token || !isWellFormedToken(token)) throw new SessionInvalidError();
  const revoked = await deps.store.revokeSession(hashSessionToken(token), deps.now());
  if (!revoked) throw new SessionInvalidError();
}

function assertAllowed(config: CoreConfig, target: Target): void {
  if (!config.allowedChannels.includes(target.channel)) {
    throw new ChannelNotAllowedError(`Codes are not sent by ${target.channel === 'sms' ? 'SMS' : 'e-mail'} here.`);
  }
  const countries = config.smsAllowedCountries;
  if (target.channel === 'sms' && countries && !(target.country && countries.includes(target.country))) {
    throw new ChannelNotAllowedError('Codes are not sent by SMS to phone numbers of this country.');
  }
}

function codeKeyOf(targetKey: string, purpose: Purpose): string {
  return `code#${targetKey}#${purpose}`;
}
