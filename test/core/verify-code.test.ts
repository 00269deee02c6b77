/**
 * verifyCode on a scripted store: which store calls a verify makes, in which cases, with what, and
 * what the caller reads. The store's own conditions (one session per code, the run's cap under
 * concurrency) are tested on DynamoDB Local (verify-code.integration.test.ts, guesses.integration.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { effectiveConfig } from '../../functions/core/client-policy.js';
import { hashCode, opaqueKey } from '../../functions/core/codes.js';
import type { CoreDeps } from '../../functions/core/deps.js';
import {
  InvalidCodeError,
  InvalidTargetError,
  NewCodeRequiredError,
  SessionInvalidError,
  TargetInUseError,
  TargetLockedError,
  TooManyAttemptsError,
} from '../../functions/core/errors.js';
import { issueOtpToken } from '../../functions/core/otp-token.js';
import type {
  AttemptOutcome,
  CodeRef,
  Customer,
  GuessReservationOutcome,
  LoginCompletion,
  OtpStore,
  Owner,
  SessionRecord,
  TargetLink,
} from '../../functions/core/ports.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { hashSessionToken, isWellFormedToken, newSessionToken } from '../../functions/core/sessions.js';
import { type VerifyRequest, verifyCode } from '../../functions/core/verify-code.js';
import { DAY_MS } from '../../functions/core/windows.js';
import { PEPPER, testConfig } from '../kit.js';

const NOW = Date.UTC(2036, 0, 1, 12, 0, 0);
const PHONE = '+14155550123';
const EMAIL = 'ada@example.com';
const CODE = '123456';
const OTHER_PEPPER = 'o'.repeat(40);
/** Ten wrong codes lock a mailbox; the first five places of a run are open to any guess. */
const MAX_FAILURES = 10;
const RUN = { mailboxKey: opaqueKey(PEPPER, 'target', PHONE), run: 'run-1' };

type Call = [string, ...unknown[]];
type Behaviour = (...args: any[]) => unknown;

function counted(overrides: Partial<Extract<AttemptOutcome, { kind: 'counted' }>> = {}): AttemptOutcome {
  return {
    kind: 'counted',
    codeHash: hashCode(PEPPER, PHONE, 'login', CODE),
    channel: 'sms',
    testTarget: false,
    attempts: 1,
    requireToken: false,
    ...overrides,
  };
}

function reserved(place = 1): GuessReservationOutcome {
  return { kind: 'reserved', guess: RUN, place, expiresAt: NOW + DAY_MS };
}

function customerOf(login: LoginCompletion): Customer {
  return { ...login.newCustomer, id: login.owner?.customerId ?? login.newCustomer.id };
}

/** A store that answers a right first guess at a code of PHONE, unless told otherwise; it records every call. */
function setUp(behaviours: Partial<Record<keyof OtpStore, Behaviour>> = {}, overrides: Record<string, unknown> = {}) {
  const calls: Call[] = [];
  const logs: [string, string, Record<string, unknown>][] = [];
  const defaults: Partial<Record<keyof OtpStore, Behaviour>> = {
    recordAttempt: () => counted(),
    findOwner: () => undefined,
    reserveGuess: () => reserved(),
    settleWrongGuess: () => 1,
    completeLogin: (login: LoginCompletion) => ({ customer: customerOf(login), isNew: login.owner === undefined }),
    clearFailures: () => undefined,
    unbindNewCodes: () => undefined,
    releaseAttempt: () => undefined,
    releaseGuess: () => undefined,
    lockSends: () => undefined,
    bindNewCodes: () => undefined,
    countSmsVerified: () => undefined,
  };
  const all = { ...defaults, ...behaviours };
  const store = new Proxy({} as OtpStore, {
    get:
      (_, method: string) =>
      (...args: unknown[]) => {
        calls.push([method, ...args]);
        const behaviour = all[method as keyof OtpStore];
        if (!behaviour) return Promise.reject(new Error(`${method} must not be called`));
        // A behaviour that throws stands for a request that failed.
        return new Promise((resolve) => resolve(behaviour(...args)));
      },
  });
  const deps: CoreDeps = {
    config: { ...effectiveConfig(testConfig(), undefined), maxFailuresPerTarget: MAX_FAILURES, ...overrides },
    store,
    now: () => NOW,
    log: {
      info: (message, attributes) => logs.push(['info', message, attributes]),
      warn: (message, attributes) => logs.push(['warn', message, attributes]),
    },
  };
  const called = (method: string) => calls.filter(([name]) => name === method).map(([, ...args]) => args);
  return { deps, calls, logs, called };
}

