import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AccessLogFormat,
  type CfnRestApi,
  Cors,
  type CorsOptions,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CORS_ALLOW_HEADERS, CORS_MAX_AGE_SECONDS, type CorsOrigins } from '../functions/http/cors.js';
import { type HandlerName, ROUTES } from '../functions/routes.js';

/** The stage's throttle; a route's own is a share of it. Unset values take STAGE_THROTTLE's. */
export interface ApiThrottle {
  /** Requests a second, on average. */
  readonly rate?: number;
  /** Requests at once above the rate, the size of the token bucket. @default twice the rate, at most 5,000 */
  readonly burst?: number;
}

/**
 * What a stage's throttle may be: the account's default regional limits (10,000 requests a second,
 * burst 5,000) above, shared by every API of the account in the region; at least 10 a second, so
 * that the smallest route share (a tenth) is still 1.
 */
export const THROTTLE_LIMITS = { minRate: 10, maxRate: 10_000, minBurst: 1, maxBurst: 5_000 } as const;

/**
 * Requests per second, the stage's default. API Gateway applies it to each method on its own (the
 * routes without a limit of their own: health, policy, the well-known documents, OpenAPI, preflights),
 * and all methods draw on the account's regional limit, shared by every caller.
 *
 * Sized for the peak of an app with about 200,000 sign-ins a day: if a tenth of them fall in its
 * busiest hour, and that hour's busiest minute is three times its average, that minute asks for
 * 200,000 x 0.1 / 3,600 x 3 = 17 sends a second, under the send route's 20; verify gets 30 for the
 * retries, and session reads and refreshes 30 each (108,000 app starts an hour). The burst (twice the
 * rate) absorbs the second in which a push notification brings many phones at once. For a bigger
 * app, raise `throttleRate` in proportion (README, Settings): every route's limit follows as its share
 * of it. (The functions' SMS caps, 2,000 an hour for the deployment by default, bind before the send
 * throttle does unless they are raised too.)
 */
export const STAGE_THROTTLE = { rate: 100, burst: 200 };
/**
 * Each route's own limit as a share of the stage's, in tenths, so that a flood of one route, from
 * whoever, is refused by the gateway before it takes the functions' concurrency or the account's
 * budget from the others. Chosen from what each call costs and how often a client needs it: send
 * costs an SMS or e-mail and is needed once per sign-in (2 tenths); verify follows a send and allows a
 * retry or two (3); reading the session and refreshing happen on every app start and token expiry
 * (3); listing sessions and signing out are rare, user-driven actions (1).
 */
export const ROUTE_THROTTLE_TENTHS: Readonly<Record<string, number>> = {
  '/v1/otp/send/POST': 2,
  '/v1/otp/verify/POST': 3,
  '/v1/session/GET': 3,
  '/v1/session/DELETE': 1,
  '/v1/sessions/GET': 1,
  '/v1/session/refresh/POST': 3,
};

/** The stage's throttle with its defaults filled in. */
export function stageThrottle(throttle: ApiThrottle = {}): { rate: number; burst: number } {
  const rate = throttle.rate ?? STAGE_THROTTLE.rate;
  const burst = throttle.burst ?? (throttle.rate === undefined ? STAGE_THROTTLE.burst : Math.min(2 * rate, 5_000));
  for (const [name, value, min, max] of [
    ['rate', rate, THROTTLE_LIMITS.minRate, THROTTLE_LIMITS.maxRate],
    ['burst', burst, THROTTLE_LIMITS.minBurst, THROTTLE_LIMITS.maxBurst],
  ] as const) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`OtpRestApi: throttle.${name} must be a whole number from ${min} to ${max} (got ${value}).`);
    }
  }
  return { rate, burst };
}

/**
 * The throttled methods, as `deployOptions.methodOptions` keys (`<resource path>/<method>`), each its
 * share of the stage's rate and burst, at least 1.
 */
export function routeThrottles(throttle: ApiThrottle = {}): Record<string, { rate: number; burst: number }> {
  const stage = stageThrottle(throttle);
  return Object.fromEntries(
    Object.entries(ROUTE_THROTTLE_TENTHS).map(([key, tenths]) => [
      key,
      {
        rate: Math.max(1, Math.floor((stage.rate * tenths) / 10)),
        burst: Math.max(1, Math.floor((stage.burst * tenths) / 10)),
      },
    ]),
  );
}

/** The routes' limits at the default stage throttle. */
export const ROUTE_THROTTLES: Readonly<Record<string, { rate: number; burst: number }>> = routeThrottles();

/**
 * One JSON line per request. `path` is the path as the client sent it (`$context.path`, with the
 * stage on the execute-api URL), `resourcePath` the route it matched; `errorType` names what the
 * gateway refused it as (`THROTTLED`, `WAF_FILTERED`, `MISSING_AUTHENTICATION_TOKEN`, ...), empty
 * when it reached the function; the latencies are in milliseconds. No query string, no header, no
 * body: tokens and codes never reach it.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  domainName: '$context.domainName',
  tlsVersion: '$context.tlsVersion',
  status: '$context.status',
  responseLength: '$context.responseLength',
  errorType: '$context.error.responseType',
  wafStatus: '$context.waf.status',
  wafResponseCode: '$context.wafResponseCode',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
};

/** Numbers in the line are written bare, the rest as JSON strings. */
const NUMERIC_ACCESS_LOG_FIELDS = new Set(['status', 'responseLength', 'responseLatency']);

