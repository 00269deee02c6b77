import { describe, expect, it } from 'vitest';
import {
  type ClientPolicy,
  effectiveConfig,
  isGuessableCode,
  otpRequired,
  testCodeFor,
} from '../../functions/core/client-policy.js';
import { testConfig } from '../kit.js';

/** What a policy adds where it says nothing: no otpToken requirement, no test identities, no SMS caps of its own. */
const NO_EXTRAS = {
  requireOtpToken: false,
  testTargets: [],
  clientSmsLimitPerHour: 0,
  clientSmsLimitPerCountryPerHour: 0,
};

/** The deployment's settings: defaults, every channel, SMS to the countries named (or every country). */
const deployment = (env: Record<string, string> = {}) => testConfig(env);

describe('effectiveConfig: a client policy over the deployment', () => {
  it('without a policy, is the deployment with no otpToken requirement and no test identities', () => {
    const config = deployment();
    const effective = effectiveConfig(config, undefined);
    expect(effective).toEqual({ ...config, ...NO_EXTRAS });
  });

  it('with an empty policy, is the deployment unchanged', () => {
    const config = deployment({ OTP_SMS_ALLOWED_COUNTRIES: 'US,DE' });
    expect(effectiveConfig(config, {})).toEqual({ ...config, ...NO_EXTRAS });
  });

  it.each([
    ['codeLength', 8],
    ['codeTtlSeconds', 120],
    ['maxAttempts', 7],
    ['sendLimitPerHour', 2],
    ['sendLimitPerDay', 3],
    ['resendCooldownSeconds', 0],
    ['sessionTtlSeconds', 3600],
    ['stepUpTtlSeconds', 60],
    ['refreshTtlSeconds', 7200],
  ] as const)('the policy field %s overrides the deployment value', (field, value) => {
    const config = deployment();
    expect(config[field]).not.toBe(value);
    const effective = effectiveConfig(config, { [field]: value });
    expect(effective[field]).toBe(value);
    // Nothing else moves.
    expect({ ...effective, [field]: config[field] }).toEqual({ ...config, ...NO_EXTRAS });
  });

  it('SMS caps: the client counts its own, and lowers (never lifts) the number block cap', () => {
    const effective = effectiveConfig(deployment(), {
      smsLimitPerHour: 100,
      smsLimitPerCountryPerHour: 20,
      smsLimitPerPrefixPerHour: 3,
    });
    expect(effective).toMatchObject({
      clientSmsLimitPerHour: 100,
      clientSmsLimitPerCountryPerHour: 20,
      smsLimitPerPrefixPerHour: 3,
      smsLimitPerHour: 2000,
      smsLimitPerCountryPerHour: 500,
    });
    expect(effectiveConfig(deployment(), { smsLimitPerPrefixPerHour: 50 }).smsLimitPerPrefixPerHour).toBe(10);
    const uncapped = deployment({ OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '0' });
    expect(effectiveConfig(uncapped, { smsLimitPerPrefixPerHour: 50 }).smsLimitPerPrefixPerHour).toBe(50);
  });

  it('requireOtpToken comes from the policy', () => {
    expect(effectiveConfig(deployment(), { requireOtpToken: true }).requireOtpToken).toBe(true);
    expect(effectiveConfig(deployment(), { requireOtpToken: false }).requireOtpToken).toBe(false);
  });

  it('testTargets come from the policy', () => {
    const testTargets = [{ target: '+14155550199', code: '730291' }];
    expect(effectiveConfig(deployment(), { testTargets }).testTargets).toEqual(testTargets);
  });

  it('channels narrow the deployment channels', () => {
    const effective = effectiveConfig(deployment(), { channels: ['email'] });
    expect(effective.allowedChannels).toEqual(['email']);
  });

  it('channels never open a channel the deployment closed', () => {
    const effective = effectiveConfig(deployment({ OTP_ALLOWED_CHANNELS: 'email' }), { channels: ['sms', 'email'] });
    expect(effective.allowedChannels).toEqual(['email']);
  });

  it('channels with nothing in common with the deployment leave no channel at all', () => {
    const effective = effectiveConfig(deployment({ OTP_ALLOWED_CHANNELS: 'email' }), { channels: ['sms'] });
    expect(effective.allowedChannels).toEqual([]);
  });

  it('smsCountries narrow the deployment countries', () => {
    const effective = effectiveConfig(deployment({ OTP_SMS_ALLOWED_COUNTRIES: 'US,DE,FR' }), {
      smsCountries: ['DE', 'GB'],
    });
    expect(effective.smsAllowedCountries).toEqual(['DE']);
  });

  it('smsCountries are the allow-list where the deployment allows every country', () => {
    const config = deployment();
    expect(config.smsAllowedCountries).toBeUndefined();
    expect(effectiveConfig(config, { smsCountries: ['DE', 'AT'] }).smsAllowedCountries).toEqual(['DE', 'AT']);
  });

  it('smsCountries with nothing in common with the deployment leave no country (not every country)', () => {
    const effective = effectiveConfig(deployment({ OTP_SMS_ALLOWED_COUNTRIES: 'US' }), { smsCountries: ['DE'] });
    expect(effective.smsAllowedCountries).toEqual([]);
  });

  it('without smsCountries, the deployment countries stay as they are', () => {
    const effective = effectiveConfig(deployment({ OTP_SMS_ALLOWED_COUNTRIES: 'US' }), { codeLength: 8 });
    expect(effective.smsAllowedCountries).toEqual(['US']);
  });

  it('leaves the deployment settings object untouched', () => {
    const config = deployment({ OTP_SMS_ALLOWED_COUNTRIES: 'US,DE' });
    const before = structuredClone(config);
    effectiveConfig(config, { channels: ['email'], smsCountries: ['DE'], codeLength: 8 });
    expect(config).toEqual(before);
  });
});