const login = (extra: Partial<VerifyRequest> = {}): VerifyRequest => ({ target: PHONE, code: CODE, ...extra });

describe('verifyCode: a right code', () => {
  it('opens a login session with a refresh token, creates the customer and ends the run of wrong codes', async () => {
    const { deps, called, logs } = setUp();
    const result = await verifyCode(deps, login({ name: '  Ada ', origin: { clientId: 'kiosk', platform: 'ios' } }));
    const [completion] = called('completeLogin')[0] as [LoginCompletion];
    expect(completion.code).toEqual({ targetKey: opaqueKey(PEPPER, 'target', PHONE), purpose: 'login' });
    expect(completion.codeHash).toBe(hashCode(PEPPER, PHONE, 'login', CODE));
    expect(completion.now).toBe(NOW);
    expect(completion.owner).toBeUndefined();
    expect(completion.newCustomer).toMatchObject({
      email: null,
      phone: PHONE,
      name: 'Ada',
      createdAt: NOW,
      verifiedAt: NOW,
    });
    expect(completion.session).toMatchObject({
      customerId: completion.newCustomer.id,
      target: PHONE,
      channel: 'sms',
      purpose: 'login',
      issuedAt: NOW,
      authTime: NOW,
      expiresAt: NOW + deps.config.sessionTtlSeconds * 1000,
      origin: { clientId: 'kiosk', platform: 'ios' },
    });
    expect(completion.refresh).toEqual({
      tokenHash: hashSessionToken(result.refresh?.token ?? ''),
      absoluteExpiresAt: NOW + deps.config.refreshTtlSeconds * 1000,
      idleUntil: NOW + deps.config.refreshIdleSeconds * 1000,
      sessionTtlSeconds: deps.config.sessionTtlSeconds,
    });
    expect(result).toMatchObject({
      verifiedTarget: PHONE,
      otpType: 'sms',
      purpose: 'login',
      now: NOW,
      testTarget: false,
      country: 'US',
      isNew: true,
      refresh: { expiresAt: NOW + deps.config.refreshTtlSeconds * 1000 },
    });
    expect(isWellFormedToken(result.sessionToken ?? '')).toBe(true);
    expect(result.session?.tokenHash).toBe(hashSessionToken(result.sessionToken ?? ''));
    expect(result.refresh?.token).not.toBe(result.sessionToken);
    expect(called('clearFailures')).toEqual([[RUN.mailboxKey]]);
    expect(called('unbindNewCodes')).toEqual([]);
    expect(called('releaseAttempt')).toEqual([]);
    expect(logs.filter(([level]) => level === 'warn')).toEqual([]);
    expect(logs).toContainEqual([
      'info',
      'code verified',
      { purpose: 'login', isNew: true, platform: 'ios', target: expect.any(String) },
    ]);
  });

  it('logs in the customer who owns the target, with no name where none was given', async () => {
    const { deps, called } = setUp({ findOwner: () => ({ customerId: 'cust-1' }) });
    const result = await verifyCode(deps, login({ name: '   ' }));
    const [completion] = called('completeLogin')[0] as [LoginCompletion];
    expect(completion.owner).toEqual({ customerId: 'cust-1' });
    expect(completion.session.customerId).toBe('cust-1');
    expect(completion.newCustomer.name).toBeNull();
    expect(result.isNew).toBe(false);
    expect(result.session?.customerId).toBe('cust-1');
  });

  it('opens a short step-up session without a refresh token', async () => {
    const { deps, called } = setUp({
      recordAttempt: () => counted({ codeHash: hashCode(PEPPER, PHONE, 'step-up', CODE) }),
    });
    const result = await verifyCode(deps, login({ purpose: 'step-up' }));
    const [completion] = called('completeLogin')[0] as [LoginCompletion];
    expect(completion.refresh).toBeUndefined();
    expect(completion.session.expiresAt).toBe(NOW + deps.config.stepUpTtlSeconds * 1000);
    expect(result).not.toHaveProperty('refresh');
  });

  it('never opens a session that outlives its refresh family', async () => {
    const { deps, called } = setUp({}, { refreshTtlSeconds: 60, sessionTtlSeconds: 3600 });
    await verifyCode(deps, login());
    const [completion] = called('completeLogin')[0] as [LoginCompletion];
    expect(completion.session.expiresAt).toBe(NOW + 60_000);
  });

  it('creates the customer of an e-mail target with its address, and says no country', async () => {
    const { deps, called } = setUp({
      recordAttempt: () => counted({ channel: 'email', codeHash: hashCode(PEPPER, EMAIL, 'login', CODE) }),
    });
    const result = await verifyCode(deps, login({ target: EMAIL }));
    const [completion] = called('completeLogin')[0] as [LoginCompletion];
    expect(completion.newCustomer).toMatchObject({ email: EMAIL, phone: null });
    expect(result.otpType).toBe('email');
    expect(result).not.toHaveProperty('country');
  });

  it("counts an SMS code for its country's conversion, in the window it was sent in", async () => {
    const { deps, called } = setUp({
      recordAttempt: () => counted({ sms: { country: 'US', sentAt: NOW - 1000 } }),
    });
    await verifyCode(deps, login());
    expect(called('countSmsVerified')).toEqual([
      [
        {
          country: 'US',
          at: NOW - 1000,
          windowMs: deps.config.breakerWindowSeconds * 1000,
          shards: deps.config.counterShards,
        },
      ],
    ]);
  });

  it('verifies all the same when the conversion cannot be counted, and counts none with the breaker off', async () => {
    const failing = setUp({
      recordAttempt: () => counted({ sms: { country: 'US', sentAt: NOW } }),
      countSmsVerified: () => {
        throw new RangeError('throttled');
      },
    });
    await expect(verifyCode(failing.deps, login())).resolves.toHaveProperty('isNew', true);
    expect(failing.logs).toContainEqual(['warn', 'conversion breaker failed', { country: 'US', reason: 'RangeError' }]);
    const off = setUp(
      { recordAttempt: () => counted({ sms: { country: 'US', sentAt: NOW } }) },
      { breakerMode: 'off' },
    );
    await verifyCode(off.deps, login());
    expect(off.called('countSmsVerified')).toEqual([]);
  });

  it('is granted even when the run of wrong codes could not be ended, and says so', async () => {
    const { deps, logs } = setUp({
      clearFailures: () => {
        throw new RangeError('throttled');
      },
    });
    await expect(verifyCode(deps, login())).resolves.toHaveProperty('isNew', true);
    expect(logs).toContainEqual(['warn', 'run of wrong codes not ended', { purpose: 'login', reason: 'RangeError' }]);
  });

  it("warns about a test identity's code, used by the client it was issued to", async () => {
    const { deps, logs } = setUp({ recordAttempt: () => counted({ testTarget: true, issuedTo: 'kiosk' }) });
    const result = await verifyCode(deps, login({ origin: { clientId: 'kiosk' } }));
    expect(result.testTarget).toBe(true);
    expect(logs.map(([level, message]) => [level, message])).toContainEqual(['warn', 'test identity verified']);
  });
});

