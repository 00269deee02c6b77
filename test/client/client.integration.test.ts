import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isProblem,
  memoryTokenStore,
  OtpClient,
  OtpNetworkError,
  OtpNotSignedInError,
  OtpProblemError,
  OtpUnexpectedResponseError,
  type OtpClientOptions,
  type StoredSession,
} from 'otp-service/client';
import type { Harness } from '../kit.js';
import { clientKit, rejection } from './kit.js';

/**
 * The typed client (client/) against the local server's handlers on DynamoDB Local: every call
 * below goes over HTTP through the same handlers `npm start` serves. `recorded` wraps the real
 * fetch only to count and look at requests, or to lose an answer on the way back.
 */
let h: Harness;
let server: { base: string; close: () => Promise<void> };

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
}

function recorded(options: { loseAnswers?: number } = {}) {
  const seen: Seen[] = [];
  let toLose = options.loseAnswers ?? 0;
  const fetchThrough = async (input: string, init: RequestInit) => {
    seen.push({
      method: init.method ?? 'GET',
      path: new URL(input).pathname + new URL(input).search,
      headers: { ...(init.headers as Record<string, string>) },
    });
    const response = await fetch(input, init);
    if (toLose > 0) {
      toLose--;
      await response.arrayBuffer();
      throw new TypeError('fetch failed: the connection dropped');
    }
    return response;
  };
  return { seen, fetch: fetchThrough };
}

let kit: Awaited<ReturnType<typeof clientKit>>;
const email = () => kit.email();
const client = (extra: Partial<OtpClientOptions> = {}) => kit.client(extra);
const signIn = (otp: OtpClient, target?: string) => kit.signIn(otp, target);

beforeAll(async () => {
  kit = await clientKit('client');
  ({ h, server } = kit);
});

afterAll(() => server.close());

describe('OtpClient: a login', () => {
  it('sends, verifies, keeps the tokens, checks the session, lists it, refreshes and revokes', async () => {
    const store = memoryTokenStore();
    const otp = client({ tokenStore: store });
    const target = email();

    const sent = await otp.send({ target, locale: 'de' });
    expect(sent).toMatchObject({ success: true, otpType: 'email', expiresIn: 300 });
    expect(sent.mockCode).toBe(h.sender.lastCode());
    expect(h.sender.sent.at(-1)).toMatchObject({ to: target, locale: 'de' });

    const login = await otp.verify({ otpToken: sent.otpToken, code: sent.mockCode ?? '' });
    expect(login).toMatchObject({ success: true, isNew: true, verifiedTarget: target, identity: { email: target } });
    const stored = (await store.load()) as StoredSession;
    expect(stored).toMatchObject({
      sessionToken: login.sessionToken,
      accessToken: login.accessToken,
      refreshToken: login.refreshToken,
    });

    const session = await otp.session();
    expect(session).toMatchObject({ valid: true, customerId: login.identity.id, target, purpose: 'login' });
    const devices = await otp.sessions();
    expect(devices.sessions).toHaveLength(1);
    expect(devices.sessions[0]).toMatchObject({ current: true, platform: 'web' });

    const rotated = await otp.refresh();
    expect(rotated.refreshToken).not.toBe(login.refreshToken);
    expect(rotated.sessionToken).not.toBe(login.sessionToken);
    expect(await store.load()).toMatchObject({
      refreshToken: rotated.refreshToken,
      sessionToken: rotated.sessionToken,
    });
    const claims = await h.deps.accessTokens.verify(rotated.accessToken, Date.now());
    expect(claims).toMatchObject({ sub: login.identity.id });

    await otp.revoke();
    expect(await store.load()).toBeUndefined();
    const after = await rejection(new OtpClient({ baseUrl: server.base }).session());
    expect(after).toBeInstanceOf(OtpProblemError);
    // The revoked session token, sent by hand, is refused too: the revoke reached the server.
    const revoked = await rejection(client({ tokenStore: memoryTokenStore(await withTokens(rotated)) }).session());
    expect(isProblem(revoked, 'session-invalid')).toBe(true);
  });

  it('attaches the stored session to verify-email and keeps it: no new tokens come back', async () => {
    const store = memoryTokenStore();
    const otp = client({ tokenStore: store });
    const login = await signIn(otp, '+14155550188');
    const before = await store.load();
    const mailbox = email();
    const sent = await otp.send({ target: mailbox, purpose: 'verify-email' });
    const added = await otp.verify({ target: mailbox, code: sent.mockCode ?? '', purpose: 'verify-email' });
    expect(added.identity).toMatchObject({ id: login.identity.id, email: mailbox, phone: '+14155550188' });
    expect(added.sessionToken).toBeUndefined();
    expect(await store.load()).toEqual(before);
  });

  it('returns a step-up session without putting it in place of the login', async () => {
    const store = memoryTokenStore();
    const otp = client({ tokenStore: store });
    const target = email();
    await signIn(otp, target);
    const before = await store.load();
    h.clock.now += 31_000; // past the resend cooldown of the target, which all purposes share
    const sent = await otp.send({ target, purpose: 'step-up' });
    const stepUp = await otp.verify({ target, code: sent.mockCode ?? '', purpose: 'step-up' });
    expect(stepUp.sessionToken).toBeDefined();
    expect(stepUp.refreshToken).toBeUndefined();
    expect(await store.load()).toEqual(before);
  });
});

