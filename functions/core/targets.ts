import {
  type CountryCode,
  type MetadataJson,
  type NumberType,
  ParseError,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/core';
// The one import of phone metadata, by a package path that the Lambda build replaces with the
// metadata of the deployment's allowed countries only (lib/phone-metadata.ts): the whole mobile
// metadata is most of libphonenumber's weight in a bundle. Unbundled (tests, npm start) it is all
// of it.
import mobileMetadata from 'libphonenumber-js/metadata.mobile.json';
import * as z from 'zod/mini';
import { InvalidTargetError } from './errors.js';
import type { Channel } from './purposes.js';

export interface Target {
  /** Normalised form: E.164 for phones, trimmed and lower-cased e-mail. Stored, limited on and returned. */
  address: string;
  channel: Channel;
  /** ISO 3166-1 alpha-2 region of a phone number, when the number belongs to one. */
  country?: string;
  /**
   * A phone number of a calling code whose metadata the build left out (omittedCallingCodeTarget):
   * not checked for validity or type, so never sent to, whatever the allow-list says at run time.
   */
  unchecked?: true;
}

/**
 * libphonenumber's metadata, and in a build that carries only some calling codes
 * (lib/phone-metadata.ts) each calling code it leaves out, with the main country of that code.
 */
export interface PhoneMetadata extends MetadataJson {
  omitted_calling_codes?: Record<string, CountryCode>;
}

export type TargetNormaliser = (raw: string, requested?: Channel) => Target;

const emailSchema = z.email();

/**
 * A normaliser of what a caller typed, for phone numbers of the given metadata (see normaliseTarget).
 * Phone numbers must be in international form and able to receive SMS (see SMS_CAPABLE).
 */
export function targetNormaliser(metadata: PhoneMetadata): TargetNormaliser {
  const normalisePhone = phoneNormaliser(metadata);
  return (raw, requested) => {
    const input = raw.trim();
    const target = input.includes('@') ? normaliseEmail(input) : normalisePhone(input);
    if (requested && requested !== target.channel) {
      throw new InvalidTargetError(
        `Channel "${requested}" does not fit the target, which is ${target.channel === 'sms' ? 'a phone number' : 'an e-mail address'}.`,
      );
    }
    return target;
  };
}

/**
 * Normalises and validates what a caller typed, with the metadata this build carries: all of it
 * unbundled, that of the deployment's allowed countries in a Lambda (lib/phone-metadata.ts).
 */
// Pure: a bundle that imports this module but never normalises a target (session, refresh) leaves the
// metadata out.
export const normaliseTarget: TargetNormaliser = /* @__PURE__ */ targetNormaliser(mobileMetadata);

/**
 * The whole address is lower-cased, local part included: mailbox providers treat it without case,
 * and two spellings of one mailbox must never be two customers or two rate-limit keys.
 */
function normaliseEmail(input: string): Target {
  const address = input.toLowerCase();
  if (!emailSchema.safeParse(address).success) {
    throw new InvalidTargetError('The target is not a valid e-mail address.');
  }
  return { address, channel: 'email' };
}

/**
 * The only number types that can receive an SMS. Premium-rate, shared-cost, VoIP, toll-free, pager,
 * UAN and personal numbers are refused whatever the country allow-list says: an SMS to them costs
 * money and reaches no phone, which is what SMS pumping relies on. Fixed-line numbers are refused
 * too; where the numbering plan cannot tell fixed from mobile, the number passes.
 */
const SMS_CAPABLE: ReadonlySet<NumberType> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

function phoneNormaliser(metadata: PhoneMetadata): (input: string) => Target {
  const omitted = metadata.omitted_calling_codes && callingCodesOnly(metadata.omitted_calling_codes);
  return (input) => {
    if (!input.startsWith('+')) {
      throw new InvalidTargetError(
        'The target is neither an e-mail address nor a phone number in international form (+ and country code).',
      );
    }
    try {
      const phone = parsePhoneNumberWithError(input, metadata);
      const type = phone.getType();
      // Numbers of no country (+881 and +870 satellite phones, the +88x international networks) are
      // among the dearest SMS destinations, and no country allow-list or per-country limit can apply
      // to them: refused like premium numbers.
      if (phone.isValid() && phone.country !== undefined && type !== undefined && SMS_CAPABLE.has(type)) {
        return { address: phone.number, channel: 'sms', country: phone.country };
      }
    } catch (error) {
      // A calling code this build left out: none of its countries is allowed.
      if (omitted && error instanceof ParseError && error.message === 'INVALID_COUNTRY') {
        return omittedCallingCodeTarget(input, omitted);
      }
      // Unparseable: answered below like any other invalid number.
    }
    throw new InvalidTargetError('The target is not a valid mobile phone number.');
  };
}

/**
 * Metadata that knows the omitted calling codes, each as its main country, and nothing of their
 * numbering plans. Parsing with it is libphonenumber's own reading of an international number (the
 * punctuation, an extension, a tel: URI, non-ASCII digits and the length limits, the calling code
 * read as libphonenumber reads it), without the checks that need the plan.
 */
function callingCodesOnly(omitted: Record<string, CountryCode>): MetadataJson {
  const codes = Object.entries(omitted);
  return {
    version: 4,
    country_calling_codes: Object.fromEntries(codes.map(([code, country]) => [code, [country]])),
    countries: Object.fromEntries(codes.map(([code, country]) => [country, [code]])),
    nonGeographic: {},
  };
}

/**
 * A number of a calling code whose metadata this build left out: its E.164 form, and the main
 * country of its calling code. lib/phone-metadata.ts keeps every calling code of an allowed country,
 * so that country is never allowed: send refuses the number as a country not allowed
 * (send-code.ts, assertAllowed), as it does a valid mobile number of that country with the whole
 * metadata, and verify finds no code for it. The one difference: without its numbering plan the
 * number is not checked for validity or type. So an invalid or fixed-line number of such a country
 * is refused as a country not allowed (403 at send; 401 at verify, which finds no code) rather than
 * as no valid mobile number (400); a national prefix typed after the calling code (+44 (0)7…) is
 * not taken out; and the country is the calling code's main one (+44 is GB, never JE or GG). No
 * SMS goes to it either way. Numbers of no country (+800, +881…) are no omitted calling code: they
 * are refused as before.
 */
function omittedCallingCodeTarget(input: string, omitted: MetadataJson): Target {
  try {
    const phone = parsePhoneNumberWithError(input, omitted);
    if (phone.country !== undefined) {
      return { address: phone.number, channel: 'sms', country: phone.country, unchecked: true };
    }
  } catch {
    // Too short, too long or not a number: invalid with any metadata.
  }
  throw new InvalidTargetError('The target is not a valid mobile phone number.');
}

/**
 * The countries whose numbers this build can check: undefined where it carries the whole metadata
 * (unbundled, or a deployment that allows every country), else those of its metadata
 * (lib/phone-metadata.ts). The send function refuses to start when its allow-list names another
 * (functions/wiring.ts): the build and the environment no longer agree.
 */
export function checkedCountries(metadata: PhoneMetadata = mobileMetadata): readonly string[] | undefined {
  return metadata.omitted_calling_codes ? Object.keys(metadata.countries) : undefined;
}

/**
 * The mailbox an address delivers to, which is what send limits, the send lock and the count of wrong
 * codes are kept for (never what is stored, sent to or returned: that stays the address as typed,
 * lower-cased). `ada+1@x.com` and `ada+2@x.com` are tags of `ada@x.com` (sub-addressing, RFC 5233),
 * so cycling tags must not multiply the limits of one inbox. Only the part from the first `+` is
 * dropped, and only when something precedes it (`+ada@x.com` has no base to fall back to: it is its
 * own mailbox, and `+ada+1@x.com` one of its tags). Nothing provider-specific is undone (Gmail's ignored dots, `-` tags of some hosts,
 * googlemail.com = gmail.com): `+` sub-addressing is the only form near-universal across providers;
 * the others are per-domain rules that would wrongly merge distinct mailboxes elsewhere and need
 * upkeep. Quoted local parts are left whole. Phone numbers are their own mailbox.
 */
export function mailboxOf(target: Pick<Target, 'address' | 'channel'>): string {
  const { address, channel } = target;
  if (channel !== 'email') return address;
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  if (local.startsWith('"')) return address;
  // A leading run of + is part of the name, not a tag; the tag starts at the first + after it, so
  // `+ada+2@x.com` still counts on `+ada@x.com` and cannot escape its limits.
  const start = local.length - local.replace(/^\++/, '').length;
  const plus = local.indexOf('+', start);
  return plus > start ? `${local.slice(0, plus)}${address.slice(at)}` : address;
}

/** A form safe for logs: enough to correlate by eye, never the whole address. */
export function maskTarget(address: string): string {
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address[0]}***${address.slice(at)}`;
  // Short numbers would be nearly whole with a prefix shown, so they keep only their last two digits.
  return address.length >= 11 ? `${address.slice(0, 4)}***${address.slice(-2)}` : `***${address.slice(-2)}`;
}
