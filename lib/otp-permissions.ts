import { Aws, Stack } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { HandlerName } from '../functions/routes.js';
import { senderAddress } from '../functions/settings-rules.js';

export interface HandlerPermissionsProps {
  functions: Record<HandlerName, IFunction>;
  state: TableV2;
  customers: TableV2;
  clients: TableV2;
  pepper: ISecret;
  /** Read by the functions that sign or check access tokens, or publish their keys. */
  signingKeys: ISecret;
  /** SMS is sent: the send function may publish to phone numbers. */
  sms: boolean;
  /** E-mail is sent from this address (`Name <address>` allowed) through this SES identity. */
  email?: { from: string; sesIdentity: string };
}

/** Gives each API function only the actions its code calls, on the resources it calls them on. */
export function grantHandlerPermissions(props: HandlerPermissionsProps): void {
  const { 'send-otp': send, 'verify-otp': verify, session, refresh, policy, 'well-known': wellKnown } = props.functions;
  // On the tables themselves, not their indexes (which table.grant would add). Transactions need
  // the item actions they contain; there is no separate transaction action.
  const allow = (fn: IFunction, table: TableV2, ...actions: string[]) =>
    fn.addToRolePolicy(
      new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
    );
  allow(send, props.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
  allow(verify, props.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
  // The login transaction creates a new customer (Put) or records a returning one's login (Update).
  allow(verify, props.customers, 'GetItem', 'PutItem', 'UpdateItem');
  // Revoking a session revokes its refresh family (an Update of the family item).
  allow(session, props.state, 'GetItem', 'UpdateItem');
  // Rotation is one transaction: the family updated, the old session deleted, the new session and
  // refresh token put; reuse revokes the family and deletes its live session.
  allow(refresh, props.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
  // Each API call finds its client by the key's hash (functions/adapters/dynamo/clients.ts,
  // findByKeyHash); clients are written only by `npm run clients` with an operator's credentials.
  for (const fn of [send, verify, session, refresh, policy]) allow(fn, props.clients, 'GetItem');
  props.pepper.grantRead(send);
  props.pepper.grantRead(verify);
  // Verify and refresh issue access tokens, session checks them, well-known publishes the keys
  // (functions/wiring.ts withSigningKeys). GetSecretValue only: the secret's value is all they read.
  for (const fn of [verify, refresh, session, wellKnown]) {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.signingKeys.secretArn] }),
    );
  }

  if (props.sms) {
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
  if (props.email) {
    send.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [
          Stack.of(send).formatArn({ service: 'ses', resource: 'identity', resourceName: props.email.sesIdentity }),
        ],
        conditions: { StringEquals: { 'ses:FromAddress': senderAddress(props.email.from) } },
      }),
    );
  }
}
