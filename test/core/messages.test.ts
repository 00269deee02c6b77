import { describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH } from '../../functions/core/manage-clients.js';
import {
  type CodeMessage,
  emailContent,
  MESSAGE_LOCALES,
  messageLocale,
  MIN_SMS_APP_NAME,
  smsText,
} from '../../functions/core/messages.js';
import { PURPOSES } from '../../functions/core/purposes.js';
import { MAX_WEB_OTP_DOMAIN_LENGTH, MAX_WEB_OTP_DOMAIN_LENGTH_WITH_APP_HASH } from '../../functions/policy-rules.js';
import { smsSegments } from '../../functions/core/sms-segments.js';

const message: CodeMessage = {
  appName: 'Acme',
  code: '042917',
  purpose: 'login',
  expiresInSeconds: 300,
};

describe('messageLocale: the language of a BCP 47 tag', () => {
  it.each([
    [undefined, 'en'],
    ['en', 'en'],
    ['en-GB', 'en'],
    ['es', 'es'],
    ['es-MX', 'es'],
    ['es-419', 'es'],
    ['pt-BR', 'pt-BR'],
    ['pt-br', 'pt-BR'],
    ['pt-BR-u-ca-gregory', 'pt-BR'],
    ['pt', 'pt'],
    ['pt-PT', 'pt'],
    ['pt-AO', 'pt'],
    ['fr', 'fr'],
    ['fr-CA', 'fr'],
    ['de', 'de'],
    ['de-CH-1996', 'de'],
    ['DE-at', 'de'],
    ['zh-Hant-TW', 'en'],
    ['ja', 'en'],
    ['not a tag', 'en'],
  ])('%j speaks %s', (tag, locale) => {
    expect(messageLocale(tag)).toBe(locale);
  });
});

describe('smsText in each language', () => {
  // As written, es and pt need UCS-2 and more than 70 characters: folded to GSM-7, they fit in 160.
  it.each([
    [undefined, '042917 is your Acme sign-in code. It expires in 5 minutes. Never share it.'],
    ['es-MX', '042917 es tu codigo de inicio de sesion de Acme. Caduca en 5 minutos. No lo compartas con nadie.'],
    ['pt-BR', '042917 é o seu codigo de acesso para Acme. Expira em 5 minutos. Nao compartilhe com ninguém.'],
    [
      'pt-PT',
      '042917 é o seu codigo de inicio de sessao para Acme. Expira dentro de 5 minutos. Nao o partilhe com ninguém.',
    ],
    ['fr', '042917 est votre code de connexion pour Acme. Il expire dans 5 minutes. Ne le partagez jamais.'],
    ['de', '042917 ist Ihr Code zur Anmeldung bei Acme. Er gilt 5 Minuten. Geben Sie ihn nie weiter.'],
  ])('%s', (locale, text) => {
    expect(smsText({ ...message, locale })).toBe(text);
  });

  it('names the purpose and the expiry in minutes', () => {
    expect(smsText({ ...message, purpose: 'reset-password', expiresInSeconds: 60, locale: 'de' })).toBe(
      '042917 ist Ihr Code zum Zurücksetzen des Passworts bei Acme. Er gilt 1 Minute. Geben Sie ihn nie weiter.',
    );
    expect(smsText({ ...message, purpose: 'register', expiresInSeconds: 600, locale: 'fr' })).toBe(
      "042917 est votre code d'inscription pour Acme. Il expire dans 10 minutes. Ne le partagez jamais.",
    );
  });

  it('keeps the accents as written where the text fits one UCS-2 segment anyway', () => {
    // GSM-7 cannot carry this app name: the SMS stays UCS-2, within 70 characters.
    const text = smsText({ ...message, appName: '東京銀行', locale: 'es' });
    expect(text).toBe('042917 es tu código de inicio de sesión de 東京銀行. Caduca en 5 minutos.');
    expect(smsSegments(text)).toEqual({ encoding: 'UCS-2', units: 69, segments: 1 });
  });
});