describe('OtpClient: problems typed by slug', () => {
  it('400 invalid-target and validation-error with its field errors', async () => {
    const otp = client();
    const invalid = await rejection(otp.send({ target: 'not an address' }));
    expect(isProblem(invalid, 'invalid-target')).toBe(true);
    expect(invalid).toMatchObject({ status: 400, slug: 'invalid-target' });

    const shape = await rejection(otp.verify({ target: email(), code: '12' }));
    if (!isProblem(shape, 'validation-error')) throw shape;
    expect(shape.problem.errors.map((error) => error.path)).toContain('code');
  });

  it('429 rate-limited with its reason and Retry-After in seconds', async () => {
    const otp = client();
    const target = email();
    await otp.send({ target });
    const again = await rejection(otp.send({ target }));
    if (!isProblem(again, 'rate-limited')) throw again;
    expect(again.problem.reason).toBe('cooldown');
    expect(again.retryAfter).toBeGreaterThan(0);
    expect(again.retryAfter).toBeLessThanOrEqual(30);
  });

  it('401 invalid-code for a wrong code, and isProblem tells slugs apart', async () => {
    const otp = client();
    const target = email();
    const sent = await otp.send({ target });
    const wrong = sent.mockCode === '000000' ? '111111' : '000000';
    const error = await rejection(otp.verify({ target, code: wrong }));
    expect(isProblem(error, 'invalid-code')).toBe(true);
    expect(isProblem(error, 'rate-limited', 'session-invalid')).toBe(false);
    expect(isProblem(new Error('other'))).toBe(false);
  });

  it('401 invalid-api-key for a key that does not exist', async () => {
    const error = await rejection(client({ apiKey: 'otp_nope_nope' }).send({ target: email() }));
    expect(isProblem(error, 'invalid-api-key')).toBe(true);
  });
});

