import { Annotations, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { ConfigurationSet, SuppressionReasons } from 'aws-cdk-lib/aws-ses';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { SigningAlgorithm } from '../functions/core/signing-keys.js';
import type { HandlerName } from '../functions/routes.js';
import type * as z from 'zod/mini';
import {
  BREAKER_MIN_CONVERSION,
  BREAKER_MIN_SENDS,
  BREAKER_MODE,
  BREAKER_SECONDS,
  brokenRule,
  isProductionStage,
  SMS_HOURLY_LIMIT,
  senderDomain,
} from '../functions/settings-rules.js';
import { type BreakerSettings, functionEnvironment, type SmsHourlyLimits } from './function-environment.js';
import { addMethodNotAllowed, addProblemResponses } from './gateway-responses.js';
import { OtpAlarms } from './otp-alarms.js';
import { OtpCleanup } from './otp-cleanup.js';
import { OtpDashboard } from './otp-dashboard.js';
import { customResourceLogs, executionLogGroup, OtpWafLogging } from './otp-logs.js';
import { OtpProtectConfiguration } from './otp-protect-configuration.js';
import { OtpSmsAccountSettings, type SmsDeliveryStatusLogs } from './otp-sms-account.js';
import { bundlingFor, defaultLevers } from './function-defaults.js';
import { handlerFunctions } from './otp-functions.js';
import { grantHandlerPermissions } from './otp-permissions.js';
import { type ApiThrottle, type OtpCustomDomain, otpRestApi } from './otp-rest-api.js';
import { pepperSecret, signingKeysSecret } from './otp-secrets.js';
import { OtpTables, type TableMaxThroughput } from './otp-tables.js';
import { OtpWaf, type WafRateLimits } from './otp-waf.js';

/** Codes by SMS through SNS. */
export interface OtpSmsProps {
  /** Required. ISO 3166 alpha-2 codes of the countries codes may be sent to; every other country is refused. */
  readonly allowedCountries: readonly string[];
  /**
   * Alphanumeric sender ID, where the destination country supports one.
   * @default none: the carrier's or the account's default sender
   */
  readonly senderId?: string;
  /**
   * E.164 number to send from (an origination number of End User Messaging).
   * @default none: SNS picks one of the account's
   */
  readonly originationNumber?: string;
  /**
   * SMS per hour per country, per number block and for the whole deployment; 0 turns one off.
   * @default 500 per country, 10 per number block, 2000 in all (functions/config.ts)
   */
  readonly hourlyLimits?: SmsHourlyLimits;
  /**
   * The per-country conversion breaker: a country whose codes are rarely verified is paused.
   * @default enforced; judged after 50 SMS to a country within 3600 s, below 0.2 verified per SMS,
   * paused 900 s (functions/config.ts)
   */
  readonly breaker?: BreakerSettings;
  /**
   * An End User Messaging protect configuration that allows SMS to `allowedCountries` only. Turn it
   * off in a region where End User Messaging SMS is not available.
   * @default true
   */
  readonly protectConfiguration?: boolean;
  /**
   * Sets the account's SNS `MonthlySpendLimit` in the region to this many whole USD (SetSMSAttributes):
   * SNS stops sending SMS, anyone's, within minutes of the month's spend crossing it. Account-wide,
   * and left as it is when the stack is deleted. SNS refuses a value above the account's quota, which
   * only an AWS support case raises.
   * @default the account's limit is left alone
   */
  readonly monthlySpendLimitUsd?: number;
  /**
   * SNS logs SMS deliveries to CloudWatch Logs (`sns/<region>/<account>/DirectPublishToPhoneNumber` and
   * `…/Failure`, which the stack makes with its log retention): `failures` only, or `all`. The logs
   * hold the destination number in full. Account-wide, like the spend limit.
   * @default the account's delivery logging is left alone
   */
  readonly deliveryStatusLogs?: SmsDeliveryStatusLogs;
  /**
   * Makes that protect configuration the account's default in the region. SNS applies the default
   * to every SMS of the account there, other applications' included, and one account has one
   * default: leave it off where anything else in the account and region sends SMS.
   * @default false
   */
  readonly protectConfigurationAccountDefault?: boolean;
}

/** Codes by e-mail through SES. */
export interface OtpEmailProps {
  /** Required. The From of code e-mails: `address` or `Name <address>`; the function may send from that address only. */
  readonly from: string;
  /**
   * The verified SES identity (domain or address) that sends.
   * @default the domain of `from`
   */
  readonly sesIdentity?: string;
}

export interface OtpServiceProps {
  /**
   * Required. Names the API Gateway stage, the REST API (`otp-service-<stage>`) and the dashboard;
   * lower-case. A name starting with prod or prd makes the service production (see `production`).
   */
  readonly stage: string;
  /**
   * Treats the stage as production even though its name does not start with prod or prd (a stage
   * whose name does is production whatever this says, as the functions see it so too). Production
   * keeps tables, pepper, logs and keys when the stack is deleted, protects the tables from deletion,
   * keeps logs longer and refuses dev mode.
   * @default false
   */
  readonly production?: boolean;
  /**
   * Responses carry `mockCode`, for tests against a dev stage. Refused in production.
   * @default false
   */
  readonly devMode?: boolean;
  /**
   * Codes by SMS through SNS. Without `sms` and `email` the service synthesises with a warning and
   * refuses every send.
   * @default no SMS
   */
  readonly sms?: OtpSmsProps;
  /**
   * Codes by e-mail through SES (an identity verified in the account).
   * @default no e-mail
   */
  readonly email?: OtpEmailProps;
  /**
   * The alarm on the account's SMS spend goes off at 80% of this, in USD per month.
   * @default 100
   */
  readonly smsMonthlyBudgetUsd?: number;
  /**
   * Reserved concurrency of the send function: at most this many sends run at once, whatever comes
   * in, a hard cap on how fast SMS and e-mail can be spent (the throttles alarm tells when it bites).
   * 0 reserves none (Lambda keeps 100 of the account's concurrency unreserved, so an account whose
   * quota is 110 or less, as new ones may have, cannot reserve 10).
   * @default 10
   */
  readonly sendConcurrency?: number;
  /**
   * Builds Powertools Tracer and the X-Ray SDK into the functions, for a subsegment per handler and
   * per AWS call (DynamoDB, Secrets Manager, SNS, SES). Lambda's active tracing records every
   * invocation's segments and init duration either way. Off, each function is about 120 KB smaller
   * and starts faster (bench/RESULTS.md).
   * @default false
   */
  readonly xraySdkTracing?: boolean;
  /**
   * A WAF web ACL in front of the API (AWS common rules, per-IP rate limits on every request and,
   * tighter, on the send, verify and session routes).
   * @default true
   */
  readonly waf?: boolean;
  /**
   * The WAF's per-IP limits, requests per 5 minutes. Phones behind one carrier-grade NAT share one
   * IP and so one budget: raise them where most users come through a few carriers' addresses.
   * @default 1000 in all, 50 to send, 100 to verify, 300 to the session routes (lib/otp-waf.ts)
   */
  readonly wafRateLimits?: WafRateLimits;
  /**
   * The stage's throttle, requests a second and burst; each route's own limit is a share of it
   * (lib/otp-rest-api.ts, ROUTE_THROTTLE_TENTHS).
   * @default 100 a second, burst 200
   */
  readonly throttle?: ApiThrottle;
  /**
   * A custom domain for the API (a regional endpoint, TLS 1.2 or newer), mapped at its root to the
   * stage, so that apps call `https://<domainName>/v1/...`. The execute-api URL is then disabled, and
   * `issuer` defaults to `https://<domainName>`. The DNS record (a CNAME or alias to the domain's
   * regional name, output `CustomDomainTarget`) is yours to create.
   * @default none: the execute-api URL
   */
  readonly customDomain?: OtpCustomDomain;
  /**
   * Calls without an `X-API-Key` header get `401 invalid-api-key`; a key, when one comes, is checked
   * either way. Turn off only for a stage whose callers cannot hold a key: every keyless call then
   * gets the deployment's defaults rather than a client's policy.
   * @default true
   */
  readonly requireApiKey?: boolean;
  /**
   * Web origins (`https://app.example.com`) whose scripts may call the API, or `*`: the gateway
   * answers their preflights and every answer carries the CORS headers. None when left out.
   */
  readonly corsOrigins?: '*' | readonly string[];
  /**
   * `iss` of access tokens and the base of `/.well-known/*` URLs: the URL callers reach the API at,
   * without a trailing slash, e.g. `https://otp.example.com` for a custom domain mapped to the stage.
   * @default the stage URL of the REST API, `https://{restApiId}.execute-api.{region}.{urlSuffix}/{stage}`
   */
  readonly issuer?: string;
  /**
   * The algorithm of access tokens. ES256 is API.md's contract; RS256 is an opt-in for an API
   * Gateway HTTP API JWT authorizer, which takes RSA keys only. A change takes effect through the
   * key rotations: new tokens carry it one to two rotation periods later (README, Access tokens).
   * @default 'ES256'
   */
  readonly accessTokenAlgorithm?: SigningAlgorithm;
  /**
   * The most read and write request units a second each DynamoDB table may serve (on-demand maximum
   * throughput): a cap on cost and load. Past it, DynamoDB throttles the table's requests, and the
   * calls that needed them fail (README, Settings).
   * @default no maximum
   */
  readonly tableMaxThroughput?: TableMaxThroughput;
  /**
   * The expiry sweep: every item that expires is listed in a `due` index of the state table, and the
   * hourly cleanup deletes expired items soon after they expire. Off, TTL alone deletes them, free,
   * usually within a few days of expiry; no item is honoured after its expiry either way (every
   * condition checks it). Turn it on only if expired items must leave the table within the hour (a
   * retention rule, a table you scan): it costs an index write per item and a delete per item.
   * @default false
   */
  readonly expirySweep?: boolean;
}

/**
 * The whole OTP service: tables, the pepper, one function per handler with only the permissions
 * it uses, the REST API and its problem+json gateway answers, the WAF, the alarms, a dashboard, the
 * End User Messaging protect configuration and the hourly cleanup.
 */
export class OtpService extends Construct {
  readonly production: boolean;
  readonly tables: OtpTables;
  readonly pepper: Secret;
  readonly signingKeys: Secret;
  /** `iss` of access tokens (OTP_ISSUER of every function). */
  readonly issuer: string;
  readonly functions: Record<HandlerName, NodejsFunction>;
  /** How every function of the service is built (lib/function-defaults.ts bundlingFor). */
  readonly bundling: BundlingOptions;
  readonly logGroups: Record<HandlerName, LogGroup>;
  /** What every function of the service starts with; the cleanup function gets it too. */
  readonly environment: Record<string, string>;
  readonly api: RestApi;
  /** Where apps call the API: the custom domain's root, or the execute-api stage URL. */
  readonly url: string;
  /** `API-Gateway-Execution-Logs_{api-id}/{stage}`, made by the stack so that it expires. */
  readonly executionLogs: LogGroup;
  readonly cleanup: OtpCleanup;
  readonly waf?: OtpWaf;
  /** With the WAF: its log of blocked and counted requests. */
  readonly wafLogging?: OtpWafLogging;
  readonly alarms: OtpAlarms;
  readonly dashboard: OtpDashboard;
  /** With SMS, unless turned off: End User Messaging's country rules. */
  readonly protectConfiguration?: OtpProtectConfiguration;
  /** With e-mail: the SES configuration set every code e-mail is sent through. */
  readonly emailConfigurationSet?: ConfigurationSet;
  /** With SMS and a spend limit or delivery logs asked for: the account's SNS SMS settings. */
  readonly smsAccountSettings?: OtpSmsAccountSettings;

  constructor(scope: Construct, id: string, props: OtpServiceProps) {
    super(scope, id);
    this.production = isProductionStage(props.stage) || (props.production ?? false);
    const devMode = props.devMode ?? false;
    if (devMode && this.production) {
      throw new Error(`OtpService: devMode is refused in production (stage ${props.stage}): it returns codes.`);
    }
    if (!props.sms && !props.email) {
      // Deployable, and harmless: nothing is sent and nothing may be (no sns:Publish, no ses:SendEmail).
      Annotations.of(this).addWarningV2(
        'otp-service:no-channel',
        'OtpService: neither sms nor email is set, so every send is refused (403 channel-not-allowed). Set emailFrom and/or smsCountries.',
      );
    }
    if (props.sms && props.sms.allowedCountries.length === 0) {
      throw new Error('OtpService: sms.allowedCountries is empty; leave sms out to send no SMS.');
    }
    if (props.sms) checkSmsProtection(props.sms);
    if (props.customDomain) checkCustomDomain(this, props.customDomain);
    const limit = props.sms?.monthlySpendLimitUsd;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new Error(`OtpService: sms.monthlySpendLimitUsd must be a whole number of USD, at least 1 (got ${limit}).`);
    }
    if (props.sms?.protectConfigurationAccountDefault && props.sms.protectConfiguration === false) {
      throw new Error('OtpService: sms.protectConfigurationAccountDefault needs sms.protectConfiguration.');
    }
    const removalPolicy = this.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const retention = this.production ? RetentionDays.THREE_MONTHS : RetentionDays.ONE_MONTH;

    const expirySweep = props.expirySweep ?? false;
    this.tables = new OtpTables(this, 'Tables', {
      production: this.production,
      maxThroughput: props.tableMaxThroughput,
      expirySweep,
    });

    // The pepper, functions and API sit under one scope named "Service": logical IDs derive from
    // construct paths, and a new ID would replace the pepper (voiding every stored key), the tables'
    // neighbours and the API's URL in stacks already deployed.
    const service = new Construct(this, 'Service');
    this.pepper = pepperSecret(service, removalPolicy);
    this.signingKeys = signingKeysSecret(service, removalPolicy);
    if (props.email) {
      // Every code e-mail goes through it: SES drops addresses that bounced or complained before
      // (attacker-supplied ones, typed ones) instead of sending again and losing the sender's reputation.
      this.emailConfigurationSet = new ConfigurationSet(this, 'EmailConfigurationSet', {
        reputationMetrics: true,
        sendingEnabled: true,
        suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      });
    }
    const email = props.email && {
      from: props.email.from,
      sesIdentity: props.email.sesIdentity ?? senderDomain(props.email.from),
      configurationSet: this.emailConfigurationSet?.configurationSetName as string,
    };
    this.environment = functionEnvironment({
      stage: props.stage,
      devMode,
      state: this.tables.state,
      customers: this.tables.customers,
      clients: this.tables.clients,
      requireApiKey: props.requireApiKey ?? true,
      expirySweep,
      pepper: this.pepper,
      signingKeys: this.signingKeys,
      accessTokenAlgorithm: props.accessTokenAlgorithm ?? 'ES256',
      smsCountries: props.sms?.allowedCountries,
      smsSenderId: props.sms?.senderId,
      smsOriginationNumber: props.sms?.originationNumber,
      smsHourlyLimits: props.sms?.hourlyLimits,
      breaker: props.sms?.breaker,
      emailFrom: email?.from,
      sesConfigurationSet: email?.configurationSet,
      corsOrigins: props.corsOrigins,
    });
    const sendConcurrency = props.sendConcurrency ?? 10;
    if (!Number.isInteger(sendConcurrency) || sendConcurrency < 0 || sendConcurrency > 1000) {
      throw new Error(`OtpService: sendConcurrency must be a whole number from 0 to 1000 (got ${sendConcurrency}).`);
    }
    this.bundling = bundlingFor(
      defaultLevers({
        xraySdk: props.xraySdkTracing ?? false,
        // The functions' OTP_SMS_ALLOWED_COUNTRIES (function-environment.ts); no SMS, no phone metadata.
        phoneCountries: props.sms ? props.sms.allowedCountries : [],
        // The functions' OTP_ALLOWED_CHANNELS: the send function carries the clients of these only.
        channels: [...(props.sms ? (['sms'] as const) : []), ...(email ? (['email'] as const) : [])],
      }),
    );
    const handlers = handlerFunctions(service, {
      bundling: this.bundling,
      environment: this.environment,
      retention,
      removalPolicy,
      reservedConcurrency: sendConcurrency > 0 ? { 'send-otp': sendConcurrency } : {},
    });
    this.functions = handlers.functions;
    this.logGroups = handlers.logGroups;
    grantHandlerPermissions({
      functions: this.functions,
      state: this.tables.state,
      customers: this.tables.customers,
      clients: this.tables.clients,
      pepper: this.pepper,
      signingKeys: this.signingKeys,
      sms: props.sms !== undefined,
      email,
    });
    this.api = otpRestApi(service, {
      stage: props.stage,
      functions: this.functions,
      retention,
      removalPolicy,
      corsOrigins: props.corsOrigins,
      throttle: props.throttle,
      customDomain: props.customDomain,
    });
    addProblemResponses(this.api, props.corsOrigins);
    addMethodNotAllowed(this.api, props.corsOrigins);
    this.url = props.customDomain ? `https://${props.customDomain.domainName}/` : this.api.url;
    this.executionLogs = executionLogGroup(service, { api: this.api, stage: props.stage, retention, removalPolicy });
    // Built from the API's id, not from api.url: that names the deployment stage, which depends on
    // every method and so on every function, and a function's variable cannot depend on it.
    this.issuer =
      props.issuer ??
      (props.customDomain && `https://${props.customDomain.domainName}`) ??
      `https://${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${props.stage}`;
    this.environment.OTP_ISSUER = this.issuer;
    for (const fn of Object.values(this.functions)) fn.addEnvironment('OTP_ISSUER', this.issuer);

    this.cleanup = new OtpCleanup(this, 'Cleanup', {
      bundling: this.bundling,
      stateTable: this.tables.state,
      signingKeys: this.signingKeys,
      environment: this.environment,
      production: this.production,
      runBefore: Object.values(this.functions),
      expirySweep,
    });
    if (props.sms && (props.sms.protectConfiguration ?? true)) {
      this.protectConfiguration = new OtpProtectConfiguration(this, 'ProtectConfiguration', {
        allowedCountries: props.sms.allowedCountries,
        name: `otp-service-${props.stage}`,
        accountDefault: props.sms.protectConfigurationAccountDefault ?? false,
      });
    }
    if (props.sms && (props.sms.monthlySpendLimitUsd !== undefined || props.sms.deliveryStatusLogs)) {
      this.smsAccountSettings = new OtpSmsAccountSettings(this, 'SmsAccountSettings', {
        monthlySpendLimitUsd: props.sms.monthlySpendLimitUsd,
        deliveryStatusLogs: props.sms.deliveryStatusLogs,
        retention,
        removalPolicy,
      });
    }
    customResourceLogs(this, { retention, removalPolicy });
    if (props.waf ?? true) {
      this.waf = new OtpWaf(this, 'Waf', { stage: this.api.deploymentStage, rateLimits: props.wafRateLimits });
      this.wafLogging = new OtpWafLogging(this, 'WafLogging', {
        webAcl: this.waf.webAcl,
        stage: props.stage,
        retention,
        removalPolicy,
      });
    } else if (props.wafRateLimits) {
      throw new Error('OtpService: wafRateLimits needs the WAF, which waf: false turns off.');
    }
    // Named, with the region: the alarm's description sends the operator to it by name.
    const dashboardName = `otp-service-${props.stage}-${Stack.of(this).region}`;
    this.alarms = new OtpAlarms(this, 'Alarms', {
      api: this.api,
      stage: props.stage,
      // lib/otp-rest-api.ts makes the access log group under this id.
      accessLogGroup: service.node.findChild('access-logs') as LogGroup,
      functions: [...Object.values(this.functions), this.cleanup.fn],
      cleanup: this.cleanup.fn,
      tables: [this.tables.state, this.tables.customers, this.tables.clients],
      webAclArn: this.waf?.webAcl.attrArn,
      email: email !== undefined,
      sendLogGroup: this.logGroups['send-otp'],
      smsMonthlyBudgetUsd: props.smsMonthlyBudgetUsd ?? 100,
      production: this.production,
      sms: props.sms !== undefined,
      dashboardName,
    });
    // A run that fails after the retries (the schedule invokes it asynchronously) reaches the
    // operator as a failure record on the alarm topic, beside the CleanupErrors alarm.
    // The grant is written out rather than left to SnsDestination, whose grantPublish allows
    // kms:GenerateDataKey* where publishing to an encrypted topic needs GenerateDataKey and Decrypt.
    const { topic, key } = this.alarms;
    this.cleanup.fn.configureAsyncInvoke({
      onFailure: { bind: () => ({ destination: topic.topicArn }) },
      retryAttempts: 2,
    });
    this.cleanup.fn.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
    this.cleanup.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [key.keyArn] }),
    );
    this.dashboard = new OtpDashboard(this, 'Dashboard', {
      dashboardName,
      smsCountries: props.sms?.allowedCountries,
      breakerMinConversion: props.sms?.breaker?.minConversion,
      alarms: this.alarms.countryPaused ? [this.alarms.countryPaused] : [],
      // The stage is named after props.stage (lib/otp-rest-api.ts).
      api: { apiName: this.api.restApiName, stage: props.stage },
    });
  }
}

