import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { problemBody } from '../functions/http/problem.js';

/**
 * Requests per source IP per 5 minutes, each rule's default. A rate rule counts per IP, and one IP
 * may be a carrier-grade NAT with thousands of phones behind it (README, "What is deployed"): the
 * limits are far above what one person needs, and each can be raised (`wafRateLimits`).
 */
export interface WafRateLimits {
  /** Every request to the API, whatever its path or method: a flood of any route, or of none. */
  readonly all?: number;
  /** The send route: each call may cost an SMS. */
  readonly send?: number;
  /** The verify route. */
  readonly verify?: number;
  /** GET and DELETE /v1/session, GET /v1/sessions, POST /v1/session/refresh together. */
  readonly session?: number;
}

/**
 * Every request per source IP per 5 minutes (3.3 a second), for the paths the route rules do not
 * cover (health, policy, JWKS, discovery, OpenAPI, preflights, unknown paths) and as a ceiling over
 * all of them: above the route limits together, so that it only stops what no app does.
 */
export const ALL_RATE_PER_IP_PER_5_MINUTES = 1000;
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

/** WAF's bounds for a rate-based rule's limit (AWS::WAFv2::WebACL RateBasedStatement, Limit). */
export const WAF_RATE_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;

/**
 * How each route rule reads the path before matching, in this order:
 * - URL_DECODE: `/v1/otp/%73end`, `/v1%2Fotp/send`, `/v1/otp/%2E/send` read as the plain path;
 * - NORMALIZE_PATH: `//v1//otp/send`, `/v1/otp/./send`, `/v1/x/../otp/send` read as `/v1/otp/send`;
 * - LOWERCASE: `/V1/OTP/SEND` reads as `/v1/otp/send`.
 * API Gateway's paths are case-sensitive as far as its documentation and issue trackers tell, so
 * `/V1/OTP/SEND` should get the gateway's own 404 and reach no function; the rules count it anyway,
 * so that they do not depend on it: such a call only spends its own IP's budget, as no app sends it.
 * What each does is AWS's text (AWS WAF Developer Guide, "Using text transformations"), modelled for
 * the tests in test/lib/waf-transformations.ts.
 */
export const PATH_TRANSFORMATIONS = ['URL_DECODE', 'NORMALIZE_PATH', 'LOWERCASE'] as const;

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

/** Every rule blocks an IP for at least its 5-minute window: the Retry-After of each block, and the body's. */
const BLOCK_SECONDS = 300;

const rateLimitedBody = (title: string) => ({
  contentType: 'APPLICATION_JSON',
  content: JSON.stringify(
    problemBody(
      {
        status: 429,
        slug: 'rate-limited',
        title,
        detail: 'Too many requests from this network. Try again later.',
      },
      { retryAfter: BLOCK_SECONDS },
    ),
  ),
});

interface RateRule {
  name: string;
  priority: number;
  limit: number;
  /** The paths the rule counts; every request when left out. */
  pattern?: string;
  body: 'rate-limited' | 'requests-rate-limited';
  metricName: string;
}

/** A per-IP rate rule over the paths that `pattern` matches, answering 429 problem+json when over. */
function rateRule(rule: RateRule): CfnWebACL.RuleProperty {
  const scopeDown: Pick<CfnWebACL.RateBasedStatementProperty, 'scopeDownStatement'> = rule.pattern
    ? {
        scopeDownStatement: {
          regexMatchStatement: {
            fieldToMatch: { uriPath: {} },
            regexString: rule.pattern,
            textTransformations: PATH_TRANSFORMATIONS.map((type, priority) => ({ priority, type })),
          },
        },
      }
    : {};
  return {
    name: rule.name,
    priority: rule.priority,
    action: {
      block: {
        customResponse: {
          responseCode: 429,
          customResponseBodyKey: rule.body,
          responseHeaders: [{ name: 'Retry-After', value: String(BLOCK_SECONDS) }],
        },
      },
    },
    statement: {
      rateBasedStatement: {
        limit: rule.limit,
        evaluationWindowSec: 300,
        aggregateKeyType: 'IP',
        ...scopeDown,
      },
    },
    visibilityConfig: visibility(rule.metricName),
  };
}

/** The limits of `limits` over the defaults, each checked against WAF's bounds. */
export function wafRateLimits(limits: WafRateLimits = {}): Required<WafRateLimits> {
  const resolved = {
    all: limits.all ?? ALL_RATE_PER_IP_PER_5_MINUTES,
    send: limits.send ?? SEND_RATE_PER_IP_PER_5_MINUTES,
    verify: limits.verify ?? VERIFY_RATE_PER_IP_PER_5_MINUTES,
    session: limits.session ?? SESSION_RATE_PER_IP_PER_5_MINUTES,
  };
  for (const [name, limit] of Object.entries(resolved)) {
    if (!Number.isInteger(limit) || limit < WAF_RATE_LIMIT_RANGE.min || limit > WAF_RATE_LIMIT_RANGE.max) {
      throw new Error(
        `OtpWaf: rateLimits.${name} must be a whole number from ${WAF_RATE_LIMIT_RANGE.min} to ${WAF_RATE_LIMIT_RANGE.max} (got ${limit}).`,
      );
    }
  }
  return resolved;
}

export interface OtpWafProps {
  stage: Stage;
  /** Requests per source IP per 5 minutes; each unset one keeps its default (ALL_RATE_PER_IP_PER_5_MINUTES, ...). */
  rateLimits?: WafRateLimits;
}

/**
 * A regional web ACL on the API stage: AWS's common rule set, a per-IP rate limit on every request,
 * and tighter ones on the send, verify and session routes, ahead of the service's own counters, so
 * floods are refused before they cost a Lambda call.
 */
export class OtpWaf extends Construct {
  readonly webAcl: CfnWebACL;
  /** The limits in force, defaults included. */
  readonly rateLimits: Required<WafRateLimits>;

  constructor(scope: Construct, id: string, props: OtpWafProps) {
    super(scope, id);
    this.rateLimits = wafRateLimits(props.rateLimits);
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('otp-web-acl'),
      customResponseBodies: {
        'rate-limited': rateLimitedBody('Too many codes requested'),
        'requests-rate-limited': rateLimitedBody('Too many requests'),
      },
      // A rule counts only the requests that reach it: the blanket rule comes first, so that it
      // counts those the route rules then block too.
      rules: [
        {
          name: 'aws-common-rule-set',
          priority: 0,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesCommonRuleSet' } },
          visibilityConfig: visibility('otp-aws-common'),
        },
        rateRule({
          name: 'all-rate-per-ip',
          priority: 1,
          limit: this.rateLimits.all,
          body: 'requests-rate-limited',
          metricName: 'otp-all-rate',
        }),
        rateRule({
          name: 'send-rate-per-ip',
          priority: 2,
          limit: this.rateLimits.send,
          pattern: SEND_PATH_PATTERN,
          body: 'rate-limited',
          metricName: 'otp-send-rate',
        }),
        rateRule({
          name: 'verify-rate-per-ip',
          priority: 3,
          limit: this.rateLimits.verify,
          pattern: VERIFY_PATH_PATTERN,
          body: 'requests-rate-limited',
          metricName: 'otp-verify-rate',
        }),
        rateRule({
          name: 'session-rate-per-ip',
          priority: 4,
          limit: this.rateLimits.session,
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
