import { describe, expect, it } from 'vitest';
import type { CoreDeps } from '../../functions/core/deps.js';
import { IdempotencyKeyReusedError, RequestInProgressError } from '../../functions/core/errors.js';
import {
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_LEASE_MS,
  idempotencyRecordKey,
  openAnswer,
  sealAnswer,
  sendFingerprint,
  sendIdempotently,
} from '../../functions/core/idempotency.js';
import type { IdempotencyClaim, IdempotencyRecord, OtpStore } from '../../functions/core/ports.js';
import type { SendRequest, SendResult } from '../../functions/core/send-code.js';

const PEPPER = 'test-pepper-test-pepper-test-pepper-0123';
const OTHER_PEPPER = 'another-pepper-another-pepper-another-01';
const KEY = '3f0e1c52-6a47-4a8e-9d1c-1f2b8b1e0c11';

const request = (fields: Partial<SendRequest> = {}): SendRequest => ({
  target: '+14155550123',
  purpose: 'login',
  clientId: 'client-a',
  ...fields,
});

const RESULT: SendResult = {
  otpType: 'sms',
  expiresIn: 300,
  resendAfter: 30,
  otpToken: 'AQ-token-of-the-first-send-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  testTarget: false,
  mockCode: '042917',
};

describe('the Idempotency-Key pattern', () => {
  it.each(['a', ' ', '~', 'x'.repeat(255), KEY, 'order 42 / retry #1'])('accepts %j', (key) => {
    expect(IDEMPOTENCY_KEY_PATTERN.test(key)).toBe(true);
  });

  it.each(['', 'x'.repeat(256), 'clé', 'tab\there', 'bell\u0007', 'del\u007F', 'line\nbreak', '🔑'])(
    'refuses %j',
    (key) => {
      expect(IDEMPOTENCY_KEY_PATTERN.test(key)).toBe(false);
    },
  );
});

describe('the fingerprint of a send', () => {
  const base = sendFingerprint(PEPPER, request(), 'en');

  it('is one for every spelling of one request', () => {
    expect(sendFingerprint(PEPPER, request({ target: ' +1 415 555 0123 ' }), 'en')).toBe(base);
    expect(sendFingerprint(PEPPER, request({ channel: 'sms' }), 'en')).toBe(base);
    expect(sendFingerprint(PEPPER, request({ target: 'Ada@Example.com' }), 'pt-br')).toBe(
      sendFingerprint(PEPPER, request({ target: 'ada@example.com', channel: 'email' }), 'pt-BR'),
    );
  });

  it.each<[string, SendRequest, string | undefined]>([
    ['another target', request({ target: '+14155550124' }), 'en'],
    ['another purpose', request({ purpose: 'register' }), 'en'],
    ['another client', request({ clientId: 'client-b' }), 'en'],
    ['no client', request({ clientId: undefined }), 'en'],
    ['another locale', request(), 'de'],
    ['no locale', request(), undefined],
  ])('differs for %s', (_what, other, locale) => {
    expect(sendFingerprint(PEPPER, other, locale)).not.toBe(base);
  });

  it('binds the purposes that act on a session to the session token, and only those', () => {
    const link = (token: string) =>
      request({ target: 'ada@example.com', purpose: 'verify-email', sessionToken: () => token });
    expect(sendFingerprint(PEPPER, link('token-a'), undefined)).not.toBe(
      sendFingerprint(PEPPER, link('token-b'), undefined),
    );
    const login = (token: string) => request({ sessionToken: () => token });
    expect(sendFingerprint(PEPPER, login('token-a'), 'en')).toBe(sendFingerprint(PEPPER, login('token-b'), 'en'));
  });

  it('is a keyed hash (HMAC-SHA-256 with the pepper): no target or client a table reader could read', () => {
    expect(base).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sendFingerprint(OTHER_PEPPER, request(), 'en')).not.toBe(base);
  });
});

