import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CountryCode } from 'libphonenumber-js/core';
import mobileMetadata from 'libphonenumber-js/metadata.mobile.json';
import type { PhoneMetadata } from '../functions/core/targets.js';

/** The import by which functions/core/targets.ts reads its phone metadata, which the alias replaces. */
export const PHONE_METADATA_IMPORT = 'libphonenumber-js/metadata.mobile.json';

/**
 * The mobile metadata of the countries that share a calling code with an allowed country, and of no
 * other: with only US allowed, a Canadian or Jamaican number (+1) is still told apart as CA or JM and
 * refused as a country not allowed, exactly as with the whole metadata. Every other calling code is
 * dropped, each named with its main country (the first of its list) so that functions/core/targets.ts
 * can still tell the country of such a number; the numbers of no country (+800, +881…) are dropped
 * too, and are refused as before. `[]` keeps no country. Same input, same output, key order included.
 */
export function filterPhoneMetadata(countries: readonly string[]): PhoneMetadata {
  const allowed = new Set(allowedCountries(countries));
  const calling: PhoneMetadata['country_calling_codes'] = {};
  const kept: PhoneMetadata['countries'] = {};
  const omitted: Record<string, CountryCode> = {};
  for (const [code, members] of Object.entries(mobileMetadata.country_calling_codes)) {
    if (members.some((country) => allowed.has(country))) {
      calling[code] = members;
      for (const country of members) kept[country] = mobileMetadata.countries[country];
    } else if (members[0] !== undefined) {
      omitted[code] = members[0];
    }
  }
  return {
    version: mobileMetadata.version,
    country_calling_codes: calling,
    countries: kept,
    nonGeographic: {},
    omitted_calling_codes: omitted,
  };
}

/**
 * The esbuild `alias` that makes a Lambda bundle carry the phone metadata of `countries` only
 * (filterPhoneMetadata): 88 KB less (US only) to 80 KB less (six countries of six calling codes)
 * in each function that reads phone numbers (send-otp, verify-otp; the others carry no phone
 * metadata), and the same answer for every number of an allowed country. `undefined` (every
 * country allowed) is `{}`: the whole metadata.
 *
 * Pass exactly the list the functions read as OTP_SMS_ALLOWED_COUNTRIES (lib/function-environment.ts),
 * or `undefined` when that variable is unset or `*`: a number of a country whose metadata is left out
 * is checked for nothing but its calling code (functions/core/targets.ts, omittedCallingCodeTarget),
 * which is safe only because the allow-list refuses it. A client's `smsCountries` only narrows that
 * list (functions/core/client-policy.ts), so it needs nothing more. `[]` is for a deployment that
 * sends no SMS at all (no `sms` in OTP_ALLOWED_CHANNELS), where every number is refused anyway:
 * `props.sms ? props.sms.allowedCountries : []`.
 *
 * Writes the filtered metadata once, named by its content, under the system's temporary folder, so
 * that the same list gives the same path and the same bytes (stable asset hashes). esbuild's API
 * takes the result as is (`{ ...esbuildOptions(entry, outfile), alias }`); a NodejsFunction takes it
 * as arguments, `bundling: { ...BUNDLING, esbuildArgs: { '--alias': Object.entries(alias).map(([from,
 * to]) => from + '=' + to) } }`, which CDK writes as `--alias:from=to`. The path is outside the project, so
 * bundling must run locally (esbuild installed, as here), not in CDK's Docker image.
 */
export function phoneMetadataAlias(countries: readonly string[] | undefined): Record<string, string> {
  // `*` is how functions/config.ts reads "every country".
  if (countries === undefined || (countries.length === 1 && countries[0]?.trim() === '*')) return {};
  const content = JSON.stringify(filterPhoneMetadata(countries));
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
  const folder = join(tmpdir(), `otp-service-phone-metadata-${hash}`);
  const file = join(folder, 'metadata.mobile.json');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  // A shared temporary folder: a folder of this name made by another user could hold other
  // metadata, which decides which numbers a function accepts.
  const owner = statSync(folder).uid;
  if (process.getuid && owner !== process.getuid()) {
    throw new Error(`otp-service: ${folder} belongs to another user; remove it or set TMPDIR.`);
  }
  if (readIfAny(file) !== content) {
    // Written aside and renamed: a build running at the same moment never reads half a file.
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, content);
    renameSync(partial, file);
  }
  return { [PHONE_METADATA_IMPORT]: file };
}

/** The list as functions/config.ts reads OTP_SMS_ALLOWED_COUNTRIES: trimmed, upper-cased, checked. */
function allowedCountries(countries: readonly string[]): string[] {
  return countries.map((country) => {
    const code = country.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(code)) {
      throw new Error(`otp-service: "${country}" is not an ISO 3166 alpha-2 country code.`);
    }
    return code;
  });
}

function readIfAny(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