describe('OtpClient: a send is safe to repeat', () => {
  it('generates a new Idempotency-Key for each send', async () => {
    const wire = recorded();
    const otp = client({ fetch: wire.fetch });
    await otp.send({ target: email() });
    await otp.send({ target: email() });
    const keys = wire.seen.map((request) => request.headers['Idempotency-Key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(keys[1]).not.toBe(keys[0]);
  });

  it('repeats a send whose answer was lost with the same key: one message, the first answer', async () => {
    const wire = recorded({ loseAnswers: 1 });
    const otp = client({ fetch: wire.fetch });
    const target = email();
    const before = h.sender.sent.length;
    const sent = await otp.send({ target });
    expect(wire.seen).toHaveLength(2);
    expect(wire.seen[1]?.headers['Idempotency-Key']).toBe(wire.seen[0]?.headers['Idempotency-Key']);
    expect(h.sender.sent.length - before).toBe(1);
    expect(h.sender.sent.at(-1)).toMatchObject({ to: target, code: sent.mockCode });
  });

  it('gives up after three tries with OtpNetworkError', async () => {
    const wire = recorded({ loseAnswers: 3 });
    const error = await rejection(client({ fetch: wire.fetch }).send({ target: email() }));
    expect(error).toBeInstanceOf(OtpNetworkError);
    expect(wire.seen).toHaveLength(3);
  });

  it('never repeats a verify: a code works once', async () => {
    const wire = recorded();
    const otp = client({ fetch: wire.fetch });
    const target = email();
    const sent = await otp.send({ target });
    const lossy = recorded({ loseAnswers: 1 });
    const error = await rejection(client({ fetch: lossy.fetch }).verify({ target, code: sent.mockCode ?? '' }));
    expect(error).toBeInstanceOf(OtpNetworkError);
    expect(lossy.seen).toHaveLength(1);
  });
});

describe('OtpClient: refresh-token rotation', () => {
  it('shares one refresh among concurrent callers: the session survives', async () => {
    const wire = recorded();
    const store = memoryTokenStore();
    const otp = client({ fetch: wire.fetch, tokenStore: store });
    await signIn(otp);
    const answers = await Promise.all(Array.from({ length: 5 }, () => otp.refresh()));
    expect(wire.seen.filter((request) => request.path === '/v1/session/refresh')).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.refreshToken)).size).toBe(1);
    // Five refreshes with one token would have been four reuses, and a reuse revokes the session.
    await expect(otp.session()).resolves.toMatchObject({ valid: true });
  });

  it('rotates once and calls again when the session token is refused', async () => {
    const store = memoryTokenStore();
    const otp = client({ tokenStore: store });
    const login = await signIn(otp);
    const current = (await store.load()) as StoredSession;
    // A session token the server does not know (as an expired one), with a good refresh token.
    await store.save({ ...current, sessionToken: 'A'.repeat(43) });
    const wire = recorded();
    const again = client({ fetch: wire.fetch, tokenStore: store });
    await expect(again.session()).resolves.toMatchObject({ customerId: login.identity.id });
    expect(wire.seen.map((request) => request.path)).toEqual(['/v1/session', '/v1/session/refresh', '/v1/session']);
    expect((await store.load())?.refreshToken).not.toBe(current.refreshToken);
  });

  it('refreshes the access token near its expiry, and keeps it otherwise', async () => {
    const store = memoryTokenStore();
    const otp = client({ tokenStore: store });
    const login = await signIn(otp);
    expect(await otp.accessToken()).toBe(login.accessToken);
    // A leeway longer than the token's life: every call finds it about to expire.
    const eager = client({ tokenStore: store, refreshLeewaySeconds: 3600 });
    const fresh = await eager.accessToken();
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(login.accessToken);
    expect(await h.deps.accessTokens.verify(fresh ?? '', Date.now())).toMatchObject({ sub: login.identity.id });
  });

  it('clears the store when the refresh token is refused; nobody signed in is undefined, not an error', async () => {
    const first = memoryTokenStore();
    const otp = client({ tokenStore: first });
    await signIn(otp);
    // Two clients on one copy of the tokens, as two tabs on one localStorage (client/tokens.ts).
    const copy = memoryTokenStore(await first.load());
    await otp.refresh();
    const other = client({ tokenStore: copy });
    await expect(other.refresh()).rejects.toBeInstanceOf(OtpNotSignedInError);
    expect(await copy.load()).toBeUndefined();
    // The reuse revoked the whole session: the first client is signed out too, and finds out.
    const refused = await rejection(otp.session());
    expect(isProblem(refused, 'session-invalid')).toBe(true);
    expect(await first.load()).toBeUndefined();
    expect(await otp.accessToken()).toBeUndefined();
    await expect(otp.refresh()).rejects.toBeInstanceOf(OtpNotSignedInError);
  });

  it('revoke with all signs out every session of the customer', async () => {
    const target = email();
    const phone = client();
    const laptop = client();
    await signIn(phone, target);
    h.clock.now += 31_000;
    await signIn(laptop, target);
    await laptop.revoke({ all: true });
    expect(isProblem(await rejection(phone.session()), 'session-invalid')).toBe(true);
  });
});

describe('OtpClient: the other routes', () => {
  it('health, policy, keys, discovery and the OpenAPI document', async () => {
    const otp = client();
    await expect(otp.health()).resolves.toEqual({ success: true, status: 'ok' });
    await expect(otp.policy('transfer')).resolves.toMatchObject({ success: true, action: 'transfer' });
    expect((await otp.jwks()).keys.length).toBeGreaterThan(0);
    expect((await otp.discovery()).jwks_uri).toMatch(/\/\.well-known\/jwks\.json$/);
    expect((await otp.openApi()).openapi).toBe('3.1.0');
  });
});

describe('OtpClient: answers that are not the API', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let html: ReturnType<typeof createHttpServer>;
  let silentBase: string;
  let htmlBase: string;

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
    });
    html = createHttpServer((_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad gateway</html>');
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    silentBase = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    htmlBase = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    html.closeAllConnections();
    await new Promise((resolve) => html.close(resolve));
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('a server that never answers: OtpNetworkError after the timeout', async () => {
    const started = Date.now();
    const error = await rejection(new OtpClient({ baseUrl: silentBase, timeoutMs: 300 }).health());
    expect(error).toBeInstanceOf(OtpNetworkError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a proxy page instead of a problem: OtpUnexpectedResponseError with the status and text', async () => {
    const error = await rejection(new OtpClient({ baseUrl: htmlBase }).health());
    expect(error).toBeInstanceOf(OtpUnexpectedResponseError);
    expect(error).toMatchObject({ status: 502, body: '<html>Bad gateway</html>' });
  });
});

async function withTokens(answer: { sessionToken: string }): Promise<StoredSession> {
  return {
    sessionToken: answer.sessionToken,
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    accessToken: '',
    accessExpiresAt: new Date().toISOString(),
    refreshToken: '',
    refreshExpiresAt: new Date().toISOString(),
  };
}