describe('the record key', () => {
  it('is a keyed hash: not the key, another for another key or pepper', () => {
    const recordKey = idempotencyRecordKey(PEPPER, KEY);
    expect(recordKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(recordKey).not.toContain(KEY);
    expect(idempotencyRecordKey(PEPPER, `${KEY}x`)).not.toBe(recordKey);
    expect(idempotencyRecordKey(OTHER_PEPPER, KEY)).not.toBe(recordKey);
  });
});

describe('the sealed answer', () => {
  it('opens to the answer with the key and pepper it was sealed with', () => {
    expect(openAnswer(PEPPER, KEY, sealAnswer(PEPPER, KEY, RESULT))).toEqual(RESULT);
  });

  it('holds no token or code in plain form, and differs each time', () => {
    const sealed = sealAnswer(PEPPER, KEY, RESULT);
    const bytes = Buffer.from(sealed, 'base64url').toString('latin1');
    for (const secret of [RESULT.otpToken, RESULT.mockCode as string, 'otpToken']) {
      expect(sealed).not.toContain(secret);
      expect(bytes).not.toContain(secret);
    }
    expect(sealAnswer(PEPPER, KEY, RESULT)).not.toBe(sealed);
  });

  it('does not open without the Idempotency-Key, even with the pepper', () => {
    const sealed = sealAnswer(PEPPER, KEY, RESULT);
    expect(openAnswer(PEPPER, `${KEY}0`, sealed)).toBeUndefined();
    expect(openAnswer(OTHER_PEPPER, KEY, sealed)).toBeUndefined();
  });

  it('does not open once altered or truncated', () => {
    const raw = Buffer.from(sealAnswer(PEPPER, KEY, RESULT), 'base64url');
    const flipped = Buffer.from(raw);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    expect(openAnswer(PEPPER, KEY, flipped.toString('base64url'))).toBeUndefined();
    expect(openAnswer(PEPPER, KEY, raw.subarray(0, 20).toString('base64url'))).toBeUndefined();
    expect(openAnswer(PEPPER, KEY, '')).toBeUndefined();
  });
});

describe('sendIdempotently', () => {
  const NOW = Date.UTC(2036, 0, 1, 12, 0, 0);
  const TTL_SECONDS = 300;

  function setUp(held?: IdempotencyRecord, store: Partial<Record<string, (...args: any[]) => unknown>> = {}) {
    const calls: [string, ...unknown[]][] = [];
    const logs: [string, Record<string, unknown>][] = [];
    const behaviours: Record<string, (...args: any[]) => unknown> = {
      takeIdempotencyKey: () => held,
      completeIdempotencyKey: () => true,
      releaseIdempotencyKey: () => undefined,
      ...store,
    };
    const deps = {
      config: { pepper: PEPPER, codeTtlSeconds: TTL_SECONDS },
      store: new Proxy({} as OtpStore, {
        get:
          (_, method: string) =>
          (...args: unknown[]) => {
            calls.push([method, ...args]);
            // A behaviour that throws stands for a request that failed.
            return new Promise((resolve) => resolve(behaviours[method]?.(...args)));
          },
      }),
      now: () => NOW,
      log: {
        info: () => {},
        warn: (message: string, attributes: Record<string, unknown>) => logs.push([message, attributes]),
      },
    } as unknown as CoreDeps;
    const sent: SendRequest[] = [];
    const send = (r: SendRequest) => {
      sent.push(r);
      return Promise.resolve(RESULT);
    };
    return { deps, calls, logs, sent, send };
  }

  it('sends without a record when the request has no key', async () => {
    const { deps, calls, sent, send } = setUp();
    expect(await sendIdempotently(deps, { key: undefined, request: request() }, send)).toEqual({
      result: RESULT,
      replayed: false,
    });
    expect(sent).toHaveLength(1);
    expect(calls).toEqual([]);
  });

  it('claims the key for a lease, sends, and stores the sealed answer until the code expires', async () => {
    const { deps, calls, sent, send, logs } = setUp();
    expect(await sendIdempotently(deps, { key: KEY, request: request() }, send)).toEqual({
      result: RESULT,
      replayed: false,
    });
    expect(sent).toHaveLength(1);
    const [, claim] = calls[0] as [string, IdempotencyClaim];
    expect(calls[0]?.[0]).toBe('takeIdempotencyKey');
    expect(claim).toEqual({
      recordKey: idempotencyRecordKey(PEPPER, KEY),
      fingerprint: sendFingerprint(PEPPER, request(), undefined),
      attempt: expect.any(String),
      now: NOW,
      leaseUntil: NOW + IDEMPOTENCY_LEASE_MS,
      expiresAt: NOW + TTL_SECONDS * 1000,
    });
    const [method, completion] = calls[1] as [
      string,
      { recordKey: string; attempt: string; sealed: string; expiresAt: number },
    ];
    expect(method).toBe('completeIdempotencyKey');
    expect(completion).toMatchObject({
      recordKey: claim.recordKey,
      attempt: claim.attempt,
      expiresAt: NOW + TTL_SECONDS * 1000,
    });
    expect(openAnswer(PEPPER, KEY, completion.sealed)).toEqual(RESULT);
    expect(logs).toEqual([]);
  });

  it('keeps the record at least as long as its lease', async () => {
    const { deps, calls, send } = setUp();
    (deps.config as { codeTtlSeconds: number }).codeTtlSeconds = 10;
    await sendIdempotently(deps, { key: KEY, request: request() }, send);
    expect((calls[0]?.[1] as IdempotencyClaim).expiresAt).toBe(NOW + IDEMPOTENCY_LEASE_MS);
  });

  it('fingerprints the locale the request asks for', async () => {
    const { deps, calls, send } = setUp();
    await sendIdempotently(deps, { key: KEY, request: request({ locale: 'de-de' }) }, send);
    expect((calls[0]?.[1] as IdempotencyClaim).fingerprint).toBe(sendFingerprint(PEPPER, request(), 'de-DE'));
  });

  it('replays the stored answer of the same request, without sending', async () => {
    const held: IdempotencyRecord = {
      state: 'done',
      fingerprint: sendFingerprint(PEPPER, request(), undefined),
      sealed: sealAnswer(PEPPER, KEY, RESULT),
      expiresAt: NOW + 1000,
    };
    const { deps, sent, send } = setUp(held);
    expect(await sendIdempotently(deps, { key: KEY, request: request() }, send)).toEqual({
      result: RESULT,
      replayed: true,
    });
    expect(sent).toEqual([]);
  });

  it('refuses the key for another request, and while its first request runs', async () => {
    const other = setUp({ state: 'pending', fingerprint: 'another', leaseUntil: NOW + 1000 });
    await expect(sendIdempotently(other.deps, { key: KEY, request: request() }, other.send)).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    const running = setUp({
      state: 'pending',
      fingerprint: sendFingerprint(PEPPER, request(), undefined),
      leaseUntil: NOW + 1000,
    });
    await expect(sendIdempotently(running.deps, { key: KEY, request: request() }, running.send)).rejects.toBeInstanceOf(
      RequestInProgressError,
    );
    expect([...other.sent, ...running.sent]).toEqual([]);
  });

  it('fails on a stored answer that does not open', async () => {
    const { deps, send } = setUp({
      state: 'done',
      fingerprint: sendFingerprint(PEPPER, request(), undefined),
      sealed: sealAnswer(OTHER_PEPPER, KEY, RESULT),
      expiresAt: NOW + 1000,
    });
    await expect(sendIdempotently(deps, { key: KEY, request: request() }, send)).rejects.toThrow(/does not open/);
  });

  it('releases the key when the send fails, so that a retry runs afresh', async () => {
    const failure = new RangeError('throttled');
    const { deps, calls, logs } = setUp(undefined, {
      releaseIdempotencyKey: () => {
        throw new TypeError('still throttled');
      },
    });
    await expect(sendIdempotently(deps, { key: KEY, request: request() }, () => Promise.reject(failure))).rejects.toBe(
      failure,
    );
    const claim = calls[0]?.[1] as IdempotencyClaim;
    expect(calls[1]).toEqual(['releaseIdempotencyKey', claim.recordKey, claim.attempt]);
    expect(logs).toEqual([['idempotency key not released', { reason: 'TypeError' }]]);
  });

  it('answers the send even when its answer could not be stored, and says so', async () => {
    const lost = setUp(undefined, { completeIdempotencyKey: () => false });
    expect((await sendIdempotently(lost.deps, { key: KEY, request: request() }, lost.send)).replayed).toBe(false);
    expect(lost.logs).toEqual([['idempotency key taken over before the send completed', {}]]);
    const failed = setUp(undefined, {
      completeIdempotencyKey: () => {
        throw new RangeError('throttled');
      },
    });
    expect((await sendIdempotently(failed.deps, { key: KEY, request: request() }, failed.send)).result).toEqual(RESULT);
    expect(failed.logs).toEqual([['idempotency answer not stored', { reason: 'RangeError' }]]);
  });
});
