import { type CfnElement, Stack } from 'aws-cdk-lib';
import { HANDLERS } from '../../functions/routes.js';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { problemBody } from '../../functions/http/problem.js';
import { OtpService, type OtpServiceProps } from '../../lib/otp-service.js';
import { testApp, XRAY_ACTIONS } from './test-app.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

/** Synthesis is the slow part: each set of props is synthesised once per file. */
const templates = new Map<string, Template>();

function template(props: OtpServiceProps): Template {
  const key = JSON.stringify(props);
  const cached = templates.get(key);
  if (cached) return cached;
  const service = new OtpService(stack(), 'Otp', props);
  const synthesised = Template.fromStack(Stack.of(service));
  templates.set(key, synthesised);
  return synthesised;
}

const stack = () => new Stack(testApp(), 'Service');
const build = (props: OtpServiceProps) => () => new OtpService(stack(), 'Otp', props);

const SMS_ONLY: OtpServiceProps = {
  stage: 'dev',
  sms: { allowedCountries: ['US', 'CA'], senderId: 'Acme', originationNumber: '+15550100123' },
};
const EMAIL_ONLY: OtpServiceProps = { stage: 'qa', email: { from: 'Acme <no-reply@mail.acme.example>' } };

const variablesOf = (t: Template) =>
  Object.values(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'OTP service: send-otp' },
    }) as Record<string, Resource>,
  )[0]?.Properties.Environment.Variables;

/** The environment of every function of the service, the cleanup included. */
const allVariablesOf = (t: Template) =>
  Object.values(t.findResources('AWS::Lambda::Function') as Record<string, Resource>)
    .filter((fn) => String(fn.Properties.Description).startsWith('OTP service: '))
    .map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>);