/**
 * A regional custom domain takes a certificate of its own region: a certificate ARN of another
 * region fails the deploy, so it fails synth where the stack's region is known.
 */
function checkCustomDomain(scope: Construct, domain: OtpCustomDomain): void {
  const region = Stack.of(scope).region;
  const certificateRegion = domain.certificateArn.split(':')[3];
  if (!Token.isUnresolved(region) && !Token.isUnresolved(domain.certificateArn) && certificateRegion !== region) {
    throw new Error(
      `OtpService: customDomain.certificateArn is in ${certificateRegion}; a regional custom domain needs an ACM certificate in ${region}, the stack's region.`,
    );
  }
}

/**
 * Holds the SMS caps and breaker settings to the rules functions/config.ts applies at start (the
 * stack's context is checked with them too, lib/stack-config.ts), so that a bad value fails synth.
 */
function checkSmsProtection(sms: OtpSmsProps): void {
  const rules: [string, number | string | undefined, z.ZodMiniType][] = [
    ['hourlyLimits.perCountry', sms.hourlyLimits?.perCountry, SMS_HOURLY_LIMIT],
    ['hourlyLimits.perPrefix', sms.hourlyLimits?.perPrefix, SMS_HOURLY_LIMIT],
    ['hourlyLimits.total', sms.hourlyLimits?.total, SMS_HOURLY_LIMIT],
    ['breaker.mode', sms.breaker?.mode, BREAKER_MODE],
    ['breaker.minSends', sms.breaker?.minSends, BREAKER_MIN_SENDS],
    ['breaker.minConversion', sms.breaker?.minConversion, BREAKER_MIN_CONVERSION],
    ['breaker.windowSeconds', sms.breaker?.windowSeconds, BREAKER_SECONDS],
    ['breaker.pauseSeconds', sms.breaker?.pauseSeconds, BREAKER_SECONDS],
  ];
  for (const [name, value, rule] of rules) {
    const problem = value === undefined ? undefined : brokenRule(rule, String(value));
    if (problem !== undefined) throw new Error(`OtpService: sms.${name} ${problem} (got ${String(value)}).`);
  }
}
