import type { Purpose } from './purposes.js';
import { fitsOneSegment, foldToGsm, isGsmText } from './sms-segments.js';

/**
 * The SMS and e-mail that carry a code, in the customer's language. `locale` (BCP 47, from the send
 * request) picks the wording; a language the service does not speak falls back as RFC 4647 lookup
 * does (pt-BR, then pt, then en; es-MX, then es, then en).
 */
export const MESSAGE_LOCALES = ['en', 'es', 'pt-BR', 'pt', 'fr', 'de'] as const;
export type MessageLocale = (typeof MESSAGE_LOCALES)[number];
export const DEFAULT_MESSAGE_LOCALE: MessageLocale = 'en';

export interface CodeMessage {
  appName: string;
  code: string;
  purpose: Purpose;
  expiresInSeconds: number;
  /** BCP 47, as the send request carried it; undefined: English. */
  locale?: string;
  /** The calling client's WebOTP origin (client policy): the SMS ends with `@domain #code`. */
  webOtpDomain?: string;
  /** The calling client's SMS Retriever app hash (client policy): the SMS carries it on a line of its own. */
  androidAppHash?: string;
}

interface Wording {
  /** What the code is for, as the sentences below put it. */
  action: Record<Purpose, string>;
  minutes: (count: number) => string;
  /** The SMS's sentence, without the lines for automatic fill-in; without `app` when it had to go to fit one segment. */
  sms: (code: string, action: string, expiry: string, app?: string) => string;
  /** The SMS's warning, after the sentence: the first thing to go when the SMS would not fit one segment. */
  warning: string;
  subject: (app: string, action: string) => string;
  /** The e-mail's first sentence, which the code completes. */
  intro: (app: string, action: string) => string;
  /** The e-mail's closing: the expiry and the warning. */
  closing: (expiry: string) => string;
}

const plural = (one: string, many: string) => (count: number) => (count === 1 ? `1 ${one}` : `${count} ${many}`);

