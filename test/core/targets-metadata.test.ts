/**
 * targets.ts with the phone metadata of a deployment's allowed countries only, as a Lambda bundle
 * carries it (lib/phone-metadata.ts), against the whole metadata that runs everywhere else: the same
 * answer for every number of a calling code the build keeps, and for every other number an SMS
 * target of its calling code's main country, which no allow-list of that deployment contains.
 */
import { readFileSync } from 'node:fs';
import { type CountryCode, getCountryCallingCode } from 'libphonenumber-js/core';
import examples from 'libphonenumber-js/examples.mobile.json';
import full from 'libphonenumber-js/metadata.mobile.json';
import { describe, expect, it } from 'vitest';
import {
  normaliseTarget,
  type PhoneMetadata,
  type Target,
  type TargetNormaliser,
  targetNormaliser,
} from '../../functions/core/targets.js';
import { phoneMetadataAlias } from '../../lib/phone-metadata.js';

/** The metadata file the build of `countries` is given, read back as the function reads it. */
function built(countries: readonly string[]): PhoneMetadata {
  const [file] = Object.values(phoneMetadataAlias(countries));
  if (file === undefined) throw new Error('no metadata file');
  return JSON.parse(readFileSync(file, 'utf8')) as PhoneMetadata;
}

type Answer = Target | { error: string; message: string };

