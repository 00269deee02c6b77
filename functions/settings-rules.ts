import * as z from 'zod/mini';
import { SIGNING_ALGORITHMS } from './core/signing-keys.js';

/**
 * The rules that the functions' environment (functions/config.ts) and the stack's CDK context
 * (lib/stack-config.ts) share, so that a value the stack accepts is one the functions accept at start.
 * Only zod here: lib/ imports this file and must not pull in an AWS SDK client.
 *
 * Each schema's message completes a sentence that begins with the name of the variable or context
 * value, such as `OTP_SMS_SENDER_ID must be ...`.
 */

/** Lower-case, as it names the API Gateway stage, the REST API and the stack. */
export const STAGE_NAME = z
  .string()
  .check(z.regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a lower-case stage name such as dev, staging or prod'));

/**
 * A stage is production when its name starts with `prod` or `prd` (prod, production, prd, prod-eu):
 * such a stage refuses dev mode and local delivery, and keeps its data when the stack is deleted.
 */
export function isProductionStage(stage: string): boolean {
  return /^(prod|prd)/.test(stage);
}

/** An alphanumeric sender ID as SNS accepts it: digits alone would read as a phone number. */
export const SMS_SENDER_ID = z
  .string()
  .check(z.regex(/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/, 'must be 1-11 letters and digits with at least one letter'));

export const E164_NUMBER = z.string().check(z.regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number'));

/** ISO 3166-1 alpha-2, either case: both readers upper-case it. */
export const COUNTRY_CODE = z.string().check(z.regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 code'));

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

export const EMAIL_ADDRESS = z.string().check(z.regex(ADDRESS, 'must be an e-mail address'));

/** The From of code e-mails: `address` or `Name <address>`. */
export const EMAIL_SENDER = z
  .string()
  .check(
    z.refine(
      (value) => ADDRESS.test(senderAddress(value)) && !/[\r\n]/.test(value),
      'must be an e-mail address, optionally as "Name <address>"',
    ),
  );

/** The SES identity allowed to send: a domain or an address. */
export const SES_IDENTITY = z
  .string()
  .check(
    z.refine(
      (value) => ADDRESS.test(value) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(value),
      'must be a domain or an e-mail address',
    ),
  );

/** The bare address of `Name <address>` (or the value itself when it has no name). */
export function senderAddress(sender: string): string {
  return /<([^>]+)>\s*$/.exec(sender)?.[1] ?? sender;
}

/** The domain codes are sent from: the SES identity to send through when none is named. */
export function senderDomain(sender: string): string {
  const address = senderAddress(sender);
  return address.slice(address.lastIndexOf('@') + 1);
}

/**
 * The issuer of access tokens. Every verifier compares it as a string, and `/.well-known/...` is
 * appended to it: no query, fragment or trailing slash (OpenID Connect Discovery 1.0, section 3).
 */
/** The algorithm of access tokens: ES256 (API.md's contract, the default) or RS256 (opt-in). */
export const ACCESS_TOKEN_ALGORITHM = z.enum(
  SIGNING_ALGORITHMS,
  `must be ${SIGNING_ALGORITHMS.join(' or ')} (RS256 for an API Gateway HTTP API JWT authorizer)`,
);

export const ISSUER_URL = z
  .string()
  .check(
    z.regex(
      /^https?:\/\/[^\s/?#]+(\/[^\s?#]*[^\s/?#])?$/,
      'must be an http(s) URL without query, fragment or trailing slash',
    ),
  );

/** A whole number written in decimal digits, within bounds. */
export function wholeNumber(min: number, max: number) {
  const rule = `must be a whole number from ${min} to ${max}`;
  return z
    .pipe(z.string().check(z.regex(/^-?\d+$/, rule)), z.transform(Number))
    .check(z.gte(min, rule), z.lte(max, rule));
}

/** A decimal number written in digits (`0.2`, `.5`, `1`), within bounds. */
export function decimalNumber(min: number, max: number) {
  const rule = `must be a number from ${min} to ${max}, such as 0.2`;
  return z
    .pipe(z.string().check(z.regex(/^(\d+(\.\d+)?|\.\d+)$/, rule)), z.transform(Number))
    .check(z.gte(min, rule), z.lte(max, rule));
}

/**
 * The SMS cost protection's settings (API.md, Configuration): the stack's context and the functions'
 * environment take the same values. An hourly SMS cap of 0 turns that cap off.
 */
export const SMS_HOURLY_LIMIT = wholeNumber(0, 1_000_000);

export const BREAKER_MODES = ['enforce', 'monitor', 'off'] as const;
export type BreakerMode = (typeof BREAKER_MODES)[number];

/** enforce pauses SMS to a country whose conversion is too low; monitor only logs and counts it. */
export const BREAKER_MODE = z.enum(BREAKER_MODES, `must be ${BREAKER_MODES.join(', ')}`);

/** SMS to a country within the window before its conversion is judged. */
export const BREAKER_MIN_SENDS = wholeNumber(1, 1_000_000);

/** Verified / sent below this pauses a country. */
export const BREAKER_MIN_CONVERSION = decimalNumber(0, 1);

/** The breaker's window and pause: a minute to a day. */
export const BREAKER_SECONDS = wholeNumber(60, 86_400);

/** The message of the first rule `value` breaks, or undefined when it breaks none. */
export function brokenRule(schema: z.ZodMiniType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : (result.error.issues[0]?.message ?? 'is invalid');
}
