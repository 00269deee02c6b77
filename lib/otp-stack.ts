import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { acknowledgeNagFindings } from './nag-acknowledgements.js';
import { OtpService, type OtpServiceProps } from './otp-service.js';
import type { StackSettings } from './stack-config.js';

export interface OtpStackProps extends StackProps {
  settings: StackSettings;
}

/** The context settings of lib/stack-config.ts as the props of the service construct. */
export function serviceProps(settings: StackSettings): OtpServiceProps {
  return {
    stage: settings.stage,
    production: settings.production,
    devMode: settings.devMode,
    sms: settings.smsCountries && {
      allowedCountries: settings.smsCountries,
      senderId: settings.smsSenderId,
      originationNumber: settings.smsOriginationNumber,
      hourlyLimits: settings.smsHourlyLimits,
      breaker: settings.breaker,
      protectConfiguration: settings.protectConfiguration,
      protectConfigurationAccountDefault: settings.protectConfigurationDefault,
      monthlySpendLimitUsd: settings.smsMonthlySpendLimitUsd,
      deliveryStatusLogs: settings.smsDeliveryStatusLogs,
    },
    email: settings.emailFrom ? { from: settings.emailFrom, sesIdentity: settings.sesIdentity } : undefined,
    smsMonthlyBudgetUsd: settings.smsMonthlyBudgetUsd,
    sendConcurrency: settings.sendConcurrency,
    waf: settings.waf,
    xraySdkTracing: settings.xraySdkTracing,
    // Only when set: the construct refuses limits without the WAF, and the settings refuse them too.
    wafRateLimits: Object.values(settings.wafRateLimits).some((limit) => limit !== undefined)
      ? settings.wafRateLimits
      : undefined,
    throttle: settings.throttle,
    customDomain: settings.customDomain,
    requireApiKey: settings.requireApiKey,
    corsOrigins: settings.corsOrigins,
    issuer: settings.issuer,
    accessTokenAlgorithm: settings.accessTokenAlgorithm,
    tableMaxThroughput: settings.tableMaxThroughput,
    expirySweep: settings.expirySweep,
  };
}

/** The deployable service, with its outputs and the cdk-nag findings it accepts. */
export class OtpStack extends Stack {
  readonly service: OtpService;

  constructor(scope: Construct, id: string, props: OtpStackProps) {
    super(scope, id, props);
    const { settings } = props;
    // "Default" adds nothing to logical IDs: the resources keep the IDs they had before the
    // service became one construct.
    this.service = new OtpService(this, 'Default', serviceProps(settings));

    new CfnOutput(this, 'ApiUrl', { value: this.service.url, description: 'Base URL of the OTP API' });
    const domain = this.service.api.domainName;
    if (domain) {
      new CfnOutput(this, 'CustomDomainTarget', {
        value: domain.domainNameAliasDomainName,
        description: `Point ${settings.customDomain?.domainName ?? 'the custom domain'} here, with a CNAME or a Route 53 alias record`,
      });
      new CfnOutput(this, 'CustomDomainHostedZoneId', {
        value: domain.domainNameAliasHostedZoneId,
        description: 'The hosted zone of CustomDomainTarget, for a Route 53 alias record',
      });
    }
    new CfnOutput(this, 'Issuer', {
      value: this.service.issuer,
      description: 'iss of access tokens; discovery at <Issuer>/.well-known/openid-configuration',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.service.alarms.topic.topicArn,
      description: 'Subscribe to get alarms',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.service.dashboard.dashboard.dashboardName,
      description: 'CloudWatch dashboard: SMS sent, verified and refused per country, breaker trips',
    });
    new CfnOutput(this, 'StateTableName', { value: this.service.tables.state.tableName });
    new CfnOutput(this, 'CustomersTableName', { value: this.service.tables.customers.tableName });
    // `npm run clients -- --stage STAGE` finds the table by this output's name
    // (functions/clients/connection.ts): renaming it breaks the CLI.
    new CfnOutput(this, 'ClientsTableName', {
      value: this.service.tables.clients.tableName,
      description: 'Clients and API keys: manage with npm run clients',
    });
    acknowledgeNagFindings(this.service, { sms: settings.smsCountries !== undefined, waf: settings.waf });
  }
}
