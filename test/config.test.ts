import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { assertStrongPepper, ConfigError, loadConfig } from '../functions/config.js';
import { EMPTY_KEY_SET, initialKeySet, serializeKeySet } from '../functions/core/signing-keys.js';

const PEPPER = 'config-test-pepper-0123456789-abcdef';
const BASE = { OTP_PEPPER: PEPPER, OTP_DELIVERY: 'local' };
/** A production stage that delivers through AWS, SMS only (e-mail would need a sender). */
const AWS_SMS = { OTP_PEPPER: PEPPER, OTP_DELIVERY: 'aws', OTP_ALLOWED_CHANNELS: 'sms' };

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      codeLength: 6,
      codeTtlSeconds: 300,
      maxAttempts: 3,
      sendLimitPerHour: 5,
      sendLimitPerDay: 10,
      resendCooldownSeconds: 30,
      sendLimitPerIpPerHour: 30,
      sessionTtlSeconds: 86_400,
      maxFailuresPerTarget: 50,
      devMode: false,
      allowedChannels: ['sms', 'email'],
      smsAllowedCountries: undefined,
      // Expired items are left to TTL: no index write per item, no delete.
      expirySweep: false,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      ...BASE,
      OTP_CODE_LENGTH: '8',
      OTP_TTL_SECONDS: '120',
      OTP_MAX_ATTEMPTS: '5',
      OTP_SEND_LIMIT_PER_HOUR: '2',
      OTP_SEND_LIMIT_PER_DAY: '4',
      OTP_RESEND_COOLDOWN_SECONDS: '0',
      OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0',
      SESSION_TTL_SECONDS: '600',
      OTP_DEV_MODE: 'true',
      OTP_SMS_ALLOWED_COUNTRIES: 'us, de',
      OTP_ALLOWED_CHANNELS: 'email',
      OTP_EXPIRY_SWEEP: 'true',
    });
    expect(config).toMatchObject({
      codeLength: 8,
      codeTtlSeconds: 120,
      maxAttempts: 5,
      sendLimitPerHour: 2,
      sendLimitPerDay: 4,
      resendCooldownSeconds: 0,
      sendLimitPerIpPerHour: 0,
      sessionTtlSeconds: 600,
      devMode: true,
      smsAllowedCountries: ['US', 'DE'],
      allowedChannels: ['email'],
      expirySweep: true,
    });
  });

  it.each([
    ['OTP_CODE_LENGTH', 'six'],
    ['OTP_CODE_LENGTH', '3'],
    ['OTP_CODE_LENGTH', '4'],
    ['OTP_CODE_LENGTH', '5'],
    ['OTP_CODE_LENGTH', '11'],
    ['OTP_TTL_SECONDS', '601'],
    ['OTP_TTL_SECONDS', '1.5'],
    ['OTP_MAX_ATTEMPTS', '0'],
    ['OTP_SEND_LIMIT_PER_HOUR', '-1'],
    ['OTP_SEND_LIMIT_PER_DAY', 'lots'],
    ['OTP_RESEND_COOLDOWN_SECONDS', '1e3'],
    ['OTP_SEND_LIMIT_PER_IP_PER_HOUR', 'x'],
    ['SESSION_TTL_SECONDS', '10'],
    ['OTP_MAX_FAILURES_PER_TARGET', '101'],
    ['OTP_DEV_MODE', 'yes'],
    ['OTP_EXPIRY_SWEEP', 'hourly'],
    ['OTP_SMS_ALLOWED_COUNTRIES', 'USA'],
    ['OTP_ALLOWED_CHANNELS', 'sms,fax'],
    ['OTP_DELIVERY', 'carrier-pigeon'],
    ['OTP_STATE_TABLE', 'a'],
    ['DYNAMODB_ENDPOINT', 'localhost:8000'],
    ['OTP_STAGE', 'Prod'],
    ['OTP_SMS_SENDER_ID', '12345'],
    ['OTP_SMS_ORIGINATION_NUMBER', '555-0100'],
    ['OTP_EMAIL_FROM', 'Acme <no-reply@acme>'],
    ['OTP_ACCESS_TOKEN_TTL_SECONDS', '59'],
    ['OTP_ACCESS_TOKEN_TTL_SECONDS', '3601'],
    ['OTP_SIGNING_KEY_ROTATION_DAYS', '0'],
    ['OTP_SIGNING_KEY_ROTATION_DAYS', '366'],
    ['OTP_ISSUER', 'otp.example.com'],
    ['OTP_ISSUER', 'https://otp.example.com/'],
    ['OTP_ISSUER', 'https://otp.example.com/prod?x=1'],
    ['OTP_ISSUER', 'https://otp.example.com#a'],
    ['OTP_SIGNING_KEYS', '{"keys":[]}'],
    ['OTP_SIGNING_KEYS', EMPTY_KEY_SET],
    ['OTP_SIGNING_KEYS_SECRET_ARN', 'keys'],
    ['OTP_ACCESS_TOKEN_ALGORITHM', 'HS256'],
    ['OTP_ACCESS_TOKEN_ALGORITHM', 'none'],
    ['OTP_ACCESS_TOKEN_ALGORITHM', 'rs256'],
    ['OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR', '-1'],
    ['OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR', 'ten'],
    ['OTP_SMS_LIMIT_PER_HOUR', '2.5'],
    ['OTP_BREAKER_MODE', 'on'],
    ['OTP_BREAKER_MIN_SENDS', '0'],
    ['OTP_BREAKER_MIN_CONVERSION', '1.5'],
    ['OTP_BREAKER_MIN_CONVERSION', '-0.1'],
    ['OTP_BREAKER_MIN_CONVERSION', '20%'],
    ['OTP_BREAKER_WINDOW_SECONDS', '59'],
    ['OTP_BREAKER_PAUSE_SECONDS', '86401'],
    ['OTP_COUNTER_SHARDS', '0'],
    ['OTP_COUNTER_SHARDS', '101'],
  ])('stops on %s=%j with a message naming it', (variable, value) => {
    expect(() => loadConfig({ ...BASE, [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...BASE, [variable]: value })).toThrow(
      new RegExp(`^Invalid configuration: ${variable} `),
    );
  });

  it('refuses a pepper under 32 characters, and a malformed secret ARN', () => {
    expect(() => loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER: 'short' })).toThrow(
      /^Invalid configuration: OTP_PEPPER /,
    );
    expect(() => loadConfig({ ...BASE, OTP_PEPPER_SECRET_ARN: 'pepper' })).toThrow(/OTP_PEPPER_SECRET_ARN/);
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:otp-pepper-AbCdEf';
    expect(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER_SECRET_ARN: arn }).pepperSecretArn).toBe(arn);
  });

  it('takes OTP_ALLOWED_CHANNELS=none as no channel, where an empty value means every channel', () => {
    expect(
      loadConfig({ OTP_PEPPER: PEPPER, OTP_DELIVERY: 'aws', OTP_ALLOWED_CHANNELS: 'none' }).allowedChannels,
    ).toEqual([]);
    expect(loadConfig({ OTP_PEPPER: PEPPER, OTP_DELIVERY: 'local', OTP_ALLOWED_CHANNELS: '' }).allowedChannels).toEqual(
      ['sms', 'email'],
    );
    expect(() => loadConfig({ OTP_PEPPER: PEPPER, OTP_ALLOWED_CHANNELS: 'none,sms' })).toThrow(/OTP_ALLOWED_CHANNELS/);
  });

  it('refuses dev mode in the prod stage', () => {
    expect(() => loadConfig({ ...AWS_SMS, OTP_STAGE: 'prod', OTP_DEV_MODE: 'true' })).toThrow(/OTP_DEV_MODE/);
    expect(loadConfig({ ...AWS_SMS, OTP_STAGE: 'prod' }).devMode).toBe(false);
  });

  it('accepts code lengths 6 to 10', () => {
    expect(loadConfig({ ...BASE, OTP_CODE_LENGTH: '6' }).codeLength).toBe(6);
    expect(loadConfig({ ...BASE, OTP_CODE_LENGTH: '10' }).codeLength).toBe(10);
  });

  it.each(['production', 'prd', 'prod-eu', 'prd2'])(
    'treats the %s stage as production and refuses dev mode',
    (stage) => {
      expect(() => loadConfig({ ...AWS_SMS, OTP_STAGE: stage, OTP_DEV_MODE: 'true' })).toThrow(
        /^Invalid configuration: OTP_DEV_MODE /,
      );
      expect(loadConfig({ ...AWS_SMS, OTP_STAGE: stage }).devMode).toBe(false);
    },
  );

  it.each(['prod', 'production', 'prd', 'prod-eu'])('refuses local delivery in the %s stage', (stage) => {
    expect(() => loadConfig({ ...BASE, OTP_STAGE: stage })).toThrow(/^Invalid configuration: OTP_DELIVERY /);
  });

  it.each(['dev', 'staging', 'preprod', 'qa-prod'])('lets the %s stage, not production, use dev mode', (stage) => {
    expect(loadConfig({ ...BASE, OTP_STAGE: stage, OTP_DEV_MODE: 'true' }).devMode).toBe(true);
  });

  it.each([
    ['32 spaces', ' '.repeat(32)],
    ['one letter', 'a'.repeat(40)],
    ['two letters alternating', 'ab'.repeat(20)],
    ['a short word repeated', 'secret'.repeat(8)],
    ['seven characters repeated', 'abcdefg'.repeat(6)],
  ])('refuses a pepper of %s', (_, pepper) => {
    expect(() => loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER: pepper })).toThrow(
      /^Invalid configuration: OTP_PEPPER .*too little variety/,
    );
  });

  it('accepts random peppers as openssl and Secrets Manager make them', () => {
    for (let i = 0; i < 200; i++) {
      for (const pepper of [
        randomBytes(16).toString('hex'),
        randomBytes(32).toString('base64url'),
        randomBytes(32).toString('base64'),
      ]) {
        expect(loadConfig({ OTP_DELIVERY: 'local', OTP_PEPPER: pepper }).pepper).toBe(pepper);
      }
    }
  });

  it('checks a pepper from elsewhere naming the variable it came from', () => {
    expect(() => assertStrongPepper(' '.repeat(64), 'OTP_PEPPER_SECRET_ARN')).toThrow(ConfigError);
    expect(() => assertStrongPepper(' '.repeat(64), 'OTP_PEPPER_SECRET_ARN')).toThrow(
      /^Invalid configuration: OTP_PEPPER_SECRET_ARN /,
    );
    expect(() => assertStrongPepper('short', 'OTP_PEPPER_SECRET_ARN')).toThrow(/too short/);
    expect(() => assertStrongPepper(PEPPER, 'OTP_PEPPER_SECRET_ARN')).not.toThrow();
  });

  it('has the documented token defaults', () => {
    expect(loadConfig(BASE)).toMatchObject({
      accessTokenTtlSeconds: 900,
      issuer: 'http://127.0.0.1:3000',
      signingKeyRotationDays: 30,
      signingKeys: undefined,
      signingKeysSecretArn: undefined,
    });
    expect(loadConfig({ ...BASE, PORT: '8080' }).issuer).toBe('http://127.0.0.1:8080');
  });

  it('signs ES256 unless OTP_ACCESS_TOKEN_ALGORITHM asks for RS256', () => {
    expect(loadConfig(BASE).accessTokenAlgorithm).toBe('ES256');
    expect(loadConfig({ ...BASE, OTP_ACCESS_TOKEN_ALGORITHM: 'ES256' }).accessTokenAlgorithm).toBe('ES256');
    expect(loadConfig({ ...BASE, OTP_ACCESS_TOKEN_ALGORITHM: 'RS256' }).accessTokenAlgorithm).toBe('RS256');
    expect(() => loadConfig({ ...BASE, OTP_ACCESS_TOKEN_ALGORITHM: 'PS256' })).toThrow(
      'Invalid configuration: OTP_ACCESS_TOKEN_ALGORITHM must be ES256 or RS256',
    );
  });

  it('refuses inline keys of another algorithm than the configured one, as they never rotate to it', () => {
    const es = serializeKeySet(initialKeySet(Date.UTC(2036, 0, 1)));
    const rs = initialKeySet(Date.UTC(2036, 0, 1), 'RS256');
    expect(() => loadConfig({ ...BASE, OTP_SIGNING_KEYS: es, OTP_ACCESS_TOKEN_ALGORITHM: 'RS256' })).toThrow(
      /^Invalid configuration: OTP_SIGNING_KEYS holds ES256 keys, but OTP_ACCESS_TOKEN_ALGORITHM is RS256/,
    );
    const config = loadConfig({ ...BASE, OTP_SIGNING_KEYS: serializeKeySet(rs), OTP_ACCESS_TOKEN_ALGORITHM: 'RS256' });
    expect(config.signingKeys).toEqual(rs);
  });

  it('reads the token variables', () => {
    const keys = initialKeySet(Date.UTC(2036, 0, 1));
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:otp-signing-keys-AbCdEf';
    const config = loadConfig({
      ...BASE,
      OTP_ACCESS_TOKEN_TTL_SECONDS: '60',
      OTP_ISSUER: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      OTP_SIGNING_KEY_ROTATION_DAYS: '7',
      OTP_SIGNING_KEYS: serializeKeySet(keys),
      OTP_SIGNING_KEYS_SECRET_ARN: arn,
    });
    expect(config).toMatchObject({
      accessTokenTtlSeconds: 60,
      issuer: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      signingKeyRotationDays: 7,
      signingKeys: keys,
      signingKeysSecretArn: arn,
    });
  });

  it.each(['prod', 'prd-eu'])('refuses inline signing keys in the %s stage', (stage) => {
    const keys = serializeKeySet(initialKeySet(Date.now()));
    expect(() => loadConfig({ ...AWS_SMS, OTP_STAGE: stage, OTP_SIGNING_KEYS: keys })).toThrow(
      /^Invalid configuration: OTP_SIGNING_KEYS .*OTP_SIGNING_KEYS_SECRET_ARN/,
    );
    expect(loadConfig({ ...BASE, OTP_STAGE: 'staging', OTP_SIGNING_KEYS: keys }).signingKeys).toBeDefined();
  });

  it('names what is wrong with inline keys without showing them', () => {
    const stored = JSON.parse(serializeKeySet(initialKeySet(Date.now()))) as Record<string, any>;
    const broken = JSON.stringify({ ...stored, next: { ...stored.next, kid: 'mine' } });
    expect(() => loadConfig({ ...BASE, OTP_SIGNING_KEYS: broken })).toThrow(
      /^Invalid configuration: OTP_SIGNING_KEYS next\.kid/,
    );
    try {
      loadConfig({ ...BASE, OTP_SIGNING_KEYS: broken });
    } catch (error) {
      expect((error as Error).message).not.toContain(stored.current.jwk.d);
    }
  });

  it('has the documented SMS cost protection defaults, and reads its variables', () => {
    expect(loadConfig(BASE)).toMatchObject({
      smsLimitPerCountryPerHour: 500,
      smsLimitPerPrefixPerHour: 10,
      smsLimitPerHour: 2000,
      breakerMode: 'enforce',
      breakerMinSends: 50,
      breakerMinConversion: 0.2,
      breakerWindowSeconds: 3600,
      breakerPauseSeconds: 900,
      counterShards: 10,
    });
    expect(
      loadConfig({
        ...BASE,
        OTP_SMS_LIMIT_PER_COUNTRY_PER_HOUR: '0',
        OTP_SMS_LIMIT_PER_PREFIX_PER_HOUR: '3',
        OTP_SMS_LIMIT_PER_HOUR: '100',
        OTP_BREAKER_MODE: 'monitor',
        OTP_BREAKER_MIN_SENDS: '200',
        OTP_BREAKER_MIN_CONVERSION: '.35',
        OTP_BREAKER_WINDOW_SECONDS: '7200',
        OTP_BREAKER_PAUSE_SECONDS: '1800',
        OTP_COUNTER_SHARDS: '4',
      }),
    ).toMatchObject({
      smsLimitPerCountryPerHour: 0,
      smsLimitPerPrefixPerHour: 3,
      smsLimitPerHour: 100,
      breakerMode: 'monitor',
      breakerMinSends: 200,
      breakerMinConversion: 0.35,
      breakerWindowSeconds: 7200,
      breakerPauseSeconds: 1800,
      counterShards: 4,
    });
    expect(loadConfig({ ...BASE, OTP_BREAKER_MIN_CONVERSION: '1' }).breakerMinConversion).toBe(1);
    expect(loadConfig({ ...BASE, OTP_BREAKER_MIN_CONVERSION: '0' }).breakerMinConversion).toBe(0);
  });

  it('refuses a daily limit below the hourly one', () => {
    expect(() => loadConfig({ ...BASE, OTP_SEND_LIMIT_PER_HOUR: '20' })).toThrow(/OTP_SEND_LIMIT_PER_DAY/);
  });

  it('needs a sender address when e-mail goes through SES', () => {
    expect(() => loadConfig({ OTP_PEPPER: PEPPER })).toThrow(/OTP_EMAIL_FROM/);
    expect(loadConfig({ OTP_PEPPER: PEPPER, OTP_EMAIL_FROM: 'OTP <no-reply@example.com>' }).emailFrom).toBe(
      'OTP <no-reply@example.com>',
    );
  });
});
