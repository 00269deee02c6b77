import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, SMS_METRICS } from '../functions/metrics.js';
import { ROUTES } from '../functions/routes.js';

/** Share of the API's answers, in percent, over 5 minutes, above which an alarm goes off. */
export const API_5XX_PERCENT = 1;
/** 5XX answers in 5 minutes before the rate counts: one stray error is no alarm. */
export const API_5XX_MIN_ERRORS = 3;
export const API_4XX_PERCENT = 25;
export const API_429_PERCENT = 10;
/** Requests in 5 minutes before the 4XX and 429 rates count: a handful of refusals is normal. */
export const API_MIN_REQUESTS = 50;
/** WAF blocks in 5 minutes: a flood, or a rule that blocks real callers. */
export const WAF_BLOCKS = 100;
/** DynamoDB throttle events per table in 5 minutes (the SDK retries them; the caller gets 503 after). */
export const DYNAMO_THROTTLES = 10;
/**
 * p99 latency per route, in milliseconds, over three 5-minute periods in a row (a cold start alone
 * does not hold for 15 minutes): send hands the code to SNS or SES, the others read a few items.
 */
export const LATENCY_P99_MS: Readonly<Record<string, number>> = { 'POST /v1/otp/send': 5000 };
export const DEFAULT_LATENCY_P99_MS = 2000;
/** SES's own thresholds: AWS reviews an account above 5% bounces or 0.1% complaints. */
export const SES_BOUNCE_RATE = 0.05;
export const SES_COMPLAINT_RATE = 0.001;

export interface OtpAlarmsProps {
  api: RestApi;
  /** The stage's name, a dimension of the per-route metrics. */
  stage: string;
  /** The API's access log: its `status` field counts the 429 answers, whoever gave them. */
  accessLogGroup: ILogGroup;
  functions: IFunction[];
  /** The hourly cleanup: its errors alarm. */
  cleanup: IFunction;
  /** Their throttle events alarm. */
  tables: TableV2[];
  /** With the WAF: the web ACL whose blocks alarm. */
  webAclArn?: string;
  /** E-mail is sent: alarms on the account's SES bounce and complaint rates. */
  email: boolean;
  /** Where the send function logs "code delivery failed". */
  sendLogGroup: ILogGroup;
  smsMonthlyBudgetUsd: number;
  production: boolean;
  /** SMS is sent: alarm when the conversion breaker pauses a country. */
  sms: boolean;
  /** The dashboard the country-paused alarm sends the operator to (lib/otp-dashboard.ts). */
  dashboardName: string;
}

/**
 * Alarms on what needs a person: the API's 5XX, 4XX and 429 rates and each route's p99 latency, WAF
 * blocks, Lambda and DynamoDB throttling, the cleanup's errors, failed deliveries, with e-mail the
 * SES bounce and complaint rates, and with SMS the spend and a country paused by the breaker.
 */
export class OtpAlarms extends Construct {
  readonly topic: Topic;
  /** Encrypts the topic: whoever publishes to it needs kms:GenerateDataKey and kms:Decrypt on it. */
  readonly key: Key;
  readonly alarms: Alarm[];
  /** With SMS: the conversion breaker tripped for a country. */
  readonly countryPaused?: Alarm;

