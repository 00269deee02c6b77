import { describe, expect, it } from 'vitest';
import { sendBody, verifyBody } from '../../functions/http/schemas.js';

const nameOf = (name: string) => verifyBody.safeParse({ target: '+14155550123', code: '123456', name });

describe('verify: name', () => {
  it.each([
    ['a zero-width space', 'Ada\u200BLovelace'],
    ['a line separator', 'Ada\u2028Lovelace'],
    ['a paragraph separator', 'Ada\u2029Lovelace'],
    ['a soft hyphen', 'Ada\u00AD'],
    ['a byte order mark', 'Ada\uFEFFLovelace'],
    ['a tag character (hidden ASCII)', 'Ada\u{E0041}\u{E0042}'],
    ['a private-use character', 'Ada\uE000'],
    ['a non-character', 'Ada\uFFFF'],
    ['a Hangul filler alone', '\u3164'],
    ['a blank braille pattern alone', '\u2800'],
    ['no letter or digit at all', '🙂🙂'],
    ['combining marks stacked on one letter', `a${'\u0301'.repeat(6)}`],
    ['a left-to-right mark', 'Ada\u200E'],
    ['NUL', 'Ada\u0000'],
  ])('refuses a name with %s', (_, name) => {
    const parsed = nameOf(name);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['name']);
  });

  it.each([
    ['Ada Lovelace'],
    ['O\u2019Brien'],
    ['José Álvarez-Núñez'],
    ['निर्मला'],
    ['محمد'],
    ['李小龙'],
    ['👨\u200D👩\u200D👧 Family'],
    ['R2-D2'],
  ])('accepts %s', (name) => {
    expect(nameOf(name)).toMatchObject({ success: true, data: { name } });
  });

  it('trims a name and stores it in NFC, so that one name has one form', () => {
    expect(nameOf('  Jose\u0301  ').data?.name).toBe('José');
  });

  it('counts at most 255 characters', () => {
    expect(nameOf('n'.repeat(255)).success).toBe(true);
    expect(nameOf('n'.repeat(256)).success).toBe(false);
  });
});

describe('send: locale', () => {
  const localeOf = (locale: string) => sendBody.safeParse({ target: '+14155550123', locale });

  it.each(['en', 'pt-BR', 'zh-Hant-TW', 'es-419'])('accepts the BCP 47 tag %s', (locale) => {
    expect(localeOf(locale).success).toBe(true);
  });

  it.each(['en_US', 'en US', '', 'toolonglanguage'])('refuses %j', (locale) => {
    expect(localeOf(locale).success).toBe(false);
  });
});

describe('verify body messages name what is allowed', () => {
  it.each([
    [
      { target: '+14155550123', code: '123456', platform: 'blackberry' },
      'platform',
      'Must be one of ios, android, web, other.',
    ],
    [{ otpToken: '', code: '123456' }, 'otpToken', 'Must be the otpToken the send returned.'],
    [{ otpToken: 5, code: '123456' }, 'otpToken', 'Must be the otpToken the send returned.'],
    [{ target: '+14155550123', code: 5 }, 'code', 'Must be the digits of the code.'],
  ])('%j: %s', (body, path, message) => {
    expect(verifyBody.safeParse(body).error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      [path, message],
    ]);
  });
});
