import { describe, expect, it } from 'vitest';
import { subjectOf } from '../../functions/core/access-tokens.js';
import { SessionInvalidError } from '../../functions/core/errors.js';
import type { Customer, OtpStore, RefreshRecord, RefreshRotation, SessionRecord } from '../../functions/core/ports.js';
import { refreshSession } from '../../functions/core/refresh-session.js';
import { hashSessionToken, isWellFormedToken, newSessionToken } from '../../functions/core/sessions.js';

const NOW = Date.UTC(2036, 0, 1, 12, 0, 0);
const CONFIG = { sessionTtlSeconds: 900, refreshIdleSeconds: 7 * 86_400 };
const CUSTOMER: Customer = {
  id: 'cust-1',
  email: 'a@example.com',
  phone: '+14155550123',
  name: null,
  keys: {},
  createdAt: NOW,
  verifiedAt: NOW,
};

function presented(overrides: Partial<RefreshRecord> = {}, session: Partial<SessionRecord> = {}): RefreshRecord {
  return {
    tokenHash: 'old-refresh-hash',
    sid: 'sid-1',
    absoluteExpiresAt: NOW + 30 * 86_400_000,
    sessionTtlSeconds: 600,
    session: {
      tokenHash: 'old-session-hash',
      customerId: 'cust-1',
      target: '+14155550123',
      channel: 'sms',
      purpose: 'login',
      sid: 'sid-1',
      issuedAt: NOW - 3_600_000,
      authTime: NOW - 3_600_000,
      expiresAt: NOW - 1,
      revokedAt: NOW - 1,
      origin: { clientId: 'kiosk' },
      ...session,
    },
    ...overrides,
  };
}

interface Fake {
  found?: RefreshRecord;
  outcome?: 'rotated' | 'reused' | 'refused' | Error;
  customer?: Customer | Error;
}

