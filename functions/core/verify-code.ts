import { randomUUID } from 'node:crypto';
import { hashCode, hashesMatch, opaqueKey } from './codes.js';
import type { CoreDeps } from './deps.js';
import { channelMismatch, LINK_PURPOSES } from './customers.js';
import {
  InvalidCodeError,
  InvalidTargetError,
  NewCodeRequiredError,
  OtpError,
  SessionInvalidError,
  TargetInUseError,
  TargetLockedError,
  TooManyAttemptsError,
} from './errors.js';
import { openOtpToken } from './otp-token.js';
import { otherPeppers, targetRef } from './peppers.js';
import { newCodesNeedToken, openGuesses } from './guesses.js';
import type {
  AttemptOutcome,
  CodeRef,
  Customer,
  GuessReservationOutcome,
  LoginOrigin,
  OtpStore,
  Owner,
  RefreshIssue,
  ReservedGuess,
  SessionRecord,
  TargetRef,
} from './ports.js';
import { type Channel, DEFAULT_PURPOSE, type Purpose, REFRESHABLE_PURPOSES, STEP_UP_PURPOSES } from './purposes.js';
import { checkSession, hashSessionToken, newSessionId, newSessionToken } from './sessions.js';
import { mailboxOf, maskTarget, normaliseTarget, type Target } from './targets.js';
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
  /**
   * The session token the request came with, read only by the purposes that need the customer's own
   * session (verify-*, update-*: API.md, Purposes), so that a login ignores any session headers.
   */
  sessionToken?: () => string | undefined;
}

export interface VerifyResult {
  verifiedTarget: string;
  otpType: Channel;
  purpose: Purpose;
  isNew: boolean;
  /** The customer after this verification. */
  customer: Customer;
  now: number;
  /** The code was a client's test identity's fixed code. */
  testTarget: boolean;
  /** An SMS code: its destination country, for the operator's metrics. */
  country?: string;
  /** The session opened (login, register, step-up, reset-password); none for verify-* and update-*. */
  sessionToken?: string;
  session?: SessionRecord;
  /** For login and register: the refresh token and the end of its family's absolute lifetime. */
  refresh?: { token: string; expiresAt: number };
}

/** The part of the store a verification calls: codes, wrong-code runs, customers, logins and the breaker. */
export type VerifyStore = Pick<
  OtpStore,
  | 'recordAttempt'
  | 'releaseAttempt'
  | 'reserveGuess'
  | 'settleWrongGuess'
  | 'releaseGuess'
  | 'clearFailures'
  | 'lockSends'
  | 'bindNewCodes'
  | 'unbindNewCodes'
  | 'countSmsVerified'
  | 'getSession'
  | 'getCustomer'
  | 'findOwner'
  | 'migrateLegacyCustomer'
  | 'rekeyCustomer'
  | 'linkTarget'
  | 'completeLogin'
>;
export type VerifyDeps = CoreDeps<VerifyStore>;

/**
 * Checks a code: the attempt is counted before the comparison, the code is consumed together with
 * what it grants (a session, or a target given to the session's customer), and wrong codes count
 * against the target's mailbox across all its codes and tags.
 */
