import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  type AwsSdkCall,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** Which SMS deliveries SNS logs: the failed ones only, or every one. */
export type SmsDeliveryStatusLogs = 'failures' | 'all';

export interface OtpSmsAccountSettingsProps {
  /**
   * The account's SNS `MonthlySpendLimit` in the region, in whole USD: SNS stops sending SMS within
   * minutes of the month's spend crossing it. SNS refuses a value above the account's quota.
   */
  readonly monthlySpendLimitUsd?: number;
  /** SNS writes SMS delivery logs to CloudWatch Logs (`DeliveryStatusIAMRole`). */
  readonly deliveryStatusLogs?: SmsDeliveryStatusLogs;
  readonly retention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The log groups SNS writes SMS delivery logs to in a region: successes and failures. SNS names them;
 * they hold the destination number in full.
 */
export function smsDeliveryLogGroupNames(region: string, account: string): { success: string; failure: string } {
  const base = `sns/${region}/${account}/DirectPublishToPhoneNumber`;
  return { success: base, failure: `${base}/Failure` };
}

/**
 * The account's SMS settings of SNS (SetSMSAttributes), which CloudFormation has no resource for:
 * the monthly spend limit, a hard stop where the spend alarm only warns, and delivery-status logging.
 * Both are settings of the whole account in the region, not of this stack: whatever else sends SMS
 * there is bound by them, and the last stack deployed wins. The delivery logs go to the two log
 * groups SNS names, made here with the stack's retention; a second stack in the account and region
 * asking for delivery logs fails on them, which is the point.
 *
 * On delete the spend limit stays as it is (a lower limit is the safe side, and SNS cannot tell the
 * value it had before); the delivery-status role is cleared, best effort, since the role goes.
 */
export class OtpSmsAccountSettings extends Construct {
  readonly call: AwsCustomResource;
  /** With deliveryStatusLogs: the role SNS writes the logs with, and the groups. */
  readonly deliveryStatusRole?: Role;
  readonly deliveryLogGroups?: { success: LogGroup; failure: LogGroup };

  constructor(scope: Construct, id: string, props: OtpSmsAccountSettingsProps) {
    super(scope, id);
    if (props.monthlySpendLimitUsd === undefined && props.deliveryStatusLogs === undefined) {
      throw new Error('OtpSmsAccountSettings: nothing to set.');
    }
    const stack = Stack.of(this);
    const attributes: Record<string, string> = {};
    if (props.monthlySpendLimitUsd !== undefined) attributes.MonthlySpendLimit = String(props.monthlySpendLimitUsd);
    const statements = [
      // SetSMSAttributes names no resource in IAM: "*" is the only resource it takes.
      new PolicyStatement({ actions: ['sns:SetSMSAttributes'], resources: ['*'] }),
    ];

    if (props.deliveryStatusLogs) {
      const names = smsDeliveryLogGroupNames(stack.region, stack.account);
      const group = (groupId: string, logGroupName: string) =>
        new LogGroup(this, groupId, { logGroupName, retention: props.retention, removalPolicy: props.removalPolicy });
      const groups = { success: group('DeliveryLogs', names.success), failure: group('FailureLogs', names.failure) };
      this.deliveryLogGroups = groups;
      const sns = new ServicePrincipal('sns.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      });
      this.deliveryStatusRole = new Role(this, 'DeliveryStatusRole', {
        description: 'Lets SNS write SMS delivery logs to the two groups it names',
        assumedBy: sns,
        inlinePolicies: {
          'sms-delivery-logs': new PolicyDocument({
            statements: [
              new PolicyStatement({
                actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
                resources: [groups.success.logGroupArn, groups.failure.logGroupArn],
              }),
            ],
          }),
        },
      });
      attributes.DeliveryStatusIAMRole = this.deliveryStatusRole.roleArn;
      attributes.DeliveryStatusSuccessSamplingRate = props.deliveryStatusLogs === 'all' ? '100' : '0';
      // Handing SNS the role is a PassRole of it, to SNS only.
      statements.push(
        new PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [this.deliveryStatusRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'sns.amazonaws.com' } },
        }),
      );
    }

    const set: AwsSdkCall = {
      service: '@aws-sdk/client-sns',
      action: 'SetSMSAttributes',
      parameters: { attributes },
      // One physical id whatever the values: a change is an update (set again), never a delete.
      physicalResourceId: PhysicalResourceId.of('sns-sms-attributes'),
    };
    this.call = new AwsCustomResource(this, 'SetSMSAttributes', {
      onCreate: set,
      onUpdate: set,
      ...(props.deliveryStatusLogs
        ? {
            onDelete: {
              service: '@aws-sdk/client-sns',
              action: 'SetSMSAttributes',
              parameters: { attributes: { DeliveryStatusIAMRole: '' } },
              // Best effort: a stack's deletion must not fail on an account setting it no longer needs.
              ignoreErrorCodesMatching: '.*',
            },
          }
        : {}),
      installLatestAwsSdk: false,
      policy: AwsCustomResourcePolicy.fromStatements(statements),
    });
    // Set only once SNS may write to the groups; cleared before the role and groups go.
    if (this.deliveryStatusRole) this.call.node.addDependency(this.deliveryStatusRole);
    if (this.deliveryLogGroups) {
      this.call.node.addDependency(this.deliveryLogGroups.success, this.deliveryLogGroups.failure);
    }
  }
}
