/**
 * How an SMS is encoded and into how many segments it is split (3GPP TS 23.038 and TS 23.040). A
 * text made only of the GSM 7-bit default alphabet travels in septets: 160 in one segment, and a
 * character of the extension table costs two (an escape, then the character). Any other character
 * makes the whole message UCS-2 (UTF-16 on today's networks): 70 code units in one segment, and a
 * character outside the Basic Multilingual Plane (an emoji) costs two. A message that needs more is
 * split into segments of 153 septets or 67 units (the rest carries the concatenation header), each
 * billed as one SMS.
 */

/** The GSM 7-bit default alphabet, in table order; 0x1B (the escape to the extension table) is left out. */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ' +
    'ÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
    '¿abcdefghijklmnopqrstuvwxyzäöñüà',
);

/** The extension table: each costs two septets. */
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegments {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text. */
  units: number;
  segments: number;
}

const LIMITS: Record<SmsEncoding, { single: number; multi: number }> = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
};

/** Whether a character (one code point) can be sent in GSM-7. */
export function isGsmCharacter(char: string): boolean {
  return GSM_BASIC.has(char) || GSM_EXTENSION.has(char);
}

export function isGsmText(text: string): boolean {
  for (const char of text) if (!isGsmCharacter(char)) return false;
  return true;
}

/** What one character costs in the encoding: an escape pair or a surrogate pair is never split. */
function cost(char: string, encoding: SmsEncoding): number {
  if (encoding === 'GSM-7') return GSM_EXTENSION.has(char) ? 2 : 1;
  return char.length;
}

export function smsSegments(text: string): SmsSegments {
  const encoding: SmsEncoding = isGsmText(text) ? 'GSM-7' : 'UCS-2';
  const { single, multi } = LIMITS[encoding];
  const costs = Array.from(text, (char) => cost(char, encoding));
  const units = costs.reduce((sum, each) => sum + each, 0);
  if (units <= single) return { encoding, units, segments: text.length === 0 ? 0 : 1 };
  // Filled one by one, as a sender does: a character that does not fit whole starts the next segment.
  let segments = 1;
  let used = 0;
  for (const each of costs) {
    if (used + each > multi) {
      segments += 1;
      used = 0;
    }
    used += each;
  }
  return { encoding, units, segments };
}

/** Fits in one SMS segment: smsSegments(text).segments <= 1, without counting past what can fit. */
export function fitsOneSegment(text: string): boolean {
  // Every GSM-7 character is one UTF-16 unit, and costs at least one septet.
  if (text.length > LIMITS['GSM-7'].single) return false;
  let septets = 0;
  for (const char of text) {
    if (!isGsmCharacter(char)) return text.length <= LIMITS['UCS-2'].single;
    septets += cost(char, 'GSM-7');
  }
  return septets <= LIMITS['GSM-7'].single;
}

/** Punctuation that has a GSM-7 look-alike. */
const GSM_LOOKALIKES: Record<string, string> = {
  '\u00a0': ' ',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u00ab': '"',
  '\u00bb': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2026': '...',
  œ: 'oe',
  Œ: 'OE',
};

/**
 * The text with every character that GSM-7 lacks replaced by its GSM-7 look-alike or by its letter
 * without the accent (ç -> c, ã -> a, ó -> o), as SMS in Portuguese and Spanish are often written; the
 * accents GSM-7 has (é, à, ü, ñ) stay. A character with no such form (a Chinese letter, an emoji) is
 * kept, and the text stays UCS-2.
 */
export function foldToGsm(text: string): string {
  let folded = '';
  for (const char of text) folded += isGsmCharacter(char) ? char : foldCharacter(char);
  return folded;
}

/** Each character folded once per container: an SMS tries many candidates (core/messages.ts). */
const FOLDED = new Map<string, string>();

function foldCharacter(char: string): string {
  let folded = FOLDED.get(char);
  if (folded === undefined) {
    const bare = GSM_LOOKALIKES[char] ?? char.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    folded = bare.length > 0 && isGsmText(bare) ? bare : char;
    if (FOLDED.size < 4096) FOLDED.set(char, folded);
  }
  return folded;
}