function answer(normalise: TargetNormaliser, raw: string): Answer {
  try {
    return normalise(raw);
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

/** The calling code an E.164 number starts with, read from the whole metadata (codes are prefix-free). */
function callingCodeOf(e164: string): string | undefined {
  return [2, 3, 4].map((end) => e164.slice(1, end)).find((code) => code in full.country_calling_codes);
}

/** The main country of a calling code: the first of its list in the whole metadata. */
const mainCountry = (code: string): string | undefined => full.country_calling_codes[code]?.[0];

const INVALID = { error: 'InvalidTargetError', message: 'The target is not a valid mobile phone number.' };

/**
 * Numbers of every country: libphonenumber's example mobile number of each, and the same number
 * two digits short (mostly invalid), so that each calling code has numbers the whole metadata takes
 * and numbers it refuses.
 */
const GENERATED: string[] = Object.entries(examples).flatMap(([country, national]) => {
  const e164 = `+${getCountryCallingCode(country as CountryCode, full)}${national}`;
  return [e164, e164.slice(0, -2)];
});

/** Fixed-line numbers, which the whole metadata refuses (SMS_CAPABLE), and the NANP's neighbours. */
const FIXED_AND_NEIGHBOURS = [
  '+442071838750', // GB fixed line
  '+4930123456', // DE fixed line
  '+33123456789', // FR fixed line
  '+912223456789', // IN fixed line
  '+551123456789', // BR fixed line
  '+74951234567', // RU fixed line
  '+77172123456', // KZ fixed line: +7, whose main country is RU
  '+390669812345', // VA fixed line: +39, whose main country is IT
  '+262269612345', // YT fixed line: +262, whose main country is RE
  '+18769251234', // JM fixed line: +1
  '+16135550123', // CA
  '+12684641234', // AG
  '+447797712345', // JE mobile: +44, whose main country is GB
  '+4412', // too short to be valid
  '+14155', // too short to be valid
  '+491511234', // DE, too short
];

/**
 * Input the whole metadata cleans before it reads the number, with the E.164 form a build without
 * the number's calling code must give: the same as the whole metadata's, but for the national
 * prefix after the calling code, which only the numbering plan knows.
 */
const SPELLINGS: [raw: string, e164: string][] = [
  [' +44 7400 123456 ', '+447400123456'],
  ['+44-7400-123456', '+447400123456'],
  ['+44.7400.123456', '+447400123456'],
  ['+44 (7400) 123456', '+447400123456'],
  ['+44 7400 123456 ext. 12', '+447400123456'],
  ['+44 7400 123456 x 12', '+447400123456'],
  ['+44 7400 123456;ext=12', '+447400123456'],
  ['+٤٤٧٤٠٠١٢٣٤٥٦', '+447400123456'],
  ['+４４７４００１２３４５６', '+447400123456'],
  ['+49 151 12345678', '+4915112345678'],
  ['+44 (0) 7400 123456', '+4407400123456'],
];

/** Answered alike with any metadata: no calling code to keep or leave out, or no number at all. */
const ALIKE = [
  '+881631234567', // satellite, of no country
  '+882345678901', // international network
  '+883140000000', // VoIP, international
  '+80012345678', // international toll-free
  '+870773111632', // Inmarsat
  '+979123456789', // international premium rate
  '+999123456', // no such calling code
  '+0123456789',
  '+44',
  '+441',
  '+44123456789012345678', // too long
  '+44 77OO 123456', // letters
  '4155550123', // no +
  'hello',
  '',
  'Ada@Example.com',
  'jane@',
];

const NUMBERS = [...GENERATED, ...FIXED_AND_NEIGHBOURS, ...SPELLINGS.map(([raw]) => raw)];

describe.each([[['US']], [['US', 'GB']], [[]]] as const)('targets with the metadata built for %j', (countries) => {
  const metadata = built(countries);
  const normalise = targetNormaliser(metadata);
  const kept = new Set(Object.keys(metadata.country_calling_codes));
  const cleaned = new Map(SPELLINGS);
  const e164 = (raw: string) => cleaned.get(raw) ?? `+${raw.replace(/\D/g, '')}`;
  const keptNumbers = NUMBERS.filter((raw) => kept.has(callingCodeOf(e164(raw)) ?? ''));
  const omittedNumbers = NUMBERS.filter((raw) => !kept.has(callingCodeOf(e164(raw)) ?? ''));

  it('gives the same answer as the whole metadata to every number of a calling code it keeps', () => {
    expect(countries.length === 0 ? keptNumbers.length === 0 : keptNumbers.length > 20).toBe(true);
    for (const raw of keptNumbers) expect([raw, answer(normalise, raw)]).toEqual([raw, answer(normaliseTarget, raw)]);
  });

  it('makes every other number an SMS target of its calling code main country, which is not allowed', () => {
    expect(omittedNumbers.length).toBeGreaterThan(400);
    for (const raw of omittedNumbers) {
      const address = e164(raw);
      const country = mainCountry(callingCodeOf(address) ?? '');
      expect([raw, answer(normalise, raw)]).toEqual([raw, { address, channel: 'sms', country, unchecked: true }]);
      expect(countries).not.toContain(country);
    }
  });

  it('gives the address the whole metadata gives to every number it takes, but for a national prefix', () => {
    for (const raw of omittedNumbers.filter((raw) => !raw.includes('(0)'))) {
      const whole = answer(normaliseTarget, raw);
      if ('address' in whole) expect([raw, (answer(normalise, raw) as Target).address]).toEqual([raw, whole.address]);
    }
  });

  it.each(ALIKE)('answers %j as the whole metadata does', (raw) => {
    expect(answer(normalise, raw)).toEqual(answer(normaliseTarget, raw));
  });

  it('refuses numbers of no country as invalid, as the whole metadata does', () => {
    expect(answer(normalise, '+881631234567')).toEqual(INVALID);
    expect(answer(normalise, '+80012345678')).toEqual(INVALID);
  });

  it('still refuses a phone number that is not asked for as one', () => {
    expect(() => normalise('+447400123456', 'email')).toThrow('does not fit the target');
  });
});

describe('targets with the metadata built for US only', () => {
  const normalise = targetNormaliser(built(['US']));

  it('tells the NANP neighbours apart as with the whole metadata, so the allow-list refuses them', () => {
    expect(normalise('+16135550123')).toEqual({ address: '+16135550123', channel: 'sms', country: 'CA' });
    expect(normalise('+12684641234')).toEqual({ address: '+12684641234', channel: 'sms', country: 'AG' });
    expect(() => normalise('+18769251234')).toThrow(INVALID.message);
  });

  it('does not check the validity or type of a number of a calling code it left out', () => {
    // Refused by the whole metadata as a fixed-line number, and as too short.
    expect(() => normaliseTarget('+442071838750')).toThrow(INVALID.message);
    expect(normalise('+442071838750')).toEqual({
      address: '+442071838750',
      channel: 'sms',
      country: 'GB',
      unchecked: true,
    });
    expect(normalise('+4412')).toEqual({ address: '+4412', channel: 'sms', country: 'GB', unchecked: true });
  });

  it("gives a shared calling code's main country: JE's numbers are GB's", () => {
    expect(normaliseTarget('+447797712345').country).toBe('JE');
    expect(normalise('+447797712345')).toEqual({
      address: '+447797712345',
      channel: 'sms',
      country: 'GB',
      unchecked: true,
    });
  });
});
