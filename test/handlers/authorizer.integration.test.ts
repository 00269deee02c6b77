import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccessTokenSubject } from '../../functions/core/access-tokens.js';
import { addClient } from '../../functions/core/manage-clients.js';
import { initialKeySet, serializeKeySet } from '../../functions/core/signing-keys.js';
import { newSessionId } from '../../functions/core/sessions.js';
import { type AuthorizerDeps, createAuthorizerHandler } from '../../functions/handlers/authorizer.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { IDENTITY_HEADERS } from '../../functions/http/authorizer-policy.js';
import { lambdaContext } from '../../functions/local/events.js';
import { createAccessTokens, createStore, withSigningKeys } from '../../functions/wiring.js';
import { call, countRequests, harness, testConfig } from '../support.js';

// Errors only, so that the fail-closed test can read what the authorizer logs; set before any
// logger exists (Powertools re-applies its initial level on every invocation).
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The Lambda REQUEST authorizer (functions/handlers/authorizer.ts) on DynamoDB Local, with sessions
 * made by the real send and verify handlers and access tokens signed with the run's real keys
 * (OTP_SIGNING_KEYS, test/setup-env.ts).
 */

const SECOND = 1000;
const ISSUER = 'https://otp.authorizer.test';
const API = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5';
const METHOD_ARN = `${API}/prod/GET/orders/42`;
const ROOMY = {
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_HOUR: '1000',
  OTP_SEND_LIMIT_PER_DAY: '10000',
  OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
};
const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** The keys of this run, as the deployed functions load theirs. */
async function accessTokensOf(issuer = ISSUER, keys = process.env.OTP_SIGNING_KEYS as string) {
  return createAccessTokens(await withSigningKeys(testConfig({ OTP_SIGNING_KEYS: keys, OTP_ISSUER: issuer })));
}

/** The event API Gateway sends a REST API REQUEST authorizer (header names as the client sent them). */
function authorizerEvent(
  headers: Record<string, string | string[]>,
  methodArn = METHOD_ARN,
): APIGatewayRequestAuthorizerEvent {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    single[name] = values.at(-1) as string;
    multi[name] = values;
  }
  return {
    type: 'REQUEST',
    methodArn,
    resource: '/orders/{id}',
    path: '/orders/42',
    httpMethod: 'GET',
    headers: single,
    multiValueHeaders: multi,
    pathParameters: { id: '42' },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      stage: 'prod',
      requestId: randomUUID(),
      httpMethod: 'GET',
      path: '/prod/orders/42',
      resourcePath: '/orders/{id}',
    } as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

/** What the authorizer answered, or the message of what it threw (API Gateway's 401 / 500). */
async function outcome(answer: Promise<APIGatewayAuthorizerResult>): Promise<APIGatewayAuthorizerResult | string> {
  try {
    return await answer;
  } catch (error) {
    return `thrown: ${(error as Error).message}`;
  }
}

const UNAUTHORIZED = 'thrown: Unauthorized';

interface Login {
  sessionToken: string;
  customerId: string;
  sid: string;
  loginAt: number;
}

