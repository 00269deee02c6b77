import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isProblem,
  memoryTokenStore,
  type OtpClient,
  type OtpClientOptions,
  OtpNetworkError,
  type StoredSession,
} from 'otp-service/client';
import type { Harness } from '../kit.js';
import { clientKit, rejection } from './kit.js';

/**
 * The typed client against the local server's handlers on DynamoDB Local, in the situations an
 * app meets beside the happy path: two clients on one token store, a refresh that gets no answer,
 * a session token that expired while its refresh token still works. `through` wraps the real fetch
 * only to count requests or to drop one on the way.
 */
let h: Harness;
let server: { base: string; close: () => Promise<void> };

function through(options: { failPath?: string } = {}) {
  const paths: string[] = [];
  const fetchThrough = async (input: string, init: RequestInit) => {
    const path = new URL(input).pathname;
    paths.push(path);
    if (path === options.failPath) throw new TypeError('fetch failed: no network');
    return fetch(input, init);
  };
  return { paths, fetch: fetchThrough };
}

let kit: Awaited<ReturnType<typeof clientKit>>;
const email = () => kit.email();
const client = (extra: Partial<OtpClientOptions> = {}) => kit.client(extra);
const signIn = (otp: OtpClient, target?: string) => kit.signIn(otp, target);

beforeAll(async () => {
  kit = await clientKit('review');
  ({ h, server } = kit);
});

afterAll(() => server.close());

describe('OtpClient: two clients on one token store in one page', () => {
  it('share one refresh: the session survives (a client per call, as the try page makes them)', async () => {
    const store = memoryTokenStore();
    await signIn(client({ tokenStore: store }));
    const wire = through();
    const a = client({ tokenStore: store, fetch: wire.fetch });
    const b = client({ tokenStore: store, fetch: wire.fetch });
    await Promise.all([a.refresh(), b.refresh()]);
    expect(wire.paths.filter((path) => path === '/v1/session/refresh')).toHaveLength(1);
    // Two refreshes with one token would be a reuse, and a reuse revokes the whole session.
    await expect(a.session()).resolves.toMatchObject({ valid: true });
  });
});

describe('OtpClient: a refresh that gets no answer', () => {
  it('is told as the network failure it is, not as session-invalid, and keeps the tokens', async () => {
    const store = memoryTokenStore();
    await signIn(client({ tokenStore: store }));
    const current = (await store.load()) as StoredSession;
    // A session token the server does not know (as an expired one): the client refreshes.
    const expired = { ...current, sessionToken: 'A'.repeat(43) };
    await store.save(expired);
    const wire = through({ failPath: '/v1/session/refresh' });
    const error = await rejection(client({ tokenStore: store, fetch: wire.fetch }).session());
    expect(wire.paths).toEqual(['/v1/session', '/v1/session/refresh']);
    // session-invalid tells an app that the customer must sign in again; nothing says so here.
    expect(isProblem(error, 'session-invalid')).toBe(false);
    expect(error).toBeInstanceOf(OtpNetworkError);
    expect(await store.load()).toEqual(expired);
    // And once the network is back, the same tokens work.
    await expect(client({ tokenStore: store }).session()).resolves.toMatchObject({ valid: true });
  });
});

describe('OtpClient: verify-* and update-* after the session token expired', () => {
  it('a send refreshes the session once and goes on, as session() does', async () => {
    const store = memoryTokenStore();
    const login = await signIn(client({ tokenStore: store }), '+14155550121');
    const before = (await store.load()) as StoredSession;
    // Past the session token's 24 hours, well inside the refresh token's idle and absolute lifetimes.
    h.clock.now += 25 * 3600 * 1000;
    const otp = client({ tokenStore: store });
    const mailbox = email();
    const sent = await otp.send({ target: mailbox, purpose: 'verify-email' });
    expect(sent.mockCode).toBeDefined();
    expect((await store.load())?.refreshToken).not.toBe(before.refreshToken);
    const added = await otp.verify({ target: mailbox, code: sent.mockCode ?? '', purpose: 'verify-email' });
    expect(added.identity).toMatchObject({ id: login.identity.id, email: mailbox });
  });

  it('a verify refreshes the session once and goes on', async () => {
    const store = memoryTokenStore();
    const login = await signIn(client({ tokenStore: store }), '+14155550122');
    const otp = client({ tokenStore: store });
    const mailbox = email();
    const sent = await otp.send({ target: mailbox, purpose: 'verify-email' });
    // A session token the server no longer takes (as an expired one), with a good refresh token.
    const current = (await store.load()) as StoredSession;
    await store.save({ ...current, sessionToken: 'B'.repeat(43) });
    const added = await otp.verify({ target: mailbox, code: sent.mockCode ?? '', purpose: 'verify-email' });
    expect(added.identity).toMatchObject({ id: login.identity.id, email: mailbox });
    expect((await store.load())?.refreshToken).not.toBe(current.refreshToken);
  });
});

describe('OtpClient: a sign-in while a refresh is under way', () => {
  it('keeps the new sign-in: the late refresh of the old session does not overwrite it', async () => {
    const store = memoryTokenStore();
    await signIn(client({ tokenStore: store }));
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The refresh's answer arrives only after the new sign-in has been saved.
    const slow = async (input: string, init: RequestInit) => {
      const response = await fetch(input, init);
      if (new URL(input).pathname === '/v1/session/refresh') await held;
      return response;
    };
    const refreshing = client({ tokenStore: store, fetch: slow }).refresh();
    const login = await signIn(client({ tokenStore: store }));
    release();
    await refreshing;
    expect((await store.load())?.refreshToken).toBe(login.refreshToken);
    await expect(client({ tokenStore: store }).session()).resolves.toMatchObject({ customerId: login.identity.id });
  });
});
