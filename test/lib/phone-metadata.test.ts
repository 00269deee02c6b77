import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import full from 'libphonenumber-js/metadata.mobile.json';
import { describe, expect, it } from 'vitest';
import { esbuildOptions } from '../../lib/function-defaults.js';
import { filterPhoneMetadata, PHONE_METADATA_IMPORT, phoneMetadataAlias } from '../../lib/phone-metadata.js';

const NANP = full.country_calling_codes['1'] ?? [];
const FULL_CODES = Object.keys(full.country_calling_codes);

function file(alias: Record<string, string>): string {
  const path = alias[PHONE_METADATA_IMPORT];
  if (path === undefined) throw new Error('no alias for the metadata import');
  return path;
}

describe('filterPhoneMetadata', () => {
  it('keeps every country of an allowed country calling code, as it is, and nothing else', () => {
    const metadata = filterPhoneMetadata(['US']);
    expect(Object.keys(metadata.country_calling_codes)).toEqual(['1']);
    expect(Object.keys(metadata.countries)).toEqual(NANP);
    expect(NANP).toEqual(expect.arrayContaining(['US', 'CA', 'JM']));
    for (const country of NANP) expect(metadata.countries[country]).toEqual(full.countries[country]);
    expect(metadata.nonGeographic).toEqual({});
  });

  it('names every calling code it drops with its main country, the first of its list', () => {
    const { omitted_calling_codes: omitted } = filterPhoneMetadata(['US', 'GB']);
    expect(Object.keys(omitted ?? {})).toEqual(FULL_CODES.filter((code) => code !== '1' && code !== '44'));
    expect(omitted).toMatchObject({ '7': 'RU', '39': 'IT', '49': 'DE', '262': 'RE', '599': 'CW' });
    for (const [code, country] of Object.entries(omitted ?? {})) {
      expect(country).toBe(full.country_calling_codes[code]?.[0]);
    }
  });

  it('keeps the countries that share a calling code with each allowed country', () => {
    const metadata = filterPhoneMetadata(['US', 'GB']);
    expect(Object.keys(metadata.country_calling_codes)).toEqual(['1', '44']);
    expect(Object.keys(metadata.countries).sort()).toEqual([...NANP, 'GB', 'GG', 'IM', 'JE'].sort());
  });

  it('keeps no country for [], a deployment that sends no SMS', () => {
    const metadata = filterPhoneMetadata([]);
    expect(metadata.countries).toEqual({});
    expect(metadata.country_calling_codes).toEqual({});
    expect(Object.keys(metadata.omitted_calling_codes ?? {})).toEqual(FULL_CODES);
  });

  it('reads the list as the functions read OTP_SMS_ALLOWED_COUNTRIES: trimmed, any case', () => {
    expect(filterPhoneMetadata([' us', 'Gb '])).toEqual(filterPhoneMetadata(['US', 'GB']));
    expect(() => filterPhoneMetadata(['USA'])).toThrow('"USA" is not an ISO 3166 alpha-2 country code');
    expect(() => filterPhoneMetadata([''])).toThrow('is not an ISO 3166 alpha-2 country code');
  });
});

describe('phoneMetadataAlias', () => {
  it('is {} when every country is allowed: the whole metadata', () => {
    expect(phoneMetadataAlias(undefined)).toEqual({});
    // `*` is how functions/config.ts reads "every country".
    expect(phoneMetadataAlias(['*'])).toEqual({});
  });

  it('maps the metadata import to a file of the filtered metadata under the temporary folder', () => {
    const path = file(phoneMetadataAlias(['US']));
    expect(path.startsWith(tmpdir())).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(filterPhoneMetadata(['US']));
  });

  it('gives the same path and the same bytes every time, whatever the order of the list', () => {
    const first = file(phoneMetadataAlias(['US', 'GB']));
    const bytes = readFileSync(first);
    expect(file(phoneMetadataAlias(['US', 'GB']))).toBe(first);
    expect(readFileSync(first).equals(bytes)).toBe(true);
    expect(file(phoneMetadataAlias(['GB', 'US']))).toBe(first);
    expect(file(phoneMetadataAlias(['US']))).not.toBe(first);
  });

  it('writes the file again when what it holds is not the filtered metadata', () => {
    const path = file(phoneMetadataAlias(['DE']));
    const bytes = readFileSync(path);
    writeFileSync(path, '{"version":4,"country_calling_codes":{},"countries":{}}');
    expect(file(phoneMetadataAlias(['DE']))).toBe(path);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });
});

describe('a Lambda bundle built with the alias', () => {
  const entry = fileURLToPath(new URL('../../functions/handlers/send-otp.ts', import.meta.url));
  const outfile = join(tmpdir(), 'otp-phone-metadata-test', 'send-otp.mjs');

  async function bundle(alias: Record<string, string>): Promise<{ text: string; inputs: Metafile['inputs'] }> {
    const result = await build({ ...esbuildOptions(entry, outfile), alias, write: false, metafile: true });
    const [output] = result.outputFiles;
    if (!output) throw new Error('no output');
    return { text: output.text, inputs: result.metafile.inputs };
  }

  /** The countries whose numbering plan a bundle carries: esbuild prints each as `XX:["code"`. */
  const countriesIn = (text: string) =>
    Object.entries(full.country_calling_codes)
      .flatMap(([code, countries]) => countries.filter((country) => text.includes(`${country}:["${code}"`)))
      .sort();

  it('of send-otp, for US only, is at least 80 KB smaller and carries the NANP countries only', async () => {
    const [whole, us] = [await bundle({}), await bundle(phoneMetadataAlias(['US']))];
    expect(whole.text.length - us.text.length).toBeGreaterThanOrEqual(80 * 1024);
    expect(countriesIn(whole.text)).toEqual(Object.keys(full.countries).sort());
    expect(countriesIn(us.text)).toEqual([...NANP].sort());
    const read = Object.keys(us.inputs).filter((input) => /metadata\.mobile\.json/.test(input));
    expect(read).toHaveLength(1);
    expect(read[0]).toMatch(/otp-service-phone-metadata-[0-9a-f]{16}\/metadata\.mobile\.json$/);
  });
});
