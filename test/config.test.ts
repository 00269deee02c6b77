import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../functions/config.js';

const BASE = { OTP_PEPPER: 'x'.repeat(32), OTP_DELIVERY: 'local' };

describe('loadConfig', () => {
  it('has the defaults of API.md', () => {
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
    });
  });

  it.each([
    ['OTP_CODE_LENGTH', 'six'],
    ['OTP_CODE_LENGTH', '3'],
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
    ['OTP_SMS_ALLOWED_COUNTRIES', 'USA'],
    ['OTP_ALLOWED_CHANNELS', 'sms,fax'],
    ['OTP_DELIVERY', 'carrier-pigeon'],
    ['OTP_STATE_TABLE', 'a'],
    ['DYNAMODB_ENDPOINT', 'localhost:8000'],
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

  it('refuses dev mode in the prod stage', () => {
    expect(() => loadConfig({ ...BASE, OTP_STAGE: 'prod', OTP_DEV_MODE: 'true' })).toThrow(/OTP_DEV_MODE/);
    expect(loadConfig({ ...BASE, OTP_STAGE: 'prod' }).devMode).toBe(false);
  });

  it('refuses a daily limit below the hourly one', () => {
    expect(() => loadConfig({ ...BASE, OTP_SEND_LIMIT_PER_HOUR: '20' })).toThrow(/OTP_SEND_LIMIT_PER_DAY/);
  });

  it('needs a sender address when e-mail goes through SES', () => {
    expect(() => loadConfig({ OTP_PEPPER: 'x'.repeat(32) })).toThrow(/OTP_EMAIL_FROM/);
    expect(loadConfig({ OTP_PEPPER: 'x'.repeat(32), OTP_EMAIL_FROM: 'OTP <no-reply@example.com>' }).emailFrom).toBe(
      'OTP <no-reply@example.com>',
    );
  });
});