describe('smsText: lines a phone fills the code in from', () => {
  it('ends with the WebOTP line, @domain #code, on a line of its own', () => {
    const lines = smsText({ ...message, webOtpDomain: 'auth.acme.example' }).split('\n');
    expect(lines).toEqual([
      '042917 is your Acme sign-in code. It expires in 5 minutes. Never share it.',
      '@auth.acme.example #042917',
    ]);
  });

  it('ends with the SMS Retriever hash on a line of its own', () => {
    const lines = smsText({ ...message, androidAppHash: 'FA+9qCX9VSu', locale: 'pt-BR' }).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('FA+9qCX9VSu');
  });

  it('with both, puts the hash before the WebOTP line, which must be last', () => {
    const lines = smsText({ ...message, androidAppHash: 'FA+9qCX9VSu', webOtpDomain: 'acme.example' }).split('\n');
    expect(lines.slice(1)).toEqual(['FA+9qCX9VSu', '@acme.example #042917']);
  });

  it('adds no line for a client that set neither', () => {
    expect(smsText(message)).not.toContain('\n');
  });
});

/** The longest app name OTP_APP_NAME allows (functions/config.ts), in the alphabets that cost most. */
const LONGEST_APP_NAMES = [
  'W'.repeat(40),
  // The extension table: two septets each.
  '€'.repeat(40),
  // Needs UCS-2, but folds to GSM-7.
  'ç'.repeat(40),
  // Needs UCS-2 whatever is done.
  '東'.repeat(40),
  '😀'.repeat(40),
  // A client's name, which names its app in its messages (functions/http/client-context.ts).
  'W'.repeat(MAX_NAME_LENGTH),
];

/** The longest domains a policy may set (policy-rules.ts): 45 characters with an Android hash too, 57 without. */
const domain = (length: number) => `${'a'.repeat(length - 4)}.com`;
const FILL_IN: Array<[string, Partial<CodeMessage>]> = [
  ['no fill-in line', {}],
  ['an Android hash', { androidAppHash: 'FA+9qCX9VSu' }],
  ['the longest WebOTP domain', { webOtpDomain: domain(MAX_WEB_OTP_DOMAIN_LENGTH) }],
  [
    'an Android hash and the longest WebOTP domain with it',
    { androidAppHash: 'FA+9qCX9VSu', webOtpDomain: domain(MAX_WEB_OTP_DOMAIN_LENGTH_WITH_APP_HASH) },
  ],
];

describe('smsText: always one segment', () => {
  it.each(MESSAGE_LOCALES.flatMap((locale) => FILL_IN.map(([what, fillIn]) => [locale, what, fillIn] as const)))(
    '%s with %s: every purpose, the longest app names, 10-digit codes',
    (locale, _what, fillIn) => {
      for (const purpose of PURPOSES) {
        for (const appName of LONGEST_APP_NAMES) {
          for (const expiresInSeconds of [60, 600]) {
            const text = smsText({ appName, code: '0123456789', purpose, expiresInSeconds, locale, ...fillIn });
            expect(smsSegments(text).segments, text).toBe(1);
            expect(text.startsWith('0123456789 '), text).toBe(true);
            if (fillIn.webOtpDomain) expect(text.endsWith(`\n@${fillIn.webOtpDomain} #0123456789`)).toBe(true);
            if (fillIn.androidAppHash) expect(text.split('\n')).toContain(fillIn.androidAppHash);
          }
        }
      }
    },
  );

  it.each([
    ['no Android hash', {}, MAX_WEB_OTP_DOMAIN_LENGTH],
    ['an Android hash', { androidAppHash: 'FA+9qCX9VSu' }, MAX_WEB_OTP_DOMAIN_LENGTH_WITH_APP_HASH],
  ])('with %s, one character more than the longest WebOTP domain can need two segments', (_what, hash, longest) => {
    const segments = MESSAGE_LOCALES.flatMap((locale) =>
      PURPOSES.map(
        (purpose) =>
          smsSegments(
            smsText({
              ...message,
              ...hash,
              locale,
              purpose,
              code: '0123456789',
              expiresInSeconds: 600,
              webOtpDomain: domain(longest + 1),
            }),
          ).segments,
      ),
    );
    expect(Math.max(...segments)).toBe(2);
  });

  it('cuts a long app name at the end, deterministically, to fit', () => {
    const long: CodeMessage = {
      ...message,
      appName: 'Banco Internacional de Desenvolvimento',
      code: '0123456789',
      expiresInSeconds: 600,
    };
    const fillIn = { androidAppHash: 'FA+9qCX9VSu', webOtpDomain: 'login.bancointernacional.com.br' };
    const text = smsText({ ...long, ...fillIn });
    expect(text).toBe(
      '0123456789 is your Banco Internacional de Desen sign-in code. It expires in 10 minutes. Never share it.\n' +
        'FA+9qCX9VSu\n@login.bancointernacional.com.br #0123456789',
    );
    expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsText({ ...long, ...fillIn })).toBe(text);
    // Without the lines, the full name fits.
    expect(smsText(long)).toContain('Banco Internacional de Desenvolvimento sign-in');
  });

  it('never names a stub of the app: the name is cut to no fewer than MIN_SMS_APP_NAME characters, or left out', () => {
    for (const locale of MESSAGE_LOCALES) {
      for (const purpose of PURPOSES) {
        const text = smsText({
          ...message,
          appName: 'W'.repeat(40),
          code: '0123456789',
          purpose,
          locale,
          androidAppHash: 'FA+9qCX9VSu',
          webOtpDomain: domain(45),
        });
        const kept = /W+/.exec(text)?.[0].length ?? 0;
        expect(kept === 0 || kept >= MIN_SMS_APP_NAME, text).toBe(true);
      }
    }
  });

  it('drops the warning before the app name', () => {
    const text = smsText({
      ...message,
      appName: 'W'.repeat(40),
      code: '0123456789',
      purpose: 'update-email',
      locale: 'de',
      androidAppHash: 'FA+9qCX9VSu',
      webOtpDomain: domain(45),
    });
    expect(text).toMatch(
      /^0123456789 ist Ihr Code zur Änderung Ihrer E-Mail-Adresse( bei W{8,})?\. Er gilt 5 Minuten\.\n/,
    );
    expect(smsSegments(text).segments).toBe(1);
  });
});

