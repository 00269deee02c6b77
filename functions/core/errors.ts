/**
 * The failures of the use cases; failures of the request itself (route, method, body) are in
 * http/errors.ts. Each carries its HTTP status and its problem slug; http/responses.ts turns them
 * into problem+json answers through the one builder in http/problem.ts.
 */
export abstract class OtpError extends Error {
  abstract readonly status: number;
  abstract readonly slug: string;
  abstract readonly title: string;
  /** Extra response headers (Retry-After, Allow). */
  readonly headers: Record<string, string> = {};
  /** Extra members of the problem body. */
  readonly extensions: Record<string, unknown> = {};

  constructor(message?: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidTargetError extends OtpError {
  readonly status = 400;
  readonly slug = 'invalid-target';
  readonly title = 'Target is not a valid e-mail address or phone number';
}

export class ChannelNotAllowedError extends OtpError {
  readonly status = 403;
  readonly slug = 'channel-not-allowed';
  readonly title = 'Channel not allowed';
}

/** Which send limit refused a code: the `reason` member of a 429 `rate-limited` (and of the OpenAPI document). */
export const RATE_LIMIT_REASONS = [
  'cooldown',
  'target-hourly',
  'target-daily',
  'target-locked',
  'ip-hourly',
  'country-hourly',
  'prefix-hourly',
  'sms-hourly',
  'country-paused',
] as const;
export type RateLimitReason = (typeof RATE_LIMIT_REASONS)[number];

/** The `reason` of a 429 `too-many-attempts` whose caller can send a new code at once (NewCodeRequiredError). */
export const NEW_CODE_REQUIRED = 'new-code-required';

export class RateLimitedError extends OtpError {
  readonly status = 429;
  readonly slug = 'rate-limited';
  readonly title = 'Too many codes requested';
  constructor(
    readonly reason: RateLimitReason,
    detail: string,
    readonly retryAfterSeconds: number,
    /** An SMS's destination country, for the operator's metrics; not part of the answer. */
    readonly country?: string,
  ) {
    super(detail);
    this.headers['Retry-After'] = String(retryAfterSeconds);
    this.extensions.reason = reason;
    this.extensions.retryAfter = retryAfterSeconds;
  }
}

export class DeliveryFailedError extends OtpError {
  readonly status = 502;
  readonly slug = 'delivery-failed';
  readonly title = 'The code could not be delivered';
  constructor() {
    super('The code could not be handed to the delivery provider. It is not usable; request a new one.');
  }
}

export class InvalidCodeError extends OtpError {
  readonly status = 401;
  readonly slug = 'invalid-code';
  readonly title = 'Invalid code';
  constructor() {
    // One message for wrong, expired, used and never-sent codes: no enumeration.
    super('The code is wrong, expired or already used.');
  }
}

export class TooManyAttemptsError extends OtpError {
  readonly status = 429;
  readonly slug = 'too-many-attempts';
  readonly title = 'Too many attempts';
  constructor() {
    super('This code has had its maximum number of attempts. Request a new code.');
  }
}

/** Same slug as TooManyAttemptsError: the caller can do nothing but wait. */
export class TargetLockedError extends OtpError {
  readonly status = 429;
  readonly slug = 'too-many-attempts';
  readonly title = 'Too many attempts';
  constructor(readonly retryAfterSeconds: number) {
    super('Too many wrong codes for this target. Try again later.');
    this.headers['Retry-After'] = String(retryAfterSeconds);
    this.extensions.retryAfter = retryAfterSeconds;
  }
}

/**
 * The target has had many wrong codes lately (guesses.ts): only a code sent from now on, verified
 * with its send's otpToken, at its first try, is compared. The caller can act at once: send a new
 * code and verify it with its otpToken. `Retry-After` says when the target is back to normal without.
 */
export class NewCodeRequiredError extends OtpError {
  readonly status = 429;
  readonly slug = 'too-many-attempts';
  readonly title = 'Too many attempts';
  constructor(readonly retryAfterSeconds: number) {
    super(
      'Too many wrong codes for this target lately: send a new code and verify it with the otpToken of that send, at the first try.',
    );
    this.headers['Retry-After'] = String(retryAfterSeconds);
    this.extensions.retryAfter = retryAfterSeconds;
    this.extensions.reason = NEW_CODE_REQUIRED;
  }
}

export class SessionInvalidError extends OtpError {
  readonly status = 401;
  readonly slug = 'session-invalid';
  readonly title = 'Session invalid';
  constructor() {
    // One message for missing, malformed, unknown, expired and revoked tokens.
    super('The session token is missing, invalid, expired or revoked.');
    this.headers['WWW-Authenticate'] = 'Bearer';
  }
}

export class InvalidApiKeyError extends OtpError {
  readonly status = 401;
  readonly slug = 'invalid-api-key';
  readonly title = 'Invalid API key';
  constructor() {
    // One message for missing, malformed, unknown and revoked keys.
    super('Send a valid API key in the X-API-Key header.');
  }
}

export class ClientDisabledError extends OtpError {
  readonly status = 403;
  readonly slug = 'client-disabled';
  readonly title = 'Client disabled';
  constructor() {
    super('The client this API key belongs to is disabled.');
  }
}

export class OtpRequiredError extends OtpError {
  readonly status = 403;
  readonly slug = 'otp-required';
  readonly title = 'OTP required';
  constructor(action: string) {
    super(`The action "${action}" needs a verification code more recent than this session's last one.`);
  }
}

/** verify-* / update-*: the target is another customer's (API.md, Purposes). */
export class TargetInUseError extends OtpError {
  readonly status = 409;
  readonly slug = 'target-in-use';
  readonly title = 'Target in use';
  constructor() {
    super('This e-mail address or phone number belongs to another account.');
  }
}

/** verify-*: the customer already has an identifier of that channel; update-* replaces it. */
export class IdentifierExistsError extends OtpError {
  readonly status = 409;
  readonly slug = 'identifier-exists';
  readonly title = 'Identifier exists';
  constructor(channel: 'sms' | 'email') {
    super(
      channel === 'email'
        ? 'This account already has an e-mail address: use update-email to replace it.'
        : 'This account already has a phone number: use update-phone to replace it.',
    );
  }
}

/** A send with the same Idempotency-Key is still running (core/idempotency.ts). */
export class RequestInProgressError extends OtpError {
  readonly status = 409;
  readonly slug = 'request-in-progress';
  readonly title = 'Request in progress';
  constructor() {
    super('A request with this Idempotency-Key is still running. Retry in a moment with the same key.');
    // Members like a 429's, so that a client waits the same way for both.
    this.headers['Retry-After'] = '1';
    this.extensions.retryAfter = 1;
  }
}

/** The Idempotency-Key came before with another request body or from another client. */
export class IdempotencyKeyReusedError extends OtpError {
  readonly status = 422;
  readonly slug = 'idempotency-key-reused';
  readonly title = 'Idempotency-Key reused';
  constructor() {
    super('This Idempotency-Key was used for a different request. Use a new key for a new request.');
  }
}

/**
 * The database is throttled or cannot be reached, after the SDK's own retries (API.md, Conventions):
 * nothing was left half-done, and the same request may be sent again after `Retry-After`. The HTTP
 * layer answers it for the failures http/unavailable.ts recognises; no use case decides it.
 */
export class ServiceUnavailableError extends OtpError {
  readonly status = 503;
  readonly slug = 'unavailable';
  readonly title = 'Service unavailable';
  constructor(readonly retryAfterSeconds = UNAVAILABLE_RETRY_AFTER_SECONDS) {
    super('The service cannot reach its database right now. Try again in a moment.');
    // Members like a 429's, so that a client waits the same way for both.
    this.headers['Retry-After'] = String(retryAfterSeconds);
    this.extensions.retryAfter = retryAfterSeconds;
  }
}

/**
 * What a 503 asks the caller to wait: DynamoDB's throttling passes within seconds (on-demand tables
 * adapt, and the SDK has already waited up to 3 s between its tries), and a retry sooner would only
 * add load to a database that is struggling.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