describe('OtpService props', () => {
  it('defaults to a WAF, a 100 USD SMS budget and no dev mode', () => {
    const t = template(SMS_ONLY);
    t.resourceCountIs('AWS::WAFv2::WebACL', 1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SMSMonthToDateSpentUSD', Threshold: 80 });
    expect(variablesOf(t)).toMatchObject({ OTP_DEV_MODE: 'false', OTP_ALLOWED_CHANNELS: 'sms' });
  });

  it('tells the functions the SMS settings', () => {
    const t = template(SMS_ONLY);
    expect(variablesOf(t)).toMatchObject({
      OTP_SMS_ALLOWED_COUNTRIES: 'US,CA',
      OTP_SMS_SENDER_ID: 'Acme',
      OTP_SMS_ORIGINATION_NUMBER: '+15550100123',
    });
  });

  it('sends e-mail only from the domain of `from` unless another identity is given', () => {
    const t = template(EMAIL_ONLY);
    expect(variablesOf(t)).toMatchObject({ OTP_ALLOWED_CHANNELS: 'email', OTP_EMAIL_FROM: EMAIL_ONLY.email?.from });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(':identity/mail.acme.example');
    // No SMS: nothing may publish to a phone number (the cleanup publishes its failures to the alarm topic only).
    const publishers = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
      .filter((statement) => [statement.Action].flat().includes('sns:Publish'));
    expect(publishers.map((statement) => statement.Resource)).toEqual([{ Ref: expect.stringMatching(/AlarmsTopic/) }]);
  });

  it('names the API and its stage after the stage', () => {
    const t = template(EMAIL_ONLY);
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: 'otp-service-qa' });
    t.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'qa' });
  });

  it('is production when the stage name says so, or when asked', () => {
    const byName = new OtpService(stack(), 'Otp', { ...SMS_ONLY, stage: 'prd-eu' });
    const asked = new OtpService(stack(), 'Otp', { ...SMS_ONLY, stage: 'live', production: true });
    const overruled = new OtpService(stack(), 'Otp', {
      ...SMS_ONLY,
      stage: 'prod',
      production: false,
    });
    const staging = new OtpService(stack(), 'Otp', { ...SMS_ONLY, stage: 'staging' });
    expect([byName, asked, overruled, staging].map((service) => service.production)).toEqual([true, true, true, false]);
  });

  it('keeps the pepper, the signing keys and logs of a production stack when it is deleted', () => {
    const t = template({ ...SMS_ONLY, stage: 'live', production: true });
    const secrets = Object.values(t.findResources('AWS::SecretsManager::Secret') as Record<string, Resource>);
    expect(secrets.map((secret) => secret.DeletionPolicy)).toEqual(['Retain', 'Retain']);
    const logs = Object.values(t.findResources('AWS::Logs::LogGroup') as Record<string, Resource>);
    for (const log of logs) {
      expect(log.DeletionPolicy).toBe('Retain');
      expect(log.Properties.RetentionInDays).toBe(90);
    }
  });

  it('requires API keys by default, and tells every function', () => {
    const t = template(SMS_ONLY);
    const functions = allVariablesOf(t);
    expect(functions.length).toBeGreaterThan(1);
    for (const variables of functions) expect(variables.OTP_REQUIRE_API_KEY).toBe('true');
  });

  it('leaves expired items to TTL by default; expirySweep adds the due index, its Query and deletes, and tells every function', () => {
    const indexesOf = (t: Template) =>
      Object.values(
        t.findResources('AWS::DynamoDB::GlobalTable', {
          Properties: { TimeToLiveSpecification: { Enabled: true } },
        }) as Record<string, Resource>,
      ).flatMap((table) =>
        (table.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).map((i) => i.IndexName),
      );
    const cleanupActions = (t: Template) =>
      Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
        .filter((policy) => JSON.stringify(policy.Properties.Roles).includes('Cleanup'))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
        .flatMap((statement) => [statement.Action].flat());
    const off = template(SMS_ONLY);
    expect(indexesOf(off)).toEqual(['sessions']);
    for (const variables of allVariablesOf(off)) expect(variables.OTP_EXPIRY_SWEEP).toBe('false');
    expect(cleanupActions(off)).not.toContain('dynamodb:Query');
    expect(cleanupActions(off)).not.toContain('dynamodb:DeleteItem');
    const on = template({ ...SMS_ONLY, expirySweep: true });
    expect(indexesOf(on)).toEqual(['due', 'sessions']);
    for (const variables of allVariablesOf(on)) expect(variables.OTP_EXPIRY_SWEEP).toBe('true');
    expect(cleanupActions(on)).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:DeleteItem']));
  });

  it('lets keyless calls in when requireApiKey is false', () => {
    const functions = allVariablesOf(template({ ...SMS_ONLY, requireApiKey: false }));
    expect(functions.length).toBeGreaterThan(1);
    for (const variables of functions) expect(variables.OTP_REQUIRE_API_KEY).toBe('false');
  });

  it('exposes the clients table, named to every function', () => {
    const service = new OtpService(stack(), 'Otp', SMS_ONLY);
    const clientsId = Stack.of(service).getLogicalId(service.tables.clients.node.defaultChild as CfnElement);
    const t = Template.fromStack(Stack.of(service));
    for (const variables of allVariablesOf(t)) expect(variables.OTP_CLIENTS_TABLE).toEqual({ Ref: clientsId });
  });

  it('names the REST API stage URL as issuer to every function, or the issuer it is given', () => {
    const service = new OtpService(stack(), 'Otp', SMS_ONLY);
    const apiId = Stack.of(service).getLogicalId(service.api.node.defaultChild as CfnElement);
    const t = Template.fromStack(Stack.of(service));
    const stageUrl = {
      'Fn::Join': [
        '',
        ['https://', { Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/dev'],
      ],
    };
    const functions = allVariablesOf(t);
    expect(functions).toHaveLength(HANDLERS.length + 1);
    for (const variables of functions) expect(variables.OTP_ISSUER).toEqual(stageUrl);
    for (const variables of allVariablesOf(template({ ...SMS_ONLY, issuer: 'https://otp.acme.example' }))) {
      expect(variables.OTP_ISSUER).toBe('https://otp.acme.example');
    }
  });

  it('refuses dev mode in production', () => {
    expect(build({ ...SMS_ONLY, stage: 'production', devMode: true })).toThrow(/devMode is refused in production/);
    expect(build({ ...SMS_ONLY, stage: 'live', production: true, devMode: true })).toThrow(/devMode/);
    expect(build({ ...SMS_ONLY, stage: 'dev', devMode: true })).not.toThrow();
  });

  it('refuses SMS caps and breaker settings that the functions would refuse at start, naming them', () => {
    const sms = SMS_ONLY.sms as NonNullable<OtpServiceProps['sms']>;
    expect(build({ ...SMS_ONLY, sms: { ...sms, hourlyLimits: { perCountry: -1 } } })).toThrow(
      /sms\.hourlyLimits\.perCountry must be a whole number/,
    );
    expect(build({ ...SMS_ONLY, sms: { ...sms, breaker: { minConversion: 2 } } })).toThrow(
      /sms\.breaker\.minConversion must be a number from 0 to 1/,
    );
    expect(build({ ...SMS_ONLY, sms: { ...sms, breaker: { pauseSeconds: 10 } } })).toThrow(
      /sms\.breaker\.pauseSeconds/,
    );
    expect(build({ ...SMS_ONLY, sms: { ...sms, hourlyLimits: { total: 0 }, breaker: { mode: 'off' } } })).not.toThrow();
  });

  it('refuses a table maximum throughput below what one login needs, naming it', () => {
    expect(build({ ...SMS_ONLY, tableMaxThroughput: { writeRequestUnits: 10 } })).toThrow(
      /maxThroughput\.writeRequestUnits must be a whole number from 25/,
    );
    expect(build({ ...SMS_ONLY, tableMaxThroughput: { readRequestUnits: 1.5 } })).toThrow(/readRequestUnits/);
    expect(build({ ...SMS_ONLY, tableMaxThroughput: { readRequestUnits: 25 } })).not.toThrow();
  });

  it('warns about a service with nothing to send, which refuses every send', () => {
    const service = new OtpService(stack(), 'Otp', { stage: 'dev' });
    Annotations.fromStack(Stack.of(service)).hasWarning('*', Match.stringLikeRegexp('neither sms nor email'));
    for (const variables of allVariablesOf(Template.fromStack(Stack.of(service)))) {
      expect(variables.OTP_ALLOWED_CHANNELS).toBe('none');
    }
    expect(build({ stage: 'dev', sms: { allowedCountries: [] } })).toThrow(/allowedCountries/);
  });
});

