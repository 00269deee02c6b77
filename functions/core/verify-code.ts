import { randomUUID } from 'node:crypto';
import { hashCode, hashesMatch, opaqueKey } from './codes.js';
import type { CoreDeps } from './deps.js';
import { InvalidCodeError, InvalidTargetError, TargetLockedError, TooManyAttemptsError } from './errors.js';
import { openOtpToken } from './otp-token.js';
import type { CodeRef, Customer, LoginOrigin, RefreshIssue, SessionRecord } from './ports.js';
import { type Channel, DEFAULT_PURPOSE, type Purpose, REFRESHABLE_PURPOSES, STEP_UP_PURPOSES } from './purposes.js';
import { hashSessionToken, newSessionId, newSessionToken } from './sessions.js';
import { maskTarget, normaliseTarget, type Target } from './targets.js';
import { DAY_MS, secondsUntil } from './windows.js';

/** A run of wrong codes locks a target until a day has passed since the last one. */
const FAILURE_WINDOW_MS = DAY_MS;

export interface VerifyRequest {
  /** At least one of target and otpToken; when both come they must belong together. */
  target?: string;
  otpToken?: string;
  code: string;
  /** Defaults to the token's purpose, or login. */
  purpose?: Purpose;
  name?: string;
  /** Where the call came from, recorded on the session and the customer. */
  origin?: LoginOrigin;
}

export interface VerifyResult {
  verifiedTarget: string;
  otpType: Channel;
  sessionToken: string;
  expiresAt: number;
  isNew: boolean;
  customer: Customer;
  verifiedAt: number;
  /** The code was a client's test identity's fixed code. */
  testTarget: boolean;
  /** For login and register: the refresh token and the end of its family's absolute lifetime. */
  refresh?: { token: string; expiresAt: number };
}

/**
 * Checks a code: the attempt is counted before the comparison, the code is consumed with the session
 * written, and wrong codes count against the target across all its codes.
 */
export async function verifyCode(deps: CoreDeps, request: VerifyRequest): Promise<VerifyResult> {
  const { config, store } = deps;
  const { target, purpose, tokenHash } = codeOf(deps, request);
  const targetKey = opaqueKey(config.pepper, 'target', target.address);
  const code: CodeRef = { targetKey, purpose };
  // Hash the guess before touching the store so that "never sent" and "wrong code" cost the same.
  const guessHash = hashCode(config.pepper, target.address, purpose, request.code);
  const now = deps.now();

  const [attempt, existing, failures] = await Promise.all([
    store.recordAttempt(code, now, config.maxAttempts, tokenHash),
    store.findCustomer(target.address),
    store.failures(targetKey, now),
  ]);
  // Checked before any comparison; guesses already in flight can add at most a few more failures.
  if (failures.count >= config.maxFailuresPerTarget) throw new TargetLockedError(secondsUntil(now, failures.expiresAt));
  if (attempt.kind === 'exhausted') throw new TooManyAttemptsError();
  if (attempt.kind === 'missing') {
    deps.log.info('code rejected', {
      purpose,
      reason: 'no live code',
      target: maskTarget(target.address),
    });
    throw new InvalidCodeError();
  }
  // A test identity's code is public to app reviewers: only the client it was issued to may use it.
  const foreignTestCode = attempt.testTarget && attempt.issuedTo !== request.origin?.clientId;
  if (foreignTestCode || !hashesMatch(attempt.codeHash, guessHash)) {
    const count = await store.recordFailure(targetKey, now, FAILURE_WINDOW_MS);
    if (count >= config.maxFailuresPerTarget) {
      await store.lockSends(targetKey, now, now + FAILURE_WINDOW_MS, config.resendCooldownSeconds);
    }
    deps.log.info('code rejected', {
      purpose,
      failures: failures.count + 1,
      target: maskTarget(target.address),
    });
    throw new InvalidCodeError();
  }

  const sessionToken = newSessionToken();
  const refreshToken = REFRESHABLE_PURPOSES.includes(purpose) ? newSessionToken() : undefined;
  const refresh: RefreshIssue | undefined =
    refreshToken === undefined
      ? undefined
      : {
          tokenHash: hashSessionToken(refreshToken),
          absoluteExpiresAt: now + config.refreshTtlSeconds * 1000,
          idleUntil: now + config.refreshIdleSeconds * 1000,
          sessionTtlSeconds: config.sessionTtlSeconds,
        };
  const session: SessionRecord = {
    sid: newSessionId(),
    tokenHash: hashSessionToken(sessionToken),
    customerId: existing?.id ?? randomUUID(),
    target: target.address,
    channel: attempt.channel,
    purpose,
    issuedAt: now,
    authTime: now,
    // A step-up session is short (the step-up window); a session never outlives its refresh family.
    expiresAt: Math.min(
      now + (STEP_UP_PURPOSES.includes(purpose) ? config.stepUpTtlSeconds : config.sessionTtlSeconds) * 1000,
      refresh?.absoluteExpiresAt ?? Number.POSITIVE_INFINITY,
    ),
    origin: request.origin ?? {},
  };
  const { customer, isNew } = await store.completeLogin({
    code,
    codeHash: attempt.codeHash,
    now,
    session,
    refresh,
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
  deps.log[attempt.testTarget ? 'warn' : 'info'](attempt.testTarget ? 'test identity verified' : 'code verified', {
    purpose,
    isNew,
    platform: request.origin?.platform,
    target: maskTarget(target.address),
  });
  return {
    verifiedTarget: target.address,
    otpType: attempt.channel,
    sessionToken,
    expiresAt: session.expiresAt,
    isNew,
    customer,
    verifiedAt: now,
    testTarget: attempt.testTarget,
    ...(refresh && refreshToken !== undefined
      ? { refresh: { token: refreshToken, expiresAt: refresh.absoluteExpiresAt } }
      : {}),
  };
}

/**
 * Which code the request means: by its target, by the send's otpToken, or by both when they agree.
 * A token that does not open, or that names another target or purpose, and a missing token where the
 * client requires one, are answered exactly like a wrong code.
 */
function codeOf(deps: CoreDeps, request: VerifyRequest): { target: Target; purpose: Purpose; tokenHash?: string } {
  const { config } = deps;
  const reject = (reason: string): never => {
    deps.log.info('code rejected', { reason });
    throw new InvalidCodeError();
  };
  if (request.otpToken === undefined) {
    if (config.requireOtpToken) reject('otpToken missing where the client requires it');
    if (request.target === undefined) throw new InvalidTargetError('Send the target or the otpToken of the send.');
    return { target: normaliseTarget(request.target), purpose: request.purpose ?? DEFAULT_PURPOSE };
  }
  const opened = openOtpToken(config.pepper, request.otpToken) ?? reject('otpToken not issued here');
  const purpose = request.purpose ?? opened.purpose;
  if (purpose !== opened.purpose) reject('otpToken of another purpose');
  if (request.target !== undefined && normaliseTarget(request.target).address !== opened.target) {
    reject('otpToken of another target');
  }
  return { target: normaliseTarget(opened.target), purpose, tokenHash: opened.tokenHash };
}
