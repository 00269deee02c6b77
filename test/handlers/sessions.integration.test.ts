import {
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { familyItem } from '../../functions/adapters/dynamo/families.js';
import { kindOf, stateKey } from '../../functions/adapters/dynamo/keys.js';
import { sessionItem } from '../../functions/adapters/dynamo/sessions.js';
import {
  ANONYMOUS_AUDIENCE,
  type AccessTokenClaims,
  type AccessTokens,
  type AccessTokenSubject,
} from '../../functions/core/access-tokens.js';
import { addClient } from '../../functions/core/manage-clients.js';
import { SESSION_LIST_LIMIT } from '../../functions/core/list-sessions.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { hashSessionToken, newSessionId, newSessionToken } from '../../functions/core/sessions.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { STATE_TABLE } from '../../functions/tables.js';
import type { Answer } from '../kit.js';
import { between, call, countRequests, expectProblem, type Harness, harness, stateItem } from '../support.js';

/**
 * Sessions as devices (issue 10, item 5), on the real handlers over DynamoDB Local: every session has
 * an id and a family item; GET /v1/sessions lists a customer's live ones; DELETE /v1/session?all=true
 * ends them all, also against refreshes running at that moment; GET /v1/session takes an access token
 * and checks it against its session.
 */

const SECOND = 1000;
const ROOMY = {
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_HOUR: '1000',
  OTP_SEND_LIMIT_PER_DAY: '10000',
  OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
};
const iso = (epochMs: number) => new Date(epochMs).toISOString();

type Headers = Record<string, string>;

interface Login {
  sessionToken: string;
  refreshToken?: string;
  customerId: string;
  answer: Answer;
}

let targets = 0;
const nextTarget = () => `devices-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/**
 * A small real ES256 signer and verifier with jose, as the access-token port asks: a token it did not
 * sign, an expired one or one of another issuer does not verify.
 */
async function es256AccessTokens(issuer = 'https://otp.test') {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const tokens: AccessTokens = {
    async issue(subject: AccessTokenSubject, now: number) {
      const token = await new SignJWT({
        sid: subject.sid,
        auth_time: seconds(subject.authTime),
        amr: ['otp', subject.channel],
        purpose: subject.purpose,
        trust: subject.trustLevel,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(subject.customerId)
        .setAudience(subject.clientId ?? ANONYMOUS_AUDIENCE)
        .setIssuedAt(seconds(now))
        .setExpirationTime(seconds(now) + 900)
        .sign(privateKey);
      return { token, expiresIn: 900 };
    },
    async verify(token: string, now: number) {
      try {
        const { payload } = await jwtVerify(token, publicKey, {
          issuer,
          algorithms: ['ES256'],
          currentDate: new Date(now),
        });
        return payload as unknown as AccessTokenClaims;
      } catch {
        return undefined;
      }
    },
  };
  return tokens;
}

/** The handlers of one warm container each, on the harness's tables and clock. */
function api(h: Harness, accessTokens?: AccessTokens) {
  const send = createSendOtpHandler(h.deps);
  const verify = createVerifyOtpHandler(h.deps);
  const session = createSessionHandler({ ...h.deps, accessTokens });
  const sessions = createSessionsHandler({ ...h.deps, accessTokens });
  const refresh = createRefreshHandler(h.deps);
  const bearer = (token: string, headers: Headers = {}) => ({ ...headers, Authorization: `Bearer ${token}` });
  return {
    /** Send and verify a code for `purpose` and `target`. */
    async login(target: string, purpose: Purpose = 'login', headers: Headers = {}, platform?: string): Promise<Login> {
      const sent = await call(send, { body: { target, purpose }, headers });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      const answer = await call(verify, {
        body: { target, purpose, code: sent.body?.mockCode, ...(platform ? { platform } : {}) },
        headers,
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return {
        sessionToken: answer.body?.sessionToken,
        refreshToken: answer.body?.refreshToken,
        customerId: answer.body?.identity.id,
        answer,
      };
    },
    check: (token: string, headers: Headers = {}, query?: Record<string, string>) =>
      call(session, { method: 'GET', headers: bearer(token, headers), query }),
    revoke: (token: string, query?: Record<string, string>, headers: Headers = {}) =>
      call(session, { method: 'DELETE', headers: bearer(token, headers), query }),
    revokeAll: (token: string, headers: Headers = {}) =>
      call(session, { method: 'DELETE', headers: bearer(token, headers), query: { all: 'true' } }),
    list: (token: string, headers: Headers = {}) => call(sessions, { method: 'GET', headers: bearer(token, headers) }),
    listRaw: (headers: Headers) => call(sessions, { method: 'GET', headers }),
    refresh: (refreshToken: string | undefined, headers: Headers = {}) =>
      call(refresh, { body: { refreshToken }, headers }),
  };
}

/** The listing's sessions, after checking that it answered 200. */
function sessionsOf(answer: Answer): Record<string, any>[] {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body?.sessions as Record<string, any>[];
}

/** The id of the caller's own session, from the listing. */
async function sidOf(a: ReturnType<typeof api>, token: string): Promise<string> {
  const current = sessionsOf(await a.list(token)).filter((session) => session.current);
  expect(current).toHaveLength(1);
  return current[0]?.id as string;
}

function expectInvalid(answer: Answer): void {
  expectProblem(answer, 401, 'session-invalid');
}

const isSessionsQuery = (command: unknown) =>
  command instanceof QueryCommand && command.input.IndexName === STATE_TABLE.sessionsIndex.name;

describe('every session has an id and a family item', () => {
  it.each(['login', 'register', 'step-up', 'reset-password'] as const)(
    '%s: the family records the session; it expires, and is due for the cleanup, with the session or its refresh token',
    async (purpose) => {
      const h = await harness({ ...ROOMY, OTP_STEP_UP_TTL_SECONDS: '600', OTP_EXPIRY_SWEEP: 'true' });
      const a = api(h);
      const loginAt = h.clock.now;
      const login = await a.login(nextTarget(), purpose, {}, 'android');
      const session = await stateItem(h, stateKey.session(hashSessionToken(login.sessionToken)));
      expect(session?.sid).toEqual(expect.any(String));
      const family = await stateItem(h, stateKey.family(session?.sid));
      const refreshable = purpose === 'login' || purpose === 'register';
      const sessionEnd = loginAt + (refreshable ? 86_400 : 600) * SECOND;
      const end = refreshable ? loginAt + 30 * 86_400 * SECOND : sessionEnd;
      expect(family).toMatchObject({
        sessionsOf: login.customerId,
        customerId: login.customerId,
        currentSessionHash: hashSessionToken(login.sessionToken),
        purpose,
        channel: 'email',
        platform: 'android',
        loginAt,
        authTime: loginAt,
        lastUsedAt: loginAt,
        sessionExpiresAt: sessionEnd,
        absoluteExpiresAt: end,
        ttl: Math.ceil(end / 1000),
        dueAt: end,
      });
      expect(family?.clientId).toBeUndefined();
      expect(family?.revokedAt).toBeUndefined();
      if (refreshable) {
        expect(family?.currentRefreshHash).toBe(hashSessionToken(login.refreshToken as string));
        expect(family?.idleUntil).toBe(loginAt + 7 * 86_400 * SECOND);
      } else {
        expect(family).not.toHaveProperty('currentRefreshHash');
        expect(family).not.toHaveProperty('idleUntil');
      }
    },
  );

  it('a refresh brings the family up to date in its one transaction: a read, then the transaction beside the read of the customer', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const loginAt = h.clock.now;
    const login = await a.login(nextTarget());
    const sid = await sidOf(a, login.sessionToken);
    h.clock.now += 600 * SECOND;
    const { result, commands } = await countRequests(h, () => a.refresh(login.refreshToken));
    expect(result.status).toBe(200);
    // Two round trips: the refresh token's item, then the rotation and the customer (for the access
    // token's trust level) at once.
    expect(commands[0]).toBe('GetItemCommand');
    expect(commands.slice(1).sort()).toEqual(['GetItemCommand', 'TransactWriteItemsCommand']);
    expect(await stateItem(h, stateKey.family(sid))).toMatchObject({
      currentSessionHash: hashSessionToken(result.body?.sessionToken),
      currentRefreshHash: hashSessionToken(result.body?.refreshToken),
      loginAt,
      lastUsedAt: h.clock.now,
      sessionExpiresAt: h.clock.now + 86_400 * SECOND,
      idleUntil: h.clock.now + 7 * 86_400 * SECOND,
      absoluteExpiresAt: loginAt + 30 * 86_400 * SECOND,
      sessionsOf: login.customerId,
    });
  });

  it('the cleanup removes a step-up session with its family once it has ended, and nothing live', async () => {
    const h = await harness({ ...ROOMY, OTP_STEP_UP_TTL_SECONDS: '600', OTP_EXPIRY_SWEEP: 'true' });
    const a = api(h);
    const stepUp = await a.login(nextTarget(), 'step-up');
    const kept = await a.login(nextTarget(), 'login');
    h.clock.now += 601 * SECOND;
    const removed = await h.store.removeExpired(h.clock.now, 100, 2);
    expect(removed).toMatchObject({ session: 1, family: 1 });
    expectInvalid(await a.check(stepUp.sessionToken));
    expect((await a.check(kept.sessionToken)).status).toBe(200);
  });

  it.each([
    ['with the expiry sweep', 'true'],
    ['without it (the default)', 'false'],
  ])(
    'every item of logins, step-ups, refreshes, logouts and a revoke-all expires; %s, each is listed in the due index',
    async (_, sweep) => {
      const h = await harness({ ...ROOMY, OTP_EXPIRY_SWEEP: sweep });
      const a = api(h);
      const target = nextTarget();
      const first = await a.login(target);
      const second = await a.login(target);
      const stepUp = await a.login(target, 'step-up');
      expect((await a.refresh(first.refreshToken)).status).toBe(200);
      expect((await a.revoke(second.sessionToken)).status).toBe(204);
      await a.login(nextTarget());
      expect((await a.revokeAll(stepUp.sessionToken)).status).toBe(204);
      const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable }));
      const items = Items.map((item) => unmarshall(item));
      expect(new Set(items.map((item) => kindOf(item.pk as string)))).toEqual(
        new Set(['send', 'session', 'refresh', 'family']),
      );
      for (const item of items) {
        expect(item.ttl, item.pk).toEqual(expect.any(Number));
        if (sweep === 'false') {
          expect(item, item.pk).not.toHaveProperty('dueAt');
          expect(item, item.pk).not.toHaveProperty('dueBucket');
          continue;
        }
        expect(item.dueAt, item.pk).toEqual(expect.any(Number));
        if (kindOf(item.pk as string) !== 'send') expect(item.ttl, item.pk).toBe(Math.ceil(item.dueAt / 1000));
      }
    },
  );

  it('the sessions index holds family items only, and only those not logged out', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const kept = await a.login(target);
    const loggedOut = await a.login(target);
    await a.login(target, 'step-up');
    expect((await a.refresh(kept.refreshToken)).status).toBe(200);
    expect((await a.revoke(loggedOut.sessionToken)).status).toBe(204);
    const { Items = [] } = await h.client.send(
      new ScanCommand({ TableName: h.tables.stateTable, IndexName: STATE_TABLE.sessionsIndex.name }),
    );
    const indexed = Items.map((item) => unmarshall(item));
    expect(indexed).toHaveLength(2);
    for (const item of indexed) {
      expect(kindOf(item.pk as string)).toBe('family');
      expect(item).not.toHaveProperty('currentSessionHash');
      expect(item).not.toHaveProperty('currentRefreshHash');
    }
  });
});

describe('GET /v1/sessions', () => {
  it("200 with the customer's live sessions, step-up included, the caller's marked current, no one else's", async () => {
    const h = await harness({ ...ROOMY, OTP_REQUIRE_API_KEY: 'false' });
    const a = api(h);
    const { apiKey, clientId } = await addClient({ registry: h.registry, now: h.deps.now }, 'Phone app', {});
    const target = nextTarget();
    const t0 = h.clock.now;
    const phone = await a.login(target, 'login', { 'X-API-Key': apiKey }, 'ios');
    h.clock.now += 10 * SECOND;
    const web = await a.login(target, 'login', {}, 'web');
    h.clock.now += 10 * SECOND;
    const stepUp = await a.login(target, 'step-up');
    await a.login(nextTarget());

    const answer = await a.list(web.sessionToken);
    expect(answer.headers['cache-control']).toBe('no-store');
    const listed = sessionsOf(answer);
    expect(listed).toHaveLength(3);
    // Most recently used first.
    expect(listed.map((session) => session.platform)).toEqual([null, 'web', 'ios']);
    expect(listed[2]).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      current: false,
      clientId,
      platform: 'ios',
      issuedAt: iso(t0),
      lastUsedAt: iso(t0),
      expiresAt: iso(t0 + 7 * 86_400 * SECOND),
    });
    expect(listed[1]).toMatchObject({ current: true, clientId: null, issuedAt: iso(t0 + 10 * SECOND) });
    expect(listed[0]).toMatchObject({ current: false, expiresAt: iso(t0 + 20 * SECOND + 1800 * SECOND) });
    expect(new Set(listed.map((session) => session.id)).size).toBe(3);
    // Each caller sees its own as current.
    for (const login of [phone, stepUp]) {
      const own = sessionsOf(await a.list(login.sessionToken, { 'X-API-Key': apiKey }));
      expect(own.filter((session) => session.current).map((session) => session.platform)).toEqual([
        login === phone ? 'ios' : null,
      ]);
    }
  });

  it('a refresh keeps the id and moves lastUsedAt; a logout, an ended step-up and an idle family leave the list', async () => {
    const h = await harness({ ...ROOMY, OTP_STEP_UP_TTL_SECONDS: '600', OTP_REFRESH_IDLE_SECONDS: '7200' });
    const a = api(h);
    const target = nextTarget();
    const t0 = h.clock.now;
    const main = await a.login(target);
    const idle = await a.login(target);
    const gone = await a.login(target);
    await a.login(target, 'step-up');
    const id = await sidOf(a, main.sessionToken);
    expect(sessionsOf(await a.list(main.sessionToken))).toHaveLength(4);

    h.clock.now += 3000 * SECOND;
    const refreshed = await a.refresh(main.refreshToken);
    expect(refreshed.status).toBe(200);
    const listed = sessionsOf(await a.list(refreshed.body?.sessionToken));
    // The step-up session (600 s) has ended.
    expect(listed).toHaveLength(3);
    expect(listed[0]).toEqual({
      id,
      current: true,
      clientId: null,
      platform: null,
      issuedAt: iso(t0),
      lastUsedAt: iso(h.clock.now),
      expiresAt: iso(h.clock.now + 86_400 * SECOND),
    });

    expect((await a.revoke(gone.sessionToken)).status).toBe(204);
    expect(sessionsOf(await a.list(refreshed.body?.sessionToken))).toHaveLength(2);
    // Past the idle window its session token still works, so it is listed until that ends too.
    h.clock.now = t0 + 86_400 * SECOND;
    const late = sessionsOf(await a.list(refreshed.body?.sessionToken));
    expect(late.map((session) => session.id)).toEqual([id]);
    expectInvalid(await a.check(idle.sessionToken));
  });

  it('lists at most SESSION_LIST_LIMIT sessions, those that end last', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login(nextTarget());
    const now = h.clock.now;
    for (let i = 1; i <= SESSION_LIST_LIMIT + 20; i++) {
      await h.client.send(
        new PutItemCommand({
          TableName: h.tables.stateTable,
          Item: marshall(
            familyItem(
              {
                sid: newSessionId(),
                tokenHash: hashSessionToken(newSessionToken()),
                customerId: login.customerId,
                target: 'x@example.com',
                channel: 'email',
                purpose: 'step-up',
                issuedAt: now,
                authTime: now,
                expiresAt: now + (1000 + i) * SECOND,
                origin: {},
              },
              undefined,
              {},
            ),
            { removeUndefinedValues: true },
          ),
        }),
      );
    }
    const { result, commands } = await countRequests(h, () => a.list(login.sessionToken));
    const listed = sessionsOf(result);
    expect(listed).toHaveLength(SESSION_LIST_LIMIT);
    // One read of the caller's session, one Query.
    expect(commands).toEqual(['GetItemCommand', 'QueryCommand']);
    // The login ends in 7 days, last of all; the step-ups follow, latest end first.
    expect(listed.find((session) => session.current)).toBeDefined();
    const stepUpEnds = listed.filter((session) => !session.current).map((session) => Date.parse(session.expiresAt));
    expect(Math.min(...stepUpEnds)).toBe(now + (1000 + 21 + 1) * SECOND);
  });

  it('401 session-invalid with one body for missing, malformed, unknown, expired and revoked tokens', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const revoked = await a.login(nextTarget());
    expect((await a.revoke(revoked.sessionToken)).status).toBe(204);
    const expired = await a.login(nextTarget(), 'step-up');
    const live = await a.login(nextTarget());
    h.clock.now += 1801 * SECOND;
    const bodies = new Set<string>();
    const refused: Headers[] = [
      {},
      { Authorization: 'Bearer' },
      { Authorization: 'Bearer not-a-token' },
      { 'X-OTP-Session': 'A'.repeat(43) },
      { Authorization: `Bearer ${revoked.sessionToken}` },
      { Authorization: `Bearer ${expired.sessionToken}` },
      { Authorization: `Bearer ${live.sessionToken}`, 'X-OTP-Session': revoked.sessionToken },
      // An access token where the deployment checks none.
      { Authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' },
    ];
    for (const headers of refused) {
      const answer = await a.listRaw(headers);
      expectInvalid(answer);
      bodies.add(JSON.stringify(answer.body));
    }
    expect(bodies.size).toBe(1);
    expect(sessionsOf(await a.listRaw({ 'X-OTP-Session': live.sessionToken }))).toHaveLength(1);
  });

  it('401 invalid-api-key for a bad key where keys are required', async () => {
    const h = await harness({ ...ROOMY, OTP_REQUIRE_API_KEY: 'true' });
    const a = api(h);
    const answer = await a.list('A'.repeat(43), { 'X-API-Key': 'otpk_nope' });
    expectProblem(answer, 401, 'invalid-api-key');
    expectProblem(await a.list('A'.repeat(43)), 401, 'invalid-api-key');
  });

  it('a logout racing listings: each listing answers with the sessions before or after it, the last one exactly after', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const logins: Login[] = [];
    for (let i = 0; i < 5; i++) logins.push(await a.login(target));
    const ids = await Promise.all(logins.map((login) => sidOf(a, login.sessionToken)));
    const [first, second, , , watcher] = logins as [Login, Login, Login, Login, Login];
    const answers = await Promise.all([
      a.revoke(first.sessionToken),
      a.list(watcher.sessionToken),
      a.revoke(second.sessionToken),
      a.list(watcher.sessionToken),
      a.list(second.sessionToken),
      a.list(watcher.sessionToken),
    ]);
    expect(answers[0]?.status).toBe(204);
    expect(answers[2]?.status).toBe(204);
    for (const answer of [answers[1], answers[3], answers[5]]) {
      const listed = sessionsOf(answer).map((session) => session.id as string);
      expect(listed.length).toBeGreaterThanOrEqual(3);
      expect(listed.length).toBeLessThanOrEqual(5);
      expect(ids.slice(2).every((id) => listed.includes(id))).toBe(true);
    }
    // The logged-out caller's own listing: either before its logout, or refused after it.
    expect([200, 401]).toContain(answers[4]?.status);
    const after = sessionsOf(await a.list(watcher.sessionToken)).map((session) => session.id as string);
    expect(after.sort()).toEqual(ids.slice(2).sort());
  });
});

describe('DELETE /v1/session?all=true', () => {
  it('204; every session of the customer, step-up included, stops validating and no refresh token rotates', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const logins = [await a.login(target), await a.login(target, 'register'), await a.login(target)];
    const refreshed = await a.refresh(logins[2]?.refreshToken);
    expect(refreshed.status).toBe(200);
    const stepUp = await a.login(target, 'step-up');
    const other = await a.login(nextTarget());

    const answer = await a.revokeAll(stepUp.sessionToken);
    expect(answer.status).toBe(204);
    expect(answer.rawBody).toBe('');
    const sessionTokens = [...logins.map((l) => l.sessionToken), refreshed.body?.sessionToken, stepUp.sessionToken];
    for (const token of sessionTokens) expectInvalid(await a.check(token));
    for (const token of [logins[0]?.refreshToken, logins[1]?.refreshToken, refreshed.body?.refreshToken]) {
      expectInvalid(await a.refresh(token));
    }
    // Another customer is untouched; a new login of this one starts afresh, alone in its list.
    expect((await a.check(other.sessionToken)).status).toBe(200);
    const again = await a.login(target);
    expect(sessionsOf(await a.list(again.sessionToken))).toHaveLength(1);
  });

  it('400 validation-error naming all for any value but true, and nothing is revoked', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login(nextTarget());
    for (const all of ['false', '1', '', 'TRUE', 'true ']) {
      const answer = await a.revoke(login.sessionToken, { all });
      expectProblem(answer, 400, 'validation-error');
      expect(answer.body?.errors).toEqual([{ path: 'all', message: expect.any(String) }]);
    }
    expect((await a.check(login.sessionToken)).status).toBe(200);
  });

  it('401 session-invalid for a missing, unknown or revoked token, and nothing is revoked', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const live = await a.login(target);
    const revoked = await a.login(target);
    expect((await a.revoke(revoked.sessionToken)).status).toBe(204);
    expectInvalid(await a.revokeAll(revoked.sessionToken));
    expectInvalid(await a.revokeAll('A'.repeat(43)));
    expectInvalid(await a.revokeAll(''));
    expect((await a.check(live.sessionToken)).status).toBe(200);
  });

  it('ends hundreds of sessions, page by page', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const login = await a.login(nextTarget());
    const now = h.clock.now;
    const tokens: string[] = [];
    for (let i = 0; i < 250; i++) {
      const token = newSessionToken();
      tokens.push(token);
      const session = {
        sid: newSessionId(),
        tokenHash: hashSessionToken(token),
        customerId: login.customerId,
        target: 'x@example.com',
        channel: 'email' as const,
        purpose: 'step-up' as const,
        issuedAt: now,
        authTime: now,
        expiresAt: now + 1800 * SECOND,
        origin: {},
      };
      for (const item of [sessionItem(session, {}), familyItem(session, undefined, {})]) {
        await h.client.send(
          new PutItemCommand({ TableName: h.tables.stateTable, Item: marshall(item, { removeUndefinedValues: true }) }),
        );
      }
    }
    expect((await a.check(tokens[249] as string)).status).toBe(200);
    const { result, commands } = await countRequests(h, () => a.revokeAll(login.sessionToken));
    expect(result.status).toBe(204);
    // 251 families in pages of 100.
    expect(commands.filter((command) => command === 'QueryCommand')).toHaveLength(3);
    for (const token of [tokens[0], tokens[125], tokens[249]]) expectInvalid(await a.check(token as string));
    const { Items = [] } = await h.client.send(
      new ScanCommand({ TableName: h.tables.stateTable, IndexName: STATE_TABLE.sessionsIndex.name }),
    );
    expect(Items).toHaveLength(0);
  });

  it('racing refreshes of every family (3 runs): afterwards no family rotates and no session of them validates', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    for (let run = 1; run <= 3; run++) {
      const target = nextTarget();
      const logins: Login[] = [];
      for (let i = 0; i < 6; i++) logins.push(await a.login(target));
      const stepUp = await a.login(target, 'step-up');
      // Some refreshes start with the request; the others the moment it has listed the families, so
      // that they run while it revokes them one by one.
      let late: Promise<Answer[]> = Promise.resolve([]);
      const restore = between(h, isSessionsQuery, () => {
        late = Promise.all([...logins, ...logins.slice(0, 2)].map((login) => a.refresh(login.refreshToken)));
        return Promise.resolve();
      });
      const [revokeAll, ...early] = await Promise.all([
        a.revokeAll(stepUp.sessionToken),
        ...logins.slice(3).map((login) => a.refresh(login.refreshToken)),
      ]);
      const refreshes = [...early, ...(await late)];
      restore();
      expect(revokeAll?.status, `run ${run}`).toBe(204);
      expect(refreshes).toHaveLength(11);
      for (const answer of refreshes) expect([200, 401], `run ${run}`).toContain(answer.status);

      const sessionTokens = [
        stepUp.sessionToken,
        ...logins.map((login) => login.sessionToken),
        ...refreshes.flatMap((answer) => (answer.status === 200 ? [answer.body?.sessionToken as string] : [])),
      ];
      const refreshTokens = [
        ...logins.map((login) => login.refreshToken as string),
        ...refreshes.flatMap((answer) => (answer.status === 200 ? [answer.body?.refreshToken as string] : [])),
      ];
      const checks = await Promise.all(sessionTokens.map((token) => a.check(token)));
      expect(
        checks.map((answer) => answer.status),
        `run ${run}`,
      ).toEqual(sessionTokens.map(() => 401));
      const rotations = await Promise.all(refreshTokens.map((token) => a.refresh(token)));
      expect(
        rotations.map((answer) => answer.status),
        `run ${run}`,
      ).toEqual(refreshTokens.map(() => 401));
    }
  });

  it('a refresh right after the revocation touched its family: it fails, or the session it made is ended too', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const login = await a.login(target);
    const caller = await a.login(target);
    const sid = await sidOf(a, login.sessionToken);
    let refreshed: Answer | undefined;
    const restore = between(
      h,
      (command) =>
        !(command instanceof TransactWriteItemsCommand) &&
        !isSessionsQuery(command) &&
        JSON.stringify((command as { input?: unknown }).input).includes(stateKey.family(sid)),
      async () => {
        refreshed = await a.refresh(login.refreshToken);
      },
    );
    expect((await a.revokeAll(caller.sessionToken)).status).toBe(204);
    restore();
    expect([200, 401]).toContain(refreshed?.status);
    if (refreshed?.status === 200) {
      expectInvalid(await a.check(refreshed.body?.sessionToken));
      expectInvalid(await a.refresh(refreshed.body?.refreshToken));
    }
    expectInvalid(await a.check(login.sessionToken));
  });

  it('a refresh between the listing and the revocation: the session it made is ended too', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const login = await a.login(target);
    const caller = await a.login(target);
    let refreshed: Answer | undefined;
    const restore = between(h, isSessionsQuery, async () => {
      refreshed = await a.refresh(login.refreshToken);
    });
    const answer = await a.revokeAll(caller.sessionToken);
    restore();
    expect(answer.status).toBe(204);
    expect(refreshed?.status).toBe(200);
    expectInvalid(await a.check(refreshed?.body?.sessionToken));
    expectInvalid(await a.refresh(refreshed?.body?.refreshToken));
  });

  it('a login that completes after the listing is not revoked (it began after the request)', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const caller = await a.login(target);
    let late: Login | undefined;
    const restore = between(h, isSessionsQuery, async () => {
      late = await a.login(target);
    });
    expect((await a.revokeAll(caller.sessionToken)).status).toBe(204);
    restore();
    expectInvalid(await a.check(caller.sessionToken));
    expect((await a.check((late as Login).sessionToken)).status).toBe(200);
  });

  it('two at once, with two tokens and with one: everything ends; each answers 204, or 401 once the other ended its token', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    for (const same of [false, true]) {
      const target = nextTarget();
      const logins: Login[] = [];
      for (let i = 0; i < 5; i++) logins.push(await a.login(target));
      const [x, y] = logins as [Login, Login];
      const answers = await Promise.all([
        a.revokeAll(x.sessionToken),
        a.revokeAll(same ? x.sessionToken : y.sessionToken),
      ]);
      const statuses = answers.map((answer) => answer.status);
      expect(
        statuses.every((status) => status === 204 || status === 401),
        statuses.join(),
      ).toBe(true);
      expect(statuses).toContain(204);
      for (const login of logins) {
        expectInvalid(await a.check(login.sessionToken));
        expectInvalid(await a.refresh(login.refreshToken));
      }
    }
  });

  it('fails half-way (a delete lost): answers 500, leaves the family listed for a retry, and the retry ends the session', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const other = await a.login(target);
    const caller = await a.login(target);
    const original = h.client.send.bind(h.client) as (command: unknown) => Promise<unknown>;
    let failed = false;
    (h.client as unknown as { send: (command: unknown) => Promise<unknown> }).send = (command) => {
      if (!failed && command instanceof DeleteItemCommand) {
        failed = true;
        return Promise.reject(new Error('socket hang up'));
      }
      return original(command);
    };
    expect((await a.revokeAll(caller.sessionToken)).status).toBe(500);
    (h.client as unknown as { send: typeof original }).send = original;
    // The family is revoked (no refresh) but its session lived on: the retry must find it again.
    expectInvalid(await a.refresh(other.refreshToken));
    expect((await a.check(other.sessionToken)).status).toBe(200);
    // Revoked, so no longer listed as a live session.
    expect(sessionsOf(await a.list(other.sessionToken))).toEqual([]);
    expect((await a.revokeAll(other.sessionToken)).status).toBe(204);
    expectInvalid(await a.check(other.sessionToken));
  });
});

describe('sessions stored before every session had a family', () => {
  /** Strips a login's family down to what the login wrote before this change. */
  async function oldFormat(h: Harness, sid: string) {
    await h.client.send(
      new UpdateItemCommand({
        TableName: h.tables.stateTable,
        Key: marshall({ pk: stateKey.family(sid) }),
        UpdateExpression:
          'REMOVE sessionsOf, target, channel, purpose, clientId, platform, loginAt, authTime, sessionExpiresAt',
      }),
    );
  }

  it('an old family is not listed and fails an access token; its next refresh lists it again', async () => {
    const h = await harness(ROOMY);
    const tokens = await es256AccessTokens();
    const a = api(h, tokens);
    const target = nextTarget();
    const t0 = h.clock.now;
    const old = await a.login(target);
    const caller = await a.login(target);
    const sid = await sidOf(a, old.sessionToken);
    await oldFormat(h, sid);
    expect(sessionsOf(await a.list(caller.sessionToken))).toHaveLength(1);
    expect((await a.check(old.sessionToken)).status).toBe(200);
    const { token } = await tokens.issue(
      {
        customerId: old.customerId,
        sid,
        authTime: t0,
        channel: 'email',
        purpose: 'login',
        trustLevel: 'verified',
      },
      h.clock.now,
    );
    expectInvalid(await a.check(token));

    h.clock.now += 60 * SECOND;
    const refreshed = await a.refresh(old.refreshToken);
    expect(refreshed.status).toBe(200);
    const listed = sessionsOf(await a.list(caller.sessionToken));
    expect(listed).toHaveLength(2);
    expect(listed.find((session) => session.id === sid)).toMatchObject({
      issuedAt: iso(t0),
      lastUsedAt: iso(h.clock.now),
    });
    expect((await a.check(token)).status).toBe(200);
  });

  it('an old session without an id is checked, lists the others (none current) and ends with ?all=true', async () => {
    const h = await harness(ROOMY);
    const a = api(h);
    const target = nextTarget();
    const other = await a.login(target);
    const token = newSessionToken();
    const now = h.clock.now;
    await h.client.send(
      new PutItemCommand({
        TableName: h.tables.stateTable,
        Item: marshall(
          sessionItem(
            {
              tokenHash: hashSessionToken(token),
              customerId: other.customerId,
              target,
              channel: 'email',
              purpose: 'step-up',
              issuedAt: now,
              authTime: now,
              expiresAt: now + 1800 * SECOND,
              origin: {},
            },
            {},
          ),
          { removeUndefinedValues: true },
        ),
      }),
    );
    expect((await a.check(token)).status).toBe(200);
    const listed = sessionsOf(await a.list(token));
    expect(listed).toHaveLength(1);
    expect(listed[0]?.current).toBe(false);
    expect((await a.revokeAll(token)).status).toBe(204);
    expectInvalid(await a.check(token));
    expectInvalid(await a.check(other.sessionToken));
  });
});

describe('GET /v1/session with an access token', () => {
  async function setUp(overrides: Record<string, string> = {}) {
    const h = await harness({ ...ROOMY, OTP_REQUIRE_API_KEY: 'false', ...overrides });
    const tokens = await es256AccessTokens();
    const a = api(h, tokens);
    const { apiKey, clientId } = await addClient({ registry: h.registry, now: h.deps.now }, 'Bank', {
      stepUpTtlSeconds: 300,
    });
    const headers = { 'X-API-Key': apiKey };
    const loginAt = h.clock.now;
    const login = await a.login(nextTarget(), 'login', headers, 'ios');
    const sid = await sidOf(a, login.sessionToken);
    const subject: AccessTokenSubject = {
      customerId: login.customerId,
      sid,
      clientId,
      authTime: loginAt,
      channel: 'email',
      purpose: 'login',
      trustLevel: 'verified',
    };
    const issue = async (changes: Partial<AccessTokenSubject> = {}) =>
      (await tokens.issue({ ...subject, ...changes }, h.clock.now)).token;
    return { h, a, tokens, headers, clientId, login, loginAt, sid, subject, issue };
  }

  it('200 with the session its sid names, with one read of the database', async () => {
    const { h, a, headers, clientId, login, loginAt, issue } = await setUp();
    const token = await issue();
    expect(token.split('.')).toHaveLength(3);
    const { result, commands } = await countRequests(h, () => a.check(token, headers));
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      success: true,
      valid: true,
      customerId: login.customerId,
      target: expect.stringMatching(/@example\.com$/),
      otpType: 'email',
      purpose: 'login',
      issuedAt: iso(loginAt),
      expiresAt: iso(loginAt + 7 * 86_400 * SECOND),
      authTime: iso(loginAt),
      clientId,
    });
    // The key was read at the login already (the harness's handlers share one cache): the family is the one read.
    expect(commands).toEqual(['GetItemCommand']);
    // The same from X-OTP-Session, and for the listing.
    expect((await a.check(token, { ...headers, 'X-OTP-Session': token })).status).toBe(200);
    expect(sessionsOf(await a.list(token, headers)).filter((session) => session.current)).toHaveLength(1);
  });

  it('keeps working across a refresh; ?action follows the OTP the session stands on', async () => {
    const { h, a, headers, login, issue } = await setUp();
    const token = await issue();
    h.clock.now += 200 * SECOND;
    expect((await a.refresh(login.refreshToken, headers)).status).toBe(200);
    expect((await a.check(token, headers, { action: 'payout' })).body).toMatchObject({ otpRequired: true });
    h.clock.now += 101 * SECOND;
    expectProblem(await a.check(token, headers, { action: 'payout' }), 403, 'otp-required');
  });

  it('401 at once after DELETE /v1/session of its session, and after ?all=true', async () => {
    const first = await setUp();
    const token = await first.issue();
    expect((await first.a.check(token, first.headers)).status).toBe(200);
    expect((await first.a.revoke(first.login.sessionToken)).status).toBe(204);
    expectInvalid(await first.a.check(token, first.headers));

    const second = await setUp();
    const other = await second.a.login(nextTarget());
    const before = await second.issue();
    expect((await second.a.revokeAll(second.login.sessionToken)).status).toBe(204);
    expectInvalid(await second.a.check(before, second.headers));
    expect((await second.a.check(other.sessionToken)).status).toBe(200);
  });

  it('401 for a token of another subject, audience or session, another key, expired, or without a verifier', async () => {
    const { h, a, headers, issue, subject } = await setUp();
    const refused = [
      await issue({ customerId: 'someone-else' }),
      await issue({ clientId: 'cli_other' }),
      await issue({ clientId: undefined }),
      await issue({ sid: newSessionId() }),
      (await (await es256AccessTokens()).issue(subject, h.clock.now)).token,
      (await (await es256AccessTokens('https://elsewhere.test')).issue(subject, h.clock.now)).token,
    ];
    for (const token of refused) expectInvalid(await a.check(token, headers));
    const good = await issue();
    expect((await a.check(good, headers)).status).toBe(200);
    expectInvalid(await api(h).check(good, headers));
    h.clock.now += 901 * SECOND;
    expectInvalid(await a.check(good, headers));
  });

  it('401 once its session has ended: a step-up session past its end, a family idle past its session', async () => {
    const { h, a, headers, tokens, login, loginAt, sid } = await setUp({ OTP_REFRESH_IDLE_SECONDS: '3600' });
    const stepUp = await a.login(nextTarget(), 'step-up', headers);
    const stepUpSid = await sidOf(a, stepUp.sessionToken);
    const issueFor = async (customerId: string, id: string, purpose: Purpose) =>
      (
        await tokens.issue(
          {
            customerId,
            sid: id,
            clientId: (await a.check(login.sessionToken)).body?.clientId,
            authTime: loginAt,
            channel: 'email',
            purpose,
            trustLevel: 'verified',
          },
          h.clock.now,
        )
      ).token;
    h.clock.now += 299 * SECOND;
    const stepUpToken = await issueFor(stepUp.customerId, stepUpSid, 'step-up');
    expect((await a.check(stepUpToken, headers)).status).toBe(200);
    h.clock.now += 2 * SECOND;
    expectInvalid(await a.check(stepUpToken, headers));

    // The session token (24 h) outlives the idle window (1 h): the family lives as long as it does.
    h.clock.now = loginAt + 86_400 * SECOND - 60 * SECOND;
    expect((await a.check(await issueFor(login.customerId, sid, 'login'), headers)).status).toBe(200);
    h.clock.now = loginAt + 86_400 * SECOND;
    expectInvalid(await a.check(await issueFor(login.customerId, sid, 'login'), headers));
  });
});