let targets = 0;
const nextTarget = () => `authorizer-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

async function setUp(options: { headers?: AuthorizerDeps['headers']; overrides?: Record<string, string> } = {}) {
  const h = await harness({ ...ROOMY, ...options.overrides });
  const accessTokens = await accessTokensOf();
  const deps: AuthorizerDeps = {
    store: h.store,
    now: h.deps.now,
    accessTokens,
    headers: options.headers ?? IDENTITY_HEADERS,
  };
  const authorizer = createAuthorizerHandler(deps);
  const send = createSendOtpHandler(h.deps);
  const verify = createVerifyOtpHandler(h.deps);
  const session = createSessionHandler(h.deps);
  const sessions = createSessionsHandler(h.deps);

  const authorize = (headers: Record<string, string | string[]>, methodArn?: string) =>
    outcome(authorizer(authorizerEvent(headers, methodArn), lambdaContext('authorizer', randomUUID())));

  /** A login through the real send and verify handlers; its sid from GET /v1/sessions. */
  async function login(target = nextTarget(), headers: Record<string, string> = {}): Promise<Login> {
    const loginAt = h.clock.now;
    const sent = await call(send, { body: { target }, headers });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const verified = await call(verify, { body: { target, code: sent.body?.mockCode }, headers });
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    const sessionToken = verified.body?.sessionToken as string;
    const listed = await call(sessions, {
      method: 'GET',
      headers: { ...headers, Authorization: `Bearer ${sessionToken}` },
    });
    const current = (listed.body?.sessions as { id: string; current: boolean }[]).filter((s) => s.current);
    expect(current).toHaveLength(1);
    return { sessionToken, customerId: verified.body?.identity.id, sid: current[0]?.id as string, loginAt };
  }

  /** An access token for the login's session, as verify will hand one out. */
  const accessTokenFor = async (
    of: Login,
    changes: Partial<AccessTokenSubject> = {},
    tokens = accessTokens,
  ): Promise<string> =>
    (
      await tokens.issue(
        {
          customerId: of.customerId,
          sid: of.sid,
          authTime: of.loginAt,
          channel: 'email',
          purpose: 'login',
          trustLevel: 'verified',
          ...changes,
        },
        h.clock.now,
      )
    ).token;

  const logout = (token: string, query?: Record<string, string>) =>
    call(session, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` }, query });

  return { h, deps, authorizer, authorize, login, accessTokenFor, logout };
}

