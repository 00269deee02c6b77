import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as health } from '../../functions/handlers/health.js';
import { methodsOf, ROUTES } from '../../functions/routes.js';
import { SECURITY_HEADERS } from '../../lib/gateway-responses.js';
import { OtpStack } from '../../lib/otp-stack.js';
import { settingsFromContext } from '../../lib/stack-config.js';
import { testApp } from './test-app.js';

type Resource = { Type: string; Properties: Record<string, any> };

const synths = new Map<string, Template>();
function template(context: Record<string, string> = {}): Template {
  const key = JSON.stringify(context);
  const cached = synths.get(key);
  if (cached) return cached;
  const settings = settingsFromContext((name) => ({ smsCountries: 'US', ...context })[name]);
  const synthesised = Template.fromStack(new OtpStack(testApp(), `Answers-${synths.size}`, { settings }));
  synths.set(key, synthesised);
  return synthesised;
}

const gatewayResponses = (t: Template) =>
  Object.values(t.findResources('AWS::ApiGateway::GatewayResponse') as Record<string, Resource>);

/** The ANY methods, by the path of their resource. */
function anyMethods(t: Template): Record<string, Resource> {
  const resources = t.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
  const pathOf = (id: string): string => {
    const resource = resources[id];
    if (!resource) return '';
    const parent = resource.Properties.ParentId as { Ref?: string };
    return `${parent.Ref ? pathOf(parent.Ref) : ''}/${resource.Properties.PathPart as string}`;
  };
  return Object.fromEntries(
    Object.values(t.findResources('AWS::ApiGateway::Method') as Record<string, Resource>)
      .filter((method) => method.Properties.HttpMethod === 'ANY')
      .map((method) => [pathOf((method.Properties.ResourceId as { Ref: string }).Ref), method]),
  );
}

/** The header names and literal values a response maps, without the mapping's prefix and quotes. */
const literalHeaders = (parameters: Record<string, string>, prefix: string) =>
  Object.fromEntries(
    Object.entries(parameters)
      .filter(([, value]) => value.startsWith("'"))
      .map(([name, value]) => [name.slice(prefix.length), value.slice(1, -1)]),
  );

describe("The gateway's own answers", () => {
  it.each([
    ['UNSUPPORTED_MEDIA_TYPE', 415, 'unsupported-media-type'],
    ['WAF_FILTERED', 403, 'forbidden'],
    ['ACCESS_DENIED', 403, 'forbidden'],
    ['INVALID_API_KEY', 403, 'forbidden'],
    ['EXPIRED_TOKEN', 403, 'forbidden'],
    ['INVALID_SIGNATURE', 403, 'forbidden'],
    ['THROTTLED', 429, 'rate-limited'],
    ['QUOTA_EXCEEDED', 429, 'rate-limited'],
    ['UNAUTHORIZED', 401, 'unauthorized'],
    ['MISSING_AUTHENTICATION_TOKEN', 404, 'not-found'],
    ['RESOURCE_NOT_FOUND', 404, 'not-found'],
    ['REQUEST_TOO_LARGE', 413, 'payload-too-large'],
    ['BAD_REQUEST_BODY', 400, 'bad-request'],
    ['BAD_REQUEST_PARAMETERS', 400, 'bad-request'],
    ['INTEGRATION_TIMEOUT', 504, 'timeout'],
  ])('answer %s with its own status, %i, and body', (type, status, slug) => {
    const response = gatewayResponses(template()).find((r) => r.Properties.ResponseType === type);
    expect(response?.Properties.StatusCode).toBe(String(status));
    const body = JSON.parse(response?.Properties.ResponseTemplates['application/json'] as string);
    expect(body).toMatchObject({ status, error: slug, type: `/problems/${slug}`, success: false });
  });

  it('give a 429 its Retry-After, in the header and the body', () => {
    for (const type of ['THROTTLED', 'QUOTA_EXCEEDED']) {
      const response = gatewayResponses(template()).find((r) => r.Properties.ResponseType === type);
      const retryAfter = response?.Properties.ResponseParameters['gatewayresponse.header.Retry-After'] as string;
      const body = JSON.parse(response?.Properties.ResponseTemplates['application/json'] as string);
      expect(retryAfter).toMatch(/^'\d+'$/);
      expect(body.retryAfter).toBe(Number(retryAfter.slice(1, -1)));
    }
  });

  it('carry the security headers of the handlers, which the handlers do put on their answers', async () => {
    const answer = await health(
      { httpMethod: 'GET', path: '/v1/health', resource: '/v1/health', headers: {} } as APIGatewayProxyEvent,
      { functionName: 'health', awsRequestId: 'test' } as Context,
    );
    const handlerHeaders = Object.fromEntries(
      Object.entries(answer.headers ?? {}).filter(([name]) => !['Content-Type', 'Cache-Control'].includes(name)),
    );
    expect(SECURITY_HEADERS).toEqual(handlerHeaders);
    for (const response of gatewayResponses(template())) {
      expect(literalHeaders(response.Properties.ResponseParameters, 'gatewayresponse.header.')).toMatchObject({
        ...SECURITY_HEADERS,
        'Content-Type': 'application/problem+json',
        'Cache-Control': 'no-store',
      });
    }
  });
});

