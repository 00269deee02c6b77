import { type App, type CfnElement, Duration, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  AccessLogFormat,
  LogGroupLogDestination,
  MethodLoggingLevel,
  MockIntegration,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { OtpAuthorizer, type OtpAuthorizerProps } from '../../lib/otp-authorizer.js';
import { OtpStack } from '../../lib/otp-stack.js';
import { settingsFromContext } from '../../lib/stack-config.js';
import { testApp, withoutXray } from './test-app.js';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/**
 * A team's stack as the README shows it: the OTP service (OtpStack, with its own acknowledgements)
 * and, beside it, the team's own REST API whose method is guarded by an OtpAuthorizer. The team's
 * API is made as a careful team would (access and execution logs) and its remaining findings are
 * acknowledged here, as the team would: they are not the authorizer's.
 */
function teamStack(app: App, authorizerProps: Omit<OtpAuthorizerProps, 'service'> = {}, acknowledgeTeamApi = true) {
  const settings = settingsFromContext((name) => ({ stage: 'prod', smsCountries: 'US' })[name as 'stage']);
  const stack = new OtpStack(app, 'Team', { settings });
  const guard = new OtpAuthorizer(stack, 'Guard', { service: stack.service, ...authorizerProps });
  const api = new RestApi(stack, 'Orders', {
    cloudWatchRole: false,
    deployOptions: {
      loggingLevel: MethodLoggingLevel.ERROR,
      accessLogDestination: new LogGroupLogDestination(
        new LogGroup(stack, 'OrdersAccess', { retention: RetentionDays.ONE_MONTH }),
      ),
      accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
    },
  });
  api.root.addResource('orders').addMethod('GET', new MockIntegration(), { authorizer: guard.authorizer });
  if (acknowledgeTeamApi) {
    for (const id of ['APIG2', 'APIG3', 'COG4']) {
      Validations.of(api).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason: "The team's own API." });
    }
  }
  return { stack, guard, api };
}

/** Synthesis is the slow part: each set of props is synthesised once per file. */
const synths = new Map<string, ReturnType<typeof teamStack> & { template: Template }>();
function synth(props: Omit<OtpAuthorizerProps, 'service'> = {}) {
  const key = JSON.stringify(props);
  const cached = synths.get(key);
  if (cached) return cached;
  const built = teamStack(testApp(), props);
  const synthesised = { ...built, template: Template.fromStack(built.stack) };
  synths.set(key, synthesised);
  return synthesised;
}

