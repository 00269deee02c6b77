import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HANDLERS, type HandlerName, ROUTES } from '../functions/routes.js';
import { BUNDLING, FUNCTION_DEFAULTS, handlerEntry } from './function-defaults.js';
import type { OtpTables } from './otp-tables.js';
import type { StackSettings } from './stack-config.js';

export interface OtpApiProps {
  settings: StackSettings;
  tables: OtpTables;
}

/** Requests per second for the whole stage, and for the send route, which costs money per call. */
const STAGE_THROTTLE = { rate: 100, burst: 200 };
const SEND_THROTTLE = { rate: 20, burst: 40 };

/**
 * The handlers as Lambda functions behind a REST API, each with only the permissions it uses,
 * and the pepper in Secrets Manager.
 */
export class OtpApi extends Construct {
  readonly api: RestApi;
  readonly functions: Record<HandlerName, NodejsFunction>;
  readonly pepper: Secret;
  readonly logGroups: Record<HandlerName, LogGroup>;
  /** What every function of the service is started with; the cleanup function gets it too. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: OtpApiProps) {
    super(scope, id);
    const { settings, tables } = props;
    const production = settings.stage === 'prod';
    const removalPolicy = production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const retention = production ? RetentionDays.THREE_MONTHS : RetentionDays.ONE_MONTH;

    this.pepper = new Secret(this, 'Pepper', {
      description: 'Key of the OTP code hashes and table keys. Never log it; rotating it voids live codes.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });

    const environment = this.environmentFor(settings, tables);
    this.environment = environment;
    const logGroups = {} as Record<HandlerName, LogGroup>;
    const functions = {} as Record<HandlerName, NodejsFunction>;
    for (const name of HANDLERS) {
      logGroups[name] = new LogGroup(this, `${name}-logs`, { retention, removalPolicy });
      functions[name] = new NodejsFunction(this, name, {
        ...FUNCTION_DEFAULTS,
        description: `OTP service: ${name}`,
        entry: handlerEntry(name),
        handler: 'handler',
        bundling: BUNDLING,
        environment,
        logGroup: logGroups[name],
      });
    }
    this.functions = functions;
    this.logGroups = logGroups;
    this.grant(settings, tables);

    this.api = this.restApi(settings, retention, removalPolicy);
  }

  /** The same variables for every function, so each validates the same configuration at start. */
  private environmentFor(settings: StackSettings, tables: OtpTables): Record<string, string> {
    const channels = [...(settings.smsCountries ? ['sms'] : []), ...(settings.emailFrom ? ['email'] : [])];
    return {
      OTP_STAGE: settings.stage,
      OTP_STATE_TABLE: tables.state.tableName,
      OTP_CUSTOMERS_TABLE: tables.customers.tableName,
      OTP_DEV_MODE: String(settings.devMode),
      OTP_DELIVERY: 'aws',
      OTP_PEPPER_SECRET_ARN: this.pepper.secretArn,
      OTP_ALLOWED_CHANNELS: channels.join(','),
      ...(settings.smsCountries ? { OTP_SMS_ALLOWED_COUNTRIES: settings.smsCountries.join(',') } : {}),
      ...(settings.emailFrom ? { OTP_EMAIL_FROM: settings.emailFrom } : {}),
      ...(settings.smsSenderId ? { OTP_SMS_SENDER_ID: settings.smsSenderId } : {}),
      ...(settings.smsOriginationNumber ? { OTP_SMS_ORIGINATION_NUMBER: settings.smsOriginationNumber } : {}),
      POWERTOOLS_SERVICE_NAME: 'otp-service',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }

  private grant(settings: StackSettings, tables: OtpTables): void {
    const { 'send-otp': send, 'verify-otp': verify, session } = this.functions;
    // On the tables themselves, not their indexes (which table.grant would add). Transactions need
    // the item actions they contain; there is no separate transaction action.
    const allow = (fn: NodejsFunction, table: TableV2, ...actions: string[]) =>
      fn.addToRolePolicy(
        new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
      );
    allow(send, tables.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
    allow(verify, tables.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
    allow(verify, tables.customers, 'GetItem', 'PutItem');
    allow(session, tables.state, 'GetItem', 'UpdateItem');
    this.pepper.grantRead(send);
    this.pepper.grantRead(verify);

    if (settings.smsCountries) {
      // Publishing straight to a phone number has no resource ARN, so allow it and deny every topic.
      send.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: ['*'] }));
      send.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.DENY,
          actions: ['sns:Publish'],
          resources: [`arn:${Aws.PARTITION}:sns:*:*:*`],
        }),
      );
    }
    if (settings.emailFrom && settings.sesIdentity) {
      const from = /<([^>]+)>\s*$/.exec(settings.emailFrom)?.[1] ?? settings.emailFrom;
      send.addToRolePolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [
            Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: settings.sesIdentity }),
          ],
          conditions: { StringEquals: { 'ses:FromAddress': from } },
        }),
      );
    }
  }

  private restApi(settings: StackSettings, retention: RetentionDays, removalPolicy: RemovalPolicy): RestApi {
    const accessLogs = new LogGroup(this, 'access-logs', { retention, removalPolicy });
    const api = new RestApi(this, 'Api', {
      restApiName: `otp-service-${settings.stage}`,
      description: 'One-time-password service',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      // One role per account and region serves every API's logs: a dev stack's destroy must not take
      // prod's with it.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: settings.stage,
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
      api.root
        .resourceForPath(route.path)
        .addMethod(route.method, new LambdaIntegration(this.functions[route.handler]));
    }
    this.problemResponses(api);
    return api;
  }

  /** Errors API Gateway answers itself get the problem+json shape of API.md too. */
  private problemResponses(api: RestApi): void {
    const problem = (status: number, slug: string, title: string, detail: string) => ({
      'application/json': JSON.stringify({
        type: `/problems/${slug}`,
        title,
        status,
        detail,
        success: false,
        error: slug,
      }),
    });
    const headers = { 'Content-Type': "'application/problem+json'", 'Cache-Control': "'no-store'" };
    // An unknown path or method reaches no integration and is answered as a missing token.
    api.addGatewayResponse('not-found', {
      type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      responseHeaders: headers,
      templates: problem(404, 'not-found', 'Not found', 'No route for this method and path.'),
    });
    api.addGatewayResponse('throttled', {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      responseHeaders: { ...headers, 'Retry-After': "'1'" },
      templates: problem(429, 'rate-limited', 'Too many requests', 'Too many requests; try again shortly.'),
    });
    api.addGatewayResponse('waf-blocked', {
      type: ResponseType.WAF_FILTERED,
      statusCode: '403',
      responseHeaders: headers,
      templates: problem(403, 'forbidden', 'Forbidden', 'The request was blocked.'),
    });
    api.addGatewayResponse('too-large', {
      type: ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      responseHeaders: headers,
      templates: problem(413, 'payload-too-large', 'Request body too large', 'The request body is too large.'),
    });
    api.addGatewayResponse('timeout', {
      type: ResponseType.INTEGRATION_TIMEOUT,
      statusCode: '504',
      responseHeaders: headers,
      templates: problem(504, 'timeout', 'Timeout', 'The request took too long. Try again later.'),
    });
    // Every other answer of the gateway itself: the status is pinned so that body and header agree.
    api.addGatewayResponse('client-error', {
      type: ResponseType.DEFAULT_4XX,
      statusCode: '400',
      responseHeaders: headers,
      templates: problem(400, 'bad-request', 'Bad request', 'The request could not be accepted.'),
    });
    api.addGatewayResponse('server-error', {
      type: ResponseType.DEFAULT_5XX,
      statusCode: '500',
      responseHeaders: headers,
      templates: problem(500, 'internal-error', 'Internal error', 'Something went wrong on our side. Try again later.'),
    });
  }
}
