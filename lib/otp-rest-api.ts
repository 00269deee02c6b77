import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type HandlerName, ROUTES } from '../functions/routes.js';

/** Requests per second for the whole stage, and for the send route, which costs money per call. */
export const STAGE_THROTTLE = { rate: 100, burst: 200 };
export const SEND_THROTTLE = { rate: 20, burst: 40 };

export interface OtpRestApiProps {
  stage: string;
  functions: Record<HandlerName, IFunction>;
  retention: RetentionDays;
  removalPolicy: RemovalPolicy;
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
    endpointTypes: [EndpointType.REGIONAL],
    cloudWatchRole: true,
    // One role per account and region serves every API's logs: a dev stack's destroy must not take
    // prod's with it.
    cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
    deployOptions: {
      stageName: props.stage,
      throttlingRateLimit: STAGE_THROTTLE.rate,
      throttlingBurstLimit: STAGE_THROTTLE.burst,
      methodOptions: {
        // A method override does not inherit the stage's logging and metrics: repeat them.
        '/v1/otp/send/POST': {
          throttlingRateLimit: SEND_THROTTLE.rate,
          throttlingBurstLimit: SEND_THROTTLE.burst,
          loggingLevel: MethodLoggingLevel.ERROR,
          dataTraceEnabled: false,
          metricsEnabled: true,
        },
      },
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
