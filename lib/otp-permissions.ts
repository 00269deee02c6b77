import { Aws, Stack } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { HandlerName } from '../functions/routes.js';
import { senderAddress } from '../functions/settings-rules.js';
import { STATE_TABLE } from '../functions/tables.js';
import { type KeyedTable, leadingKeysCondition } from './leading-keys.js';

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
  /**
   * E-mail is sent from this address (`Name <address>` allowed) through this SES identity, in this
   * configuration set.
   */
  email?: { from: string; sesIdentity: string; configurationSet: string };
}

/** Gives each API function only the actions its code calls, on the resources it calls them on. */
export function grantHandlerPermissions(props: HandlerPermissionsProps): void {
  const {
    'send-otp': send,
    'verify-otp': verify,
    session,
    sessions,
    refresh,
    policy,
    'well-known': wellKnown,
  } = props.functions;
  const handlerOf = new Map(Object.entries(props.functions).map(([name, fn]) => [fn, name as HandlerName]));
  const kindOf = new Map<TableV2, KeyedTable>([
    [props.state, 'state'],
    [props.customers, 'customers'],
  ]);
  // On the tables themselves, not their indexes (which table.grant would add). Transactions need
  // the item actions they contain; there is no separate transaction action, and each item of a
  // transaction is checked against the statement of its action, its key included. Where
  // lib/leading-keys.ts lists a function's prefixes on the table, only items under them.
  const allow = (fn: IFunction, table: TableV2, ...actions: string[]) => {
    const handler = handlerOf.get(fn);
    const kind = kindOf.get(table);
    const condition = handler && kind ? leadingKeysCondition(handler, kind) : undefined;
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: actions.map((a) => `dynamodb:${a}`),
        resources: [table.tableArn],
        ...(condition ? { conditions: condition } : {}),
      }),
    );
  };
  // BatchGetItem: the conversion breaker reads every shard of a country's windows at once
  // (functions/adapters/dynamo/sms-limits.ts breakerWindows); refused, the breaker never pauses.
  allow(send, props.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem');
  // verify-email / verify-phone: whether the session's customer has that identifier already.
  allow(send, props.customers, 'GetItem');
  // verify-* / update-* check in their transaction that the session is still live (ConditionCheck).
  allow(verify, props.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem');
  // The login transaction creates a customer and its lookup item (Put) or records a returning one's
  // login (Update); update-* deletes the lookup item of the replaced identifier, and moving a
  // customer stored under its target deletes that item (Delete). During a pepper rotation the login
  // that creates a customer, and verify-* / update-*, check that no other pepper's key holds the
  // target (ConditionCheck, functions/adapters/dynamo/customers.ts otherKeyChecks).
  allow(verify, props.customers, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem');
  // Revoking a session revokes its family (an Update of the family item); revoking every session of
  // a customer lists their families and, for each, revokes it and deletes its current session.
  allow(session, props.state, 'GetItem', 'UpdateItem', 'DeleteItem');
  // Checking the caller's token (GetItem) and listing their families.
  allow(sessions, props.state, 'GetItem');
  // Query on the sessions index only, and only by the functions that list a customer's sessions.
  const sessionsIndex = `${props.state.tableArn}/index/${STATE_TABLE.sessionsIndex.name}`;
  for (const fn of [session, sessions]) {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [sessionsIndex] }));
  }
  // Rotation is one transaction: the family updated, the old session deleted, the new session and
  // refresh token put; reuse revokes the family and deletes its live session.
  allow(refresh, props.state, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
  // The refreshed answer carries the customer's identity, read beside the rotation
  // (functions/core/refresh-session.ts): without this the read was refused.
  allow(refresh, props.customers, 'GetItem');
  // Each API call finds its client by the key's hash (functions/adapters/dynamo/clients.ts,
  // findByKeyHash); clients are written only by `npm run clients` with an operator's credentials.
  for (const fn of [send, verify, session, sessions, refresh, policy]) allow(fn, props.clients, 'GetItem');
  props.pepper.grantRead(send);
  props.pepper.grantRead(verify);
  // Verify and refresh issue access tokens, session checks them, well-known publishes the keys
  // (functions/wiring.ts withSigningKeys). GetSecretValue only: the secret's value is all they read.
  for (const fn of [verify, refresh, session, sessions, wellKnown]) {
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
        // SES authorises a send against the identity and, when the call names one, the configuration set.
        resources: [
          Stack.of(send).formatArn({ service: 'ses', resource: 'identity', resourceName: props.email.sesIdentity }),
          Stack.of(send).formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: props.email.configurationSet,
          }),
        ],
        conditions: { StringEquals: { 'ses:FromAddress': senderAddress(props.email.from) } },
      }),
    );
  }
}
