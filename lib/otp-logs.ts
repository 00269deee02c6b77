import { ArnFormat, Aws, Fn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnLogGroup, type ILogGroup, LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { CfnLoggingConfiguration } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** What a function may do with logs: add streams and events to its own group, nothing else. */
export const FUNCTION_LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'] as const;

/**
 * The role of one function: Lambda may assume it, and it may write to the function's own log group
 * only. In place of AWSLambdaBasicExecutionRole, which allows logs:CreateLogGroup, CreateLogStream
 * and PutLogEvents on every log group of the account. The group is the stack's, so the function never
 * creates one. The permissions the function's work needs are added to the role's default policy
 * (lib/otp-permissions.ts); this one is inline in the role.
 */
export function functionRole(scope: Construct, id: string, logGroup: ILogGroup): Role {
  return new Role(scope, id, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    inlinePolicies: {
      'own-logs': new PolicyDocument({
        // The ARN of a log group as CloudFormation gives it ends in `:*`: its streams.
        statements: [new PolicyStatement({ actions: [...FUNCTION_LOG_ACTIONS], resources: [logGroup.logGroupArn] })],
      }),
    },
  });
}

export interface ExecutionLogsProps {
  api: RestApi;
  stage: string;
  retention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

/**
 * The group API Gateway writes the stage's execution logs to. API Gateway creates it itself, with no
 * retention, on the first line it logs, and nothing removes it with the stack: made here, it expires
 * and goes (or stays, in production) with the other logs. The stage waits for it, so no line is
 * logged before it exists.
 */
export function executionLogGroup(scope: Construct, props: ExecutionLogsProps): LogGroup {
  const group = new LogGroup(scope, 'execution-logs', {
    logGroupName: `API-Gateway-Execution-Logs_${props.api.restApiId}/${props.stage}`,
    retention: props.retention,
    removalPolicy: props.removalPolicy,
  });
  props.api.deploymentStage.node.addDependency(group);
  return group;
}

/** The id CDK gives its AwsCustomResource function, one per stack (aws-cdk-lib/custom-resources). */
const AWS_CUSTOM_RESOURCE_FUNCTION_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * The log group of CDK's AwsCustomResource function (the account's SMS settings and default protect
 * configuration are its calls) with the stage's retention and removal policy: CDK makes it with 731
 * days and keeps it on deletion, so a dev stack's destroy would leave it. Without that function in
 * the stack, nothing to do.
 */
export function customResourceLogs(
  scope: Construct,
  props: { retention: RetentionDays; removalPolicy: RemovalPolicy },
): void {
  const fn = Stack.of(scope).node.tryFindChild(AWS_CUSTOM_RESOURCE_FUNCTION_ID);
  for (const child of fn?.node.findAll() ?? []) {
    if (!(child instanceof CfnLogGroup)) continue;
    child.retentionInDays = props.retention;
    child.applyRemovalPolicy(props.removalPolicy);
  }
}

/**
 * Headers that carry a secret: WAF writes them as REDACTED. The log keeps the source IP, the method,
 * the path and query, the rule that matched and the action. (WAF never logs bodies.)
 */
export const WAF_REDACTED_HEADERS = ['authorization', 'x-api-key', 'x-otp-session'] as const;

export interface OtpWafLoggingProps {
  webAcl: CfnWebACL;
  /**
   * Names the group `aws-waf-logs-otp-service-<stage>-<stack uuid>`: WAF takes only groups named
   * aws-waf-logs-*, and the stack's own id keeps a production group, kept when its stack is deleted,
   * from blocking the next deploy of the stage.
   */
  stage: string;
  retention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

/**
 * The web ACL's log: every request it blocks or counts (not the ones it lets through, which the
 * access log has), to a log group of the stack. WAF adds the group's resource policy for its log
 * delivery itself, with the deploying role's permissions.
 */
export class OtpWafLogging extends Construct {
  readonly logGroup: LogGroup;
  readonly configuration: CfnLoggingConfiguration;

  constructor(scope: Construct, id: string, props: OtpWafLoggingProps) {
    super(scope, id);
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    const logGroupName = `aws-waf-logs-otp-service-${props.stage}-${stackUuid}`;
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.retention,
      removalPolicy: props.removalPolicy,
    });
    this.configuration = new CfnLoggingConfiguration(this, 'Configuration', {
      resourceArn: props.webAcl.attrArn,
      // The group's ARN without the `:*` CloudFormation's ARN attribute ends in, as WAF documents it.
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: WAF_REDACTED_HEADERS.map((name) => ({ singleHeader: { Name: name } })),
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
    });
    this.configuration.node.addDependency(this.logGroup);
  }
}