export function accessLogFormat(): AccessLogFormat {
  const members = Object.entries(ACCESS_LOG_FIELDS).map(([name, variable]) =>
    NUMERIC_ACCESS_LOG_FIELDS.has(name) ? `"${name}":${variable}` : `"${name}":"${variable}"`,
  );
  return AccessLogFormat.custom(`{${members.join(',')}}`);
}

/**
 * The minimum TLS version of the API's endpoints: TLS 1.2 (and 1.3), never 1.0, on the execute-api
 * endpoint (a regional API's default is TLS_1_0) as on a custom domain. `TLS_1_2` is API Gateway's
 * legacy policy name, which needs no endpoint access mode.
 */
export const TLS_SECURITY_POLICY = SecurityPolicy.TLS_1_2;

/** A custom domain the API answers on; the execute-api URL is turned off with it. */
export interface OtpCustomDomain {
  /** Lower-case host name, e.g. `otp.acme.example`. */
  readonly domainName: string;
  /** An ACM certificate for it, in the stack's region (a regional endpoint). */
  readonly certificateArn: string;
}

export interface OtpRestApiProps {
  stage: string;
  functions: Record<HandlerName, IFunction>;
  retention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Web origins whose preflights the gateway answers; no OPTIONS method without them. */
  corsOrigins?: CorsOrigins;
  /** The stage's throttle; each route's limit is a share of it. */
  throttle?: ApiThrottle;
  /** With a custom domain, the API answers there only: the execute-api endpoint is disabled. */
  customDomain?: OtpCustomDomain;
}

/**
 * The gateway's answer to preflights, the same as the local server's (functions/http/cors.ts):
 * CDK's mock integration echoes the request's Origin when it is one of several allowed.
 */
export function corsPreflight(origins: CorsOrigins): CorsOptions {
  return {
    allowOrigins: origins === '*' ? Cors.ALL_ORIGINS : [...origins],
    allowMethods: [...new Set(ROUTES.map((route) => route.method))],
    allowHeaders: CORS_ALLOW_HEADERS,
    maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
  };
}

/**
 * The REST API: the routes of functions/routes.ts on their functions, throttled, logged without
 * bodies, on TLS 1.2 or newer, and on a custom domain when one is given.
 */
export function otpRestApi(scope: Construct, props: OtpRestApiProps): RestApi {
  const throttle = stageThrottle(props.throttle);
  const accessLogs = new LogGroup(scope, 'access-logs', {
    retention: props.retention,
    removalPolicy: props.removalPolicy,
  });
  const api = new RestApi(scope, 'Api', {
    restApiName: `otp-service-${props.stage}`,
    description: 'One-time-password service',
    ...(props.corsOrigins ? { defaultCorsPreflightOptions: corsPreflight(props.corsOrigins) } : {}),
    endpointTypes: [EndpointType.REGIONAL],
    cloudWatchRole: true,
    // One role per account and region serves every API's logs: a dev stack's destroy must not take
    // prod's with it.
    cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
    deployOptions: {
      stageName: props.stage,
      throttlingRateLimit: throttle.rate,
      throttlingBurstLimit: throttle.burst,
      // A method override does not inherit the stage's logging and metrics: repeat them.
      methodOptions: Object.fromEntries(
        Object.entries(routeThrottles(throttle)).map(([key, route]) => [
          key,
          {
            throttlingRateLimit: route.rate,
            throttlingBurstLimit: route.burst,
            loggingLevel: MethodLoggingLevel.ERROR,
            dataTraceEnabled: false,
            metricsEnabled: true,
          },
        ]),
      ),
      accessLogDestination: new LogGroupLogDestination(accessLogs),
      accessLogFormat: accessLogFormat(),
      // Errors only: request bodies hold codes and must not reach execution logs.
      loggingLevel: MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
      tracingEnabled: true,
    },
    // Apps reach the API at the custom domain only, so that it can move without an app release.
    disableExecuteApiEndpoint: props.customDomain !== undefined,
    ...(props.customDomain
      ? {
          domainName: {
            domainName: props.customDomain.domainName,
            certificate: Certificate.fromCertificateArn(scope, 'certificate', props.customDomain.certificateArn),
            endpointType: EndpointType.REGIONAL,
            securityPolicy: TLS_SECURITY_POLICY,
          },
        }
      : {}),
  });
  (api.node.defaultChild as CfnRestApi).securityPolicy = TLS_SECURITY_POLICY;
  for (const route of ROUTES) {
    api.root.resourceForPath(route.path).addMethod(route.method, new LambdaIntegration(props.functions[route.handler]));
  }
  return api;
}
