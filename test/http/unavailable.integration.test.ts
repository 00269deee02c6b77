import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { dynamoClient, FUNCTION_REQUEST_LIMITS, type RequestLimits } from '../../functions/adapters/dynamo/client.js';
import { addClient } from '../../functions/core/manage-clients.js';
import { handler as healthHandler } from '../../functions/handlers/health.js';
import { createPolicyHandler } from '../../functions/handlers/policy.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../fault-proxy.js';
import * as kit from '../kit.js';
import { call, expectProblem } from '../support.js';

/**
 * Issue 14, item 1: every route answers `503 unavailable` with `Retry-After` when DynamoDB throttles
 * (each of its three names), fails on its side, resets connections, refuses them or never answers,
 * through a fault proxy over real HTTP in front of the run's DynamoDB Local; health needs no
 * database; and when the database is back, the same handlers serve again (item 2).
 */

/** One try of at most a second: the matrix tests the answer, not the SDK’s patience (tested below). */
const QUICK: RequestLimits = { maxAttempts: 1, connectionTimeoutMs: 1000, requestTimeoutMs: 1000 };
const ROOMY = { OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_SEND_LIMIT_PER_HOUR: '1000', OTP_SEND_LIMIT_PER_DAY: '10000' };

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(inject('dynamoEndpoint'));
  // DynamoDB Local's first requests are slow while its JVM warms up: a login with the SDK's patience
  // first, so that the one quick try of the tests below meets no cold start.
  const { handlers, prepare } = await api(FUNCTION_REQUEST_LIMITS);
  await prepare();
  await call(handlers.sessions, { method: 'GET' });
});
afterAll(async () => {
  await proxy.close();
});