describe('verifyCode: a wrong code', () => {
  it('settles the guess in the run and answers invalid-code, with nothing given back', async () => {
    const { deps, called, logs } = setUp({ settleWrongGuess: () => 1 });
    await expect(verifyCode(deps, login({ code: '000000' }))).rejects.toBeInstanceOf(InvalidCodeError);
    expect(called('reserveGuess')).toEqual([[{ mailboxKey: RUN.mailboxKey, now: NOW, limit: 5, windowMs: DAY_MS }]]);
    expect(called('settleWrongGuess')).toEqual([[RUN, NOW, DAY_MS]]);
    expect(called('lockSends')).toEqual([]);
    expect(called('bindNewCodes')).toEqual([]);
    expect(called('releaseAttempt')).toEqual([]);
    expect(called('releaseGuess')).toEqual([]);
    expect(called('completeLogin')).toEqual([]);
    expect(logs).toContainEqual([
      'info',
      'code rejected',
      { purpose: 'login', failures: 1, target: expect.any(String) },
    ]);
  });

  it('binds the next codes of the mailbox to their otpToken from the first wrong code past the open half', async () => {
    for (const [wrongCodes, binds] of [
      [4, false],
      [5, true],
      [9, true],
    ] as const) {
      const { deps, called } = setUp({ settleWrongGuess: () => wrongCodes });
      await expect(verifyCode(deps, login({ code: '000000' }))).rejects.toBeInstanceOf(InvalidCodeError);
      expect(called('bindNewCodes')).toEqual(
        binds ? [[RUN.mailboxKey, NOW, NOW + DAY_MS, deps.config.resendCooldownSeconds]] : [],
      );
      expect(called('lockSends')).toEqual([]);
    }
  });

  it("locks the mailbox's sends for a day at the last wrong code of the budget", async () => {
    const { deps, called } = setUp({ settleWrongGuess: () => MAX_FAILURES });
    await expect(verifyCode(deps, login({ code: '000000' }))).rejects.toBeInstanceOf(InvalidCodeError);
    expect(called('lockSends')).toEqual([[RUN.mailboxKey, NOW, NOW + DAY_MS, deps.config.resendCooldownSeconds]]);
    expect(called('bindNewCodes')).toEqual([]);
  });

  it('answers invalid-code when the wrong guess could not be settled, and says so', async () => {
    const { deps, logs, called } = setUp({
      settleWrongGuess: () => {
        throw new RangeError('throttled');
      },
    });
    await expect(verifyCode(deps, login({ code: '000000' }))).rejects.toBeInstanceOf(InvalidCodeError);
    expect(logs).toContainEqual([
      'warn',
      'wrong code not settled',
      { purpose: 'login', reason: 'RangeError', target: expect.any(String) },
    ]);
    expect(called('lockSends')).toEqual([]);
  });

  it("compares a test identity's code only for the client it was issued to", async () => {
    const { deps, called } = setUp({ recordAttempt: () => counted({ testTarget: true, issuedTo: 'kiosk' }) });
    await expect(verifyCode(deps, login({ origin: { clientId: 'pos' } }))).rejects.toBeInstanceOf(InvalidCodeError);
    expect(called('settleWrongGuess')).toHaveLength(1);
    expect(called('completeLogin')).toEqual([]);
  });
});

