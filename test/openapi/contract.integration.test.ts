import { describe, expect, it } from 'vitest';
import { handler as health } from '../../functions/handlers/health.js';
import { handler as openapi } from '../../functions/handlers/openapi.js';
import { createPolicyHandler } from '../../functions/handlers/policy.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { handler as wellKnown } from '../../functions/handlers/well-known.js';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { DISCOVERY_PATH, JWKS_PATH, OPENAPI_PATH, ROUTES } from '../../functions/routes.js';
import type { Answer, CallOptions } from '../kit.js';
import { call, harness, wrongCode } from '../support.js';
import { expectDocumented } from './conformance.js';

/**
 * The OpenAPI document against real answers (issue 12, item 1): a login and everything around it,
 * through the handlers on DynamoDB Local, each answer checked against openapi.json and the zod
 * schemas it was generated from (conformance.ts). Every route of functions/routes.ts is reached, with
 * its success status and the problems a client meets most.
 */
describe('the handlers answer what openapi.json says', () => {
  it('for a whole login, its session, its refresh, a linked phone and the usual problems', async () => {
    const h = await harness();
    const handlers: Record<string, ApiHandler> = {
      'GET /v1/health': health,
      'POST /v1/otp/send': createSendOtpHandler(h.deps),
      'POST /v1/otp/verify': createVerifyOtpHandler(h.deps),
      'GET /v1/session': createSessionHandler(h.deps),
      'DELETE /v1/session': createSessionHandler(h.deps),
      'POST /v1/session/refresh': createRefreshHandler(h.deps),
      'GET /v1/sessions': createSessionsHandler(h.deps),
      'GET /v1/otp/policy': createPolicyHandler(h.deps),
      [`GET ${JWKS_PATH}`]: wellKnown,
      [`GET ${DISCOVERY_PATH}`]: wellKnown,
      [`GET ${OPENAPI_PATH}`]: openapi,
    };
    const reached = new Set<string>();
    /** Calls `METHOD path` and checks the answer against the document. */
    const api = async (route: string, options: Omit<CallOptions, 'method' | 'path'> = {}): Promise<Answer> => {
      const [method = '', path = ''] = route.split(' ');
      const handler = handlers[route];
      if (!handler) throw new Error(`no handler for ${route}`);
      const answer = await call(handler, { ...options, method, path });
      expectDocumented(answer, method, path);
      if (answer.status < 300) reached.add(route);
      return answer;
    };
    const target = `contract-${Math.random().toString(36).slice(2, 8)}@example.com`;

    await api('GET /v1/health');
    const key = { 'Idempotency-Key': crypto.randomUUID() };
    const sent = await api('POST /v1/otp/send', { body: { target, locale: 'pt-BR' }, headers: key });
    expect(sent.status).toBe(200);
    const replayed = await api('POST /v1/otp/send', { body: { target, locale: 'pt-BR' }, headers: key });
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    const reused = await api('POST /v1/otp/send', { body: { target: `x${target}` }, headers: key });
    expect(reused.status).toBe(422);
    const cooldown = await api('POST /v1/otp/send', { body: { target } });
    expect(cooldown.body).toMatchObject({ error: 'rate-limited', reason: 'cooldown' });
    expect((await api('POST /v1/otp/send', { body: { target: 'not a target' } })).status).toBe(400);
    expect((await api('POST /v1/otp/send', { body: { purpose: 'login' } })).body?.errors).toBeDefined();
    expect((await api('POST /v1/otp/send', { rawBody: '{' })).body?.error).toBe('malformed-json');
    const badKey = await api('POST /v1/otp/send', { body: { target }, headers: { 'X-API-Key': 'nope' } });
    expect(badKey.body?.error).toBe('invalid-api-key');

    const code = String(sent.body?.mockCode);
    expect((await api('POST /v1/otp/verify', { body: { target, code: wrongCode(code) } })).status).toBe(401);
    const login = await api('POST /v1/otp/verify', {
      body: { otpToken: sent.body?.otpToken, code, name: 'Ada', platform: 'web' },
    });
    expect(login.body?.refreshToken).toBeDefined();
    const bearer = { Authorization: `Bearer ${String(login.body?.sessionToken)}` };

    expect((await api('GET /v1/session', { headers: bearer })).body?.valid).toBe(true);
    const decided = await api('GET /v1/session', { headers: bearer, query: { action: 'enroll' } });
    expect(decided.body).toHaveProperty('otpRequired');
    const noToken = await api('GET /v1/session');
    expect(noToken.headers['www-authenticate']).toBe('Bearer');
    const access = { Authorization: `Bearer ${String(login.body?.accessToken)}` };
    expect((await api('GET /v1/sessions', { headers: access })).body?.sessions).toHaveLength(1);
    expect((await api('GET /v1/otp/policy', { query: { action: 'pay' } })).status).toBe(200);
    expect((await api('GET /v1/otp/policy')).status).toBe(400);

    // A second identifier: a verify with the session, answering no tokens.
    const phone = '+14155550199';
    const linkSent = await api('POST /v1/otp/send', {
      body: { target: phone, purpose: 'verify-phone' },
      headers: bearer,
    });
    const linked = await api('POST /v1/otp/verify', {
      body: { target: phone, purpose: 'verify-phone', code: linkSent.body?.mockCode },
      headers: bearer,
    });
    expect(linked.body?.identity).toMatchObject({ trustLevel: 'strong' });
    expect(linked.body).not.toHaveProperty('sessionToken');

    const refreshed = await api('POST /v1/session/refresh', { body: { refreshToken: login.body?.refreshToken } });
    const reusedRefresh = await api('POST /v1/session/refresh', { body: { refreshToken: login.body?.refreshToken } });
    expect(reusedRefresh.status).toBe(401);
    const fresh = await api('POST /v1/otp/send', { body: { target: `b${target}` } });
    const second = await api('POST /v1/otp/verify', { body: { target: `b${target}`, code: fresh.body?.mockCode } });
    expect(
      (await api('DELETE /v1/session', { headers: { Authorization: `Bearer ${second.body?.sessionToken}` } })).status,
    ).toBe(204);
    expect(refreshed.status).toBe(200);

    await api(`GET ${JWKS_PATH}`);
    await api(`GET ${DISCOVERY_PATH}`);
    const served = await api(`GET ${OPENAPI_PATH}`);
    expect(served.body?.servers).toHaveLength(1);

    expect([...reached].sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });
});
