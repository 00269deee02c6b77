import { describe, expect, it } from 'vitest';
import { SessionInvalidError } from '../../functions/core/errors.js';
import { tokenFromHeaders } from '../../functions/http/session-token.js';

describe('tokenFromHeaders', () => {
  it('reads Authorization: Bearer or X-OTP-Session', () => {
    expect(tokenFromHeaders({ authorization: 'Bearer abc' })).toBe('abc');
    expect(tokenFromHeaders({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(tokenFromHeaders({ 'x-otp-session': ' abc ' })).toBe('abc');
    expect(tokenFromHeaders({})).toBeUndefined();
  });

  it('refuses an Authorization header that is not a bearer token', () => {
    expect(() => tokenFromHeaders({ authorization: 'Basic abc' })).toThrow(SessionInvalidError);
    expect(() => tokenFromHeaders({ authorization: 'Bearer' })).toThrow(SessionInvalidError);
  });

  it('accepts both headers when they carry the same token', () => {
    expect(tokenFromHeaders({ authorization: 'Bearer abc', 'x-otp-session': 'abc' })).toBe('abc');
  });

  it('refuses both headers when they disagree, instead of letting Authorization win', () => {
    expect(() => tokenFromHeaders({ authorization: 'Bearer abc', 'x-otp-session': 'xyz' })).toThrow(
      SessionInvalidError,
    );
  });
});
