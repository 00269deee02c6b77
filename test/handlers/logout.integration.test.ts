import { DeleteItemCommand, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { hashSessionToken } from '../../functions/core/sessions.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import type { Answer } from '../kit.js';
import { between, call, expectProblem, type Harness, harness, stateItem } from '../support.js';

/**
 * DELETE /v1/session ends a login whatever token of it comes (found in review): a session token that
 * a refresh has already rotated away (rotation keeps it as a tombstone that names its family), also
 * when the refresh runs at the same moment; and an access token, as GET /v1/session takes one.
 * On the real handlers over DynamoDB Local, with the harness's real access tokens.
 */

const SECOND = 1000;
const ROOMY = {
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_HOUR: '1000',
  OTP_SEND_LIMIT_PER_DAY: '10000',
  OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
};
/** With the expiry sweep (OTP_EXPIRY_SWEEP), whose cleanup removes expired items before TTL. */
const SWEPT = { ...ROOMY, OTP_EXPIRY_SWEEP: 'true' };

type Headers = Record<string, string>;

/** Every token a verify or a refresh hands out. */
interface Tokens {
  sessionToken: string;
  refreshToken: string;
  accessToken: string;
}

let targets = 0;
const nextTarget = () => `logout-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

function tokensOf(answer: Answer): Tokens {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const { sessionToken, refreshToken, accessToken } = answer.body ?? {};
  expect(accessToken).toEqual(expect.stringMatching(/^[^.]+\.[^.]+\.[^.]+$/));
  return { sessionToken, refreshToken, accessToken };
}

function expectInvalid(answer: Answer): void {
  expectProblem(answer, 401, 'session-invalid');
}

/** The handlers of one warm container each, on the harness's tables, clock and access tokens. */
function api(h: Harness) {
  const send = createSendOtpHandler(h.deps);
  const verify = createVerifyOtpHandler(h.deps);
  const session = createSessionHandler(h.deps);
  const refresh = createRefreshHandler(h.deps);
  const bearer = (token: string, headers: Headers) => ({ ...headers, Authorization: `Bearer ${token}` });
  return {
    async login(target = nextTarget(), headers: Headers = {}): Promise<Tokens & { customerId: string }> {
      const sent = await call(send, { body: { target }, headers });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      const answer = await call(verify, { body: { target, code: sent.body?.mockCode }, headers });
      return { ...tokensOf(answer), customerId: answer.body?.identity.id };
    },
    refresh: (refreshToken: string, headers: Headers = {}) => call(refresh, { body: { refreshToken }, headers }),
    check: (token: string, headers: Headers = {}) => call(session, { method: 'GET', headers: bearer(token, headers) }),
    revoke: (token: string, headers: Headers = {}) =>
      call(session, { method: 'DELETE', headers: bearer(token, headers) }),
    revokeAll: (token: string, headers: Headers = {}) =>
      call(session, { method: 'DELETE', headers: bearer(token, headers), query: { all: 'true' } }),
  };
}

type Api = ReturnType<typeof api>;

/**
 * What of these logins still works: each session token and access token at GET /v1/session, then
 * each refresh token at a refresh, newest first (an older one, already used, would be a reuse that
 * ends the family and hide a newer one that still worked).
 */
async function survivors(a: Api, logins: Partial<Tokens>[], headers: Headers = {}): Promise<string[]> {
  const alive: string[] = [];
  for (const [index, tokens] of logins.entries()) {
    if (tokens.sessionToken && (await a.check(tokens.sessionToken, headers)).status !== 401)
      alive.push(`${index}:session`);
    if (tokens.accessToken && (await a.check(tokens.accessToken, headers)).status !== 401)
      alive.push(`${index}:access`);
  }
  for (const [index, tokens] of [...logins.entries()].reverse()) {
    if (tokens.refreshToken && (await a.refresh(tokens.refreshToken, headers)).status !== 401)
      alive.push(`${index}:refresh`);
  }
  return alive;
}

const readsItem = (pk: string) => (command: unknown) =>
  command instanceof GetItemCommand && JSON.stringify(command.input.Key).includes(pk);

describe('DELETE /v1/session with a session token that a refresh has rotated away', () => {
  it('the refresh completes, then the logout with the old session token: 401, and nothing of the login works', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    const other = await a.login();
    h.clock.now += 60 * SECOND;
    const next = tokensOf(await a.refresh(login.refreshToken));
    expect((await a.check(next.sessionToken)).status).toBe(200);
    expect((await a.check(next.accessToken)).status).toBe(200);

    expectInvalid(await a.revoke(login.sessionToken));
    expect(await survivors(a, [login, next])).toEqual([]);
    // Another login of the service is untouched.
    expect(await survivors(a, [other])).toEqual(['0:session', '0:access', '0:refresh']);
  });

  it('GET still refuses the old session token: it is kept as a tombstone with its sid, expiry and due entry', async () => {
    const h = await harness(SWEPT);
    const a = api(h);
    const login = await a.login();
    const pk = stateKey.session(hashSessionToken(login.sessionToken));
    const before = await stateItem(h, pk);
    h.clock.now += 60 * SECOND;
    const next = tokensOf(await a.refresh(login.refreshToken));
    expectInvalid(await a.check(login.sessionToken));
    expect((await a.check(next.sessionToken)).status).toBe(200);
    const after = await stateItem(h, pk);
    expect(after).toEqual({ ...before, revokedAt: h.clock.now });
    expect(after).toMatchObject({ sid: expect.any(String), ttl: expect.any(Number), dueAt: before?.expiresAt });
    // The cleanup removes it at its own expiry, and nothing live with it.
    h.clock.now = (before?.expiresAt as number) + 1;
    expect(await h.store.removeExpired(h.clock.now, 100, 48)).toMatchObject({ session: 1 });
    expect(await stateItem(h, pk)).toBeUndefined();
    expect((await a.check(next.sessionToken)).status).toBe(200);
  });

  it('the refresh lands between the logout reading the session and revoking it: the logout still ends the login', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    let refreshed: Answer | undefined;
    const restore = between(h, readsItem(stateKey.session(hashSessionToken(login.sessionToken))), async () => {
      refreshed = await a.refresh(login.refreshToken);
    });
    const revoked = await a.revoke(login.sessionToken);
    restore();
    const next = tokensOf(refreshed as Answer);
    // The token was rotated away before the logout could revoke it: no longer valid, as when expired.
    expectInvalid(revoked);
    expect(await survivors(a, [login, next])).toEqual([]);
  });

  it('10 logouts in parallel with a refresh of the same login: whatever the answers, nothing of the login works after', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const outcomes: Record<string, number> = {};
    let alive = 0;
    for (let run = 1; run <= 10; run++) {
      const login = await a.login();
      const [revoked, refreshed] = await Promise.all([a.revoke(login.sessionToken), a.refresh(login.refreshToken)]);
      expect([204, 401], `run ${run}: logout`).toContain(revoked.status);
      expect([200, 401], `run ${run}: refresh`).toContain(refreshed.status);
      if (revoked.status === 401) expectInvalid(revoked);
      if (refreshed.status === 401) expectInvalid(refreshed);
      const key = `logout ${revoked.status}, refresh ${refreshed.status}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      const next = refreshed.status === 200 ? [tokensOf(refreshed)] : [];
      if ((await survivors(a, [login, ...next])).length > 0) alive++;
    }
    expect({ runs: 10, alive }, JSON.stringify(outcomes)).toEqual({ runs: 10, alive: 0 });
  });

  it('after the cleanup removed the expired old session, a refresh leaves a complete tombstone that a logout still ends the login by', async () => {
    const h = await harness({ ...SWEPT, OTP_REFRESH_IDLE_SECONDS: '172800' });
    const a = api(h);
    const login = await a.login();
    h.clock.now += 86_400 * SECOND + 1;
    expect(await h.store.removeExpired(h.clock.now, 100, 48)).toMatchObject({ session: 1 });
    const next = tokensOf(await a.refresh(login.refreshToken));
    expectInvalid(await a.revoke(login.sessionToken));
    expect(await survivors(a, [next])).toEqual([]);
    // No stray item: everything left expires and is listed for the cleanup.
    const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable }));
    for (const item of Items.map((raw) => unmarshall(raw))) {
      expect(item.ttl, item.pk).toEqual(expect.any(Number));
      expect(item.dueAt, item.pk).toEqual(expect.any(Number));
    }
  });

  it('without the expiry sweep, the tombstone is the same but for the due entry; after TTL removed the session, a refresh writes it whole', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_IDLE_SECONDS: '172800' });
    const a = api(h);
    const login = await a.login();
    const pk = stateKey.session(hashSessionToken(login.sessionToken));
    const before = await stateItem(h, pk);
    expect(before).toMatchObject({ sid: expect.any(String), ttl: expect.any(Number) });
    expect(before).not.toHaveProperty('dueAt');
    h.clock.now += 60 * SECOND;
    const next = tokensOf(await a.refresh(login.refreshToken));
    expectInvalid(await a.check(login.sessionToken));
    expect(await stateItem(h, pk)).toEqual({ ...before, revokedAt: h.clock.now });
    expect((await a.check(next.sessionToken)).status).toBe(200);
    // A second login, whose expired session TTL deletes before its refresh token is used.
    const other = await a.login();
    const otherPk = stateKey.session(hashSessionToken(other.sessionToken));
    const expiresAt = (await stateItem(h, otherPk))?.expiresAt as number;
    h.clock.now = expiresAt + 1;
    await h.client.send(new DeleteItemCommand({ TableName: h.tables.stateTable, Key: marshall({ pk: otherPk }) }));
    const otherNext = tokensOf(await a.refresh(other.refreshToken));
    expect(await stateItem(h, otherPk)).toEqual({
      pk: otherPk,
      sid: expect.any(String),
      expiresAt,
      ttl: Math.ceil(h.clock.now / 1000),
      revokedAt: h.clock.now,
    });
    expectInvalid(await a.revoke(other.sessionToken));
    expect(await survivors(a, [other, otherNext])).toEqual([]);
  });

  it('a tombstone written again days after the cleanup removed the session is within the cleanup’s reach', async () => {
    const h = await harness(SWEPT);
    const a = api(h);
    const login = await a.login();
    const pk = stateKey.session(hashSessionToken(login.sessionToken));
    h.clock.now = ((await stateItem(h, pk))?.expiresAt as number) + 1;
    expect(await h.store.removeExpired(h.clock.now, 100, 72)).toMatchObject({ session: 1 });
    // Five days later, inside the refresh token's 7-day idle limit: beyond the cleanup's 72 hours.
    h.clock.now += 5 * 86_400 * SECOND;
    tokensOf(await a.refresh(login.refreshToken));
    expect(await stateItem(h, pk)).toMatchObject({ revokedAt: h.clock.now });
    expect(await h.store.removeExpired(h.clock.now + 3_600 * SECOND, 100, 72)).toMatchObject({ session: 1 });
    expect(await stateItem(h, pk)).toBeUndefined();
  });

  it('a used refresh token presented again is still told from a stale one: the session the rotation made ends', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    const next = tokensOf(await a.refresh(login.refreshToken));
    expectInvalid(await a.refresh(login.refreshToken));
    expect(await survivors(a, [next])).toEqual([]);
  });

  it('?all=true with the old session token: 401, its own login ends, the customer’s other logins live', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const login = await a.login(target);
    const other = await a.login(target);
    const next = tokensOf(await a.refresh(login.refreshToken));
    expectInvalid(await a.revokeAll(login.sessionToken));
    expect(await survivors(a, [next])).toEqual([]);
    expect(await survivors(a, [other])).toEqual(['0:session', '0:access', '0:refresh']);
  });
});