function authorizerFunction(t: Template): [string, Resource] {
  const found = Object.entries(
    t.findResources('AWS::Lambda::Function', { Properties: { Description: 'OTP service: authorizer' } }) as Record<
      string,
      Resource
    >,
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** The statements of the function's inline policies, one per resource. */
function statementsOf(t: Template): Statement[] {
  const [, fn] = authorizerFunction(t);
  const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
  return (
    Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      // X-Ray's grant is the same for every function; the tracing tests check it (test/lib/otp-service.test.ts).
      .flatMap(withoutXray)
      .flatMap((statement) => [statement.Resource].flat().map((resource) => ({ ...statement, Resource: resource })))
  );
}

describe('OtpAuthorizer', () => {
  it('is a REQUEST authorizer of the team API, cached 60 s on Authorization by default, on its method', () => {
    const { template: t, stack, api } = synth();
    const apiId = stack.getLogicalId(api.node.defaultChild as CfnElement);
    const authorizers = Object.entries(t.findResources('AWS::ApiGateway::Authorizer') as Record<string, Resource>);
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0] as [string, Resource];
    expect(authorizer.Properties).toMatchObject({
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 60,
      RestApiId: { Ref: apiId },
    });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RestApiId: { Ref: apiId },
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
    const [fnId, fn] = authorizerFunction(t);
    expect(fn.Properties.Environment.Variables.OTP_AUTHORIZER_HEADERS).toBe('Authorization');
    // API Gateway may invoke it, for this authorizer only.
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      SourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([`/authorizers/`])]) }),
    });
  });

  it('without caching: no identity source, both headers read by the function', () => {
    const { template: t } = synth({ resultsCacheTtl: Duration.seconds(0) });
    const [authorizer] = Object.values(t.findResources('AWS::ApiGateway::Authorizer') as Record<string, Resource>);
    expect(authorizer?.Properties.AuthorizerResultTtlInSeconds).toBe(0);
    expect(authorizer?.Properties).not.toHaveProperty('IdentitySource');
    const [, fn] = authorizerFunction(t);
    expect(fn.Properties.Environment.Variables.OTP_AUTHORIZER_HEADERS).toBe('Authorization,X-OTP-Session');
  });

  it('cached on X-OTP-Session when asked, for the time asked', () => {
    const { template: t } = synth({ resultsCacheTtl: Duration.seconds(30), identityHeaders: ['X-OTP-Session'] });
    t.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      IdentitySource: 'method.request.header.X-OTP-Session',
      AuthorizerResultTtlInSeconds: 30,
    });
    const [, fn] = authorizerFunction(t);
    expect(fn.Properties.Environment.Variables.OTP_AUTHORIZER_HEADERS).toBe('X-OTP-Session');
  });

  it('refuses two identity headers with caching on, none at all, and a cache over an hour', () => {
    expect(() => teamStack(testApp(), { identityHeaders: ['Authorization', 'X-OTP-Session'] })).toThrow(
      /one identity header/,
    );
    expect(() => teamStack(testApp(), { resultsCacheTtl: Duration.seconds(0), identityHeaders: [] })).toThrow(
      /identityHeaders is empty/,
    );
    expect(() => teamStack(testApp(), { resultsCacheTtl: Duration.seconds(3601) })).toThrow(/at most one hour/);
  });

  it("runs like the service's functions, with the service's settings but not the pepper", () => {
    const { template: t, stack } = synth();
    const [, fn] = authorizerFunction(t);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 10,
    });
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    const service = stack.service;
    const id = (element: unknown) => stack.getLogicalId(element as CfnElement);
    expect(variables).toMatchObject({
      OTP_STAGE: 'prod',
      OTP_STATE_TABLE: { Ref: id(service.tables.state.node.defaultChild) },
      OTP_SIGNING_KEYS_SECRET_ARN: { Ref: id(service.signingKeys.node.defaultChild) },
      OTP_DELIVERY: 'aws',
    });
    // The same issuer as the service's functions sign with.
    const [, session] = Object.entries(
      t.findResources('AWS::Lambda::Function', { Properties: { Description: 'OTP service: session' } }),
    )[0] as [string, Resource];
    expect(variables.OTP_ISSUER).toEqual(session.Properties.Environment.Variables.OTP_ISSUER);
    expect(variables).not.toHaveProperty('OTP_PEPPER_SECRET_ARN');
    expect(variables).not.toHaveProperty('OTP_SIGNING_KEYS');
  });

  it('may read state items and the signing keys, nothing else; no wildcard', () => {
    const { template: t, stack } = synth();
    const { service } = stack;
    const id = (element: unknown) => stack.getLogicalId(element as CfnElement);
    const statements = statementsOf(t);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: { 'Fn::GetAtt': [id(service.tables.state.node.defaultChild), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: id(service.signingKeys.node.defaultChild) },
      },
    ]);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
    }
    // No managed policy: it may write to its own log group only.
    const [, fn] = authorizerFunction(t);
    const role = t.findResources('AWS::IAM::Role')[fn.Properties.Role['Fn::GetAtt'][0]] as Resource;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: 'own-logs',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: { 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] },
            },
          ],
        },
      },
    ]);
  });

  it('is created after the first signing keys exist, as the service functions are', () => {
    const { template: t, stack } = synth();
    const [, fn] = authorizerFunction(t);
    const trigger = stack.getLogicalId(stack.service.cleanup.onDeploy.node.defaultChild as CfnElement);
    expect(fn.DependsOn).toContain(trigger);
  });

  it('passes cdk-nag AwsSolutions, and the check is live: the team API unacknowledged fails it', () => {
    const checked = (acknowledgeTeamApi: boolean) => {
      const app = testApp();
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      teamStack(app, {}, acknowledgeTeamApi);
      return () => app.synth();
    };
    expect(checked(true)).not.toThrow();
    expect(checked(false)).toThrow(/AwsSolutions-(APIG2|APIG3|COG4)/);
  });
});
