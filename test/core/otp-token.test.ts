import { describe, expect, it } from 'vitest';
import { hashOtpToken, issueOtpToken, MAX_OTP_TOKEN_LENGTH, openOtpToken } from '../../functions/core/otp-token.js';
import { type Purpose, PURPOSES } from '../../functions/core/purposes.js';

const PEPPER = 'test-pepper-test-pepper-test-pepper-0123';
const OTHER_PEPPER = 'another-pepper-another-pepper-another-01';
const PHONE = '+14155550199';
const EMAIL = 'jane.doe@example.com';

const bytesOf = (token: string) => Buffer.from(token, 'base64url');
const tokenOf = (bytes: Buffer) => bytes.toString('base64url');

describe('otpToken', () => {
  it.each(PURPOSES)('opens to the target and purpose it was issued for (%s)', (purpose) => {
    const { token, tokenHash } = issueOtpToken(PEPPER, EMAIL, purpose);
    expect(openOtpToken(PEPPER, token)).toEqual({ target: EMAIL, purpose, tokenHash });
  });

  it('carries the SHA-256 of the token as its hash', () => {
    const { token, tokenHash } = issueOtpToken(PEPPER, PHONE, 'login');
    expect(tokenHash).toBe(hashOtpToken(token));
    expect(tokenHash).not.toBe(token);
  });

  it('is unpadded base64url with at least 128 random bits', () => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    // Version, IV, 128-bit nonce, the sealed text and the tag.
    expect(bytesOf(token).length).toBeGreaterThanOrEqual(1 + 12 + 16 + 16);
  });

  it('opens for a 255-character target and stays within the longest token verify accepts', () => {
    const target = `${'a'.repeat(243)}@example.com`;
    expect(target).toHaveLength(255);
    const { token } = issueOtpToken(PEPPER, target, 'reset-password');
    expect(token.length).toBeLessThanOrEqual(MAX_OTP_TOKEN_LENGTH);
    expect(openOtpToken(PEPPER, token)?.target).toBe(target);
  });

  it('differs for two sends to the same target and purpose', () => {
    const first = issueOtpToken(PEPPER, PHONE, 'login');
    const second = issueOtpToken(PEPPER, PHONE, 'login');
    expect(first.token).not.toBe(second.token);
    expect(first.tokenHash).not.toBe(second.tokenHash);
  });

  it('shows no target or purpose text, in any encoding', () => {
    for (const target of [PHONE, EMAIL]) {
      const { token } = issueOtpToken(PEPPER, target, 'verify-email');
      const raw = bytesOf(token);
      for (const text of [target, target.slice(1), 'jane', '4155550199', 'verify-email']) {
        expect(token).not.toContain(text);
        expect(token).not.toContain(Buffer.from(text).toString('base64url'));
        expect(raw.includes(Buffer.from(text))).toBe(false);
      }
    }
  });

  it('does not open with a byte flipped anywhere', () => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    const raw = bytesOf(token);
    for (let i = 0; i < raw.length; i++) {
      const altered = Buffer.from(raw);
      altered[i] = (altered[i] as number) ^ 0x01;
      expect(openOtpToken(PEPPER, tokenOf(altered)), `byte ${i}`).toBeUndefined();
    }
  });

  it('does not open truncated', () => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    for (const length of [token.length - 1, token.length - 4, token.length - 22, 44, 10, 1]) {
      expect(openOtpToken(PEPPER, token.slice(0, length)), `length ${length}`).toBeUndefined();
    }
  });

  it('does not open with its last bytes cut off', () => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    const raw = bytesOf(token);
    for (let cut = 1; cut <= 16; cut++)
      expect(openOtpToken(PEPPER, tokenOf(raw.subarray(0, raw.length - cut)))).toBeUndefined();
  });

  it('does not open with bytes added', () => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    expect(openOtpToken(PEPPER, tokenOf(Buffer.concat([bytesOf(token), Buffer.from([0])])))).toBeUndefined();
  });

  it('does not open for a purpose this service does not have', () => {
    const { token } = issueOtpToken(PEPPER, EMAIL, 'delete-account' as Purpose);
    expect(openOtpToken(PEPPER, token)).toBeUndefined();
  });

  it('does not open under another pepper', () => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    expect(openOtpToken(OTHER_PEPPER, token)).toBeUndefined();
  });

  it.each([
    ['standard base64', (token: string) => `${token.slice(0, 10)}+/${token.slice(12)}`],
    ['padding', (token: string) => `${token}=`],
    ['a space', (token: string) => `${token.slice(0, 10)} ${token.slice(11)}`],
    ['a dot', (token: string) => `${token.slice(0, 10)}.${token.slice(11)}`],
  ])('does not open with %s in it (not base64url)', (_, spoil) => {
    const { token } = issueOtpToken(PEPPER, PHONE, 'login');
    expect(openOtpToken(PEPPER, spoil(token))).toBeUndefined();
  });

  it('does not open an empty string', () => {
    expect(openOtpToken(PEPPER, '')).toBeUndefined();
  });

  it('does not open a 600-character string', () => {
    expect(openOtpToken(PEPPER, 'A'.repeat(600))).toBeUndefined();
  });

  it('does not open a session-token-like string of random bytes', () => {
    expect(openOtpToken(PEPPER, Buffer.alloc(64, 7).toString('base64url'))).toBeUndefined();
  });
});