  constructor(scope: Construct, id: string, props: OtpAlarmsProps) {
    super(scope, id);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key (its policy cannot be
    // changed), so the topic has a key of its own that lets CloudWatch encrypt.
    const key = (this.key = new Key(this, 'TopicKey', {
      description: 'Encrypts the OTP service alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    }));
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    // Only for alarms of this account (the confused deputy: another account's alarm naming this topic).
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new Topic(this, 'Topic', { displayName: 'OTP service alarms', enforceSSL: true, masterKey: key });
    // enforceSSL writes a topic policy, which replaces the default one: allow the alarms explicitly.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const fiveMinutes = Duration.minutes(5);

    const deliveryFailures = new MetricFilter(this, 'DeliveryFailures', {
      logGroup: props.sendLogGroup,
      filterPattern: FilterPattern.stringValue('$.message', '=', 'code delivery failed'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'DeliveryFailures',
      metricValue: '1',
      defaultValue: 0,
    }).metric({ statistic: 'Sum', period: fiveMinutes });

    const throttles = new MathExpression({
      expression: props.functions.map((_, index) => `t${index}`).join(' + '),
      usingMetrics: Object.fromEntries(
        props.functions.map((fn, index) => [
          `t${index}`,
          fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }),
        ]),
      ),
      period: fiveMinutes,
      label: 'Lambda throttles',
    });

    const requests = props.api.metricCount({ statistic: 'Sum', period: fiveMinutes });
    const percentOf = (errors: IMetric, label: string, condition: string) =>
      new MathExpression({
        expression: `IF(${condition}, 100 * errors / requests, 0)`,
        usingMetrics: { errors, requests },
        period: fiveMinutes,
        label,
      });
    const answers429 = new MetricFilter(this, 'Answers429', {
      logGroup: props.accessLogGroup,
      // The status is a string in the standard JSON access log, a number in a format that writes it bare.
      filterPattern: FilterPattern.any(
        FilterPattern.stringValue('$.status', '=', '429'),
        FilterPattern.numberValue('$.status', '=', 429),
      ),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'Api429',
      metricValue: '1',
      defaultValue: 0,
    }).metric({ statistic: 'Sum', period: fiveMinutes });

    this.alarms = [
      new Alarm(this, 'Api5xx', {
        alarmDescription: `More than ${API_5XX_PERCENT}% of the API's answers in 5 minutes were 5xx errors (counted from ${API_5XX_MIN_ERRORS} errors).`,
        metric: percentOf(
          props.api.metricServerError({ statistic: 'Sum', period: fiveMinutes }),
          'API 5XX %',
          `errors >= ${API_5XX_MIN_ERRORS}`,
        ),
        threshold: API_5XX_PERCENT,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'Api4xx', {
        alarmDescription: `More than ${API_4XX_PERCENT}% of the API's answers were 4xx for 15 minutes (from ${API_MIN_REQUESTS} requests per 5 minutes): a client sending bad calls or keys, or a probe.`,
        metric: percentOf(
          props.api.metricClientError({ statistic: 'Sum', period: fiveMinutes }),
          'API 4XX %',
          `requests >= ${API_MIN_REQUESTS}`,
        ),
        threshold: API_4XX_PERCENT,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'Api429', {
        alarmDescription: `More than ${API_429_PERCENT}% of the API's answers were 429 for 15 minutes (from ${API_MIN_REQUESTS} requests per 5 minutes): the gateway's throttle or the service's limits refuse a flood, or limits too low for real traffic.`,
        metric: percentOf(answers429, 'API 429 %', `requests >= ${API_MIN_REQUESTS}`),
        threshold: API_429_PERCENT,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      ...ROUTES.map((route) => {
        const name = `${route.method} ${route.path}`;
        const threshold = LATENCY_P99_MS[name] ?? DEFAULT_LATENCY_P99_MS;
        return new Alarm(this, `Latency${route.method}${route.path.replaceAll('/', '-')}`, {
          alarmDescription: `p99 latency of ${name} above ${threshold} ms for 15 minutes.`,
          metric: new Metric({
            namespace: 'AWS/ApiGateway',
            metricName: 'Latency',
            // As the stage emits it per method (detailed metrics, lib/otp-rest-api.ts) and the dashboard reads it.
            dimensionsMap: {
              ApiName: props.api.restApiName,
              Stage: props.stage,
              Resource: route.path,
              Method: route.method,
            },
            statistic: 'p99',
            period: fiveMinutes,
          }),
          threshold,
          evaluationPeriods: 3,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
      }),
      ...props.tables.map(
        (table, index) =>
          new Alarm(this, `DynamoThrottles${index}`, {
            alarmDescription: `DynamoDB throttled requests to a table of the service (${DYNAMO_THROTTLES} or more in 5 minutes): a hot key or a flood; callers get 503 once the SDK's retries run out.`,
            metric: new MathExpression({
              expression: 'reads + writes',
              usingMetrics: {
                reads: table.metric('ReadThrottleEvents', { statistic: 'Sum', period: fiveMinutes }),
                writes: table.metric('WriteThrottleEvents', { statistic: 'Sum', period: fiveMinutes }),
              },
              period: fiveMinutes,
              label: 'DynamoDB throttle events',
            }),
            threshold: DYNAMO_THROTTLES,
            evaluationPeriods: 1,
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
      ),
      new Alarm(this, 'CleanupErrors', {
        alarmDescription:
          'The hourly cleanup failed (it also rotates the signing keys): its failed runs reach this topic as Lambda failure records too.',
        metric: props.cleanup.metricErrors({ statistic: 'Sum', period: Duration.hours(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'Throttles', {
        alarmDescription: 'Lambda throttled OTP functions: raise concurrency or look for a flood.',
        metric: throttles,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'DeliveryFailuresAlarm', {
        alarmDescription: 'Codes could not be handed to SNS or SES.',
        metric: deliveryFailures,
        threshold: 3,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];
    if (props.webAclArn) {
      // arn:aws:wafv2:{region}:{account}:regional/webacl/{name}/{id}: the metric names the ACL by name.
      const webAclName = Fn.select(2, Fn.split('/', props.webAclArn));
      this.alarms.push(
        new Alarm(this, 'WafBlocks', {
          alarmDescription: `The WAF blocked ${WAF_BLOCKS} or more requests in 5 minutes: a flood, or a rule blocking real callers (see its log, aws-waf-logs-otp-service-*).`,
          metric: new Metric({
            namespace: 'AWS/WAFV2',
            metricName: 'BlockedRequests',
            dimensionsMap: { WebACL: webAclName, Region: Stack.of(this).region, Rule: 'ALL' },
            statistic: 'Sum',
            period: fiveMinutes,
          }),
          threshold: WAF_BLOCKS,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    if (props.email) {
      // The account's reputation (SES has no per-configuration-set figure for these by default).
      const reputation = (metricName: string) =>
        new Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: Duration.hours(1) });
      this.alarms.push(
        new Alarm(this, 'SesBounceRate', {
          alarmDescription: `The account's SES bounce rate passed ${SES_BOUNCE_RATE * 100}% (AWS reviews the account from 5%, may pause sending from 10%): addresses that do not exist, typed or supplied by an attacker.`,
          metric: reputation('Reputation.BounceRate'),
          threshold: SES_BOUNCE_RATE,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
        new Alarm(this, 'SesComplaintRate', {
          alarmDescription: `The account's SES complaint rate passed ${SES_COMPLAINT_RATE * 100}% (AWS reviews the account from 0.1%): codes sent to people who did not ask for them.`,
          metric: reputation('Reputation.ComplaintRate'),
          threshold: SES_COMPLAINT_RATE,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    if (props.sms) {
      // The account's spend, whoever sends: an e-mail-only stack has no SMS of its own to watch.
      this.alarms.push(
        new Alarm(this, 'SmsSpend', {
          alarmDescription: `SMS spend this month passed 80% of the budget of ${props.smsMonthlyBudgetUsd} USD.`,
          metric: new Metric({
            namespace: 'AWS/SNS',
            metricName: 'SMSMonthToDateSpentUSD',
            statistic: 'Maximum',
            period: Duration.hours(1),
          }),
          threshold: props.smsMonthlyBudgetUsd * 0.8,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      this.countryPaused = new Alarm(this, 'CountryPaused', {
        alarmDescription: [
          'The conversion breaker judged the conversion (codes verified / SMS sent) of a country too low:',
          'in enforce mode SMS to it is refused (reason country-paused) for OTP_BREAKER_PAUSE_SECONDS,',
          'in monitor mode nothing is refused. Likely SMS pumping, or a delivery problem in that country.',
          `Look at the dashboard ${props.dashboardName} (conversion and breaker trips per country) and for`,
          `"country paused" in the log group ${props.sendLogGroup.logGroupName} of the send function.`,
        ].join(' '),
        // Only the {service} set: one series for every country and mode (functions/metrics.ts).
        metric: new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: SMS_METRICS.breakerTripped,
          dimensionsMap: { service: METRICS_SERVICE },
          statistic: 'Sum',
          period: fiveMinutes,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(this.countryPaused);
    }
    for (const alarm of this.alarms) alarm.addAlarmAction(new SnsAction(this.topic));
  }
}