describe('DELETE /v1/session with an access token', () => {
  it('204; that session ends (session token, refresh token, every access token of it); the other sessions live', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const login = await a.login(target);
    const other = await a.login(target);
    h.clock.now += 60 * SECOND;
    const next = tokensOf(await a.refresh(login.refreshToken));
    // The login's access token, issued before the refresh, still names the live session.
    expect((await a.check(login.accessToken)).status).toBe(200);
    expect((await a.revoke(login.accessToken)).status).toBe(204);
    expect(await survivors(a, [login, next])).toEqual([]);
    expect(await survivors(a, [other])).toEqual(['0:session', '0:access', '0:refresh']);
  });

  it('?all=true: 204, and every session of its customer ends; another customer’s lives', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const first = await a.login(target);
    const second = await a.login(target);
    const stranger = await a.login();
    expect((await a.revokeAll(first.accessToken)).status).toBe(204);
    expect(await survivors(a, [first, second])).toEqual([]);
    expect(await survivors(a, [stranger])).toEqual(['0:session', '0:access', '0:refresh']);
  });

  it('401 session-invalid, one body, for a forged, tampered, expired or already logged-out access token; nothing ends', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    const ended = await a.login();
    expect((await a.revoke(ended.accessToken)).status).toBe(204);
    const [header, payload, signature] = login.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${signature}`;
    const tampered = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    const bodies = new Set<string>();
    for (const token of [forged, tampered, ended.accessToken, 'a.b.c']) {
      for (const revoke of [a.revoke, a.revokeAll]) {
        const answer = await revoke(token);
        expectInvalid(answer);
        bodies.add(answer.rawBody);
      }
    }
    h.clock.now += 901 * SECOND;
    for (const revoke of [a.revoke, a.revokeAll]) {
      const answer = await revoke(login.accessToken);
      expectInvalid(answer);
      bodies.add(answer.rawBody);
    }
    expect(bodies.size).toBe(1);
    expect(await survivors(a, [{ sessionToken: login.sessionToken, refreshToken: login.refreshToken }])).toEqual([
      '0:session',
      '0:refresh',
    ]);
  });

  it('in parallel with a refresh of the same login (5 runs): whatever the answers, nothing of the login works after', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    let alive = 0;
    for (let run = 1; run <= 5; run++) {
      const login = await a.login();
      const [revoked, refreshed] = await Promise.all([a.revoke(login.accessToken), a.refresh(login.refreshToken)]);
      expect(revoked.status, `run ${run}`).toBe(204);
      const next = refreshed.status === 200 ? [tokensOf(refreshed)] : [];
      if ((await survivors(a, [login, ...next])).length > 0) alive++;
    }
    expect({ runs: 5, alive }).toEqual({ runs: 5, alive: 0 });
  });
});
