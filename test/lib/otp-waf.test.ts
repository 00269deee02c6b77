import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/routes.js';
import {
  ALL_RATE_PER_IP_PER_5_MINUTES,
  OtpWaf,
  type OtpWafProps,
  SEND_RATE_PER_IP_PER_5_MINUTES,
  SESSION_RATE_PER_IP_PER_5_MINUTES,
  VERIFY_RATE_PER_IP_PER_5_MINUTES,
} from '../../lib/otp-waf.js';
import { testApp } from './test-app.js';
import { type RegexMatch, regexMatches, transformed } from './waf-transformations.js';

type Rule = Record<string, any>;

/** The web ACL alone, on a small API: what the rules are does not depend on the rest of the stack. */
function rulesOf(props: Omit<OtpWafProps, 'stage'> = {}): Record<string, Rule> {
  const stack = new Stack(testApp(), 'Waf');
  const api = new RestApi(stack, 'Api', { cloudWatchRole: false });
  api.root.addMethod('GET', new MockIntegration());
  new OtpWaf(stack, 'Waf', { stage: api.deploymentStage, ...props });
  const [acl] = Object.values(Template.fromStack(stack).findResources('AWS::WAFv2::WebACL'));
  return Object.fromEntries((acl?.Properties.Rules as Rule[]).map((rule) => [rule.Name, rule]));
}

const RULES = rulesOf();

const scopeDown = (name: string): RegexMatch => {
  const match = RULES[name]?.Statement.RateBasedStatement.ScopeDownStatement?.RegexMatchStatement as RegexMatch;
  if (!match) throw new Error(`${name} has no regex scope-down`);
  return match;
};

/**
 * Spellings of `path` that reach the gateway as another URI path and that the gateway routes, or may
 * route, to the same method:
 * - with one trailing slash: API Gateway routes `/a/b/` as `/a/b` (aws-powertools/powertools-lambda-python#1577,
 *   whose router was changed to match);
 * - after the stage (`/prod/...`): the execute-api URL; a custom domain's root mapping has no prefix;
 * - with repeated slashes, `.` and `..` segments, or percent-encoded characters: whether API Gateway
 *   collapses, resolves or decodes them before routing is not documented; they are counted so that
 *   the limit does not depend on it;
 * - in another case: API Gateway's paths are case-sensitive, so these should get the gateway's 404;
 *   counted too, for the same reason.
 */
const spellings = (path: string) => [
  path,
  `${path}/`,
  `/prod${path}`,
  `/prod${path}/`,
  `/${path}`,
  `${path.replace('/v1/', '/v1//')}//`,
  path.replace('/v1/', '/v1/./'),
  path.replace('/v1/', '/v1/x/../'),
  `${path}/.`,
  path.replace('/v1/', '/v1%2F'),
  path.replace('/v1/', '/v1/%2E/'),
  path.replace('/v1/', '/%76%31/'),
  path.replace(/([a-z])$/, (letter) => `%${letter.charCodeAt(0).toString(16)}`),
  path.replace(/([a-z])$/, (letter) => `%${letter.charCodeAt(0).toString(16).toUpperCase()}`),
  path.toUpperCase(),
  `/PROD${path.toUpperCase()}/`,
  path.replace(/[a-z]+$/, (last) => last[0]?.toUpperCase() + last.slice(1)),
];

