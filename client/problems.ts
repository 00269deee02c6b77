/**
 * The errors the API answers, as RFC 9457 problems (API.md, Conventions), typed by their slug so
 * that an app can `switch` on `error.slug` or narrow with `isProblem(error, 'rate-limited')`.
 */

/** Which send limit refused a code: the `reason` of a 429 `rate-limited` (functions/core/errors.ts). */
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

/**
 * Every slug the handlers, the local server and the gateway answer with (test/client/types.test.ts
 * checks the handlers' list against functions/), and `unavailable`, which the contract promises for
 * a throttled or unreachable database.
 */
export const PROBLEM_SLUGS = [
  'bad-request',
  'malformed-json',
  'validation-error',
  'invalid-target',
  'invalid-code',
  'session-invalid',
  'invalid-api-key',
  'unauthorized',
  'client-disabled',
  'channel-not-allowed',
  'otp-required',
  'forbidden',
  'not-found',
  'method-not-allowed',
  'request-timeout',
  'request-in-progress',
  'target-in-use',
  'identifier-exists',
  'payload-too-large',
  'unsupported-media-type',
  'idempotency-key-reused',
  'request-header-fields-too-large',
  'rate-limited',
  'too-many-attempts',
  'internal-error',
  'delivery-failed',
  'unavailable',
  'timeout',
] as const;
export type ProblemSlug = (typeof PROBLEM_SLUGS)[number];

export interface ProblemBody<S extends string = ProblemSlug> {
  type: string;
  title: string;
  status: number;
  detail: string;
  success: false;
  error: S;
}

export interface FieldError {
  path: string;
  message: string;
}

/** The members a problem of each slug carries beyond the common ones. */
export interface ProblemMembers {
  'validation-error': { errors: FieldError[] };
  /**
   * `reason` names the send limit (API.md); the gateway's own 429 (its throttle or quota,
   * lib/gateway-responses.ts) comes without one.
   */
  'rate-limited': { reason?: RateLimitReason; retryAfter: number };
  /** `new-code-required`: a new code can be sent at once; without a reason, wait `retryAfter` if given. */
  'too-many-attempts': { reason?: 'new-code-required'; retryAfter?: number };
  'request-in-progress': { retryAfter: number };
}

export type Problem<S extends ProblemSlug = ProblemSlug> = S extends keyof ProblemMembers
  ? ProblemBody<S> & ProblemMembers[S]
  : ProblemBody<S>;

/** A problem the API answered: `slug` tells what happened, `problem` is the whole body. */
export class OtpProblemError<S extends ProblemSlug = ProblemSlug> extends Error {
  override readonly name = 'OtpProblemError';
  readonly slug: S;
  readonly status: number;
  /**
   * Seconds to wait before trying again, from the `Retry-After` header or, where a browser hides
   * the header, the body's `retryAfter`.
   */
  readonly retryAfter: number | undefined;

  constructor(
    readonly problem: Problem<S>,
    retryAfterHeader: string | null = null,
  ) {
    super(`${problem.status} ${problem.error}: ${problem.detail}`);
    this.slug = problem.error as S;
    this.status = problem.status;
    this.retryAfter = parseRetryAfter(retryAfterHeader) ?? memberRetryAfter(problem);
  }
}

/** The request never got an answer: no connection, the connection dropped, or it took too long. */
export class OtpNetworkError extends Error {
  override readonly name = 'OtpNetworkError';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

/** An answer that is not this API's: a proxy's HTML page, a body that is not JSON. */
export class OtpUnexpectedResponseError extends Error {
  override readonly name = 'OtpUnexpectedResponseError';
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`Unexpected answer ${status} from the OTP service`);
  }
}

/** Narrows an error caught around a client call to the problem of one slug (or any of several). */
export function isProblem<S extends ProblemSlug>(error: unknown, ...slugs: S[]): error is OtpProblemError<S> {
  return (
    error instanceof OtpProblemError &&
    (slugs.length === 0 || (slugs as readonly string[]).includes((error as OtpProblemError).slug))
  );
}

/** A body that has the members every problem of this API has. */
export function asProblem(body: unknown): Problem | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const candidate = body as Record<string, unknown>;
  return candidate.success === false &&
    typeof candidate.error === 'string' &&
    typeof candidate.status === 'number' &&
    typeof candidate.detail === 'string'
    ? (body as Problem)
    : undefined;
}

/** Delay-seconds or an HTTP date (RFC 9110), as whole seconds from now. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function memberRetryAfter(problem: Problem): number | undefined {
  const value = (problem as { retryAfter?: unknown }).retryAfter;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