const allowOnStage = (login: Login, context: Record<string, string>) => ({
  principalId: login.customerId,
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${API}/prod/*/*` }],
  },
  context,
});

describe('allows a live session', () => {
  it('by its session token, in Authorization: Bearer or X-OTP-Session: Allow on the stage, the customer as principal', async () => {
    const { h, authorize, login } = await setUp();
    const mine = await login();
    h.clock.now += 60 * SECOND;
    const expected = allowOnStage(mine, {
      customerId: mine.customerId,
      sessionId: mine.sid,
      purpose: 'login',
      channel: 'email',
      authTime: iso(mine.loginAt),
    });
    const { result, commands } = await countRequests(h, () =>
      authorize({ Authorization: `Bearer ${mine.sessionToken}` }),
    );
    expect(result).toEqual(expected);
    expect(commands).toEqual(['GetItemCommand']);
    expect(await authorize({ 'X-OTP-Session': mine.sessionToken })).toEqual(expected);
    // Header names as the client spelt them, and both headers when they agree.
    expect(
      await authorize({ authorization: `bearer ${mine.sessionToken}`, 'x-otp-session': mine.sessionToken }),
    ).toEqual(expected);
  });

  it('by an access token of its session, with one read, and the client that logged in in the context', async () => {
    const { h, authorize, login, accessTokenFor } = await setUp();
    const { apiKey, clientId } = await addClient({ registry: h.registry, now: h.deps.now }, 'Shop app', {});
    const mine = await login(nextTarget(), { 'X-API-Key': apiKey });
    const token = await accessTokenFor(mine, { clientId });
    const { result, commands } = await countRequests(h, () => authorize({ Authorization: `Bearer ${token}` }));
    expect(result).toEqual(
      allowOnStage(mine, {
        customerId: mine.customerId,
        sessionId: mine.sid,
        clientId,
        purpose: 'login',
        channel: 'email',
        authTime: iso(mine.loginAt),
      }),
    );
    expect(commands).toEqual(['GetItemCommand']);
    // No target in what reaches the integration and its logs.
    expect(JSON.stringify(result)).not.toContain('@example.com');
  });

  it('on every method and path of the called stage only: the root resource, another method, never another stage or API', async () => {
    const { authorize, login } = await setUp();
    const mine = await login();
    const bearer = { Authorization: `Bearer ${mine.sessionToken}` };
    const resourceOf = (answer: APIGatewayAuthorizerResult | string) =>
      (answer as APIGatewayAuthorizerResult).policyDocument.Statement.map((s) => (s as { Resource: string }).Resource);
    expect(resourceOf(await authorize(bearer, `${API}/prod/GET/`))).toEqual([`${API}/prod/*/*`]);
    expect(resourceOf(await authorize(bearer, `${API}/test/DELETE/orders/42/items/7`))).toEqual([`${API}/test/*/*`]);
  });
});

describe('401 Unauthorized', () => {
  it('for a missing, malformed, unknown or garbage token', async () => {
    const { authorize } = await setUp();
    const refused: Record<string, string>[] = [
      {},
      { Authorization: '' },
      { Authorization: 'Bearer' },
      { Authorization: 'Basic dXNlcjpwYXNz' },
      { Authorization: 'Bearer not-a-token' },
      { Authorization: `Bearer ${'A'.repeat(43)}` },
      { 'X-OTP-Session': 'A'.repeat(43) },
      { Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln' },
    ];
    for (const headers of refused) expect(await authorize(headers), JSON.stringify(headers)).toBe(UNAUTHORIZED);
  });

  it('when Authorization and X-OTP-Session disagree, or one header comes twice with different tokens', async () => {
    const { authorize, login } = await setUp();
    const mine = await login();
    const other = await login();
    expect(await authorize({ Authorization: `Bearer ${mine.sessionToken}`, 'X-OTP-Session': other.sessionToken })).toBe(
      UNAUTHORIZED,
    );
    expect(await authorize({ 'X-OTP-Session': [mine.sessionToken, other.sessionToken] })).toBe(UNAUTHORIZED);
    // Two spellings of one name, with two tokens.
    expect(await authorize({ 'X-OTP-Session': mine.sessionToken, 'x-otp-session': other.sessionToken })).toBe(
      UNAUTHORIZED,
    );
    // Sanity: each token alone is allowed, so the refusals above are the disagreement's.
    for (const token of [mine.sessionToken, other.sessionToken]) {
      expect(await authorize({ 'X-OTP-Session': token })).toMatchObject({ principalId: expect.any(String) });
    }
  });

  it('for an expired session token and an expired access token', async () => {
    const { h, authorize, login, accessTokenFor } = await setUp();
    const mine = await login();
    const token = await accessTokenFor(mine);
    h.clock.now += 899 * SECOND;
    expect(await authorize({ Authorization: `Bearer ${token}` })).toMatchObject({ principalId: mine.customerId });
    h.clock.now += 2 * SECOND;
    expect(await authorize({ Authorization: `Bearer ${token}` })).toBe(UNAUTHORIZED);
    // The session token lives on until its 24 hours are over.
    expect(await authorize({ Authorization: `Bearer ${mine.sessionToken}` })).toMatchObject({
      principalId: mine.customerId,
    });
    h.clock.now = mine.loginAt + 86_400 * SECOND;
    expect(await authorize({ Authorization: `Bearer ${mine.sessionToken}` })).toBe(UNAUTHORIZED);
  });

  it('at once after logout (DELETE /v1/session), for the session token and its access tokens', async () => {
    const { authorize, login, accessTokenFor, logout } = await setUp();
    const mine = await login();
    const token = await accessTokenFor(mine);
    expect(await authorize({ Authorization: `Bearer ${token}` })).toMatchObject({ principalId: mine.customerId });
    expect((await logout(mine.sessionToken)).status).toBe(204);
    expect(await authorize({ Authorization: `Bearer ${mine.sessionToken}` })).toBe(UNAUTHORIZED);
    expect(await authorize({ Authorization: `Bearer ${token}` })).toBe(UNAUTHORIZED);
  });

  it("at once after DELETE /v1/session?all=true from another of the customer's sessions; another customer's session lives on", async () => {
    const { authorize, login, accessTokenFor, logout } = await setUp();
    const target = nextTarget();
    const phone = await login(target);
    const laptop = await login(target);
    const stranger = await login();
    const phoneAccess = await accessTokenFor(phone);
    expect((await logout(laptop.sessionToken, { all: 'true' })).status).toBe(204);
    for (const token of [phone.sessionToken, phoneAccess, laptop.sessionToken]) {
      expect(await authorize({ Authorization: `Bearer ${token}` })).toBe(UNAUTHORIZED);
    }
    expect(await authorize({ Authorization: `Bearer ${stranger.sessionToken}` })).toMatchObject({
      principalId: stranger.customerId,
    });
  });

  it('for an access token of another issuer, another key, another subject or an unknown session', async () => {
    const { authorize, login, accessTokenFor } = await setUp();
    const mine = await login();
    const refused = [
      await accessTokenFor(mine, {}, await accessTokensOf('https://elsewhere.test')),
      await accessTokenFor(mine, {}, await accessTokensOf(ISSUER, serializeKeySet(initialKeySet(Date.now())))),
      await accessTokenFor(mine, { customerId: 'someone-else' }),
      await accessTokenFor(mine, { clientId: 'cli_other' }),
      await accessTokenFor(mine, { sid: newSessionId() }),
    ];
    for (const token of refused) expect(await authorize({ Authorization: `Bearer ${token}` })).toBe(UNAUTHORIZED);
    // The same session's token from this deployment is allowed: the refusals are the tokens'.
    expect(await authorize({ Authorization: `Bearer ${await accessTokenFor(mine)}` })).toMatchObject({
      principalId: mine.customerId,
    });
  });
});

describe('a cached authorizer reads only the header that is its cache key', () => {
  it('Authorization only: X-OTP-Session is neither read nor compared', async () => {
    const { authorize, login } = await setUp({ headers: ['authorization'] });
    const mine = await login();
    const other = await login();
    expect(await authorize({ 'X-OTP-Session': mine.sessionToken })).toBe(UNAUTHORIZED);
    expect(
      await authorize({ Authorization: `Bearer ${mine.sessionToken}`, 'X-OTP-Session': other.sessionToken }),
    ).toMatchObject({ principalId: mine.customerId });
  });
});

describe('fails closed', () => {
  /** A port on 127.0.0.1 that nothing listens on. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  /** Everything written to stdout and stderr from now on. */
  function captureOutput(): string[] {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    return lines;
  }

  it('when DynamoDB is unreachable: an error (500), not Unauthorized and never Allow, logged without the token', async () => {
    const { h, deps, login, accessTokenFor } = await setUp();
    const mine = await login();
    const access = await accessTokenFor(mine);
    const unreachable = createStore({
      ...testConfig(),
      ...h.tables,
      dynamoEndpoint: `http://127.0.0.1:${await closedPort()}`,
    });
    const authorizer = createAuthorizerHandler({ ...deps, store: unreachable });
    const lines = captureOutput();
    for (const token of [mine.sessionToken, access]) {
      const answer = await outcome(
        authorizer(authorizerEvent({ Authorization: `Bearer ${token}` }), lambdaContext('authorizer', randomUUID())),
      );
      expect(answer).toBe('thrown: Authorizer failure');
    }
    const output = lines.join('\n');
    expect(output).toContain('authorizer failed; the request is refused');
    // The store's own failure, not some other error on the way.
    expect(output).toContain('ECONNREFUSED');
    for (const token of [mine.sessionToken, access]) expect(output).not.toContain(token);
  });

  it('for an event without the method ARN of a REST API: an error, not an Allow', async () => {
    const { authorize, login } = await setUp();
    const mine = await login();
    captureOutput();
    for (const methodArn of ['', '*', 'arn:aws:lambda:eu-west-1:123456789012:function:x', `${API}`]) {
      expect(await authorize({ Authorization: `Bearer ${mine.sessionToken}` }, methodArn)).toBe(
        'thrown: Authorizer failure',
      );
    }
  });
});
