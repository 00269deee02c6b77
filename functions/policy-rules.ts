import * as z from 'zod/mini';
import { ACTION_PATTERN, type ClientPolicy, isGuessableCode, TRUST_LEVELS } from './core/client-policy.js';
import { OtpError } from './core/errors.js';
import { CHANNELS } from './core/purposes.js';
import { normaliseTarget } from './core/targets.js';

/**
 * The rules of a client policy (API.md, "Client policy"): the same bounds as the deployment's
 * variables (functions/config.ts), checked when a policy is written (npm run clients) and again when
 * a function reads one, so that a hand-edited item cannot widen what the rules allow.
 */
const whole = (min: number, max: number) =>
  z
    .int()
    .check(
      z.gte(min, `must be a whole number from ${min} to ${max}`),
      z.lte(max, `must be a whole number from ${min} to ${max}`),
    );

const action = z.string().check(z.regex(ACTION_PATTERN, 'must be 1-64 of a-z 0-9 . _ -'));
const actions = z.array(action).check(z.maxLength(100, 'must list at most 100 actions'));

const testTarget = z.strictObject({
  target: z.string().check(z.minLength(1), z.maxLength(255)),
  code: z.string().check(
    z.regex(/^\d{6,10}$/, 'must be 6 to 10 digits'),
    z.refine(
      (code) => !isGuessableCode(code),
      'must not be trivially guessable (000000, 123456, one repeated digit, a straight run, a repeated pair)',
    ),
  ),
});

/**
 * The longest WebOTP domains whose SMS still fit one segment in every language, purpose and code
 * length (test/core/messages.test.ts), as the fill-in lines are never cut (core/messages.ts smsText):
 * parsePolicy refuses longer ones.
 */
export const MAX_WEB_OTP_DOMAIN_LENGTH = 57;
export const MAX_WEB_OTP_DOMAIN_LENGTH_WITH_APP_HASH = 45;

export const CLIENT_POLICY = z.strictObject({
  codeLength: z.optional(whole(6, 10)),
  codeTtlSeconds: z.optional(whole(1, 600)),
  maxAttempts: z.optional(whole(1, 10)),
  sendLimitPerHour: z.optional(whole(1, 1000)),
  sendLimitPerDay: z.optional(whole(1, 10_000)),
  resendCooldownSeconds: z.optional(whole(0, 3600)),
  smsLimitPerHour: z.optional(whole(1, 1_000_000)),
  smsLimitPerCountryPerHour: z.optional(whole(1, 1_000_000)),
  smsLimitPerPrefixPerHour: z.optional(whole(1, 1_000_000)),
  channels: z.optional(
    z.array(z.enum(CHANNELS, 'must be sms or email')).check(z.minLength(1, 'must name at least one channel')),
  ),
  smsCountries: z.optional(
    z
      .array(z.string().check(z.regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 code')))
      .check(z.minLength(1, 'must name at least one country; leave sms out of channels to send no SMS')),
  ),
  sessionTtlSeconds: z.optional(whole(60, 30 * 86_400)),
  stepUpTtlSeconds: z.optional(whole(5, 86_400)),
  refreshTtlSeconds: z.optional(whole(3600, 365 * 86_400)),
  requireOtpToken: z.optional(z.boolean('must be true or false')),
  trust: z.optional(z.enum(TRUST_LEVELS, 'must be strict, relaxed or trusted')),
  otpRequiredFor: z.optional(actions),
  otpOptional: z.optional(actions),
  testTargets: z.optional(z.array(testTarget).check(z.maxLength(20, 'must list at most 20 test identities'))),
  webOtpDomain: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
          'must be a lower-case domain name such as example.com',
        ),
      ),
  ),
  androidAppHash: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9+/]{11}$/, 'must be the 11-character app hash of the SMS Retriever API')),
  ),
});

export interface PolicyIssue {
  /** The field, as `testTargets.0.code`. */
  path: string;
  message: string;
}