describe('emailContent', () => {
  it('in English: a subject, a text part and an HTML part', () => {
    const mail = emailContent({ ...message, purpose: 'verify-email', expiresInSeconds: 600 });
    expect(mail.subject).toBe('Your Acme e-mail verification code');
    expect(mail.text).toBe(
      'Your Acme e-mail verification code is 042917.\n\nIt expires in 10 minutes. If you did not ask for it, ignore this e-mail; never share the code with anyone.\n',
    );
    expect(mail.html).toContain('<html lang="en">');
    expect(mail.html).toContain('>042917</p>');
  });

  it.each([
    [
      'es',
      'Tu código de inicio de sesión de Acme',
      'Tu código de inicio de sesión de Acme es 042917.',
      'Caduca en 5 minutos.',
    ],
    ['pt-BR', 'Seu código de acesso para Acme', 'Seu código de acesso para Acme é 042917.', 'Ele expira em 5 minutos.'],
    [
      'pt',
      'O seu código de início de sessão para Acme',
      'O seu código de início de sessão para Acme é 042917.',
      'Expira dentro de 5 minutos.',
    ],
    [
      'fr',
      'Votre code de connexion pour Acme',
      'Votre code de connexion pour Acme est 042917.',
      'Il expire dans 5 minutes.',
    ],
    ['de', 'Ihr Code zur Anmeldung bei Acme', 'Ihr Code zur Anmeldung bei Acme lautet 042917.', 'Er gilt 5 Minuten.'],
  ])('in %s, with its accents', (locale, subject, first, expiry) => {
    const mail = emailContent({ ...message, locale });
    expect(mail.locale).toBe(locale);
    expect(mail.subject).toBe(subject);
    expect(mail.text.startsWith(`${first}\n\n${expiry} `)).toBe(true);
    expect(mail.html).toContain(`<html lang="${locale}">`);
    expect(mail.html).toContain('>042917</p>');
  });

  it('falls back like the SMS: pt-BR for pt-br, pt for pt-PT, English for a language it does not speak', () => {
    expect(emailContent({ ...message, locale: 'pt-br' }).locale).toBe('pt-BR');
    expect(emailContent({ ...message, locale: 'pt-PT' }).locale).toBe('pt');
    expect(emailContent({ ...message, locale: 'ja-JP' }).subject).toBe('Your Acme sign-in code');
  });

  it('escapes the app name in the HTML, and only there', () => {
    const mail = emailContent({ ...message, appName: `Tom & Jerry's <b>"Shop"</b>` });
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).toContain('Tom &#38; Jerry&#39;s &#60;b&#62;&#34;Shop&#34;&#60;/b&#62;');
    expect(mail.subject).toBe(`Your Tom & Jerry's <b>"Shop"</b> sign-in code`);
    expect(mail.text).toContain(`Your Tom & Jerry's <b>"Shop"</b> sign-in code is 042917.`);
  });
});