let targets = 0;
const nextTarget = () => `faults-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** The handlers of one warm container each, their DynamoDB client behind the proxy. */
async function api(limits: RequestLimits = QUICK) {
  const h = await kit.harness(inject('dynamoEndpoint'), ROOMY, () => dynamoClient(proxy.endpoint, limits));
  const handlers = {
    health: healthHandler,
    send: createSendOtpHandler(h.deps),
    verify: createVerifyOtpHandler(h.deps),
    session: createSessionHandler(h.deps),
    sessions: createSessionsHandler(h.deps),
    refresh: createRefreshHandler(h.deps),
    policy: createPolicyHandler(h.deps),
  };
  /** A login while the database answers: its tokens, and a code sent and not yet verified. */
  const prepare = async () => {
    const target = nextTarget();
    const sent = await call(handlers.send, { body: { target } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const login = await call(handlers.verify, { body: { target, code: sent.body?.mockCode } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const pendingTarget = nextTarget();
    const pending = await call(handlers.send, { body: { target: pendingTarget } });
    expect(pending.status).toBe(200);
    // A client of its own: the directory has not cached its key, so the policy route must read it.
    const { apiKey } = await addClient({ registry: h.registry, now: Date.now }, `faults-${targets}`);
    return {
      bearer: { Authorization: `Bearer ${login.body?.sessionToken}` },
      refreshToken: login.body?.refreshToken as string,
      pending: { target: pendingTarget, code: pending.body?.mockCode as string },
      apiKey,
    };
  };
  type Prepared = Awaited<ReturnType<typeof prepare>>;
  /** Every route that touches the database, as an app calls it. */
  const routes = {
    'POST /v1/otp/send': () => call(handlers.send, { body: { target: nextTarget() } }),
    'POST /v1/otp/verify': (p: Prepared) => call(handlers.verify, { body: p.pending }),
    'GET /v1/session': (p: Prepared) => call(handlers.session, { method: 'GET', headers: p.bearer }),
    'DELETE /v1/session': (p: Prepared) => call(handlers.session, { method: 'DELETE', headers: p.bearer }),
    'GET /v1/sessions': (p: Prepared) => call(handlers.sessions, { method: 'GET', headers: p.bearer }),
    'POST /v1/session/refresh': (p: Prepared) => call(handlers.refresh, { body: { refreshToken: p.refreshToken } }),
    'GET /v1/otp/policy': (p: Prepared) =>
      call(handlers.policy, { method: 'GET', query: { action: 'pay' }, headers: { 'X-API-Key': p.apiKey } }),
  };
  return { h, handlers, prepare, routes };
}

function expectUnavailable(answer: kit.Answer, route: string): void {
  expect(answer.status, `${route}: ${answer.rawBody}`).toBe(503);
  expectProblem(answer, 503, 'unavailable');
  expect(answer.headers['retry-after']).toBe('2');
  expect(answer.body?.retryAfter).toBe(2);
}

const FAULTS: [string, FaultRule | 'refuse'][] = [
  ['ProvisionedThroughputExceededException', { mode: 'throttle', error: 'ProvisionedThroughputExceededException' }],
  ['ThrottlingException', { mode: 'throttle', error: 'ThrottlingException' }],
  ['RequestLimitExceeded', { mode: 'throttle', error: 'RequestLimitExceeded' }],
  ['InternalServerError (500)', { mode: 'server-error' }],
  ['connection reset', { mode: 'reset' }],
  ['connection refused', 'refuse'],
  ['no answer', { mode: 'hang' }],
];

describe('a database that is throttled or unreachable', () => {
  it.each(FAULTS)('%s: every route answers 503 unavailable with Retry-After, health 200', async (_, fault) => {
    const { handlers, prepare, routes } = await api();
    const prepared = await prepare();
    if (fault === 'refuse') await proxy.refuse();
    else await proxy.fail(fault);
    try {
      for (const [route, run] of Object.entries(routes)) expectUnavailable(await run(prepared), route);
      expect((await call(handlers.health, { method: 'GET' })).status).toBe(200);
    } finally {
      await proxy.pass();
    }
  });

  it('the same handlers serve again once the database is back: nothing poisoned, nothing half-done', async () => {
    const { prepare, routes } = await api();
    const prepared = await prepare();
    await proxy.refuse();
    for (const [route, run] of Object.entries(routes)) expectUnavailable(await run(prepared), route);
    await proxy.fail({ mode: 'throttle' });
    for (const [route, run] of Object.entries(routes)) expectUnavailable(await run(prepared), route);
    await proxy.pass();
    // In an order where each route finds what the failed calls left: the pending code still verifies,
    // the refresh token was not spent, and the session was not revoked.
    const order: (keyof typeof routes)[] = [
      'POST /v1/otp/send',
      'POST /v1/otp/verify',
      'GET /v1/session',
      'GET /v1/sessions',
      'GET /v1/otp/policy',
      'POST /v1/session/refresh',
    ];
    for (const route of order) {
      const answer = await routes[route](prepared);
      expect(answer.status, `${route}: ${answer.rawBody}`).toBe(200);
    }
  });

  it('with the functions’ own limits, a database that never answers is a 503 well within the function’s 10 s', async () => {
    const { routes, prepare } = await api(FUNCTION_REQUEST_LIMITS);
    const prepared = await prepare();
    await proxy.fail({ mode: 'hang' });
    try {
      const answer = await routes['GET /v1/session'](prepared);
      expectUnavailable(answer, 'GET /v1/session');
      // Three tries of a second each and the backoff between them.
      expect(answer.ms).toBeGreaterThan(2900);
      expect(answer.ms).toBeLessThan(4500);
      expect(proxy.seen.slice(-3).map((request) => request.fault)).toEqual(['hang', 'hang', 'hang']);
    } finally {
      await proxy.pass();
    }
  });

  it('with the functions’ own limits, throttling is retried by the SDK and passes if it passes in time', async () => {
    const { routes, prepare } = await api(FUNCTION_REQUEST_LIMITS);
    const prepared = await prepare();
    await proxy.fail({ mode: 'throttle', times: 2 });
    try {
      const answer = await routes['GET /v1/session'](prepared);
      expect(answer.status, answer.rawBody).toBe(200);
    } finally {
      await proxy.pass();
    }
    await proxy.fail({ mode: 'throttle', error: 'ProvisionedThroughputExceededException' });
    try {
      const answer = await routes['GET /v1/session'](prepared);
      expectUnavailable(answer, 'GET /v1/session');
      expect(answer.ms).toBeLessThan(4500);
    } finally {
      await proxy.pass();
    }
  });
});
