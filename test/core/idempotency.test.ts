import { describe, expect, it } from 'vitest';
import {
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyRecordKey,
  openAnswer,
  sealAnswer,
  sendFingerprint,
} from '../../functions/core/idempotency.js';
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