describe("verifyCode: a test identity's code without a client", () => {
  it('is compared as a wrong code', async () => {
    const { deps } = setUp({ recordAttempt: () => counted({ testTarget: true, issuedTo: 'kiosk' }) });
    await expect(verifyCode(deps, login())).rejects.toBeInstanceOf(InvalidCodeError);
  });
});

describe('verifyCode: a guess that is not compared', () => {
  it('answers invalid-code for no live code, giving back its place but no attempt', async () => {
    const { deps, called, logs } = setUp({ recordAttempt: () => ({ kind: 'missing' }) });
    await expect(verifyCode(deps, login())).rejects.toBeInstanceOf(InvalidCodeError);
    expect(called('releaseGuess')).toEqual([[RUN]]);
    expect(called('releaseAttempt')).toEqual([]);
    expect(called('settleWrongGuess')).toEqual([]);
    expect(logs.filter(([level]) => level === 'warn')).toEqual([]);
    expect(logs).toContainEqual([
      'info',
      'code rejected',
      { purpose: 'login', reason: 'no live code', target: expect.any(String) },
    ]);
  });

  it('answers too-many-attempts for a code out of attempts', async () => {
    const { deps, called } = setUp({ recordAttempt: () => ({ kind: 'exhausted' }) });
    await expect(verifyCode(deps, login())).rejects.toBeInstanceOf(TooManyAttemptsError);
    expect(called('releaseGuess')).toEqual([[RUN]]);
  });

  it('past the open places, compares only the first try of a token-bound code', async () => {
    const code = (attempt: AttemptOutcome) => setUp({ reserveGuess: () => reserved(6), recordAttempt: () => attempt });
    for (const attempt of [counted({ requireToken: false }), counted({ requireToken: true, attempts: 2 })]) {
      const { deps, called } = code(attempt);
      const refused = await verifyCode(deps, login()).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(NewCodeRequiredError);
      expect((refused as NewCodeRequiredError).retryAfterSeconds).toBe(DAY_MS / 1000);
      expect(called('releaseGuess')).toEqual([[RUN]]);
      expect(called('releaseAttempt')).toEqual([
        [{ targetKey: RUN.mailboxKey, purpose: 'login' }, hashCode(PEPPER, PHONE, 'login', CODE)],
      ]);
    }
    const first = code(counted({ requireToken: true, attempts: 1 }));
    await expect(verifyCode(first.deps, login())).resolves.toHaveProperty('isNew', true);
    expect(first.called('unbindNewCodes')).toEqual([[RUN.mailboxKey, NOW]]);
  });

  it('at the last open place, compares any guess', async () => {
    const { deps, called } = setUp({ reserveGuess: () => reserved(5) });
    await expect(verifyCode(deps, login())).resolves.toHaveProperty('isNew', true);
    expect(called('unbindNewCodes')).toEqual([]);
  });

  it.each([
    ['a locked target', MAX_FAILURES, TargetLockedError, DAY_MS / 1000],
    ['a run past its open half', 5, NewCodeRequiredError, DAY_MS / 1000],
    ['guesses in flight holding every place', 4, TargetLockedError, 1],
  ] as const)('refuses the guess of %s, keeping the code its attempt', async (_, wrongCodes, kind, retryAfter) => {
    const { deps, called } = setUp({
      reserveGuess: () => ({ kind: 'refused', wrongCodes, expiresAt: NOW + DAY_MS }),
    });
    const refused = await verifyCode(deps, login()).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(kind);
    expect((refused as TargetLockedError).retryAfterSeconds).toBe(retryAfter);
    expect(called('releaseAttempt')).toEqual([
      [{ targetKey: RUN.mailboxKey, purpose: 'login' }, hashCode(PEPPER, PHONE, 'login', CODE)],
    ]);
    expect(called('releaseGuess')).toEqual([]);
  });
});

