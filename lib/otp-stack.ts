import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { OtpAlarms } from './otp-alarms.js';
import { OtpApi } from './otp-api.js';
import { OtpCleanup } from './otp-cleanup.js';
import { OtpTables } from './otp-tables.js';
import { OtpWaf } from './otp-waf.js';
import type { StackSettings } from './stack-config.js';

export interface OtpStackProps extends StackProps {
  settings: StackSettings;
}

/** The deployable service: tables, functions and API, WAF, alarms. */
export class OtpStack extends Stack {
  readonly tables: OtpTables;
  readonly service: OtpApi;
  readonly alarms: OtpAlarms;
  readonly cleanup: OtpCleanup;
  readonly waf?: OtpWaf;

  constructor(scope: Construct, id: string, props: OtpStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.tables = new OtpTables(this, 'Tables', { production: settings.stage === 'prod' });
    this.service = new OtpApi(this, 'Service', { settings, tables: this.tables });
    this.cleanup = new OtpCleanup(this, 'Cleanup', {
      stateTable: this.tables.state,
      environment: this.service.environment,
      production: settings.stage === 'prod',
    });
    if (settings.waf) this.waf = new OtpWaf(this, 'Waf', { stage: this.service.api.deploymentStage });
    this.alarms = new OtpAlarms(this, 'Alarms', {
      api: this.service.api,
      functions: [...Object.values(this.service.functions), this.cleanup.fn],
      sendLogGroup: this.service.logGroups['send-otp'],
      smsMonthlyBudgetUsd: settings.smsMonthlyBudgetUsd,
      production: settings.stage === 'prod',
    });

    new CfnOutput(this, 'ApiUrl', { value: this.service.api.url, description: 'Base URL of the OTP API' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'Subscribe to get alarms' });
    new CfnOutput(this, 'StateTableName', { value: this.tables.state.tableName });
    new CfnOutput(this, 'CustomersTableName', { value: this.tables.customers.tableName });
    acknowledgeNagFindings(this, settings);
  }
}

/** Each cdk-nag finding this stack accepts, on the construct it concerns, with the reason. */
function acknowledgeNagFindings(stack: OtpStack, settings: StackSettings): void {
  const { api, functions, pepper } = stack.service;
  const acknowledge = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });

  acknowledge(
    api,
    'APIG2',
    'Bodies are validated by the handlers (zod), so every error has the problem+json shape of API.md.',
  );
  acknowledge(
    api,
    'APIG4',
    'The OTP routes are how a user logs in and cannot need credentials; /v1/session checks its own tokens.',
  );
  acknowledge(
    api,
    'COG4',
    "Sessions are this service's own tokens; there is no Cognito user pool to authorize against.",
  );
  acknowledge(
    api,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'The account-wide role API Gateway needs to write access and error logs; AWS maintains its narrow policy.',
  );
  for (const fn of [...Object.values(functions), stack.cleanup.fn]) {
    acknowledge(
      fn,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'Only lets the function write its own CloudWatch logs.',
    );
  }
  if (settings.smsCountries) {
    acknowledge(
      functions['send-otp'],
      'IAM5[Resource::*]',
      'An SMS published to a phone number has no resource ARN; publishing to any topic is explicitly denied.',
    );
  }
  if (!settings.waf) {
    acknowledge(api, 'APIG3', 'WAF turned off with -c waf=false; the per-target and per-IP send limits still apply.');
  }
  acknowledge(
    pepper,
    'SMG4',
    'Rotating the pepper voids every live code and resets the rate-limit keys; rotate by hand in a quiet hour.',
  );
}