const WORDING: Record<MessageLocale, Wording> = {
  en: {
    action: {
      login: 'sign-in',
      register: 'registration',
      'reset-password': 'password reset',
      'verify-phone': 'phone verification',
      'verify-email': 'e-mail verification',
      'update-phone': 'phone number change',
      'update-email': 'e-mail address change',
      'step-up': 'confirmation',
    },
    minutes: plural('minute', 'minutes'),
    sms: (code, action, expiry, app) =>
      `${code} is your ${app ? `${app} ` : ''}${action} code. It expires in ${expiry}.`,
    warning: 'Never share it.',
    subject: (app, action) => `Your ${app} ${action} code`,
    intro: (app, action) => `Your ${app} ${action} code is`,
    closing: (expiry) =>
      `It expires in ${expiry}. If you did not ask for it, ignore this e-mail; never share the code with anyone.`,
  },
  es: {
    action: {
      login: 'inicio de sesión',
      register: 'registro',
      'reset-password': 'restablecimiento de contraseña',
      'verify-phone': 'verificación de teléfono',
      'verify-email': 'verificación de correo',
      'update-phone': 'cambio de número de teléfono',
      'update-email': 'cambio de correo electrónico',
      'step-up': 'confirmación',
    },
    minutes: plural('minuto', 'minutos'),
    sms: (code, action, expiry, app) =>
      `${code} es tu código de ${action}${app ? ` de ${app}` : ''}. Caduca en ${expiry}.`,
    warning: 'No lo compartas con nadie.',
    subject: (app, action) => `Tu código de ${action} de ${app}`,
    intro: (app, action) => `Tu código de ${action} de ${app} es`,
    closing: (expiry) =>
      `Caduca en ${expiry}. Si no lo has pedido, ignora este correo; nunca compartas el código con nadie.`,
  },
  'pt-BR': {
    action: {
      login: 'acesso',
      register: 'cadastro',
      'reset-password': 'redefinição de senha',
      'verify-phone': 'verificação de telefone',
      'verify-email': 'verificação de e-mail',
      'update-phone': 'alteração de telefone',
      'update-email': 'alteração de e-mail',
      'step-up': 'confirmação',
    },
    minutes: plural('minuto', 'minutos'),
    sms: (code, action, expiry, app) =>
      `${code} é o seu código de ${action}${app ? ` para ${app}` : ''}. Expira em ${expiry}.`,
    warning: 'Não compartilhe com ninguém.',
    subject: (app, action) => `Seu código de ${action} para ${app}`,
    intro: (app, action) => `Seu código de ${action} para ${app} é`,
    closing: (expiry) =>
      `Ele expira em ${expiry}. Se você não pediu este código, ignore este e-mail; nunca compartilhe o código com ninguém.`,
  },
  pt: {
    action: {
      login: 'início de sessão',
      register: 'registo',
      'reset-password': 'reposição da palavra-passe',
      'verify-phone': 'verificação do telemóvel',
      'verify-email': 'verificação do e-mail',
      'update-phone': 'alteração do telemóvel',
      'update-email': 'alteração do e-mail',
      'step-up': 'confirmação',
    },
    minutes: plural('minuto', 'minutos'),
    sms: (code, action, expiry, app) =>
      `${code} é o seu código de ${action}${app ? ` para ${app}` : ''}. Expira dentro de ${expiry}.`,
    warning: 'Não o partilhe com ninguém.',
    subject: (app, action) => `O seu código de ${action} para ${app}`,
    intro: (app, action) => `O seu código de ${action} para ${app} é`,
    closing: (expiry) =>
      `Expira dentro de ${expiry}. Se não o pediu, ignore este e-mail; nunca partilhe o código com ninguém.`,
  },
  fr: {
    // With the preposition, which elides before a vowel (d'inscription).
    action: {
      login: 'de connexion',
      register: "d'inscription",
      'reset-password': 'de réinitialisation du mot de passe',
      'verify-phone': 'de vérification du téléphone',
      'verify-email': "de vérification de l'e-mail",
      'update-phone': 'de changement de numéro',
      'update-email': "de changement d'adresse e-mail",
      'step-up': 'de confirmation',
    },
    minutes: plural('minute', 'minutes'),
    sms: (code, action, expiry, app) =>
      `${code} est votre code ${action}${app ? ` pour ${app}` : ''}. Il expire dans ${expiry}.`,
    warning: 'Ne le partagez jamais.',
    subject: (app, action) => `Votre code ${action} pour ${app}`,
    intro: (app, action) => `Votre code ${action} pour ${app} est`,
    closing: (expiry) =>
      `Il expire dans ${expiry}. Si vous ne l'avez pas demandé, ignorez cet e-mail ; ne partagez jamais ce code.`,
  },
  de: {
    action: {
      login: 'zur Anmeldung',
      register: 'zur Registrierung',
      'reset-password': 'zum Zurücksetzen des Passworts',
      'verify-phone': 'zur Bestätigung Ihrer Telefonnummer',
      'verify-email': 'zur Bestätigung Ihrer E-Mail-Adresse',
      'update-phone': 'zur Änderung Ihrer Telefonnummer',
      'update-email': 'zur Änderung Ihrer E-Mail-Adresse',
      'step-up': 'zur Bestätigung',
    },
    minutes: plural('Minute', 'Minuten'),
    sms: (code, action, expiry, app) => `${code} ist Ihr Code ${action}${app ? ` bei ${app}` : ''}. Er gilt ${expiry}.`,
    warning: 'Geben Sie ihn nie weiter.',
    subject: (app, action) => `Ihr Code ${action} bei ${app}`,
    intro: (app, action) => `Ihr Code ${action} bei ${app} lautet`,
    closing: (expiry) =>
      `Er gilt ${expiry}. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese E-Mail; geben Sie den Code nie weiter.`,
  },
};

const BY_LOWER_CASE = new Map<string, MessageLocale>(MESSAGE_LOCALES.map((locale) => [locale.toLowerCase(), locale]));

/**
 * The wording for a BCP 47 tag: the tag itself, then the tag with its last subtag removed, and so on
 * (a single-letter subtag, which introduces an extension, goes with the subtag after it); English
 * when none matches or the tag is not well formed.
 */
