import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/config.js';
import { SessionInvalidError } from '../../functions/core/errors.js';
import type { SessionView } from '../../functions/core/sessions.js';
import {
  allowedResource,
  authorizerContext,
  identityHeaders,
  identityHeadersFrom,
  tokenOf,
} from '../../functions/http/authorizer-policy.js';

const API = 'arn:aws:execute-api:us-east-1:123456789012:abc123defg';

describe('identityHeadersFrom (OTP_AUTHORIZER_HEADERS)', () => {
  it('reads both headers by default, or the ones named, in any case', () => {
    expect(identityHeadersFrom(undefined)).toEqual(['authorization', 'x-otp-session']);
    expect(identityHeadersFrom(' ')).toEqual(['authorization', 'x-otp-session']);
    expect(identityHeadersFrom('Authorization')).toEqual(['authorization']);
    expect(identityHeadersFrom('X-OTP-Session, authorization')).toEqual(['x-otp-session', 'authorization']);
  });

  it('refuses any other header, naming the variable', () => {
    expect(() => identityHeadersFrom('Authorization,Cookie')).toThrow(ConfigError);
    expect(() => identityHeadersFrom('Cookie')).toThrow(/OTP_AUTHORIZER_HEADERS .*"cookie"/);
  });
});

describe('identityHeaders and tokenOf', () => {
  const both = ['authorization', 'x-otp-session'] as const;
  const event = (
    headers: Record<string, string> | null,
    multiValueHeaders: Record<string, string[]> | null = null,
  ) => ({
    headers,
    multiValueHeaders,
  });

  it('lower-cases the names and reads only the identity headers it is told to', () => {
    expect(identityHeaders(event({ AUTHORIZATION: 'Bearer t', Cookie: 'c', 'X-Otp-Session': 't' }), both)).toEqual({
      authorization: 'Bearer t',
      'x-otp-session': 't',
    });
    expect(identityHeaders(event({ Authorization: 'Bearer t', 'X-OTP-Session': 'u' }), ['authorization'])).toEqual({
      authorization: 'Bearer t',
    });
    expect(identityHeaders(event(null, null), both)).toEqual({});
  });

  it('refuses a header that carries two different values; the same value twice is one', () => {
    expect(() => identityHeaders(event({ 'X-OTP-Session': 'b' }, { 'X-OTP-Session': ['a', 'b'] }), both)).toThrow(
      SessionInvalidError,
    );
    expect(() => identityHeaders(event({ authorization: 'Bearer a', Authorization: 'Bearer b' }), both)).toThrow(
      SessionInvalidError,
    );
    expect(identityHeaders(event({ 'X-OTP-Session': 'a' }, { 'X-OTP-Session': ['a', 'a'] }), both)).toEqual({
      'x-otp-session': 'a',
    });
  });

  it('takes the token by the rules of GET /v1/session', () => {
    expect(tokenOf(event({ Authorization: 'Bearer abc' }), both)).toBe('abc');
    expect(tokenOf(event({ 'X-OTP-Session': 'abc' }), both)).toBe('abc');
    expect(tokenOf(event({}), both)).toBeUndefined();
    expect(() => tokenOf(event({ Authorization: 'Bearer abc', 'X-OTP-Session': 'xyz' }), both)).toThrow(
      SessionInvalidError,
    );
    expect(() => tokenOf(event({ Authorization: 'Token abc' }), both)).toThrow(SessionInvalidError);
  });
});

describe('allowedResource', () => {
  it("is every method and path of the called API's stage", () => {
    expect(allowedResource(`${API}/prod/GET/orders/42`)).toBe(`${API}/prod/*/*`);
    expect(allowedResource(`${API}/prod/GET/`)).toBe(`${API}/prod/*/*`);
    expect(allowedResource(`arn:aws-cn:execute-api:cn-north-1:123456789012:abc123defg/v2/POST/a/b`)).toBe(
      'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123defg/v2/*/*',
    );
  });

  it('throws for anything but the method ARN of a REST API call', () => {
    for (const arn of ['', '*', API, `${API}/prod`, 'arn:aws:lambda:us-east-1:123456789012:function:f/a/b/c']) {
      expect(() => allowedResource(arn), arn).toThrow(/method ARN/);
    }
  });
});

describe('authorizerContext', () => {
  const session: SessionView = {
    customerId: 'cus_1',
    sid: 'sid_1',
    target: 'jane@example.com',
    channel: 'email',
    purpose: 'step-up',
    issuedAt: 0,
    authTime: Date.UTC(2025, 0, 2, 3, 4, 5),
    expiresAt: 1,
    origin: { clientId: 'cli_1' },
  };

  it('carries strings only, and never the target', () => {
    const context = authorizerContext(session);
    expect(context).toEqual({
      customerId: 'cus_1',
      sessionId: 'sid_1',
      clientId: 'cli_1',
      purpose: 'step-up',
      channel: 'email',
      authTime: '2025-01-02T03:04:05.000Z',
    });
    expect(Object.values(context).every((value) => typeof value === 'string')).toBe(true);
  });

  it('leaves out the client and the session id when there are none', () => {
    const context = authorizerContext({ ...session, sid: undefined, origin: {} });
    expect(context).not.toHaveProperty('clientId');
    expect(context).not.toHaveProperty('sessionId');
  });
});
