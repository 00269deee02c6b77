import { describe, expect, it } from 'vitest';
import type { AccessTokenClaims, AccessTokens } from '../../functions/core/access-tokens.js';
import { SessionInvalidError } from '../../functions/core/errors.js';
import { listSessions, SESSION_LIST_LIMIT } from '../../functions/core/list-sessions.js';
import type { OtpStore, SessionFamily, SessionRecord, SessionSummary } from '../../functions/core/ports.js';
import {
  checkBearer,
  checkSession,
  hashSessionToken,
  isLiveSession,
  newSessionToken,
  revokeAllSessions,
  revokeSession,
  sessionEnd,
} from '../../functions/core/sessions.js';

const NOW = Date.UTC(2036, 0, 1, 12, 0, 0);
const MINUTE = 60_000;
/** A compact JWT's shape: what checkBearer takes for an access token. */
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjIn0.c2ln';

/** A store that answers only what a test gives it and records every call; anything else fails the test. */
function fakeStore(methods: Partial<Record<keyof OtpStore, (...args: any[]) => unknown>>) {
  const calls: [string, ...unknown[]][] = [];
  const store = new Proxy({} as OtpStore, {
    get: (_, method: string) => {
      const implementation = methods[method as keyof OtpStore];
      if (!implementation) return () => Promise.reject(new Error(`${method} must not be called`));
      return (...args: unknown[]) => {
        calls.push([method, ...args]);
        return Promise.resolve(implementation(...args));
      };
    },
  });
  return { store, calls };
}

function summary(overrides: Partial<SessionSummary> = {}): SessionSummary {
  return {
    sid: 'sid-1',
    origin: { clientId: 'kiosk', platform: 'ios' },
    loginAt: NOW - 60 * MINUTE,
    lastUsedAt: NOW - 10 * MINUTE,
    sessionExpiresAt: NOW + 5 * MINUTE,
    absoluteExpiresAt: NOW + 30 * 24 * 60 * MINUTE,
    ...overrides,
  };
}

function family(overrides: Partial<SessionFamily> = {}): SessionFamily {
  return {
    ...summary(),
    customerId: 'cust-1',
    target: '+14155550123',
    channel: 'sms',
    purpose: 'login',
    authTime: NOW - 60 * MINUTE,
    ...overrides,
  };
}

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    tokenHash: 'hash',
    customerId: 'cust-1',
    target: '+14155550123',
    channel: 'sms',
    purpose: 'login',
    sid: 'sid-1',
    issuedAt: NOW - MINUTE,
    authTime: NOW - MINUTE,
    expiresAt: NOW + MINUTE,
    origin: {},
    ...overrides,
  };
}

function accessTokens(claims: Partial<AccessTokenClaims> | undefined): AccessTokens & { asked: [string, number][] } {
  const asked: [string, number][] = [];
  return {
    asked,
    issue: () => Promise.reject(new Error('not issued here')),
    verify: (token, now) => {
      asked.push([token, now]);
      if (!claims) return Promise.resolve(undefined);
      return Promise.resolve({ sub: 'cust-1', sid: 'sid-1', aud: 'kiosk', ...claims } as AccessTokenClaims);
    },
  };
}

describe('sessionEnd', () => {
  it('is the session token end for a session without a refresh token, capped by the absolute end', () => {
    expect(sessionEnd(summary())).toBe(NOW + 5 * MINUTE);
    expect(sessionEnd(summary({ absoluteExpiresAt: NOW + MINUTE }))).toBe(NOW + MINUTE);
  });

  it('is the idle end for a family with a refresh token, when that is later, capped by the absolute end', () => {
    expect(sessionEnd(summary({ idleUntil: NOW + 60 * MINUTE }))).toBe(NOW + 60 * MINUTE);
    expect(sessionEnd(summary({ idleUntil: NOW + MINUTE }))).toBe(NOW + 5 * MINUTE);
    expect(sessionEnd(summary({ idleUntil: NOW + 60 * MINUTE, absoluteExpiresAt: NOW + 20 * MINUTE }))).toBe(
      NOW + 20 * MINUTE,
    );
  });
});

describe('isLiveSession', () => {
  it('is live until the very moment it ends, and never once revoked', () => {
    const session = summary({ sessionExpiresAt: NOW + 1 });
    expect(isLiveSession(session, NOW)).toBe(true);
    expect(isLiveSession(session, NOW + 1)).toBe(false);
    expect(isLiveSession({ ...session, revokedAt: NOW - 1 }, NOW)).toBe(false);
  });
});

