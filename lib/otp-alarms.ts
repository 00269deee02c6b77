import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, SMS_METRICS } from '../functions/metrics.js';

export interface OtpAlarmsProps {
  api: RestApi;
  functions: IFunction[];
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
 * Alarms on what needs a person: server errors, throttling, failed deliveries, SMS spend and, with
 * SMS, a country paused by the conversion breaker.
 */
export class OtpAlarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[];
  /** With SMS: the conversion breaker tripped for a country. */
  readonly countryPaused?: Alarm;

  constructor(scope: Construct, id: string, props: OtpAlarmsProps) {
    super(scope, id);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key (its policy cannot be
    // changed), so the topic has a key of its own that lets CloudWatch encrypt.
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the OTP service alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    key.grant(cloudwatch, 'kms:Decrypt', 'kms:GenerateDataKey*');
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

    this.alarms = [
      new Alarm(this, 'Api5xx', {
        alarmDescription: 'The API answered 5xx errors.',
        metric: props.api.metricServerError({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 5,
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