export function messageLocale(locale: string | undefined): MessageLocale {
  if (!locale) return DEFAULT_MESSAGE_LOCALE;
  let subtags: string[];
  try {
    subtags = (Intl.getCanonicalLocales(locale)[0] ?? locale).toLowerCase().split('-');
  } catch {
    return DEFAULT_MESSAGE_LOCALE;
  }
  while (subtags.length > 0) {
    const found = BY_LOWER_CASE.get(subtags.join('-'));
    if (found) return found;
    subtags.pop();
    if (subtags.length > 1 && subtags[subtags.length - 1]?.length === 1) subtags.pop();
  }
  return DEFAULT_MESSAGE_LOCALE;
}

function minutes(seconds: number): number {
  return Math.max(1, Math.round(seconds / 60));
}

/** No text longer than this fits one segment, in any encoding. */
const SMS_MAX_LENGTH = 160;

/** An app name is cut no shorter than this; below it, the SMS names no app rather than a stub of one. */
export const MIN_SMS_APP_NAME = 8;

/**
 * The SMS: the sentence and the warning in the customer's language, then the SMS Retriever hash and
 * the WebOTP line where the client set them (the WebOTP line last, which the WebOTP format requires;
 * the SMS Retriever only needs the hash somewhere in the message).
 *
 * One segment (sms-segments.ts) whenever it can be: the first of these that fits is sent, each as
 * written and then folded to GSM-7 (the accents GSM-7 lacks dropped, which turns a message of 70
 * UCS-2 characters into one of 160 GSM-7 characters): the full app name; the app name cut at the
 * end, one character at a time, down to MIN_SMS_APP_NAME characters; the same without the warning;
 * no app name, with and then without the warning. The fill-in lines are never cut: a phone fills in
 * only what matches them exactly. Only a WebOTP domain longer than README.md promises can leave a
 * message of two segments.
 */
export function smsText(message: CodeMessage): string {
  let last = '';
  for (const text of smsCandidates(message)) {
    if (fitsOneSegment(text)) return text;
    last = text;
  }
  return last;
}

function* smsCandidates(message: CodeMessage): Generator<string> {
  const wording = WORDING[messageLocale(message.locale)];
  const action = wording.action[message.purpose];
  const expiry = wording.minutes(minutes(message.expiresInSeconds));
  const fillIn = [
    ...(message.androidAppHash ? [message.androidAppHash] : []),
    ...(message.webOtpDomain ? [`@${message.webOtpDomain} #${message.code}`] : []),
  ];
  const compose = (app: string | undefined, warn: boolean) => {
    const sentence = wording.sms(message.code, action, expiry, app);
    const text = [warn ? `${sentence} ${wording.warning}` : sentence, ...fillIn].join('\n');
    // Folding never shortens a text, nor changes one that GSM-7 carries already.
    return text.length > SMS_MAX_LENGTH || isGsmText(text) ? [text] : [text, foldToGsm(text)];
  };
  const name = [...message.appName.trim()];
  for (const warn of [true, false]) {
    for (let length = name.length; length >= Math.min(name.length, MIN_SMS_APP_NAME) && length > 0; length -= 1) {
      yield* compose(name.slice(0, length).join('').trimEnd(), warn);
    }
  }
  yield* compose(undefined, true);
  yield* compose(undefined, false);
}

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
  /** The language the content is in (the `lang` of the HTML). */
  locale: MessageLocale;
}

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The e-mail: a subject, a text part and an HTML part, in the customer's language. */
export function emailContent(message: CodeMessage): EmailContent {
  const locale = messageLocale(message.locale);
  const wording = WORDING[locale];
  const action = wording.action[message.purpose];
  const expiry = wording.minutes(minutes(message.expiresInSeconds));
  const app = message.appName;
  const subject = wording.subject(app, action);
  const intro = wording.intro(app, action);
  const closing = wording.closing(expiry);
  // The app name is the deployment's or a client's: text, never markup.
  const html =
    `<!doctype html><html lang="${locale}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head>` +
    `<body style="font-family:sans-serif"><p>${escapeHtml(intro)}</p>` +
    `<p style="font-size:28px;font-weight:bold;letter-spacing:4px">${escapeHtml(message.code)}</p>` +
    `<p>${escapeHtml(closing)}</p></body></html>`;
  return { subject, text: `${intro} ${message.code}.\n\n${closing}\n`, html, locale };
}
