import { randomUUID } from 'node:crypto';
import { hashCode, hashesMatch, opaqueKey } from './codes.js';
import type { CoreDeps } from './deps.js';
import { InvalidCodeError, TargetLockedError, TooManyAttemptsError } from './errors.js';
import type { CodeRef, Customer, SessionRecord } from './ports.js';
import type { Channel, Purpose } from './purposes.js';
import { hashSessionToken, newSessionToken } from './sessions.js';
import { maskTarget, normaliseTarget } from './targets.js';
import { DAY_MS, secondsUntil } from './windows.js';

/** A run of wrong codes locks a target until a day has passed since the last one. */
const FAILURE_WINDOW_MS = DAY_MS;

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

/**
 * Checks a code: the attempt is counted before the comparison, the code is consumed with the session
 * written, and wrong codes count against the target across all its codes.
 */
export async function verifyCode(deps: CoreDeps, request: VerifyRequest): Promise<VerifyResult> {
  const { config, store } = deps;
  const target = normaliseTarget(request.target);
  const targetKey = opaqueKey(config.pepper, 'target', target.address);
  const code: CodeRef = { targetKey, purpose: request.purpose };
  // Hash the guess before touching the store so that "never sent" and "wrong code" cost the same.
  const guessHash = hashCode(config.pepper, target.address, request.purpose, request.code);
  const now = deps.now();

  const [attempt, existing, failures] = await Promise.all([
    store.recordAttempt(code, now, config.maxAttempts),
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
    code,
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