describe('OtpWaf rules', () => {
  it('limits every request per IP, and send, verify and the session routes each tighter', () => {
    expect(Object.keys(RULES)).toEqual([
      'aws-common-rule-set',
      'all-rate-per-ip',
      'send-rate-per-ip',
      'verify-rate-per-ip',
      'session-rate-per-ip',
    ]);
    expect(RULES['all-rate-per-ip']?.Statement.RateBasedStatement).toEqual({
      Limit: ALL_RATE_PER_IP_PER_5_MINUTES,
      EvaluationWindowSec: 300,
      AggregateKeyType: 'IP',
    });
    for (const name of ['send-rate-per-ip', 'verify-rate-per-ip', 'session-rate-per-ip']) {
      expect(RULES[name]?.Statement.RateBasedStatement.Limit).toBeLessThan(ALL_RATE_PER_IP_PER_5_MINUTES);
    }
  });

  it('counts every request in the blanket rule before a route rule can block it', () => {
    const priority = (name: string) => RULES[name]?.Priority as number;
    for (const name of ['send-rate-per-ip', 'verify-rate-per-ip', 'session-rate-per-ip']) {
      expect(priority('all-rate-per-ip')).toBeLessThan(priority(name));
    }
    expect(priority('aws-common-rule-set')).toBeLessThan(priority('all-rate-per-ip'));
  });

  it.each([
    ['all-rate-per-ip', ALL_RATE_PER_IP_PER_5_MINUTES, 'requests-rate-limited'],
    ['send-rate-per-ip', SEND_RATE_PER_IP_PER_5_MINUTES, 'rate-limited'],
    ['verify-rate-per-ip', VERIFY_RATE_PER_IP_PER_5_MINUTES, 'requests-rate-limited'],
    ['session-rate-per-ip', SESSION_RATE_PER_IP_PER_5_MINUTES, 'requests-rate-limited'],
  ])('limits %s per IP per 5 minutes to %i, answering 429 %s with Retry-After', (name, limit, body) => {
    const rule = RULES[name];
    expect(rule?.Statement.RateBasedStatement).toMatchObject({
      AggregateKeyType: 'IP',
      Limit: limit,
      EvaluationWindowSec: 300,
    });
    expect(rule?.Action.Block.CustomResponse).toEqual({
      ResponseCode: 429,
      CustomResponseBodyKey: body,
      ResponseHeaders: [{ Name: 'Retry-After', Value: '300' }],
    });
  });

  it('answers its 429s with problem+json bodies', () => {
    const stack = new Stack(testApp(), 'Bodies');
    const api = new RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', new MockIntegration());
    new OtpWaf(stack, 'Waf', { stage: api.deploymentStage });
    const t = Template.fromStack(stack);
    for (const key of ['rate-limited', 'requests-rate-limited']) {
      t.hasResourceProperties('AWS::WAFv2::WebACL', {
        CustomResponseBodies: { [key]: Match.objectLike({ ContentType: 'APPLICATION_JSON' }) },
      });
    }
    const [acl] = Object.values(t.findResources('AWS::WAFv2::WebACL'));
    const body = JSON.parse(acl?.Properties.CustomResponseBodies['rate-limited'].Content as string);
    expect(body).toMatchObject({ status: 429, error: 'rate-limited', success: false });
  });

  it('takes other limits, within WAF bounds', () => {
    const rules = rulesOf({ rateLimits: { all: 5000, send: 200 } });
    expect(rules['all-rate-per-ip']?.Statement.RateBasedStatement.Limit).toBe(5000);
    expect(rules['send-rate-per-ip']?.Statement.RateBasedStatement.Limit).toBe(200);
    expect(rules['verify-rate-per-ip']?.Statement.RateBasedStatement.Limit).toBe(VERIFY_RATE_PER_IP_PER_5_MINUTES);
    expect(() => rulesOf({ rateLimits: { send: 5 } })).toThrow(/rateLimits.send must be a whole number from 10/);
    expect(() => rulesOf({ rateLimits: { verify: 1.5 } })).toThrow(/rateLimits.verify/);
  });
});

describe('OtpWaf path matching (a model of WAF: test/lib/waf-transformations.ts)', () => {
  it('reads the path decoded, normalised and lower-cased, in that order', () => {
    const match = scopeDown('send-rate-per-ip');
    expect(match.FieldToMatch).toEqual({ UriPath: {} });
    expect(match.TextTransformations).toEqual([
      { Priority: 0, Type: 'URL_DECODE' },
      { Priority: 1, Type: 'NORMALIZE_PATH' },
      { Priority: 2, Type: 'LOWERCASE' },
    ]);
    // Decoding first: an encoded slash or dot is then normalised like a plain one.
    expect(transformed(match, '/prod/V1%2F%2E%2F/otp//x/../Send/')).toBe('/prod/v1/otp/send/');
  });

  it.each([
    ['send-rate-per-ip', ['/v1/otp/send']],
    ['verify-rate-per-ip', ['/v1/otp/verify']],
    ['session-rate-per-ip', ['/v1/session', '/v1/sessions', '/v1/session/refresh']],
  ])('counts every spelling of the paths of %s', (name, paths) => {
    for (const path of paths) {
      expect(ROUTES.some((route) => route.path === path)).toBe(true);
      for (const spelling of spellings(path)) expect(regexMatches(scopeDown(name), spelling), spelling).toBe(true);
    }
  });

  it.each([
    [
      'send-rate-per-ip',
      ['/v1/otp/verify', '/v1/otp/sender', '/v1/otp/send/x', '/v1/otp/send//x', '/v1/otp/policy', '/v1/otp/send%2Fx'],
    ],
    ['verify-rate-per-ip', ['/v1/otp/send', '/v1/otp/verifyx', '/v1/otp/verify/x', '/v1/otp/verify/x/']],
    ['session-rate-per-ip', ['/v1/health', '/v1/sessionx', '/v1/session/x', '/v1/session/refresh/x', '/v1/otp/send']],
  ])('does not count in %s the paths the gateway routes elsewhere', (name, paths) => {
    for (const path of paths) expect(regexMatches(scopeDown(name), path), path).toBe(false);
  });

  it('decodes once: a double-encoded path is not the route for the rule, nor for the gateway', () => {
    // `%2573` decodes to `%73`, not to `s`: the gateway would have to decode twice to route it to send.
    expect(regexMatches(scopeDown('send-rate-per-ip'), '/v1/otp/%2573end')).toBe(false);
  });
});
