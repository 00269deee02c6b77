import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { OtpStack } from '../../lib/otp-stack.js';
import { settingsFromContext } from '../../lib/stack-config.js';
import { testApp } from './test-app.js';

function synthWithNag(context: Record<string, string>) {
  const app = testApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const settings = settingsFromContext((name) => context[name]);
  new OtpStack(app, `Nag-${settings.stage}`, { settings });
  return () => app.synth();
}

const contexts: Record<string, string>[] = [
  { stage: 'dev', smsCountries: 'US' },
  { stage: 'prod', smsCountries: 'US,CA', emailFrom: 'Acme <no-reply@acme.example>' },
  {
    stage: 'staging',
    smsCountries: 'US,GB',
    protectConfigurationDefault: 'true',
    corsOrigins: 'https://app.example.com,https://admin.example.com',
  },
  { stage: 'dev', emailFrom: 'no-reply@acme.example', waf: 'false', devMode: 'true', requireApiKey: 'false' },
  {
    stage: 'prod-eu',
    smsCountries: 'FR',
    domainName: 'otp.acme.example',
    certificateArn: 'arn:aws:acm:eu-west-3:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    throttleRate: '400',
    wafRateLimitAll: '5000',
    wafRateLimitSend: '200',
    tableMaxReadRequestUnits: '4000',
    tableMaxWriteRequestUnits: '2000',
  },
  { stage: 'qa', smsCountries: 'US', smsMonthlySpendLimitUsd: '200', smsDeliveryStatusLogs: 'failures' },
  { stage: 'dev', smsCountries: 'US', expirySweep: 'true' },
  {
    stage: 'prod',
    smsCountries: 'US',
    protectConfigurationDefault: 'true',
    smsMonthlySpendLimitUsd: '500',
    smsDeliveryStatusLogs: 'all',
    sendConcurrency: '0',
  },
  { stage: 'prod' },
];

describe('cdk-nag AwsSolutions', () => {
  it.each(contexts)('has no unacknowledged finding for %j', (context) => {
    expect(synthWithNag(context)).not.toThrow();
  });
});