describe('checkSession', () => {
  const token = newSessionToken();

  it('gives the stored session of a well-formed token, looked up by its hash', async () => {
    const session = record();
    const { store, calls } = fakeStore({ getSession: () => session });
    await expect(checkSession({ store, now: () => NOW }, token)).resolves.toBe(session);
    expect(calls).toEqual([['getSession', hashSessionToken(token)]]);
  });

  it('refuses a missing or malformed token without reading the store', async () => {
    const { store } = fakeStore({});
    await expect(checkSession({ store, now: () => NOW }, undefined)).rejects.toBeInstanceOf(SessionInvalidError);
    await expect(checkSession({ store, now: () => NOW }, 'short')).rejects.toBeInstanceOf(SessionInvalidError);
  });

  it.each([
    ['unknown', undefined],
    ['revoked', record({ revokedAt: NOW - 1 })],
    ['expired at this very moment', record({ expiresAt: NOW })],
  ])('refuses a session %s', async (_, session) => {
    const { store } = fakeStore({ getSession: () => session });
    await expect(checkSession({ store, now: () => NOW }, token)).rejects.toBeInstanceOf(SessionInvalidError);
  });
});

describe('checkBearer with an access token', () => {
  it('checks the token at now, then the family its sid names, and reads the login from the family', async () => {
    const tokens = accessTokens({});
    const { store, calls } = fakeStore({ findSession: () => family({ idleUntil: NOW + 60 * MINUTE }) });
    const view = await checkBearer({ store, now: () => NOW, accessTokens: tokens }, JWT);
    expect(tokens.asked).toEqual([[JWT, NOW]]);
    expect(calls).toEqual([['findSession', 'sid-1']]);
    expect(view).toEqual({
      sid: 'sid-1',
      customerId: 'cust-1',
      target: '+14155550123',
      channel: 'sms',
      purpose: 'login',
      issuedAt: NOW - 60 * MINUTE,
      authTime: NOW - 60 * MINUTE,
      expiresAt: NOW + 60 * MINUTE,
      origin: { clientId: 'kiosk', platform: 'ios' },
    });
  });

  it('takes a family logged in without a key for the anonymous audience', async () => {
    const { store } = fakeStore({ findSession: () => family({ origin: {} }) });
    const view = await checkBearer({ store, now: () => NOW, accessTokens: accessTokens({ aud: 'otp-service' }) }, JWT);
    expect(view.customerId).toBe('cust-1');
  });

  it.each([
    ['a token that does not verify', undefined, family()],
    ['an unknown family', {}, undefined],
    ['the family of another customer', { sub: 'cust-2' }, family()],
    ['the family of another client', { aud: 'pos' }, family()],
    ['a key-less family for a client', {}, family({ origin: {} })],
    ['a revoked family', {}, family({ revokedAt: NOW - 1 })],
    ['an ended family', {}, family({ sessionExpiresAt: NOW })],
  ])('refuses %s', async (_, claims, found) => {
    const { store } = fakeStore({ findSession: () => found });
    await expect(
      checkBearer({ store, now: () => NOW, accessTokens: accessTokens(claims) }, JWT),
    ).rejects.toBeInstanceOf(SessionInvalidError);
  });

  it('checks a JWT of up to 4096 characters as an access token', async () => {
    const longest = `${'a'.repeat(4096 - 4)}.b.c`;
    const tokens = accessTokens({});
    const { store } = fakeStore({ findSession: () => family() });
    await checkBearer({ store, now: () => NOW, accessTokens: tokens }, longest);
    expect(tokens.asked).toEqual([[longest, NOW]]);
  });

  it('refuses an access token where the deployment checks none', async () => {
    const { store } = fakeStore({});
    await expect(checkBearer({ store, now: () => NOW }, JWT)).rejects.toBeInstanceOf(SessionInvalidError);
  });

  it('takes a token that is not a JWT for a session token', async () => {
    const { store, calls } = fakeStore({ getSession: () => record() });
    const token = newSessionToken();
    await checkBearer({ store, now: () => NOW, accessTokens: accessTokens({}) }, token);
    expect(calls).toEqual([['getSession', hashSessionToken(token)]]);
    await expect(checkBearer({ store, now: () => NOW }, `${'a'.repeat(4096)}.b.c`)).rejects.toBeInstanceOf(
      SessionInvalidError,
    );
  });
});

