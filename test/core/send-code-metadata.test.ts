/**
 * sendCode in a Lambda built for SMS to the US only: targets.ts's metadata import replaced by the
 * metadata of that build (lib/phone-metadata.ts), as esbuild's alias replaces it. A number of a
 * calling code the build left out is refused as a country not allowed, before any store call.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { effectiveConfig } from '../../functions/core/client-policy.js';
import { ChannelNotAllowedError, InvalidTargetError } from '../../functions/core/errors.js';
import type { OtpStore } from '../../functions/core/ports.js';
import { sendCode } from '../../functions/core/send-code.js';
import { normaliseTarget } from '../../functions/core/targets.js';
import { RecordingSender, silentLog, testConfig } from '../kit.js';

// Both run before the imports above. The file is built first, while the filter still reads the
// whole metadata; every import of the metadata after that gets the file.
const { metadataFile } = await vi.hoisted(async () => {
  const { phoneMetadataAlias } = await import('../../lib/phone-metadata.js');
  return { metadataFile: Object.values(phoneMetadataAlias(['US']))[0] ?? '' };
});

vi.mock('libphonenumber-js/metadata.mobile.json', () => ({
  default: JSON.parse(readFileSync(metadataFile, 'utf8')) as unknown,
}));

/** A refusal comes before the store: any call to it fails the test. */
const noStore = new Proxy({} as OtpStore, {
  get: (_, method) => () => Promise.reject(new Error(`${String(method)} called: the send was not refused`)),
});

function send(target: string, countries = 'US') {
  const sender = new RecordingSender();
  const config = effectiveConfig(testConfig({ OTP_SMS_ALLOWED_COUNTRIES: countries }), undefined);
  const deps = { config, store: noStore, senders: sender.asSenders(), now: () => 0, log: silentLog };
  return { sender, sending: sendCode(deps, { target, purpose: 'login' }) };
}

const NOT_ALLOWED = 'Codes are not sent by SMS to phone numbers of this country.';

describe('sendCode with the metadata built for US only', () => {
  it('runs with that metadata: a GB fixed-line number is an SMS target of GB', () => {
    expect(normaliseTarget('+442071838750')).toEqual({
      address: '+442071838750',
      channel: 'sms',
      country: 'GB',
      unchecked: true,
    });
  });

  it.each([
    ['+447400123456', 'GB mobile: refused so with the whole metadata too'],
    ['+442071838750', 'GB fixed line: invalid-target with the whole metadata'],
    ['+4412', 'GB, too short: invalid-target with the whole metadata'],
    ['+4915112345678', 'DE mobile'],
    ['+77011234567', 'KZ mobile, of +7, whose main country is RU'],
    ['+16135550123', 'CA: +1 is kept, and CA is told apart from the US'],
  ])('refuses %s (%s) as a country not allowed, and sends nothing', async (target) => {
    const { sender, sending } = send(target);
    await expect(sending).rejects.toThrow(new ChannelNotAllowedError(NOT_ALLOWED));
    expect(sender.sent).toHaveLength(0);
  });

  it.each(['+881631234567', '+80012345678', '+18769251234'])(
    'refuses %s as no valid mobile number, as with the whole metadata',
    async (target) => {
      const { sender, sending } = send(target);
      await expect(sending).rejects.toBeInstanceOf(InvalidTargetError);
      expect(sender.sent).toHaveLength(0);
    },
  );

  // Found in review: the allow-list is read at run time, the metadata fixed at build. Widened past the
  // build (the function's environment edited), it must not let numbers through unchecked.
  it.each([
    ['+442071838750', 'GB fixed line'],
    ['+449098790000', 'GB premium rate'],
    ['+4470000', 'GB, no valid number at all'],
    ['+447400123456', 'GB mobile'],
  ])('refuses %s (%s) when the allow-list names GB but the build does not, and sends nothing', async (target) => {
    const { sender, sending } = send(target, 'US,GB');
    await expect(sending).rejects.toThrow(new ChannelNotAllowedError(NOT_ALLOWED));
    expect(sender.sent).toHaveLength(0);
  });

  it('still sends to the US with that widened list (the store is reached)', async () => {
    const { sending } = send('+14155550123', 'US,GB');
    await expect(sending).rejects.toThrow(/called: the send was not refused/);
  });
});