export async function verifyCode(deps: VerifyDeps, request: VerifyRequest): Promise<VerifyResult> {
  const { config, store } = deps;
  const { target: address, purpose, tokenHash, pepper: tokenPepper } = codeOf(deps, request);
  const link = LINK_PURPOSES[purpose];
  if (link && address.channel !== link.channel) throw new InvalidTargetError(channelMismatch(purpose));
  // Before any attempt is counted: a request without its session spends none of the code's attempts.
  const linkSession = link ? await checkSession(deps, request.sessionToken?.()) : undefined;
  const target: TargetRef = targetRef(config, address);
  // Wrong codes are counted, and lock sends, per mailbox (targets.ts, mailboxOf), like the send
  // limits: counted per address, each tag of one inbox (ada+1@, ada+2@, ...) would bring its own
  // budget of wrong codes, and a run spread over tags would never reach the cap that locks sends.
  // The lock is stamped on the mailbox's send counters, so no tag escapes it, and the run is kept
  // for the mailbox, so a verify of another tag is refused too. One proven code of any tag proves
  // control of the inbox and ends its run.
  const mailboxKey = opaqueKey(config.pepper, 'target', mailboxOf(address));
  const now = deps.now();

  // The guess takes its place in the mailbox's run of wrong codes in the same step as the attempt
  // on the code, before any comparison (guesses.ts): no concurrency lets more guesses be compared
  // than the run allows. A guess without an otpToken may take only the places open to any guess.
  const maxFailures = config.maxFailuresPerTarget;
  const open = openGuesses(maxFailures);
  const [counted, found, reserved] = await Promise.allSettled([
    attemptOn(deps, { address: target.address, purpose, code: request.code, now, tokenHash, tokenPepper }),
    store.findOwner(target),
    store.reserveGuess({
      mailboxKey,
      now,
      limit: tokenHash === undefined ? open : maxFailures,
      windowMs: FAILURE_WINDOW_MS,
    }),
  ]);
  if (counted.status === 'rejected' || found.status === 'rejected' || reserved.status === 'rejected') {
    // No guess was compared, so none may stay counted: the caller hears a failure (503), not an answer.
    const tried = counted.status === 'fulfilled' ? counted.value : undefined;
    await giveBack(deps, {
      attempt: tried?.attempt.kind === 'counted' ? tried.attempt : undefined,
      guess: reserved.status === 'fulfilled' && reserved.value.kind === 'reserved' ? reserved.value.guess : undefined,
      // Without a counted attempt nothing of the code is given back: the current pepper's key names it.
      code: tried?.code ?? { targetKey: opaqueKey(config.pepper, 'target', target.address), purpose },
    });
    throw [counted, found, reserved].find((step) => step.status === 'rejected')?.reason as unknown;
  }
  const [{ attempt, code, guessHash }, owner, reservation] = [counted.value, found.value, reserved.value];
  if (reservation.kind === 'refused') {
    // Not compared: the code keeps the attempt, so that a refused guess never uses up the owner's code.
    await giveBack(deps, { attempt: attempt.kind === 'counted' ? attempt : undefined, code });
    throw refusalOf(reservation, now, maxFailures);
  }
  const { guess } = reservation;
  // Past the open places: only the first try of a code that only its otpToken can try.
  const tokenOnly = reservation.place > open;
  if (attempt.kind !== 'counted' || (tokenOnly && !(attempt.requireToken && attempt.attempts === 1))) {
    // Not a guess: its place is given back, so that guessing against nothing locks nobody.
    await giveBack(deps, { attempt: attempt.kind === 'counted' ? attempt : undefined, guess, code });
    if (attempt.kind === 'exhausted') throw new TooManyAttemptsError();
    if (attempt.kind === 'missing') {
      deps.log.info('code rejected', { purpose, reason: 'no live code', target: maskTarget(target.address) });
      throw new InvalidCodeError();
    }
    throw new NewCodeRequiredError(secondsUntil(now, reservation.expiresAt));
  }
  // A test identity's code is public to app reviewers: only the client it was issued to may use it.
  // A code that gives a target to a customer is for the customer whose session asked for it.
  const foreignCode =
    (attempt.testTarget && attempt.issuedTo !== request.origin?.clientId) ||
    (linkSession !== undefined && attempt.customerId !== linkSession.customerId);
  if (foreignCode || !hashesMatch(attempt.codeHash, guessHash)) {
    // The guess was compared and was wrong: that is the answer, whatever the database does next. A
    // settle that fails leaves the place reserved (still counted against the run's cap, as a wrong
    // code is, until the run lapses), never free: the cap holds.
    let wrongCodes: number;
    try {
      wrongCodes = await store.settleWrongGuess(guess, now, FAILURE_WINDOW_MS);
    } catch (error) {
      deps.log.warn('wrong code not settled', {
        purpose,
        reason: errorName(error),
        target: maskTarget(target.address),
      });
      throw new InvalidCodeError();
    }
    if (wrongCodes >= maxFailures) {
      await store.lockSends(mailboxKey, now, now + FAILURE_WINDOW_MS, config.resendCooldownSeconds);
    } else if (newCodesNeedToken(wrongCodes, maxFailures)) {
      // Stamped where sends look anyway (send-limits.ts), so that a send learns it without a read.
      await store.bindNewCodes(mailboxKey, now, now + FAILURE_WINDOW_MS, config.resendCooldownSeconds);
    }
    deps.log.info('code rejected', { purpose, failures: wrongCodes, target: maskTarget(target.address) });
    throw new InvalidCodeError();
  }

  // The code is proven: it counts for its country's conversion (the breaker, send-code.ts) beside
  // what it grants, whatever becomes of the session write.
  const converted = attempt.sms && config.breakerMode !== 'off' ? countConversion(deps, attempt.sms) : undefined;
  const base = {
    verifiedTarget: target.address,
    otpType: attempt.channel,
    purpose,
    now,
    testTarget: attempt.testTarget,
    ...(address.country ? { country: address.country } : {}),
  };
  const grant = async (): Promise<VerifyResult> => {
    if (link && linkSession) {
      // Told only now, once the code proved control of the target: the send says nothing about it.
      if (owner && owner.customerId !== linkSession.customerId) throw new TargetInUseError();
      const own = await ownCustomerOf(deps, linkSession);
      if (owner?.legacy) await store.migrateLegacyCustomer(target, owner.legacy);
      // Keyed with the pepper before a rotation: its lookup item moves to the current key first, so
      // that the target is never held under both.
      if (owner?.previousKey !== undefined)
        await store.rekeyCustomer(target, { ...owner, previousKey: owner.previousKey });
      const customer = await store.linkTarget({
        code,
        codeHash: attempt.codeHash,
        now,
        target,
        customerId: own,
        sessionHash: linkSession.tokenHash,
        replace: link.replace,
      });
      return { ...base, isNew: false, customer };
    }
    return {
      ...base,
      ...(await openSession(deps, request, { code, target, owner, now, codeHash: attempt.codeHash })),
    };
  };
  // The right code proves control of the inbox, which ends its run (this guess's place with it),
  // whether or not this request wins the code: in parallel with the grant, so no step is added.
  // A run past its open half bound the mailbox's new codes to their tokens: that ends with it.
  const [granted, cleared] = await Promise.allSettled([
    grant(),
    Promise.all([store.clearFailures(mailboxKey), tokenOnly ? store.unbindNewCodes(mailboxKey, now) : undefined]),
  ]);
  if (granted.status === 'rejected') {
    // The grant is one transaction: it failed whole, and the code is still there. A failure of the
    // database (not a refusal) gives back the attempt and, if the run was not ended, the guess's
    // place, so that the caller's retry of the same code finds what it found this time.
    if (!(granted.reason instanceof OtpError)) {
      await giveBack(deps, { attempt, guess: cleared.status === 'rejected' ? guess : undefined, code });
    }
    throw granted.reason;
  }
  // Granted: the caller must get it. A run left behind only lapses later; the right code ended it.
  if (cleared.status === 'rejected') {
    deps.log.warn('run of wrong codes not ended', { purpose, reason: errorName(cleared.reason) });
  }
  const result = granted.value;

  await converted;
  deps.log[attempt.testTarget ? 'warn' : 'info'](attempt.testTarget ? 'test identity verified' : 'code verified', {
    purpose,
    isNew: result.isNew,
    platform: request.origin?.platform,
    target: maskTarget(target.address),
  });
  return result;
}

