import { describe, expect, it } from 'vitest';
import type { ClientPolicy } from '../../functions/core/client-policy.js';
import { addClient } from '../../functions/core/manage-clients.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import type { Answer } from '../kit.js';
import { TransactionCanceledException, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { between, call, expectProblem, type Harness, harness } from '../support.js';

/**
 * POST /v1/session/refresh on the real handlers over DynamoDB Local (issue 10, item 4): refresh tokens
 * rotate, a used one presented again revokes the whole session, two parallel refreshes with one token
 * give one success, and the idle and absolute lifetimes hold.
 */

const SECOND = 1000;
/** 32 random bytes in unpadded base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Enough sends for the many logins of one test, with no cooldown between them. */
const ROOMY = {
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_HOUR: '1000',
  OTP_SEND_LIMIT_PER_DAY: '10000',
};

type Headers = Record<string, string>;

interface Tokens {
  sessionToken: string;
  refreshToken: string;
}

let targets = 0;
const nextTarget = () => `refresh-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** The handlers of one warm container each, on the harness's tables and clock. */
function api(h: Harness) {
  const send = createSendOtpHandler(h.deps);
  const verify = createVerifyOtpHandler(h.deps);
  const session = createSessionHandler(h.deps);
  const refresh = createRefreshHandler(h.deps);
  return {
    /** Send and verify a code for `purpose`; the verify's answer. */
    async verify(purpose: Purpose = 'login', target = nextTarget(), headers: Headers = {}): Promise<Answer> {
      const sent = await call(send, { body: { target, purpose }, headers });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      const verified = await call(verify, { body: { target, purpose, code: sent.body?.mockCode }, headers });
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      return verified;
    },
    /** A login's tokens. */
    async login(headers: Headers = {}): Promise<Tokens & { answer: Answer }> {
      const answer = await this.verify('login', nextTarget(), headers);
      return { sessionToken: answer.body?.sessionToken, refreshToken: answer.body?.refreshToken, answer };
    },
    refresh: (refreshToken: unknown, headers: Headers = {}) => call(refresh, { body: { refreshToken }, headers }),
    refreshRaw: (options: { body?: unknown; rawBody?: string }) => call(refresh, options),
    check: (sessionToken: string, headers: Headers = {}) =>
      call(session, { method: 'GET', headers: { ...headers, Authorization: `Bearer ${sessionToken}` } }),
    revoke: (sessionToken: string) =>
      call(session, { method: 'DELETE', headers: { Authorization: `Bearer ${sessionToken}` } }),
  };
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** The tokens a 200 refresh answered with. */
function tokensOf(answer: Answer): Tokens {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { sessionToken: answer.body?.sessionToken, refreshToken: answer.body?.refreshToken };
}

function expectInvalid(answer: Answer): void {
  expectProblem(answer, 401, 'session-invalid');
}

describe('verify issues refresh tokens for login and register only', () => {
  it.each(['login', 'register'] as const)(
    '%s: refreshToken of 43 base64url characters, refreshExpiresAt = verify time + OTP_REFRESH_TTL_SECONDS',
    async (purpose) => {
      const h = await harness({ ...ROOMY, OTP_REFRESH_TTL_SECONDS: '7200' });
      const verifiedAt = h.clock.now;
      const answer = await api(h).verify(purpose);
      expect(answer.body?.refreshToken).toMatch(TOKEN);
      expect(answer.body?.refreshToken).not.toBe(answer.body?.sessionToken);
      expect(answer.body?.refreshExpiresAt).toBe(iso(verifiedAt + 7200 * SECOND));
    },
  );

  it.each(['step-up', 'reset-password'] as const)('%s: no refreshToken, no refreshExpiresAt', async (purpose) => {
    const h = await harness(ROOMY);
    const answer = await api(h).verify(purpose);
    expect(answer.body?.sessionToken).toMatch(TOKEN);
    expect(answer.body).not.toHaveProperty('refreshToken');
    expect(answer.body).not.toHaveProperty('refreshExpiresAt');
  });
});

describe('POST /v1/session/refresh', () => {
  it('200 with new tokens; the family end stays that of the login', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const loginAt = h.clock.now;
    const login = await a.login();
    h.clock.now += 3600 * SECOND;
    const refreshed = await a.refresh(login.refreshToken);
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers['cache-control']).toBe('no-store');
    expect(refreshed.body).toMatchObject({
      sessionToken: expect.stringMatching(TOKEN),
      refreshToken: expect.stringMatching(TOKEN),
      expiresAt: iso(h.clock.now + 86_400 * SECOND),
      expiresIn: 86_400,
      refreshExpiresAt: iso(loginAt + 30 * 86_400 * SECOND),
    });
    expect(refreshed.body?.refreshExpiresAt).toBe(login.answer.body?.refreshExpiresAt);
    expect(refreshed.body?.sessionToken).not.toBe(login.sessionToken);
    expect(refreshed.body?.refreshToken).not.toBe(login.refreshToken);
  });

  it('the new session token passes GET /v1/session with the same customer and the authTime of the OTP', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const verifiedAt = h.clock.now;
    const login = await a.login();
    h.clock.now += 600 * SECOND;
    const refreshedAt = h.clock.now;
    const next = tokensOf(await a.refresh(login.refreshToken));
    const checked = await a.check(next.sessionToken);
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({
      valid: true,
      customerId: login.answer.body?.identity.id,
      purpose: 'login',
      authTime: iso(verifiedAt),
      issuedAt: iso(refreshedAt),
    });
  });

  it('the old session token answers 401 after a refresh', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    expect((await a.check(login.sessionToken)).status).toBe(200);
    tokensOf(await a.refresh(login.refreshToken));
    expectInvalid(await a.check(login.sessionToken));
  });

  it('a used refresh token presented again: 401, and the newest session and refresh tokens are revoked', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    const second = tokensOf(await a.refresh(login.refreshToken));
    const third = tokensOf(await a.refresh(second.refreshToken));
    expect((await a.check(third.sessionToken)).status).toBe(200);

    expectInvalid(await a.refresh(login.refreshToken));
    expectInvalid(await a.check(third.sessionToken));
    expectInvalid(await a.refresh(third.refreshToken));
    // Nothing of the family is left: the older tokens stay refused too.
    expectInvalid(await a.check(second.sessionToken));
    expectInvalid(await a.refresh(second.refreshToken));
  });

  it('a chain of 5 refreshes, each with the refresh token of the one before', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    let current: Tokens = login;
    const seen = new Set([login.sessionToken, login.refreshToken]);
    for (let i = 0; i < 5; i++) {
      h.clock.now += 60 * SECOND;
      const next = tokensOf(await a.refresh(current.refreshToken));
      expect(seen.has(next.sessionToken) || seen.has(next.refreshToken)).toBe(false);
      seen.add(next.sessionToken).add(next.refreshToken);
      expectInvalid(await a.check(current.sessionToken));
      const checked = await a.check(next.sessionToken);
      expect(checked.status).toBe(200);
      expect(checked.body?.customerId).toBe(login.answer.body?.identity.id);
      current = next;
    }
  });

  it('10 parallel refreshes with one token: exactly 1 answers 200, 9 answer 401, then the winner is revoked (3 runs)', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    for (let run = 1; run <= 3; run++) {
      const login = await a.login();
      const answers = await Promise.all(Array.from({ length: 10 }, () => a.refresh(login.refreshToken)));
      const statuses = answers.map((answer) => answer.status);
      const winners = answers.filter((answer) => answer.status === 200);
      expect(
        { run, ok: winners.length, refused: statuses.filter((s) => s === 401).length },
        `run ${run}: statuses ${statuses.join(',')}`,
      ).toEqual({ run, ok: 1, refused: 9 });
      for (const answer of answers) if (answer.status !== 200) expectInvalid(answer);
      const winner = tokensOf(winners[0] as Answer);
      // The losers presented a token that was no longer current: reuse, so the whole session ended.
      expectInvalid(await a.check(winner.sessionToken));
      expectInvalid(await a.refresh(winner.refreshToken));
      expectInvalid(await a.check(login.sessionToken));
    }
  });
});

describe('refresh lifetimes', () => {
  it('idle: a refresh 601 s after the last use answers 401', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_IDLE_SECONDS: '600' });
    const a = api(h);
    const login = await a.login();
    h.clock.now += 601 * SECOND;
    expectInvalid(await a.refresh(login.refreshToken));
  });

  it('idle: a refresh at 599 s answers 200 and restarts the idle clock', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_IDLE_SECONDS: '600' });
    const a = api(h);
    const login = await a.login();
    h.clock.now += 599 * SECOND;
    const second = tokensOf(await a.refresh(login.refreshToken));
    // 1198 s after the login, but 599 s after the last use.
    h.clock.now += 599 * SECOND;
    const third = tokensOf(await a.refresh(second.refreshToken));
    // And 601 s after that last use the family has ended.
    h.clock.now += 601 * SECOND;
    expectInvalid(await a.refresh(third.refreshToken));
  });

  it('absolute: refreshing every 2900 s works until the end counted from the login, then 401', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_TTL_SECONDS: '3600', OTP_REFRESH_IDLE_SECONDS: '3000' });
    const a = api(h);
    const loginAt = h.clock.now;
    const login = await a.login();
    const end = loginAt + 3600 * SECOND;
    expect(login.answer.body?.refreshExpiresAt).toBe(iso(end));
    let current: Tokens = login;
    let refreshes = 0;
    for (;;) {
      h.clock.now += 2900 * SECOND;
      const answer = await a.refresh(current.refreshToken);
      if (h.clock.now >= end) {
        expectInvalid(answer);
        break;
      }
      current = tokensOf(answer);
      refreshes++;
      expect(answer.body?.refreshExpiresAt).toBe(iso(end));
      expect(Date.parse(answer.body?.expiresAt)).toBeLessThanOrEqual(Date.parse(answer.body?.refreshExpiresAt));
      expect(answer.body?.expiresIn).toBe(Math.round((end - h.clock.now) / SECOND));
    }
    expect(refreshes).toBe(1);
  });

  it('absolute: a refresh 1 s before the end works with a session capped at the end; at the end 401', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_TTL_SECONDS: '3600', OTP_REFRESH_IDLE_SECONDS: '3000' });
    const a = api(h);
    const loginAt = h.clock.now;
    const login = await a.login();
    const end = loginAt + 3600 * SECOND;
    h.clock.now += 2000 * SECOND;
    const second = tokensOf(await a.refresh(login.refreshToken));
    h.clock.now = end - SECOND;
    const last = await a.refresh(second.refreshToken);
    const third = tokensOf(last);
    expect(last.body).toMatchObject({ expiresAt: iso(end), expiresIn: 1, refreshExpiresAt: iso(end) });
    expect((await a.check(third.sessionToken)).status).toBe(200);
    h.clock.now = end;
    expectInvalid(await a.refresh(third.refreshToken));
    expectInvalid(await a.check(third.sessionToken));
  });
});

describe('revocation and bad input', () => {
  it('DELETE /v1/session with the session token: its refresh token answers 401 afterwards', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    expect((await a.revoke(login.sessionToken)).status).toBe(204);
    expectInvalid(await a.refresh(login.refreshToken));
  });

  it('DELETE /v1/session with a refreshed session token: the newest refresh token answers 401 afterwards', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login();
    const next = tokensOf(await a.refresh(login.refreshToken));
    expect((await a.revoke(next.sessionToken)).status).toBe(204);
    expectInvalid(await a.refresh(next.refreshToken));
  });

  it('401 session-invalid, one body for empty, malformed, unknown, session-token, used and revoked refresh tokens', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const used = await a.login();
    tokensOf(await a.refresh(used.refreshToken));
    const revoked = await a.login();
    expect((await a.revoke(revoked.sessionToken)).status).toBe(204);
    const live = await a.login();

    const refused: unknown[] = [
      '',
      'not-a-token',
      'A'.repeat(42),
      `${'A'.repeat(42)}=`,
      'A'.repeat(44),
      'A'.repeat(43),
      live.sessionToken,
      used.refreshToken,
      revoked.refreshToken,
    ];
    const bodies = new Set<string>();
    for (const token of refused) {
      const answer = await a.refresh(token);
      expectInvalid(answer);
      bodies.add(JSON.stringify(answer.body));
    }
    expect(bodies.size).toBe(1);
    // None of that touched the live login.
    expect((await a.check(live.sessionToken)).status).toBe(200);
    tokensOf(await a.refresh(live.refreshToken));
  });

  it('400 validation-error naming refreshToken when it is missing, not a string or too long', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const bad: unknown[] = [{}, { refreshToken: 12 }, { refreshToken: null }, { refreshToken: 'A'.repeat(65) }];
    for (const body of bad) {
      const answer = await a.refreshRaw({ body });
      expectProblem(answer, 400, 'validation-error');
      expect(JSON.stringify(answer.body), JSON.stringify(body)).toContain('refreshToken');
    }
  });
});

describe('a client policy on refresh', () => {
  it("the client's sessionTtlSeconds applies to the refreshed session", async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const policy: ClientPolicy = { sessionTtlSeconds: 300 };
    const client = await addClient({ registry: h.registry, now: h.deps.now }, 'Refresh app', policy);
    const headers = { 'X-API-Key': client.apiKey };
    const login = await a.login(headers);
    expect(login.answer.body?.expiresIn).toBe(300);
    h.clock.now += 100 * SECOND;
    const refreshed = await a.refresh(login.refreshToken, headers);
    const next = tokensOf(refreshed);
    expect(refreshed.body).toMatchObject({ expiresIn: 300, expiresAt: iso(h.clock.now + 300 * SECOND) });
    const checked = await a.check(next.sessionToken, headers);
    expect(checked.body).toMatchObject({ expiresAt: iso(h.clock.now + 300 * SECOND), clientId: client.clientId });
    h.clock.now += 301 * SECOND;
    expectInvalid(await a.check(next.sessionToken, headers));
  });
});

describe('lifetimes follow the login', () => {
  it('the login session never outlives its refresh family', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_TTL_SECONDS: '3600', SESSION_TTL_SECONDS: '86400' });
    const { answer } = await api(h).login();
    expect(answer.body?.expiresIn).toBe(3600);
    expect(answer.body?.expiresAt).toBe(answer.body?.refreshExpiresAt);
  });

  it('a refreshed session keeps the lifetime the client had at the login', async () => {
    const h = await harness({ ...ROOMY, OTP_REQUIRE_API_KEY: 'false' });
    const manage = { registry: h.registry, now: h.deps.now };
    const client = await addClient(manage, 'Short sessions', { sessionTtlSeconds: 300 });
    const app = api(h);
    const { refreshToken, answer } = await app.login({ 'X-API-Key': client.apiKey });
    expect(answer.body?.expiresIn).toBe(300);
    // A later policy, already in this function's cache, does not change the login's sessions.
    const other = await addClient(manage, 'Other', { sessionTtlSeconds: 900 });
    void other;
    const refreshed = await app.refresh(refreshToken, { 'X-API-Key': client.apiKey });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body?.expiresIn).toBe(300);
  });
});

const keyOf = (command: unknown) =>
  JSON.stringify((command as { input?: { Key?: unknown; TransactItems?: unknown } }).input ?? {});

describe('refresh against revocation, step by step (found in review)', () => {
  it('a reuse that races a rotation still ends the session the rotation made', async () => {
    const h = await harness(ROOMY);
    const app = api(h);
    const login = await app.login();
    const second = tokensOf(await app.refresh(login.refreshToken));
    let third: Answer | undefined;
    const restore = between(
      h,
      (command, error) => command instanceof TransactWriteItemsCommand && error instanceof TransactionCanceledException,
      async () => {
        third = await app.refresh(second.refreshToken);
      },
    );
    expectInvalid(await app.refresh(login.refreshToken));
    restore();
    const latest = tokensOf(third as Answer);
    expectInvalid(await app.check(latest.sessionToken));
    expectInvalid(await app.refresh(latest.refreshToken));
  });

  it('a DELETE that a refresh overtakes between its read and its write still ends the login', async () => {
    const h = await harness(ROOMY);
    const app = api(h);
    const login = await app.login();
    let refreshed: Answer | undefined;
    const restore = between(
      h,
      (command) => keyOf(command).includes('session#') && !keyOf(command).includes('TransactItems'),
      async () => {
        refreshed = await app.refresh(login.refreshToken);
      },
    );
    const revoked = await app.revoke(login.sessionToken);
    restore();
    expect(refreshed?.status).toBe(200);
    const next = tokensOf(refreshed as Answer);
    // The refresh rotated the token away before the revoke wrote: the token is no longer valid (401),
    // but its tombstone names the login, which ends with the session the refresh made.
    expectInvalid(revoked);
    expectInvalid(await app.check(next.sessionToken));
    expectInvalid(await app.refresh(next.refreshToken));
  });

  it('a DELETE that fails half-way leaves nothing half-done: retried, it ends the refresh token', async () => {
    const h = await harness(ROOMY);
    const app = api(h);
    const login = await app.login();
    const original = h.client.send.bind(h.client) as (command: unknown) => Promise<unknown>;
    let failed = false;
    (h.client as unknown as { send: (command: unknown) => Promise<unknown> }).send = (command) => {
      if (!failed && command instanceof TransactWriteItemsCommand && keyOf(command).includes('family#')) {
        failed = true;
        return Promise.reject(new Error('socket hang up'));
      }
      return original(command);
    };
    expect((await app.revoke(login.sessionToken)).status).toBe(500);
    (h.client as unknown as { send: typeof original }).send = original;
    expect((await app.revoke(login.sessionToken)).status).toBe(204);
    expectInvalid(await app.refresh(login.refreshToken));
  });

  it('logging out with an expired session token still ends its refresh token', async () => {
    const h = await harness({ ...ROOMY, OTP_REFRESH_IDLE_SECONDS: '172800' });
    const app = api(h);
    const login = await app.login();
    h.clock.now += 86_400 * SECOND + 1;
    expectInvalid(await app.revoke(login.sessionToken));
    expectInvalid(await app.refresh(login.refreshToken));
  });

  it('a refresh token works only for the client that logged in', async () => {
    const h = await harness({ ...ROOMY, OTP_REQUIRE_API_KEY: 'false' });
    const manage = { registry: h.registry, now: h.deps.now };
    const mine = await addClient(manage, 'Mine', {});
    const theirs = await addClient(manage, 'Theirs', {});
    const app = api(h);
    const login = await app.login({ 'X-API-Key': mine.apiKey });
    expectInvalid(await app.refresh(login.refreshToken, { 'X-API-Key': theirs.apiKey }));
    expectInvalid(await app.refresh(login.refreshToken));
    // Refused without counting as a reuse: the login goes on.
    expect((await app.refresh(login.refreshToken, { 'X-API-Key': mine.apiKey })).status).toBe(200);
    const anonymous = await app.login();
    expectInvalid(await app.refresh(anonymous.refreshToken, { 'X-API-Key': mine.apiKey }));
  });
});

describe('step-up purposes open a short session (issue 10, item 1)', () => {
  it.each(['step-up', 'reset-password'] as const)(
    '%s: a session of OTP_STEP_UP_TTL_SECONDS (or the client’s stepUpTtlSeconds), no refresh token',
    async (purpose) => {
      const h = await harness({ ...ROOMY, OTP_STEP_UP_TTL_SECONDS: '600', OTP_REQUIRE_API_KEY: 'false' });
      const app = api(h);
      const anonymous = await app.verify(purpose);
      expect(anonymous.body).toMatchObject({ expiresIn: 600 });
      expect(anonymous.body?.refreshToken).toBeUndefined();
      const session = await app.check(anonymous.body?.sessionToken);
      expect(Date.parse(session.body?.expiresAt) - Date.parse(session.body?.issuedAt)).toBe(600 * SECOND);

      const { apiKey } = await addClient({ registry: h.registry, now: h.deps.now }, 'Bank', { stepUpTtlSeconds: 120 });
      const keyed = await app.verify(purpose, undefined, { 'X-API-Key': apiKey });
      expect(keyed.body).toMatchObject({ expiresIn: 120 });
      h.clock.now += 120 * SECOND;
      expectInvalid(await app.check(keyed.body?.sessionToken, { 'X-API-Key': apiKey }));
    },
  );

  it('login and register keep the full session lifetime', async () => {
    const h = await harness({ ...ROOMY, OTP_STEP_UP_TTL_SECONDS: '600' });
    const app = api(h);
    for (const purpose of ['login', 'register'] as const) {
      expect((await app.verify(purpose)).body?.expiresIn).toBe(86_400);
    }
  });
});
