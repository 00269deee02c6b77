import { describe, expect, it } from 'vitest';
import { fitsOneSegment, foldToGsm, isGsmText, smsSegments } from '../../functions/core/sms-segments.js';

describe('smsSegments: GSM-7', () => {
  it('counts one septet per character of the default alphabet, 160 in one segment', () => {
    expect(smsSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
  });

  it('knows the accented letters GSM-7 has', () => {
    expect(isGsmText('@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r')).toBe(true);
  });

  it('counts a character of the extension table as two septets', () => {
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSegments(`${'a'.repeat(159)}€`)).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsSegments('^{}\\[~]|€\f').units).toBe(20);
  });

  it('splits into segments of 153 septets, never between an escape and its character', () => {
    expect(smsSegments('a'.repeat(306)).segments).toBe(2);
    // 152 + 2 does not fit in 153: the euro starts the second segment, and the rest needs a third.
    expect(smsSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toEqual({
      encoding: 'GSM-7',
      units: 306,
      segments: 3,
    });
  });
});

describe('smsSegments: UCS-2', () => {
  it.each(['ç', 'ã', 'ê', 'ó', '`', '東', '’'])('needs UCS-2 for %j, 70 characters in one segment', (char) => {
    expect(smsSegments(char.repeat(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments(char.repeat(71))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
  });

  it('makes the whole message UCS-2 for one such character', () => {
    expect(smsSegments(`${'a'.repeat(69)}ç`)).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments(`${'a'.repeat(70)}ç`).segments).toBe(2);
  });

  it('counts a character outside the BMP as two units, never split', () => {
    expect(smsSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments(`${'a'.repeat(66)}😀${'a'.repeat(66)}`)).toEqual({
      encoding: 'UCS-2',
      units: 134,
      segments: 3,
    });
  });

  it('counts the empty text as no segment', () => {
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 0 });
  });
});

describe('foldToGsm', () => {
  it('drops the accents GSM-7 lacks and keeps those it has', () => {
    expect(foldToGsm('Não compartilhe o código de verificação com ninguém')).toBe(
      'Nao compartilhe o codigo de verificacao com ninguém',
    );
    expect(foldToGsm('restablecimiento de contraseña, sesión')).toBe('restablecimiento de contraseña, sesion');
    expect(foldToGsm('Zurücksetzen, Änderung, réinitialisation')).toBe('Zurücksetzen, Änderung, réinitialisation');
  });

  it('replaces typographic punctuation with its GSM-7 look-alike', () => {
    expect(foldToGsm('l’e-mail « œuvre » – …')).toBe('l\'e-mail " oeuvre " - ...');
  });

  it('keeps what has no GSM-7 form, so the text stays UCS-2', () => {
    expect(foldToGsm('東京 ação 😀')).toBe('東京 acao 😀');
    expect(isGsmText(foldToGsm('東京'))).toBe(false);
  });
});

describe('fitsOneSegment', () => {
  it.each([
    'a'.repeat(160),
    'a'.repeat(161),
    '€'.repeat(80),
    '€'.repeat(81),
    'ç'.repeat(70),
    'ç'.repeat(71),
    `${'a'.repeat(158)}€`,
    `${'a'.repeat(159)}€`,
    '😀'.repeat(35),
    `${'😀'.repeat(35)}a`,
    '',
  ])('agrees with smsSegments for %j', (text) => {
    expect(fitsOneSegment(text)).toBe(smsSegments(text).segments <= 1);
  });
});