/**
 * Gives back what a verify counted for a guess that was not compared (refused, against nothing, or
 * cut short by the database): the code's attempt and the guess's place in its mailbox's run. Best
 * effort: the caller gets the answer of its guess either way; when the database is failing, they stay
 * counted (the attempt until the code expires, the place until the run lapses) and the log says so.
 */
async function giveBack(
  deps: VerifyDeps,
  counted: { attempt?: { codeHash: string }; guess?: ReservedGuess; code: CodeRef },
): Promise<void> {
  const { store } = deps;
  const [attempt, guess] = await Promise.allSettled([
    counted.attempt ? store.releaseAttempt(counted.code, counted.attempt.codeHash) : undefined,
    counted.guess ? store.releaseGuess(counted.guess) : undefined,
  ]);
  for (const [what, outcome] of [
    ['attempt', attempt],
    ['guess', guess],
  ] as const) {
    if (outcome.status === 'rejected') deps.log.warn(`${what} not given back`, { reason: errorName(outcome.reason) });
  }
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'unknown');

/** Counts a proven SMS code in the breaker window it was sent in; never fails the verify. */
async function countConversion(deps: VerifyDeps, sms: { country: string; sentAt: number }): Promise<void> {
  const { config } = deps;
  try {
    await deps.store.countSmsVerified({
      country: sms.country,
      at: sms.sentAt,
      windowMs: config.breakerWindowSeconds * 1000,
      shards: config.counterShards,
    });
  } catch (error) {
    deps.log.warn('conversion breaker failed', {
      country: sms.country,
      reason: error instanceof Error ? error.name : 'unknown',
    });
  }
}

/**
 * What a guess that found no place in its run reads: the target is locked (the run holds the most
 * wrong codes it may), or only new token-bound codes are compared now, or guesses in flight hold
 * every place for a moment.
 */
function refusalOf(
  refusal: Extract<GuessReservationOutcome, { kind: 'refused' }>,
  now: number,
  maxFailures: number,
): TargetLockedError | NewCodeRequiredError {
  if (refusal.wrongCodes >= maxFailures) return new TargetLockedError(secondsUntil(now, refusal.expiresAt));
  if (refusal.wrongCodes >= openGuesses(maxFailures))
    return new NewCodeRequiredError(secondsUntil(now, refusal.expiresAt));
  return new TargetLockedError(1);
}

/**
 * The id under which the session's customer is stored, moving a customer stored under its target
 * (before customers were keyed by id) first: a target is given only to a customer stored by id.
 */