describe('verifyCode: a refused guess at no code', () => {
  it('gives back no attempt, since none was counted', async () => {
    const { deps, called } = setUp({
      recordAttempt: () => ({ kind: 'missing' }),
      reserveGuess: () => ({ kind: 'refused', wrongCodes: MAX_FAILURES, expiresAt: NOW + DAY_MS }),
    });
    await expect(verifyCode(deps, login())).rejects.toBeInstanceOf(TargetLockedError);
    expect(called('releaseAttempt')).toEqual([]);
  });
});

describe('verifyCode: the database failing', () => {
  it('gives back the place of a guess whose attempt could not be counted, and fails with the error', async () => {
    const failure = new RangeError('throttled');
    const { deps, called } = setUp({
      recordAttempt: () => {
        throw failure;
      },
    });
    await expect(verifyCode(deps, login())).rejects.toBe(failure);
    expect(called('releaseGuess')).toEqual([[RUN]]);
    expect(called('releaseAttempt')).toEqual([]);
  });

  it('gives back the attempt when the run could not be read', async () => {
    const failure = new RangeError('throttled');
    const { deps, called, logs } = setUp({
      reserveGuess: () => {
        throw failure;
      },
      releaseAttempt: () => {
        throw new TypeError('still throttled');
      },
    });
    await expect(verifyCode(deps, login())).rejects.toBe(failure);
    expect(called('releaseAttempt')).toEqual([
      [{ targetKey: RUN.mailboxKey, purpose: 'login' }, hashCode(PEPPER, PHONE, 'login', CODE)],
    ]);
    expect(called('releaseGuess')).toEqual([]);
    expect(logs).toContainEqual(['warn', 'attempt not given back', { reason: 'TypeError' }]);
  });

  it('gives back nothing of a missing code when the owner could not be read', async () => {
    const failure = new RangeError('throttled');
    const { deps, called } = setUp({
      recordAttempt: () => ({ kind: 'missing' }),
      findOwner: () => {
        throw failure;
      },
    });
    await expect(verifyCode(deps, login())).rejects.toBe(failure);
    expect(called('releaseAttempt')).toEqual([]);
    expect(called('releaseGuess')).toEqual([[RUN]]);
  });

  it('gives back the attempt and the place when the login could not be written, so that a retry finds the same', async () => {
    const failure = new RangeError('throttled');
    const { deps, called } = setUp({
      completeLogin: () => {
        throw failure;
      },
      clearFailures: () => {
        throw new RangeError('throttled');
      },
    });
    await expect(verifyCode(deps, login())).rejects.toBe(failure);
    expect(called('releaseAttempt')).toHaveLength(1);
    expect(called('releaseGuess')).toEqual([[RUN]]);
  });

  it('keeps the place of a run the right code ended, and gives back nothing for a refusal', async () => {
    const failure = new RangeError('throttled');
    const ended = setUp({
      completeLogin: () => {
        throw failure;
      },
    });
    await expect(verifyCode(ended.deps, login())).rejects.toBe(failure);
    expect(ended.called('releaseAttempt')).toHaveLength(1);
    expect(ended.called('releaseGuess')).toEqual([]);
    const refused = setUp({
      completeLogin: () => {
        throw new InvalidCodeError();
      },
    });
    await expect(verifyCode(refused.deps, login())).rejects.toBeInstanceOf(InvalidCodeError);
    expect(refused.called('releaseAttempt')).toEqual([]);
  });
});

