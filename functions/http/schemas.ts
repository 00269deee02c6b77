import * as z from 'zod/mini';
import { CHANNELS, PURPOSES } from '../core/purposes.js';

/**
 * Characters a stored and echoed text must not hold: control characters (NUL and the like),
 * unpaired surrogates (not valid Unicode; DynamoDB refuses them) and bidirectional overrides and
 * marks, which make a name display as something else.
 */
const UNSAFE_TEXT = /[\p{Cc}\p{Cs}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

const safeText = (max: number) =>
  z.string().check(
    z.trim(),
    z.maxLength(max),
    z.refine((value) => !UNSAFE_TEXT.test(value), {
      message: 'Must not contain control characters, bidirectional controls or unpaired surrogates.',
    }),
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

/** The body of POST /v1/otp/verify, for codes of `codeLength` digits. */
export function verifyBody(codeLength: number) {
  return z.object({
    target,
    code: z.string().check(z.regex(new RegExp(`^\\d{${codeLength}}$`), `Must be exactly ${codeLength} digits.`)),
    purpose: z.optional(z.enum(PURPOSES)),
    name: z.optional(safeText(255)),
  });
}