/** A policy that breaks a rule; each issue names its field. */
export class PolicyError extends OtpError {
  readonly status = 400;
  readonly slug = 'validation-error';
  readonly title = 'Client policy is invalid';
  constructor(readonly issues: PolicyIssue[]) {
    super(issues.map((issue) => `${fieldOf(issue)}: ${issue.message}`).join('; '));
    this.extensions.errors = issues.map((issue) => ({ path: fieldOf(issue), message: issue.message }));
  }
}

const fieldOf = (issue: PolicyIssue) => (issue.path ? `policy.${issue.path}` : 'policy');

/**
 * A policy checked against every rule, with countries upper-cased; test targets are taken as they
 * are. What a function does with a stored policy (written through parsePolicy, so already
 * normalised): it needs no phone-number metadata for that.
 */
export function checkPolicy(input: unknown): ClientPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PolicyError([{ path: '', message: 'must be a JSON object' }]);
  }
  const parsed = CLIENT_POLICY.safeParse(input);
  if (!parsed.success) {
    throw new PolicyError(
      parsed.error.issues.flatMap((issue) =>
        // One issue per unknown field, each named by its full path.
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'is not a policy field' }))
          : [{ path: issue.path.join('.'), message: issue.message }],
      ),
    );
  }
  const policy: ClientPolicy = { ...parsed.data };
  const issues: PolicyIssue[] = [];
  if (policy.smsCountries) policy.smsCountries = [...new Set(policy.smsCountries.map((c) => c.toUpperCase()))];
  if (
    policy.sendLimitPerDay !== undefined &&
    policy.sendLimitPerHour !== undefined &&
    policy.sendLimitPerDay < policy.sendLimitPerHour
  ) {
    issues.push({ path: 'sendLimitPerDay', message: 'must be at least sendLimitPerHour' });
  }
  const both = policy.otpRequiredFor?.filter((name) => policy.otpOptional?.includes(name)) ?? [];
  if (both.length > 0) {
    issues.push({ path: 'otpOptional', message: `names ${both.join(', ')}, also in otpRequiredFor` });
  }
  policy.testTargets?.forEach((test, index) => {
    if (policy.codeLength !== undefined && test.code.length !== policy.codeLength) {
      issues.push({ path: `testTargets.${index}.code`, message: `must have codeLength (${policy.codeLength}) digits` });
    }
  });
  if (issues.length > 0) throw new PolicyError(issues);
  return policy;
}

/**
 * A policy as written by `npm run clients`: every rule of checkPolicy, and test targets normalised as
 * every target is, so that a function compares them as they come. Throws PolicyError naming each
 * field that breaks a rule.
 */
export function parsePolicy(input: unknown): ClientPolicy {
  const policy = checkPolicy(input);
  const issues: PolicyIssue[] = [];
  policy.testTargets = policy.testTargets?.map((test, index) => {
    try {
      return { target: normaliseTarget(test.target).address, code: test.code };
    } catch (error) {
      issues.push({
        path: `testTargets.${index}.target`,
        message: error instanceof Error ? error.message : 'is not a valid target',
      });
      return test;
    }
  });
  if (policy.testTargets === undefined) delete policy.testTargets;
  // Only when a policy is written: one stored before this rule keeps working, in two segments.
  const longest = policy.androidAppHash ? MAX_WEB_OTP_DOMAIN_LENGTH_WITH_APP_HASH : MAX_WEB_OTP_DOMAIN_LENGTH;
  if (policy.webOtpDomain !== undefined && policy.webOtpDomain.length > longest) {
    issues.push({
      path: 'webOtpDomain',
      message: `must be at most ${longest} characters${policy.androidAppHash ? ' with an androidAppHash' : ''}, or the SMS may need two segments`,
    });
  }
  if (issues.length > 0) throw new PolicyError(issues);
  return policy;
}
