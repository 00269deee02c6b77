import { Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { OtpAuthorizer } from './otp-authorizer.js';
import type { OtpService } from './otp-service.js';

/** Tracing.ACTIVE (lib/function-defaults.ts) grants these two actions, which take no resource. */
const XRAY_REASON =
  'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource ARN, so "*" is their only resource.';
const SMS_PUBLISH_REASON =
  'An SMS published to a phone number has no resource ARN; publishing to any topic is explicitly denied.';

const acknowledge = (scope: Construct, id: string, reason: string) =>
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });

/**
 * Where a function's grants are: its role (lib/otp-logs.ts functionRole), which is the function's
 * sibling, not its child, so an acknowledgement on the function would not reach the role's policy.
 */
const roleOf = (fn: IFunction): Construct => (fn.role instanceof Construct ? fn.role : fn);

/** Each cdk-nag AwsSolutions finding the service accepts, on the construct it concerns, with the reason. */
export function acknowledgeNagFindings(service: OtpService, options: { sms: boolean; waf: boolean }): void {
  const { api, functions, pepper, signingKeys } = service;

  acknowledge(
    api,
    'APIG2',
    'Bodies are validated by the handlers (zod), so every error has the problem+json shape of the handlers.',
  );
  acknowledge(
    api,
    'APIG4',
    "Login routes take no AWS credentials: the functions check the client's X-API-Key, /v1/session its tokens.",
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
  // The functions' roles carry no managed policy: each writes to its own log group only
  // (lib/otp-logs.ts functionRole).
  for (const fn of [...Object.values(functions), service.cleanup.fn]) {
    // One acknowledgement per finding and construct: the send function's names its SMS reason too.
    const sms = options.sms && fn === functions['send-otp'];
    acknowledge(roleOf(fn), 'IAM5[Resource::*]', sms ? `${SMS_PUBLISH_REASON} ${XRAY_REASON}` : XRAY_REASON);
  }
  const accountDefault = service.protectConfiguration?.accountDefault;
  if (accountDefault) {
    acknowledge(
      accountDefault,
      'IAM5[Resource::*]',
      'DeleteAccountDefaultProtectConfiguration (run when the stack is deleted) names no resource in IAM, so it takes "*" and nothing else; setting the default is allowed on this protect configuration only.',
    );
  }
  const smsAccount = service.smsAccountSettings?.call;
  if (smsAccount) {
    acknowledge(
      smsAccount,
      'IAM5[Resource::*]',
      'sns:SetSMSAttributes names no resource in IAM, so it takes "*" and nothing else; iam:PassRole is on the delivery-status role only, to SNS only.',
    );
  }
  // The function that makes the calls is the stack's one AwsCustomResource function, whose role is
  // every custom resource's grant principal: one acknowledgement for it.
  const role = (accountDefault ?? smsAccount)?.grantPrincipal;
  if (role instanceof Construct) {
    acknowledge(
      role,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "CDK's AwsCustomResource function (one per stack, made by aws-cdk-lib) takes this AWS-managed policy, which allows logs:CreateLogGroup, CreateLogStream and PutLogEvents on every log group; it runs only on deploy and delete.",
    );
  }
  if (!options.waf) {
    acknowledge(api, 'APIG3', 'WAF turned off with -c waf=false; the per-target and per-IP send limits still apply.');
  }
  acknowledge(
    pepper,
    'SMG4',
    'The pepper keys every lookup item: it is rotated by hand in steps (README, Rotating the pepper), which keep codes and customers and reset the rate-limit keys; rotate in a quiet hour.',
  );
  acknowledge(
    signingKeys,
    'SMG4',
    'The cleanup function rotates the signing keys itself (next, current, previous), so that a key is published before it signs; a Secrets Manager rotation would replace them at once.',
  );
}

/**
 * What the authorizer's own function accepts (lib/otp-authorizer.ts acknowledges it itself, in the
 * team's stack). The team's REST API and its findings are the team's.
 */
export function acknowledgeAuthorizerNagFindings(authorizer: OtpAuthorizer): void {
  acknowledge(roleOf(authorizer.fn), 'IAM5[Resource::*]', XRAY_REASON);
}
