import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  Cors,
  type CorsOptions,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CORS_ALLOW_HEADERS, CORS_MAX_AGE_SECONDS, type CorsOrigins } from '../functions/http/cors.js';
import { type HandlerName, ROUTES } from '../functions/routes.js';

/**
 * Requests per second, the stage's default. API Gateway applies it to each method on its own, and
 * all methods draw on the account's regional limit, shared by every caller.
 */
export const STAGE_THROTTLE = { rate: 100, burst: 200 };
/**
 * Each route's own limit, below the stage's, so that a flood of one route, from whoever, is refused
 * by the gateway before it takes the functions' concurrency or the account's budget from the others.
 * Chosen from what each call costs and how often a client needs it: send costs an SMS or e-mail and
 * is needed once per sign-in (20/s); verify follows a send and allows a retry or two (30/s); reading
 * the session and refreshing happen on every app start and token expiry (30/s); listing sessions and
 * signing out are rare, user-driven actions (10/s). Bursts are twice the rate, as for the stage.
 */
export const SEND_THROTTLE = { rate: 20, burst: 40 };
export const VERIFY_THROTTLE = { rate: 30, burst: 60 };
export const SESSION_READ_THROTTLE = { rate: 30, burst: 60 };
export const SESSION_DELETE_THROTTLE = { rate: 10, burst: 20 };
export const SESSIONS_THROTTLE = { rate: 10, burst: 20 };
export const REFRESH_THROTTLE = { rate: 30, burst: 60 };

/** The throttled methods, as `deployOptions.methodOptions` keys (`<resource path>/<method>`). */
export const ROUTE_THROTTLES: Readonly<Record<string, { rate: number; burst: number }>> = {
  '/v1/otp/send/POST': SEND_THROTTLE,
  '/v1/otp/verify/POST': VERIFY_THROTTLE,
  '/v1/session/GET': SESSION_READ_THROTTLE,
  '/v1/session/DELETE': SESSION_DELETE_THROTTLE,
  '/v1/sessions/GET': SESSIONS_THROTTLE,
  '/v1/session/refresh/POST': REFRESH_THROTTLE,
};

export interface OtpRestApiProps {
  stage: string;
  functions: Record<HandlerName, IFunction>;
  retention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Web origins whose preflights the gateway answers; no OPTIONS method without them. */
  corsOrigins?: CorsOrigins;
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

/** The REST API: the routes of functions/routes.ts on their functions, throttled, logged without bodies. */
export function otpRestApi(scope: Construct, props: OtpRestApiProps): RestApi {
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
      throttlingRateLimit: STAGE_THROTTLE.rate,
      throttlingBurstLimit: STAGE_THROTTLE.burst,
      // A method override does not inherit the stage's logging and metrics: repeat them.
      methodOptions: Object.fromEntries(
        Object.entries(ROUTE_THROTTLES).map(([key, throttle]) => [
          key,
          {
            throttlingRateLimit: throttle.rate,
            throttlingBurstLimit: throttle.burst,
            loggingLevel: MethodLoggingLevel.ERROR,
            dataTraceEnabled: false,
            metricsEnabled: true,
          },
        ]),
      ),
      accessLogDestination: new LogGroupLogDestination(accessLogs),
      accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      // Errors only: request bodies hold codes and must not reach execution logs.
      loggingLevel: MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
      tracingEnabled: true,
    },
  });
  for (const route of ROUTES) {
    api.root.resourceForPath(route.path).addMethod(route.method, new LambdaIntegration(props.functions[route.handler]));
  }
  return api;
}