function setUp(fake: Fake = {}) {
  // An explicit `found: undefined` is a token the store does not know.
  const found = 'found' in fake ? fake.found : presented();
  const { outcome = 'rotated', customer = CUSTOMER } = fake;
  const rotations: RefreshRotation[] = [];
  const lookedUp: string[] = [];
  const warnings: [string, Record<string, unknown>][] = [];
  const store = {
    findRefresh: (hash: string) => {
      lookedUp.push(hash);
      return Promise.resolve(found);
    },
    rotateRefresh: (rotation: RefreshRotation) => {
      rotations.push(rotation);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
    getCustomer: () => (customer instanceof Error ? Promise.reject(customer) : Promise.resolve(customer)),
  } as unknown as OtpStore;
  const deps = {
    config: CONFIG,
    store,
    now: () => NOW,
    log: {
      info: () => {},
      warn: (message: string, attributes: Record<string, unknown>) => warnings.push([message, attributes]),
    },
  };
  return { deps, rotations, lookedUp, warnings };
}

describe('refreshSession', () => {
  it('trades the token for new tokens, with the lifetime of the client that logged in and the idle window renewed', async () => {
    const { deps, rotations, lookedUp, warnings } = setUp();
    const token = newSessionToken();
    const result = await refreshSession(deps, token, 'kiosk');
    expect(lookedUp).toEqual([hashSessionToken(token)]);
    expect(isWellFormedToken(result.sessionToken)).toBe(true);
    expect(isWellFormedToken(result.refreshToken)).toBe(true);
    expect(result.refreshToken).not.toBe(result.sessionToken);
    expect(result.session).toEqual({
      ...presented().session,
      tokenHash: hashSessionToken(result.sessionToken),
      issuedAt: NOW,
      expiresAt: NOW + 600_000,
      revokedAt: undefined,
    });
    expect(result.refreshExpiresAt).toBe(presented().absoluteExpiresAt);
    expect(result.customer).toBe(CUSTOMER);
    expect(rotations).toEqual([
      {
        presented: presented(),
        newRefreshHash: hashSessionToken(result.refreshToken),
        newSession: result.session,
        now: NOW,
        idleUntil: NOW + CONFIG.refreshIdleSeconds * 1000,
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it("uses the deployment's session lifetime for a token stored without one", async () => {
    const { deps } = setUp({ found: presented({ sessionTtlSeconds: undefined }) });
    const result = await refreshSession(deps, newSessionToken(), 'kiosk');
    expect(result.session.expiresAt).toBe(NOW + CONFIG.sessionTtlSeconds * 1000);
  });

  it("never gives a session past the family's absolute end", async () => {
    const { deps } = setUp({ found: presented({ absoluteExpiresAt: NOW + 60_000 }) });
    const result = await refreshSession(deps, newSessionToken(), 'kiosk');
    expect(result.session.expiresAt).toBe(NOW + 60_000);
  });

  it.each([
    ['no token', undefined],
    ['a malformed token', 'short'],
  ])('refuses %s without reading the store', async (_, token) => {
    const { deps, lookedUp } = setUp();
    await expect(refreshSession(deps, token, 'kiosk')).rejects.toBeInstanceOf(SessionInvalidError);
    expect(lookedUp).toEqual([]);
  });

  it.each([
    ['an unknown token', undefined],
    ['a family at its absolute end', presented({ absoluteExpiresAt: NOW })],
  ])('refuses %s without rotating', async (_, found) => {
    const { deps, rotations } = setUp({ found });
    await expect(refreshSession(deps, newSessionToken(), 'kiosk')).rejects.toBeInstanceOf(SessionInvalidError);
    expect(rotations).toEqual([]);
  });

  it('refuses the token of another client, and of a key-less login for a client', async () => {
    const other = setUp();
    await expect(refreshSession(other.deps, newSessionToken(), 'pos')).rejects.toBeInstanceOf(SessionInvalidError);
    expect(other.rotations).toEqual([]);
    expect(other.warnings).toEqual([['refresh token of another client refused', { sid: 'sid-1' }]]);
    const keyless = setUp({ found: presented({}, { origin: {} }) });
    await expect(refreshSession(keyless.deps, newSessionToken(), 'kiosk')).rejects.toBeInstanceOf(SessionInvalidError);
    await expect(refreshSession(keyless.deps, newSessionToken(), undefined)).resolves.toHaveProperty('sessionToken');
  });

  it('refuses a token used twice and says the session was revoked', async () => {
    const { deps, warnings } = setUp({ outcome: 'reused' });
    await expect(refreshSession(deps, newSessionToken(), 'kiosk')).rejects.toBeInstanceOf(SessionInvalidError);
    expect(warnings).toEqual([['refresh token used twice: session revoked', { sid: 'sid-1' }]]);
  });

  it('refuses a rotation the store refused, quietly', async () => {
    const { deps, warnings } = setUp({ outcome: 'refused', customer: new Error('unreadable') });
    await expect(refreshSession(deps, newSessionToken(), 'kiosk')).rejects.toBeInstanceOf(SessionInvalidError);
    expect(warnings).toEqual([]);
  });

  it('passes on the error of a rotation that failed', async () => {
    const failure = new Error('throttled');
    const { deps } = setUp({ outcome: failure });
    await expect(refreshSession(deps, newSessionToken(), 'kiosk')).rejects.toBe(failure);
  });

  it('gives the new tokens without the customer when it could not be read, and says why', async () => {
    const failure = new TypeError('unreadable');
    const { deps, warnings } = setUp({ customer: failure });
    const result = await refreshSession(deps, newSessionToken(), 'kiosk');
    expect(result.customer).toBeUndefined();
    expect(warnings).toEqual([['customer not read for a refresh', { sid: 'sid-1', reason: 'TypeError' }]]);
  });
});

describe('subjectOf', () => {
  const session = presented().session;

  it('says what the session is, with the trust level of its customer', () => {
    expect(subjectOf(session, CUSTOMER)).toEqual({
      customerId: 'cust-1',
      sid: 'sid-1',
      clientId: 'kiosk',
      authTime: session.authTime,
      channel: 'sms',
      purpose: 'login',
      trustLevel: 'strong',
      sessionExpiresAt: session.expiresAt,
    });
    expect(subjectOf(session, { email: null, phone: CUSTOMER.phone }).trustLevel).toBe('verified');
  });

  it('is verified for a customer stored under its target, and needs the session id', () => {
    expect(subjectOf(session, undefined).trustLevel).toBe('verified');
    expect(() => subjectOf({ ...session, sid: undefined }, CUSTOMER)).toThrow(/session id/);
  });
});