describe('verifyCode: which code', () => {
  it('needs a target or an otpToken', async () => {
    const { deps, calls } = setUp();
    await expect(verifyCode(deps, { code: CODE })).rejects.toBeInstanceOf(InvalidTargetError);
    expect(calls).toEqual([]);
  });

  it('answers like a wrong code when the client requires the otpToken and it is missing', async () => {
    const { deps, calls } = setUp({}, { requireOtpToken: true });
    await expect(verifyCode(deps, login())).rejects.toBeInstanceOf(InvalidCodeError);
    expect(calls).toEqual([]);
  });

  it('finds the code by its otpToken alone, with its purpose, and lets the guess take any place of the run', async () => {
    const issued = issueOtpToken(PEPPER, PHONE, 'register');
    const { deps, called } = setUp({
      recordAttempt: () => counted({ codeHash: hashCode(PEPPER, PHONE, 'register', CODE) }),
    });
    const result = await verifyCode(deps, { otpToken: issued.token, code: CODE });
    expect(result.purpose).toBe('register');
    expect(called('recordAttempt')).toEqual([
      [{ targetKey: RUN.mailboxKey, purpose: 'register' }, NOW, deps.config.maxAttempts, issued.tokenHash],
    ]);
    expect(called('reserveGuess')[0]).toEqual([
      { mailboxKey: RUN.mailboxKey, now: NOW, limit: MAX_FAILURES, windowMs: DAY_MS },
    ]);
  });

  it.each([
    ['a token not issued here', { otpToken: 'not-a-token' }],
    [
      'a token of another purpose',
      { otpToken: issueOtpToken(PEPPER, PHONE, 'register').token, purpose: 'login' as Purpose },
    ],
    ['a token of another target', { otpToken: issueOtpToken(PEPPER, PHONE, 'login').token, target: '+14155550124' }],
  ])('answers like a wrong code for %s, counting nothing', async (_, request) => {
    const { deps, calls } = setUp();
    await expect(verifyCode(deps, { code: CODE, ...request })).rejects.toBeInstanceOf(InvalidCodeError);
    expect(calls).toEqual([]);
  });

  it('takes a token with its own target, written another way', async () => {
    const issued = issueOtpToken(PEPPER, PHONE, 'login');
    const { deps } = setUp();
    await expect(
      verifyCode(deps, { otpToken: issued.token, target: ' +1 415 555 0123', code: CODE }),
    ).resolves.toHaveProperty('verifiedTarget', PHONE);
  });

  it('opens a token sealed under the pepper before a rotation, and tries its code under that pepper only', async () => {
    const issued = issueOtpToken(OTHER_PEPPER, PHONE, 'login');
    const { deps, called } = setUp(
      { recordAttempt: () => counted({ codeHash: hashCode(OTHER_PEPPER, PHONE, 'login', CODE) }) },
      { previousPepper: OTHER_PEPPER },
    );
    await expect(verifyCode(deps, { otpToken: issued.token, code: CODE })).resolves.toHaveProperty('isNew', true);
    expect(called('recordAttempt').map(([code]) => (code as CodeRef).targetKey)).toEqual([
      opaqueKey(OTHER_PEPPER, 'target', PHONE),
    ]);
  });

  it('during a rotation, opens a token sealed under the current pepper with it', async () => {
    const issued = issueOtpToken(PEPPER, PHONE, 'login');
    const { deps, called } = setUp({}, { previousPepper: OTHER_PEPPER, nextPepper: 'n'.repeat(40) });
    await expect(verifyCode(deps, { otpToken: issued.token, code: CODE })).resolves.toHaveProperty('isNew', true);
    expect(called('recordAttempt').map(([code]) => (code as CodeRef).targetKey)).toEqual([RUN.mailboxKey]);
  });

  it('opens a token sealed under the next pepper, tried after the previous one', async () => {
    const next = 'n'.repeat(40);
    const issued = issueOtpToken(next, PHONE, 'login');
    const { deps, called } = setUp(
      { recordAttempt: () => counted({ codeHash: hashCode(next, PHONE, 'login', CODE) }) },
      { previousPepper: OTHER_PEPPER, nextPepper: next },
    );
    await expect(verifyCode(deps, { otpToken: issued.token, code: CODE })).resolves.toHaveProperty('isNew', true);
    expect(called('recordAttempt').map(([code]) => (code as CodeRef).targetKey)).toEqual([
      opaqueKey(next, 'target', PHONE),
    ]);
  });

  it('during a rotation, looks for a code under the other pepper only when the current one finds none', async () => {
    const byKey = new Map<string, AttemptOutcome>([
      [opaqueKey(OTHER_PEPPER, 'target', PHONE), counted({ codeHash: hashCode(OTHER_PEPPER, PHONE, 'login', CODE) })],
    ]);
    const { deps, called } = setUp(
      { recordAttempt: (code: CodeRef) => byKey.get(code.targetKey) ?? { kind: 'missing' } },
      { previousPepper: OTHER_PEPPER },
    );
    await expect(verifyCode(deps, login())).resolves.toHaveProperty('isNew', true);
    expect(called('recordAttempt').map(([code]) => (code as CodeRef).targetKey)).toEqual([
      opaqueKey(PEPPER, 'target', PHONE),
      opaqueKey(OTHER_PEPPER, 'target', PHONE),
    ]);
    const current = setUp({}, { previousPepper: OTHER_PEPPER });
    await verifyCode(current.deps, login());
    expect(current.called('recordAttempt')).toHaveLength(1);
  });

  it('answers a code found under no pepper as the current one would', async () => {
    const { deps, called } = setUp({ recordAttempt: () => ({ kind: 'missing' }) }, { previousPepper: OTHER_PEPPER });
    await expect(verifyCode(deps, login())).rejects.toBeInstanceOf(InvalidCodeError);
    expect(called('recordAttempt')).toHaveLength(2);
  });
});

