import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { problemBody } from '../functions/http/problem.js';

/** Requests to the send route per source IP per 5 minutes before WAF blocks that IP for a while. */
export const SEND_RATE_PER_IP_PER_5_MINUTES = 50;
/**
 * Verify calls per source IP per 5 minutes: two per code sent (one typo each) for every send the
 * send rule lets through, so a network that may send may also verify; a guesser is stopped by the
 * service's wrong-code counters first, this only keeps the flood off the Lambda.
 */
export const VERIFY_RATE_PER_IP_PER_5_MINUTES = 100;
/**
 * Session calls (GET and DELETE /v1/session, GET /v1/sessions, POST /v1/session/refresh) per source
 * IP per 5 minutes: one a second, well above an app that reads its session on start and refreshes
 * when its access token expires, even for the many phones of a carrier-grade NAT.
 */
export const SESSION_RATE_PER_IP_PER_5_MINUTES = 300;

/**
 * How each rate rule reads the path before matching: percent-decoded (`/v1/otp%2Fsend`,
 * `/v1/%6Ftp/send`), then normalised (`//v1//otp/send`, `/v1/otp/./send`, `/v1/x/../otp/send`), so
 * that no spelling the gateway may route to the method escapes the count. No LOWERCASE: API
 * Gateway paths are case-sensitive, `/V1/OTP/SEND` never reaches the send function (the gateway
 * answers 404 itself, at no Lambda cost), and folding case would only count such calls against the
 * route's budget.
 */
export const PATH_TRANSFORMATIONS = ['URL_DECODE', 'NORMALIZE_PATH'] as const;

/**
 * The routes' paths after PATH_TRANSFORMATIONS, at the end of the URI path: the stage name
 * (`/prod/v1/...` on the execute-api URL) or a custom domain's base path may come before them, and
 * one trailing slash may follow, which the gateway routes to the same resource.
 */
export const SEND_PATH_PATTERN = '/v1/otp/send/?$';
export const VERIFY_PATH_PATTERN = '/v1/otp/verify/?$';
export const SESSION_PATH_PATTERN = '/v1/session(s|/refresh)?/?$';

const visibility = (metricName: string) => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const rateLimitedBody = (title: string) => ({
  contentType: 'APPLICATION_JSON',
  content: JSON.stringify(
    problemBody({
      status: 429,
      slug: 'rate-limited',
      title,
      detail: 'Too many requests from this network. Try again later.',
    }),
  ),
});

interface RateRule {
  name: string;
  priority: number;
  limit: number;
  pattern: string;
  body: 'rate-limited' | 'requests-rate-limited';
  metricName: string;
}

/** A per-IP rate rule over the paths that `pattern` matches, answering 429 problem+json when over. */
function rateRule(rule: RateRule): CfnWebACL.RuleProperty {
  return {
    name: rule.name,
    priority: rule.priority,
    action: {
      block: {
        customResponse: {
          responseCode: 429,
          customResponseBodyKey: rule.body,
          responseHeaders: [{ name: 'Retry-After', value: '300' }],
        },
      },
    },
    statement: {
      rateBasedStatement: {
        limit: rule.limit,
        evaluationWindowSec: 300,
        aggregateKeyType: 'IP',
        scopeDownStatement: {
          regexMatchStatement: {
            fieldToMatch: { uriPath: {} },
            regexString: rule.pattern,
            textTransformations: PATH_TRANSFORMATIONS.map((type, priority) => ({ priority, type })),
          },
        },
      },
    },
    visibilityConfig: visibility(rule.metricName),
  };
}

/**
 * A regional web ACL on the API stage: AWS's common rule set, and per-IP rate limits on the send,
 * verify and session routes ahead of the service's own counters, so floods are refused before they
 * cost a Lambda call.
 */
export class OtpWaf extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: { stage: Stage }) {
    super(scope, id);
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('otp-web-acl'),
      customResponseBodies: {
        'rate-limited': rateLimitedBody('Too many codes requested'),
        'requests-rate-limited': rateLimitedBody('Too many requests'),
      },
      rules: [
        {
          name: 'aws-common-rule-set',
          priority: 0,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesCommonRuleSet' } },
          visibilityConfig: visibility('otp-aws-common'),
        },
        rateRule({
          name: 'send-rate-per-ip',
          priority: 1,
          limit: SEND_RATE_PER_IP_PER_5_MINUTES,
          pattern: SEND_PATH_PATTERN,
          body: 'rate-limited',
          metricName: 'otp-send-rate',
        }),
        rateRule({
          name: 'verify-rate-per-ip',
          priority: 2,
          limit: VERIFY_RATE_PER_IP_PER_5_MINUTES,
          pattern: VERIFY_PATH_PATTERN,
          body: 'requests-rate-limited',
          metricName: 'otp-verify-rate',
        }),
        rateRule({
          name: 'session-rate-per-ip',
          priority: 3,
          limit: SESSION_RATE_PER_IP_PER_5_MINUTES,
          pattern: SESSION_PATH_PATTERN,
          body: 'requests-rate-limited',
          metricName: 'otp-session-rate',
        }),
      ],
    });
    new CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