describe('otpRequired: the trust presets and the action lists', () => {
  it('without a policy, an OTP is required for every action (strict)', () => {
    expect(otpRequired(undefined, 'transfer')).toBe(true);
    expect(otpRequired(undefined, 'enroll')).toBe(true);
  });

  it('with a policy that names no trust, strict applies', () => {
    expect(otpRequired({}, 'enroll')).toBe(true);
  });

  it('strict requires an OTP for every action', () => {
    for (const action of ['transfer', 'enroll', 'view-balance'])
      expect(otpRequired({ trust: 'strict' }, action)).toBe(true);
  });

  it('relaxed requires an OTP for every action but enroll by default', () => {
    expect(otpRequired({ trust: 'relaxed' }, 'enroll')).toBe(false);
    expect(otpRequired({ trust: 'relaxed' }, 'transfer')).toBe(true);
  });

  it('relaxed with its own otpOptional replaces the default list', () => {
    const policy: ClientPolicy = { trust: 'relaxed', otpOptional: ['view-balance'] };
    expect(otpRequired(policy, 'view-balance')).toBe(false);
    expect(otpRequired(policy, 'enroll')).toBe(true);
  });

  it('trusted requires an OTP for no action', () => {
    for (const action of ['transfer', 'enroll', 'view-balance'])
      expect(otpRequired({ trust: 'trusted' }, action)).toBe(false);
  });

  it('otpRequiredFor overrides trusted', () => {
    const policy: ClientPolicy = { trust: 'trusted', otpRequiredFor: ['transfer'] };
    expect(otpRequired(policy, 'transfer')).toBe(true);
    expect(otpRequired(policy, 'view-balance')).toBe(false);
  });

  it('otpRequiredFor overrides relaxed for an action of the default optional list', () => {
    expect(otpRequired({ trust: 'relaxed', otpRequiredFor: ['enroll'] }, 'enroll')).toBe(true);
  });

  it('otpOptional overrides strict', () => {
    const policy: ClientPolicy = { trust: 'strict', otpOptional: ['view-balance'] };
    expect(otpRequired(policy, 'view-balance')).toBe(false);
    expect(otpRequired(policy, 'transfer')).toBe(true);
  });

  it('otpOptional on trusted changes nothing', () => {
    expect(otpRequired({ trust: 'trusted', otpOptional: ['enroll'] }, 'transfer')).toBe(false);
  });
});

describe('isGuessableCode', () => {
  it.each(['000000', '123456', '987654', '890123', '5555555555', '121212', '123123'])('refuses %s', (code) => {
    expect(isGuessableCode(code)).toBe(true);
  });

  it.each(['730291', '482915', '3141592653', '60718294', '915372'])('accepts the random-looking %s', (code) => {
    expect(isGuessableCode(code)).toBe(false);
  });
});

describe('testCodeFor', () => {
  const policy: ClientPolicy = { testTargets: [{ target: '+14155550199', code: '730291' }] };

  it('is the fixed code of a test identity', () => {
    expect(testCodeFor(effectiveConfig(deployment(), policy), '+14155550199')).toBe('730291');
  });

  it('is undefined for any other target', () => {
    expect(testCodeFor(effectiveConfig(deployment(), policy), '+14155550123')).toBeUndefined();
  });

  it('is undefined when the code does not have the length in force', () => {
    expect(testCodeFor(effectiveConfig(deployment(), { ...policy, codeLength: 8 }), '+14155550199')).toBeUndefined();
  });
});

describe('effectiveConfig: the lines a phone fills the code in from', () => {
  it("carries the client's WebOTP domain and SMS Retriever hash to its sends", () => {
    const effective = effectiveConfig(deployment(), { webOtpDomain: 'acme.example', androidAppHash: 'FA+9qCX9VSu' });
    expect(effective).toMatchObject({ webOtpDomain: 'acme.example', androidAppHash: 'FA+9qCX9VSu' });
  });

  it('has neither without a policy that sets them', () => {
    expect(effectiveConfig(deployment(), {})).not.toHaveProperty('webOtpDomain');
    expect(effectiveConfig(deployment(), undefined)).not.toHaveProperty('androidAppHash');
  });
});