describe('verifyCode: giving a target to the customer of a session', () => {
  const sessionToken = newSessionToken();
  const session: SessionRecord = {
    tokenHash: hashSessionToken(sessionToken),
    customerId: 'cust-1',
    target: EMAIL,
    channel: 'email',
    purpose: 'login',
    sid: 'sid-1',
    issuedAt: NOW - 1000,
    authTime: NOW - 1000,
    expiresAt: NOW + 60_000,
    origin: {},
  };
  const customer = { id: 'cust-1', email: EMAIL, phone: PHONE } as Customer;
  const link = (purpose: Purpose, extra: Partial<VerifyRequest> = {}): VerifyRequest => ({
    target: PHONE,
    code: CODE,
    purpose,
    sessionToken: () => sessionToken,
    ...extra,
  });
  const linking = (behaviours: Partial<Record<keyof OtpStore, Behaviour>> = {}) =>
    setUp({
      recordAttempt: (code: CodeRef) =>
        counted({ codeHash: hashCode(PEPPER, PHONE, code.purpose, CODE), customerId: 'cust-1' }),
      getSession: () => session,
      getCustomer: () => customer,
      linkTarget: () => customer,
      ...behaviours,
    });

  it.each([
    ['verify-phone', false],
    ['update-phone', true],
  ] as const)('%s gives the target to the customer, consuming the code, replacing: %s', async (purpose, replace) => {
    const { deps, called } = linking();
    const result = await verifyCode(deps, link(purpose));
    expect(called('linkTarget')).toEqual([
      [
        {
          code: { targetKey: RUN.mailboxKey, purpose },
          codeHash: hashCode(PEPPER, PHONE, purpose, CODE),
          now: NOW,
          target: expect.objectContaining({ address: PHONE, targetKey: RUN.mailboxKey }),
          customerId: 'cust-1',
          sessionHash: session.tokenHash,
          replace,
        } satisfies Partial<TargetLink>,
      ],
    ]);
    expect(result).toMatchObject({ isNew: false, customer, purpose });
    expect(result).not.toHaveProperty('sessionToken');
    expect(called('completeLogin')).toEqual([]);
  });

  it('refuses a target of the other channel before anything is counted', async () => {
    const { deps, calls } = linking();
    await expect(verifyCode(deps, link('verify-email'))).rejects.toBeInstanceOf(InvalidTargetError);
    expect(calls).toEqual([]);
  });

  it('needs the session token before any attempt is counted', async () => {
    const { deps, called } = linking();
    await expect(verifyCode(deps, { ...link('verify-phone'), sessionToken: undefined })).rejects.toBeInstanceOf(
      SessionInvalidError,
    );
    expect(called('recordAttempt')).toEqual([]);
  });

  it('needs a live session before any attempt is counted', async () => {
    const { deps, called } = linking({ getSession: () => undefined });
    await expect(verifyCode(deps, link('verify-phone'))).rejects.toBeInstanceOf(SessionInvalidError);
    expect(called('recordAttempt')).toEqual([]);
  });

  it('refuses a target another customer owns, once the code is proven', async () => {
    const { deps, called } = linking({ findOwner: () => ({ customerId: 'cust-2' }) });
    await expect(verifyCode(deps, link('verify-phone'))).rejects.toBeInstanceOf(TargetInUseError);
    expect(called('linkTarget')).toEqual([]);
    expect(called('releaseAttempt')).toEqual([]);
  });

  it("compares a code asked for by another customer's session as a wrong one", async () => {
    const { deps, called } = linking({
      // The right code for this target and purpose: only whose session asked for it differs.
      recordAttempt: () => counted({ codeHash: hashCode(PEPPER, PHONE, 'verify-phone', CODE), customerId: 'cust-2' }),
    });
    await expect(verifyCode(deps, link('verify-phone'))).rejects.toBeInstanceOf(InvalidCodeError);
    expect(called('settleWrongGuess')).toHaveLength(1);
  });

  it('moves a target held under the old pepper, or by a customer stored under its target, before linking', async () => {
    const legacy = { ...customer, id: 'cust-1' };
    const owner: Owner = { customerId: 'cust-1', legacy, previousKey: 'old-key' };
    const { deps, called } = linking({
      findOwner: () => owner,
      migrateLegacyCustomer: () => 'cust-1',
      rekeyCustomer: () => 'cust-1',
    });
    await verifyCode(deps, link('verify-phone'));
    expect(called('migrateLegacyCustomer')).toEqual([[expect.objectContaining({ address: PHONE }), legacy]]);
    expect(called('rekeyCustomer')).toEqual([[expect.objectContaining({ address: PHONE }), owner]]);
    expect(called('linkTarget')).toHaveLength(1);
  });

  it("finds the session's customer stored under its target, and refuses a session whose customer is gone", async () => {
    const legacy = { ...customer, id: 'cust-1' };
    const moved = linking({
      getCustomer: () => undefined,
      findOwner: (target: { address: string }) =>
        target.address === EMAIL ? { customerId: 'cust-1', legacy } : undefined,
      migrateLegacyCustomer: () => 'cust-9',
    });
    await verifyCode(moved.deps, link('verify-phone'));
    expect((moved.called('linkTarget')[0]?.[0] as TargetLink).customerId).toBe('cust-9');
    const current = linking({
      getCustomer: () => undefined,
      findOwner: (target: { address: string }) => (target.address === EMAIL ? { customerId: 'cust-1' } : undefined),
    });
    await verifyCode(current.deps, link('verify-phone'));
    expect((current.called('linkTarget')[0]?.[0] as TargetLink).customerId).toBe('cust-1');
    const gone = linking({ getCustomer: () => undefined });
    await expect(verifyCode(gone.deps, link('verify-phone'))).rejects.toBeInstanceOf(SessionInvalidError);
  });
});
