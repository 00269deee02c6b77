import { describe, expect, it } from 'vitest';
import {
  ChannelNotAllowedError,
  ClientDisabledError,
  DeliveryFailedError,
  IdempotencyKeyReusedError,
  IdentifierExistsError,
  InvalidApiKeyError,
  InvalidCodeError,
  InvalidTargetError,
  NEW_CODE_REQUIRED,
  NewCodeRequiredError,
  type OtpError,
  OtpRequiredError,
  RateLimitedError,
  RequestInProgressError,
  ServiceUnavailableError,
  SessionInvalidError,
  TargetInUseError,
  TargetLockedError,
  TooManyAttemptsError,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from '../../functions/core/errors.js';

/** The status and problem type each domain error answers with (README, "API"), and its extra members. */
describe('domain errors', () => {
  it.each([
    ['InvalidTargetError', () => new InvalidTargetError('no'), 400, 'invalid-target', {}, {}],
    ['ChannelNotAllowedError', () => new ChannelNotAllowedError('no'), 403, 'channel-not-allowed', {}, {}],
    ['DeliveryFailedError', () => new DeliveryFailedError(), 502, 'delivery-failed', {}, {}],
    ['InvalidCodeError', () => new InvalidCodeError(), 401, 'invalid-code', {}, {}],
    ['TooManyAttemptsError', () => new TooManyAttemptsError(), 429, 'too-many-attempts', {}, {}],
    [
      'TargetLockedError',
      () => new TargetLockedError(90),
      429,
      'too-many-attempts',
      { 'Retry-After': '90' },
      { retryAfter: 90 },
    ],
    [
      'NewCodeRequiredError',
      () => new NewCodeRequiredError(60),
      429,
      'too-many-attempts',
      { 'Retry-After': '60' },
      { retryAfter: 60, reason: NEW_CODE_REQUIRED },
    ],
    [
      'SessionInvalidError',
      () => new SessionInvalidError(),
      401,
      'session-invalid',
      { 'WWW-Authenticate': 'Bearer' },
      {},
    ],
    ['InvalidApiKeyError', () => new InvalidApiKeyError(), 401, 'invalid-api-key', {}, {}],
    ['ClientDisabledError', () => new ClientDisabledError(), 403, 'client-disabled', {}, {}],
    ['OtpRequiredError', () => new OtpRequiredError('payout'), 403, 'otp-required', {}, {}],
    ['TargetInUseError', () => new TargetInUseError(), 409, 'target-in-use', {}, {}],
    ['IdentifierExistsError', () => new IdentifierExistsError('sms'), 409, 'identifier-exists', {}, {}],
    [
      'RequestInProgressError',
      () => new RequestInProgressError(),
      409,
      'request-in-progress',
      { 'Retry-After': '1' },
      { retryAfter: 1 },
    ],
    ['IdempotencyKeyReusedError', () => new IdempotencyKeyReusedError(), 422, 'idempotency-key-reused', {}, {}],
    [
      'ServiceUnavailableError',
      () => new ServiceUnavailableError(),
      503,
      'unavailable',
      { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
      { retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS },
    ],
  ] as [string, () => OtpError, number, string, Record<string, string>, Record<string, unknown>][])(
    '%s: %i %s',
    (_, make, status, slug, headers, extensions) => {
      // Made in the test, not in the table, so that mutation testing counts this test for the constructors.
      const error = make();
      expect(error.status).toBe(status);
      expect(error.slug).toBe(slug);
      expect(error.headers).toEqual(headers);
      expect(error.extensions).toEqual(extensions);
      expect(error.name).toBe(error.constructor.name);
      expect(error.title).not.toBe('');
      expect(error.message).not.toBe('');
    },
  );

  it('rate-limited says which limit and when to come back', () => {
    const error = new RateLimitedError('country-hourly', 'Hourly limit of SMS to this country reached.', 120, 'US');
    expect(error).toMatchObject({ status: 429, slug: 'rate-limited', reason: 'country-hourly', country: 'US' });
    expect(error.title).not.toBe('');
    expect(error.headers).toEqual({ 'Retry-After': '120' });
    expect(error.extensions).toEqual({ reason: 'country-hourly', retryAfter: 120 });
    expect(error.message).toBe('Hourly limit of SMS to this country reached.');
  });

  it('service-unavailable takes the wait it is given', () => {
    expect(new ServiceUnavailableError(7).headers).toEqual({ 'Retry-After': '7' });
  });

  it('names the identifier a customer already has, and the action that needs a code', () => {
    expect(new IdentifierExistsError('email').message).toMatch(/e-mail address: use update-email/);
    expect(new IdentifierExistsError('sms').message).toMatch(/phone number: use update-phone/);
    expect(new OtpRequiredError('payout').message).toMatch(/"payout"/);
  });
});
