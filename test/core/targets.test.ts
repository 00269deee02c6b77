import { describe, expect, it } from 'vitest';
import { InvalidTargetError } from '../../functions/core/errors.js';
import { mailboxOf, maskTarget, normaliseTarget } from '../../functions/core/targets.js';

describe('normaliseTarget', () => {
  it.each([
    ['+14155550123', '+14155550123', 'US'],
    ['+1 (415) 555-0123', '+14155550123', 'US'],
    ['  +49 151 12345678 ', '+4915112345678', 'DE'],
  ])('normalises the phone number %s to E.164', (raw, address, country) => {
    expect(normaliseTarget(raw)).toEqual({ address, channel: 'sms', country });
  });

  it('trims an e-mail address and lower-cases all of it, so that one mailbox is one target', () => {
    expect(normaliseTarget('  Jane.Doe@Example.COM ')).toEqual({ address: 'jane.doe@example.com', channel: 'email' });
    const spellings = ['Ada@Example.com', 'ada@example.com', ' ADA@EXAMPLE.COM '].map((raw) => normaliseTarget(raw));
    expect(new Set(spellings.map((target) => target.address))).toEqual(new Set(['ada@example.com']));
  });

  it.each([
    ['+979123456789', 'premium rate'],
    ['+883140000000', 'VoIP'],
    ['+80012345678', 'international toll-free'],
    ['+881631234567', 'satellite, typed mobile but of no country'],
    ['+870773111632', 'Inmarsat, typed mobile but of no country'],
  ])('rejects %s (%s): only numbers that can receive SMS pass, allow-list or not', (raw) => {
    expect(() => normaliseTarget(raw)).toThrow(InvalidTargetError);
  });

  it.each([
    ['+447400123456', 'GB'],
    ['+33612345678', 'FR'],
    ['+5511987654321', 'BR'],
  ])('accepts the mobile number %s (%s)', (raw, country) => {
    expect(normaliseTarget(raw)).toMatchObject({ channel: 'sms', country });
  });

  it.each([
    ['', 'empty'],
    ['hello', 'neither'],
    ['4155550123', 'no country code'],
    ['+1415', 'too short'],
    ['+442071838750', 'a fixed-line number cannot receive SMS'],
    ['jane@', 'no domain'],
    ['jane@example', 'no top-level domain'],
    ['@example.com', 'no local part'],
    ['a b@example.com', 'space'],
  ])('rejects %j (%s)', (raw) => {
    expect(() => normaliseTarget(raw)).toThrow(InvalidTargetError);
  });

  it('rejects a channel that does not fit the target', () => {
    expect(() => normaliseTarget('+14155550123', 'email')).toThrow(InvalidTargetError);
    expect(() => normaliseTarget('jane@example.com', 'sms')).toThrow(InvalidTargetError);
    expect(normaliseTarget('jane@example.com', 'email').channel).toBe('email');
  });
});

describe('mailboxOf', () => {
  const mailbox = (raw: string) => mailboxOf(normaliseTarget(raw));

  it.each([
    ['ada+1@x.com', 'ada@x.com'],
    ['Ada+Shop@X.com', 'ada@x.com'],
    ['ada+a+b@x.com', 'ada@x.com'],
    ['ada+@x.com', 'ada@x.com'],
    ['+ada+2@x.com', '+ada@x.com'],
    ['++ada+2@x.com', '++ada@x.com'],
    ['ada@x.com', 'ada@x.com'],
  ])('gives the mailbox of %s: the local part up to the first + (sub-addressing, RFC 5233)', (raw, expected) => {
    expect(mailbox(raw)).toBe(expected);
  });

  it.each(['+ada@x.com', '+@x.com', '++ada@x.com'])('leaves %s whole: a + with nothing before it is no tag', (raw) => {
    expect(mailbox(raw)).toBe(normaliseTarget(raw).address);
  });

  it('undoes nothing provider-specific: dots, - tags and domains stay as they are', () => {
    expect(mailbox('a.d.a+1@gmail.com')).toBe('a.d.a@gmail.com');
    expect(mailbox('ada-1@x.com')).toBe('ada-1@x.com');
    expect(mailbox('ada+1@googlemail.com')).toBe('ada@googlemail.com');
  });

  it('cuts the tag of a one-character name', () => {
    expect(mailbox('a+1@x.com')).toBe('a@x.com');
  });

  it('leaves a quoted local part whole', () => {
    expect(mailboxOf({ address: '"ada+1"@x.com', channel: 'email' })).toBe('"ada+1"@x.com');
  });

  it('leaves phone numbers unchanged', () => {
    expect(mailbox('+1 (415) 555-0123')).toBe('+14155550123');
    expect(mailboxOf({ address: '+14155550123', channel: 'sms' })).toBe('+14155550123');
  });

  it('keeps the address itself as the target: only limits use the mailbox', () => {
    expect(normaliseTarget('Ada+1@X.com').address).toBe('ada+1@x.com');
  });
});

describe('maskTarget', () => {
  it('never returns the whole address', () => {
    expect(maskTarget('+14155550123')).toBe('+141***23');
    expect(maskTarget('jane.doe@example.com')).toBe('j***@example.com');
    // A short number keeps only its last two digits.
    expect(maskTarget('+6834123')).toBe('***23');
    // From 11 characters on, a number shows its first four too.
    expect(maskTarget('+4930123456')).toBe('+493***56');
    expect(maskTarget('+493012345')).toBe('***45');
  });
});