async function ownCustomerOf(deps: VerifyDeps, session: SessionRecord): Promise<string> {
  if (await deps.store.getCustomer(session.customerId)) return session.customerId;
  const target = normaliseTarget(session.target);
  const ref = targetRef(deps.config, target);
  const owner = await deps.store.findOwner(ref);
  // Legacy, or moved by a login of its target since the read above: either way it is this session's.
  if (owner?.customerId === session.customerId) {
    return owner.legacy ? deps.store.migrateLegacyCustomer(ref, owner.legacy) : owner.customerId;
  }
  // The session's customer no longer exists under any key: its session cannot act for it.
  throw new SessionInvalidError();
}

/** login, register, step-up, reset-password: finds or creates the customer and opens a session. */
async function openSession(
  deps: VerifyDeps,
  request: VerifyRequest,
  found: { code: CodeRef; target: TargetRef; owner?: Owner; now: number; codeHash: string },
): Promise<Pick<VerifyResult, 'isNew' | 'customer' | 'sessionToken' | 'session' | 'refresh'>> {
  const { config } = deps;
  const { now, target } = found;
  const purpose = found.code.purpose;
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
  const newCustomer: Customer = {
    id: randomUUID(),
    email: target.channel === 'email' ? target.address : null,
    phone: target.channel === 'sms' ? target.address : null,
    keys: {},
    name: request.name?.trim() || null,
    createdAt: now,
    verifiedAt: now,
  };
  const session: SessionRecord = {
    sid: newSessionId(),
    tokenHash: hashSessionToken(sessionToken),
    customerId: found.owner?.customerId ?? newCustomer.id,
    target: target.address,
    channel: target.channel,
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
  const { customer, isNew } = await deps.store.completeLogin({
    code: found.code,
    codeHash: found.codeHash,
    now,
    target,
    session,
    refresh,
    owner: found.owner,
    newCustomer,
  });
  return {
    isNew,
    customer,
    sessionToken,
    session: { ...session, customerId: customer.id },
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
function codeOf(
  deps: VerifyDeps,
  request: VerifyRequest,
): { target: Target; purpose: Purpose; tokenHash?: string; pepper?: string } {
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
  // A token sealed before a pepper rotation opens under the pepper it was sealed with, which also
  // keyed its code: only during the rotation (core/peppers.ts).
  const { otpToken } = request;
  let pepper = config.pepper;
  let opened = openOtpToken(pepper, otpToken);
  for (const other of opened === undefined ? otherPeppers(config) : []) {
    opened = openOtpToken(other, otpToken);
    if (opened !== undefined) {
      pepper = other;
      break;
    }
  }
  if (opened === undefined) return reject('otpToken not issued here');
  const purpose = request.purpose ?? opened.purpose;
  if (purpose !== opened.purpose) reject('otpToken of another purpose');
  if (request.target !== undefined && normaliseTarget(request.target).address !== opened.target) {
    reject('otpToken of another target');
  }
  return { target: normaliseTarget(opened.target), purpose, tokenHash: opened.tokenHash, pepper };
}

/**
 * Counts the attempt on the code the request means, and hashes its guess with the pepper that code
 * was keyed with: the current one, or during a pepper rotation the one its otpToken was sealed with,
 * or (without a token) the first other pepper under which a code exists when the current finds none.
 * Outside a rotation one conditional write, as before; during one, one more per other pepper, and
 * only for a guess the current pepper finds no code for.
 */
async function attemptOn(
  deps: VerifyDeps,
  request: { address: string; purpose: Purpose; code: string; now: number; tokenHash?: string; tokenPepper?: string },
): Promise<{ attempt: AttemptOutcome; code: CodeRef; guessHash: string }> {
  const { config, store } = deps;
  const peppers = request.tokenPepper === undefined ? [config.pepper, ...otherPeppers(config)] : [request.tokenPepper];
  let tried: { attempt: AttemptOutcome; code: CodeRef; guessHash: string } | undefined;
  for (const pepper of peppers) {
    const code: CodeRef = { targetKey: opaqueKey(pepper, 'target', request.address), purpose: request.purpose };
    // Hashed before the store is touched, so that "never sent" and "wrong code" cost the same.
    const guessHash = hashCode(pepper, request.address, request.purpose, request.code);
    const attempt = await store.recordAttempt(code, request.now, config.maxAttempts, request.tokenHash);
    tried ??= { attempt, code, guessHash };
    if (attempt.kind !== 'missing') return { attempt, code, guessHash };
  }
  // Nothing under any pepper: answered as the current pepper's miss.
  return tried as { attempt: AttemptOutcome; code: CodeRef; guessHash: string };
}
