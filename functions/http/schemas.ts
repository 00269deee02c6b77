import * as z from 'zod/mini';
import { MAX_OTP_TOKEN_LENGTH } from '../core/otp-token.js';
import { PLATFORMS } from '../core/ports.js';
import { CHANNELS, PURPOSES } from '../core/purposes.js';

/**
 * What a stored and echoed name must not hold: control characters (NUL and the like), unpaired
 * surrogates (not Unicode; DynamoDB refuses them), private-use and unassigned code points, line and
 * paragraph separators, and every invisible format character (bidi overrides and marks, zero-width
 * spaces, soft hyphens, tag characters) but the joiners that emoji and some scripts need (ZWNJ, ZWJ),
 * and the fillers that render as nothing.
 */
const UNSAFE_CHARACTER =
  /[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u115F\u1160\u2800\u3164\uFFA0]|(?![\u200C\u200D])\p{Cf}/u;
/** Combining marks stacked on one letter beyond what any script writes: text that spills over its neighbours. */
const STACKED_MARKS = /\p{M}{5,}/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

const SAFE_TEXT_MESSAGE =
  'Must hold a letter or digit, and no control, invisible or formatting characters, separators or unpaired surrogates.';

/** A name as people write it, trimmed and in Unicode NFC, so that one name has one stored form. */
const safeText = (max: number) =>
  z.string().check(
    z.trim(),
    z.normalize(),
    z.maxLength(max),
    z.refine(
      (value) =>
        value === '' || (!UNSAFE_CHARACTER.test(value) && !STACKED_MARKS.test(value) && LETTER_OR_DIGIT.test(value)),
      { message: SAFE_TEXT_MESSAGE },
    ),
  );

function isLocale(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

const target = z.string().check(z.minLength(1), z.maxLength(255));

/** The body of POST /v1/otp/send. */
export const sendBody = z.object({
  target,
  purpose: z.optional(z.enum(PURPOSES)),
  channel: z.optional(z.enum(CHANNELS)),
  locale: z.optional(
    z.string().check(z.maxLength(35), z.refine(isLocale, { message: 'Must be a BCP 47 language tag, like pt-BR.' })),
  ),
});

const OTP_TOKEN_MESSAGE = 'Must be the otpToken the send returned.';

/**
 * The body of POST /v1/otp/verify. The code's length is the calling client's, so the handler checks
 * it once the client is known.
 */
export const verifyBody = z
  .object({
    target: z.optional(target),
    otpToken: z.optional(
      z
        .string(OTP_TOKEN_MESSAGE)
        .check(z.minLength(1, OTP_TOKEN_MESSAGE), z.maxLength(MAX_OTP_TOKEN_LENGTH, OTP_TOKEN_MESSAGE)),
    ),
    // Exactly the client's code length: checked by the handler (verify-otp.ts).
    code: z.string('Must be the digits of the code.').check(z.maxLength(64, 'Must be the digits of the code.')),
    purpose: z.optional(z.enum(PURPOSES)),
    name: z.optional(safeText(255)),
    platform: z.optional(z.enum(PLATFORMS, `Must be one of ${PLATFORMS.join(', ')}.`)),
  })
  .check(
    z.refine((body) => body.target !== undefined || body.otpToken !== undefined, {
      message: 'Send the target, the otpToken of the send, or both.',
      path: ['target'],
    }),
  );

/** The body of POST /v1/session/refresh. */
export const refreshBody = z.object({
  refreshToken: z
    .string('Must be the refreshToken of the login or the last refresh.')
    .check(z.maxLength(64, 'Must be the refreshToken of the login or the last refresh.')),
});
