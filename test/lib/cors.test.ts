import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/routes.js';
import { OtpStack } from '../../lib/otp-stack.js';
import { settingsFromContext, SettingsError } from '../../lib/stack-config.js';
import { testApp } from './test-app.js';

type Resource = { Type: string; Properties: Record<string, any> };

const synths = new Map<string, Template>();
function template(context: Record<string, string> = {}): Template {
  const key = JSON.stringify(context);
  const cached = synths.get(key);
  if (cached) return cached;
  const settings = settingsFromContext((name) => ({ smsCountries: 'US', ...context })[name]);
  const synthesised = Template.fromStack(new OtpStack(testApp(), `Cors-${synths.size}`, { settings }));
  synths.set(key, synthesised);
  return synthesised;
}

const methods = (t: Template, httpMethod: string) =>
  Object.values(t.findResources('AWS::ApiGateway::Method') as Record<string, Resource>).filter(
    (method) => method.Properties.HttpMethod === httpMethod,
  );
const gatewayResponses = (t: Template) =>
  Object.values(t.findResources('AWS::ApiGateway::GatewayResponse') as Record<string, Resource>);
const environments = (t: Template) =>
  Object.values(t.findResources('AWS::Lambda::Function') as Record<string, Resource>).map(
    (fn) => (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>,
  );

describe('CORS in the stack', () => {
  it('has no OPTIONS method, no CORS header and no OTP_CORS_ORIGINS without corsOrigins', () => {
    const t = template();
    expect(methods(t, 'OPTIONS')).toEqual([]);
    for (const response of gatewayResponses(t)) {
      expect(Object.keys(response.Properties.ResponseParameters)).not.toContain(
        'gatewayresponse.header.Access-Control-Allow-Origin',
      );
    }
    for (const variables of environments(t)) expect(variables.OTP_CORS_ORIGINS).toBeUndefined();
  });

  it('answers preflights on every route with a mock integration, without authorization, echoing one of several origins', () => {
    const t = template({ corsOrigins: 'https://app.example.com,https://admin.example.com' });
    const options = methods(t, 'OPTIONS');
    // One per resource on a route's path, and the parents API Gateway makes for them.
    expect(options.length).toBeGreaterThanOrEqual(new Set(ROUTES.map((route) => route.path)).size);
    for (const option of options) {
      expect(option.Properties.AuthorizationType).toBe('NONE');
      expect(option.Properties.Integration.Type).toBe('MOCK');
      const [answer] = option.Properties.Integration.IntegrationResponses;
      expect(answer.StatusCode).toBe('204');
      expect(answer.ResponseParameters).toMatchObject({
        'method.response.header.Access-Control-Allow-Origin': "'https://app.example.com'",
        'method.response.header.Vary': "'Origin'",
        'method.response.header.Access-Control-Allow-Headers':
          "'Content-Type,Authorization,X-API-Key,X-OTP-Session,Idempotency-Key'",
        'method.response.header.Access-Control-Allow-Methods': "'GET,POST,DELETE'",
        'method.response.header.Access-Control-Max-Age': "'7200'",
      });
      expect(JSON.stringify(answer.ResponseTemplates)).toContain('https://admin.example.com');
    }
    for (const variables of environments(t).filter((v) => v.OTP_STAGE !== undefined)) {
      expect(variables.OTP_CORS_ORIGINS).toBe('https://app.example.com,https://admin.example.com');
    }
  });

  it("lets a page read the gateway's own problems: the request's Origin among several, Vary, the exposed headers", () => {
    const responses = gatewayResponses(template({ corsOrigins: 'https://app.example.com,https://admin.example.com' }));
    expect(responses.length).toBeGreaterThan(0);
    for (const response of responses) {
      expect(response.Properties.ResponseParameters).toMatchObject({
        'gatewayresponse.header.Access-Control-Allow-Origin': 'method.request.header.Origin',
        'gatewayresponse.header.Vary': "'Origin'",
        'gatewayresponse.header.Access-Control-Expose-Headers': "'Retry-After, Idempotent-Replayed'",
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
      });
    }
  });

  it('names one origin, or *, as a literal', () => {
    for (const [setting, literal] of [
      ['https://app.example.com', "'https://app.example.com'"],
      ['*', "'*'"],
    ]) {
      for (const response of gatewayResponses(template({ corsOrigins: setting as string }))) {
        expect(response.Properties.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin']).toBe(
          literal,
        );
      }
    }
  });

  it('refuses origins with a path, a port wildcard, or * among others, naming the setting', () => {
    for (const bad of ['https://app.example.com/', 'http://localhost:*', '*,https://a.example', 'app.example.com']) {
      expect(() => settingsFromContext((name) => ({ smsCountries: 'US', corsOrigins: bad })[name])).toThrow(
        SettingsError,
      );
      expect(() => settingsFromContext((name) => ({ smsCountries: 'US', corsOrigins: bad })[name])).toThrow(
        /corsOrigins/,
      );
    }
  });
});