describe('OtpService gateway answers', () => {
  it('are the problem+json bodies of functions/http/problem.ts, their status as the status code', () => {
    const responses = Object.values(
      template(SMS_ONLY).findResources('AWS::ApiGateway::GatewayResponse') as Record<string, Resource>,
    );
    // Every response type of API Gateway ("Gateway response types", API Gateway Developer Guide) but
    // the authorizer's and the configuration errors, which DEFAULT_5XX answers as 500.
    expect(responses.map((response) => response.Properties.ResponseType).sort()).toEqual([
      'ACCESS_DENIED',
      'BAD_REQUEST_BODY',
      'BAD_REQUEST_PARAMETERS',
      'DEFAULT_4XX',
      'DEFAULT_5XX',
      'EXPIRED_TOKEN',
      'INTEGRATION_TIMEOUT',
      'INVALID_API_KEY',
      'INVALID_SIGNATURE',
      'MISSING_AUTHENTICATION_TOKEN',
      'QUOTA_EXCEEDED',
      'REQUEST_TOO_LARGE',
      'RESOURCE_NOT_FOUND',
      'THROTTLED',
      'UNAUTHORIZED',
      'UNSUPPORTED_MEDIA_TYPE',
      'WAF_FILTERED',
    ]);
    for (const response of responses) {
      const body = JSON.parse(response.Properties.ResponseTemplates['application/json'] as string);
      const slug = body.error as string;
      const extensions = body.retryAfter === undefined ? {} : { retryAfter: body.retryAfter };
      expect(body).toEqual(
        problemBody(
          { status: Number(response.Properties.StatusCode), slug, title: body.title, detail: body.detail },
          extensions,
        ),
      );
      expect(response.Properties.ResponseParameters).toMatchObject({
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
      });
    }
  });

  it('lets the WAF answer a blocked flood with a problem too', () => {
    template(SMS_ONLY).hasResourceProperties('AWS::WAFv2::WebACL', {
      CustomResponseBodies: {
        'rate-limited': Match.objectLike({
          ContentType: 'APPLICATION_JSON',
          Content: JSON.stringify(
            problemBody(
              {
                status: 429,
                slug: 'rate-limited',
                title: 'Too many codes requested',
                detail: 'Too many requests from this network. Try again later.',
              },
              { retryAfter: 300 },
            ),
          ),
        }),
      },
    });
  });
});

describe('OtpService tracing', () => {
  it('traces every function and the API stage with X-Ray, each role allowed to send its segments', () => {
    const t = template(SMS_ONLY);
    const functions = Object.entries(t.findResources('AWS::Lambda::Function') as Record<string, Resource>).filter(
      ([, fn]) => String(fn.Properties.Description).startsWith('OTP service: '),
    );
    expect(functions).toHaveLength(HANDLERS.length + 1);
    const policies = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>);
    for (const [, fn] of functions) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      const role = { Ref: fn.Properties.Role['Fn::GetAtt'][0] };
      const statements = policies
        .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(JSON.stringify(role)))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: expect.arrayContaining(XRAY_ACTIONS),
        Resource: '*',
      });
    }
    t.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
  });
});