describe('revokeSession', () => {
  it('ends the session of a session token by its hash', async () => {
    const token = newSessionToken();
    const { store, calls } = fakeStore({ revokeSession: () => true });
    await revokeSession({ store, now: () => NOW }, token);
    expect(calls).toEqual([['revokeSession', hashSessionToken(token), NOW]]);
  });

  it('answers 401 for a token that ended nothing, or a malformed one', async () => {
    const { store } = fakeStore({ revokeSession: () => false });
    await expect(revokeSession({ store, now: () => NOW }, newSessionToken())).rejects.toBeInstanceOf(
      SessionInvalidError,
    );
    // Refused before the store, which would end whatever it is asked to.
    const willing = fakeStore({ revokeSession: () => true });
    await expect(revokeSession({ store: willing.store, now: () => NOW }, 'short')).rejects.toBeInstanceOf(
      SessionInvalidError,
    );
    expect(willing.calls).toEqual([]);
    await expect(revokeSession({ store, now: () => NOW }, undefined)).rejects.toBeInstanceOf(SessionInvalidError);
  });

  it("ends the family an access token's sid names", async () => {
    const { store, calls } = fakeStore({ findSession: () => family(), revokeSession: () => true });
    await revokeSession({ store, now: () => NOW, accessTokens: accessTokens({}) }, JWT);
    expect(calls).toEqual([
      ['findSession', 'sid-1'],
      ['revokeSession', { sid: 'sid-1' }, NOW],
    ]);
  });

  it('answers 401 for an access token whose family had ended already', async () => {
    const { store } = fakeStore({ findSession: () => family(), revokeSession: () => false });
    await expect(revokeSession({ store, now: () => NOW, accessTokens: accessTokens({}) }, JWT)).rejects.toBeInstanceOf(
      SessionInvalidError,
    );
  });
});

describe('revokeAllSessions', () => {
  it("ends the caller's own session first, then every session of its customer", async () => {
    const token = newSessionToken();
    const { store, calls } = fakeStore({
      getSession: () => record(),
      revokeSession: () => true,
      revokeCustomerSessions: () => 2,
    });
    await revokeAllSessions({ store, now: () => NOW }, token);
    expect(calls).toEqual([
      ['getSession', hashSessionToken(token)],
      ['revokeSession', hashSessionToken(token), NOW],
      ['revokeCustomerSessions', 'cust-1', NOW],
    ]);
  });

  it('ends only its own family for a session token that no longer validates, and answers 401', async () => {
    const { store, calls } = fakeStore({ getSession: () => record({ expiresAt: NOW }), revokeSession: () => true });
    await expect(revokeAllSessions({ store, now: () => NOW }, newSessionToken())).rejects.toBeInstanceOf(
      SessionInvalidError,
    );
    expect(calls.slice(1)).toEqual([['revokeSession', { sid: 'sid-1' }, NOW]]);
  });

  it('ends nothing for a revoked session without a family, or an unknown token', async () => {
    for (const found of [record({ revokedAt: NOW - 1, sid: undefined }), undefined]) {
      const { store, calls } = fakeStore({ getSession: () => found });
      await expect(revokeAllSessions({ store, now: () => NOW }, newSessionToken())).rejects.toBeInstanceOf(
        SessionInvalidError,
      );
      expect(calls.map(([method]) => method)).toEqual(['getSession']);
    }
    const { store } = fakeStore({});
    await expect(revokeAllSessions({ store, now: () => NOW }, 'short')).rejects.toBeInstanceOf(SessionInvalidError);
  });

  it('with an access token, ends its family, then every session of its customer', async () => {
    const { store, calls } = fakeStore({
      findSession: () => family(),
      revokeSession: () => true,
      revokeCustomerSessions: () => 1,
    });
    await revokeAllSessions({ store, now: () => NOW, accessTokens: accessTokens({}) }, JWT);
    expect(calls).toEqual([
      ['findSession', 'sid-1'],
      ['revokeSession', { sid: 'sid-1' }, NOW],
      ['revokeCustomerSessions', 'cust-1', NOW],
    ]);
  });
});

describe('listSessions', () => {
  it('lists the live sessions of the caller, most recently used first, the current one marked', async () => {
    const token = newSessionToken();
    const { store, calls } = fakeStore({
      getSession: () => record({ sid: 'b' }),
      listSessions: () => [
        summary({ sid: 'a', lastUsedAt: NOW - 30 * MINUTE }),
        summary({ sid: 'b', lastUsedAt: NOW - MINUTE, origin: {}, idleUntil: NOW + 60 * MINUTE }),
        summary({ sid: 'revoked', revokedAt: NOW - 1 }),
        summary({ sid: 'ended', sessionExpiresAt: NOW }),
      ],
    });
    const listed = await listSessions({ store, now: () => NOW }, token);
    expect(calls[1]).toEqual(['listSessions', 'cust-1', NOW, SESSION_LIST_LIMIT]);
    expect(listed).toEqual([
      {
        id: 'b',
        current: true,
        clientId: undefined,
        platform: undefined,
        issuedAt: NOW - 60 * MINUTE,
        lastUsedAt: NOW - MINUTE,
        expiresAt: NOW + 60 * MINUTE,
      },
      {
        id: 'a',
        current: false,
        clientId: 'kiosk',
        platform: 'ios',
        issuedAt: NOW - 60 * MINUTE,
        lastUsedAt: NOW - 30 * MINUTE,
        expiresAt: NOW + 5 * MINUTE,
      },
    ]);
  });
});