describe('A wrong method on a route', () => {
  const paths = [...new Set(ROUTES.map((route) => route.path))];

  it('is answered 405 with Allow on every route path, and nowhere else, by a mock (no function runs)', () => {
    const methods = anyMethods(template());
    expect(Object.keys(methods).sort()).toEqual([...paths].sort());
    for (const path of paths) {
      const method = methods[path];
      expect(method?.Properties.AuthorizationType).toBe('NONE');
      expect(method?.Properties.Integration.Type).toBe('MOCK');
      // Bodies of the usual types get their 405; any other is refused (415) rather than passed on.
      expect(method?.Properties.Integration.PassthroughBehavior).toBe('NEVER');
      expect(Object.keys(method?.Properties.Integration.RequestTemplates)).toContain('application/json');
      const [answer, ...others] = method?.Properties.Integration.IntegrationResponses ?? [];
      expect(others).toEqual([]);
      // No SelectionPattern: the default response, whatever the mock says.
      expect(answer.SelectionPattern).toBeUndefined();
      expect(answer.StatusCode).toBe('405');
      expect(literalHeaders(answer.ResponseParameters, 'method.response.header.')).toEqual({
        ...SECURITY_HEADERS,
        'Content-Type': 'application/problem+json',
        'Cache-Control': 'no-store',
        Allow: methodsOf(path).join(', '),
      });
      const body = JSON.parse(answer.ResponseTemplates['application/json'] as string);
      expect(body).toMatchObject({
        status: 405,
        error: 'method-not-allowed',
        detail: `$context.httpMethod is not allowed here; use ${methodsOf(path).join(', ')}.`,
      });
      expect(method?.Properties.MethodResponses).toEqual([
        {
          StatusCode: '405',
          ResponseParameters: Object.fromEntries(Object.keys(answer.ResponseParameters).map((name) => [name, true])),
        },
      ]);
    }
  });

  it('lets a page of an allowed origin read the 405, echoing one of several origins', () => {
    const methods = anyMethods(template({ corsOrigins: 'https://app.example.com,https://admin.example.com' }));
    for (const path of paths) {
      const [answer] = methods[path]?.Properties.Integration.IntegrationResponses ?? [];
      expect(answer.ResponseParameters).toMatchObject({
        'method.response.header.Access-Control-Allow-Origin': "'https://app.example.com'",
        'method.response.header.Vary': "'Origin'",
        'method.response.header.Access-Control-Expose-Headers': "'Retry-After, Idempotent-Replayed'",
      });
      const vtl = answer.ResponseTemplates['application/json'] as string;
      expect(vtl).toContain(
        '#if($origin == "https://app.example.com" || $origin == "https://admin.example.com")#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#end',
      );
      // The last line is the body.
      expect(JSON.parse(vtl.split('\n').at(-1) as string)).toMatchObject({ status: 405 });
    }
  });

  it('leaves preflights to the OPTIONS methods where CORS is on', () => {
    const t = template({ corsOrigins: '*' });
    const options = Object.values(t.findResources('AWS::ApiGateway::Method') as Record<string, Resource>).filter(
      (method) => method.Properties.HttpMethod === 'OPTIONS',
    );
    expect(options.length).toBeGreaterThanOrEqual(paths.length);
  });
});
