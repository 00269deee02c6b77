import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CLIENTS_TABLE_OUTPUT, stackName } from '../../functions/clients/connection.js';
import { addOtpStack } from '../../lib/otp-app.js';
import { CDK_JSON_CONTEXT, FEATURE_FLAGS, testApp } from './test-app.js';

const run = promisify(execFile);

/** Runs the CDK app entry point as `cdk synth` would, with context, and no synthesis output kept. */
async function synthApp(context: Record<string, string>) {
  const outdir = await mkdtemp(join(tmpdir(), 'otp-cdk-'));
  const env = {
    ...process.env,
    CDK_CONTEXT_JSON: JSON.stringify({ ...FEATURE_FLAGS, ...context, 'aws:cdk:bundling-stacks': [] }),
    CDK_OUTDIR: outdir,
  };
  try {
    return await run(process.execPath, ['--import', 'tsx', 'bin/otp-service.ts'], { env }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The app as bin/otp-service.ts builds it, in this process: a synth here costs no Node start-up. */
const appWith = (context: Record<string, string>) => testApp(context);

describe('the CDK app', () => {
  it('synthesises a dev stage, cdk-nag included', () => {
    const app = appWith({ stage: 'dev', smsCountries: 'US' });
    const stack = addOtpStack(app);
    expect(stack.stackName).toBe('OtpService-dev');
    expect(() => app.synth()).not.toThrow();
  });

  it('names the stack and outputs the clients table where npm run clients looks them up', () => {
    const stack = addOtpStack(appWith({ stage: 'qa', smsCountries: 'US' }));
    expect(stack.stackName).toBe(stackName('qa'));
    expect(Object.keys(Template.fromStack(stack).findOutputs(CLIENTS_TABLE_OUTPUT))).toEqual([CLIENTS_TABLE_OUTPUT]);
  });

  it('refuses a requireApiKey that is not true or false with a clear message and exit code 1', async () => {
    const result = await synthApp({ stage: 'dev', smsCountries: 'US', requireApiKey: 'yes' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid context "requireApiKey": must be true or false (got "yes").');
  }, 60_000);

  it('refuses dev mode in prod with a clear message and exit code 1', async () => {
    const result = await synthApp({ stage: 'prod', devMode: 'true', smsCountries: 'US' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid context "devMode": is refused in the prod stage');
  }, 60_000);

  it('refuses dev mode in a production stage not called prod', () => {
    expect(() => addOtpStack(appWith({ stage: 'prod-eu', devMode: 'true', smsCountries: 'US' }))).toThrow(
      'Invalid context "devMode": is refused in the prod-eu stage',
    );
  });

  it('refuses a bad setting naming it', () => {
    expect(() => addOtpStack(appWith({ stage: 'dev', smsCountries: 'United States' }))).toThrow(
      'Invalid context "smsCountries"',
    );
  });
});

type Resource = { Properties: Record<string, any> };

/** The environment of every function of the service, the cleanup included. */
const serviceVariables = (t: Template) =>
  Object.values(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^OTP service: ') },
    }) as Record<string, Resource>,
  ).map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>);

/** What the stack's roles may publish to with SNS. */
const publishTargets = (t: Template) =>
  Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
    .filter((statement) => [statement.Action].flat().some((action) => String(action).startsWith('sns:')))
    .map((statement) => statement.Resource);

describe("the CDK app with cdk.json's context", () => {
  it('turns on no channel by itself: SMS and e-mail only where -c asks for them', () => {
    expect(CDK_JSON_CONTEXT.smsCountries).toBeUndefined();
    expect(CDK_JSON_CONTEXT.emailFrom).toBeUndefined();
  });

  it('deploys e-mail only with emailFrom alone: no sns:Publish, no SMS resource, SMS off in every function', () => {
    const app = appWith({ ...CDK_JSON_CONTEXT, stage: 'dev', emailFrom: 'no-reply@acme.example' });
    const stack = addOtpStack(app);
    const t = Template.fromStack(stack);
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    // The only SNS action: the cleanup's failure records, to the alarm topic.
    expect(publishTargets(t)).toEqual([{ Ref: expect.stringMatching(/AlarmsTopic/) }]);
    expect(policies).not.toContain('sns:SetSMSAttributes');
    expect(policies).not.toContain('sms-voice:');
    expect(policies).toContain('ses:SendEmail');
    expect(t.findResources('AWS::SMSVOICE::ProtectConfiguration')).toEqual({});
    expect(t.findResources('Custom::AWS')).toEqual({});
    const functions = serviceVariables(t);
    expect(functions.length).toBeGreaterThan(1);
    for (const variables of functions) {
      expect(variables.OTP_ALLOWED_CHANNELS).toBe('email');
      expect(variables.OTP_SMS_ALLOWED_COUNTRIES).toBeUndefined();
    }
    expect(() => app.synth()).not.toThrow();
  });

  it('synthesises a stage with no channel, warning that every send is refused, and lets it send nothing', () => {
    const app = appWith({ ...CDK_JSON_CONTEXT, stage: 'prod' });
    const stack = addOtpStack(app);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('neither sms nor email is set'));
    const t = Template.fromStack(stack);
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(publishTargets(t)).toEqual([{ Ref: expect.stringMatching(/AlarmsTopic/) }]);
    expect(policies).not.toContain('ses:');
    for (const variables of serviceVariables(t)) expect(variables.OTP_ALLOWED_CHANNELS).toBe('none');
    expect(() => app.synth()).not.toThrow();
  });
});
