import { GetItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { InvalidCodeError } from '../../core/errors.js';
import type { Customer, LoginCompletion, Platform, SessionRecord } from '../../core/ports.js';
import type { Channel } from '../../core/purposes.js';
import type { Dynamo } from './client.js';
import { codeKeyOf } from './codes.js';
import { CUSTOMER_PK, customerKey, STATE_PK } from './keys.js';
import { cancellationReasons, transact } from './retry.js';
import { loginFamilyItems } from './refresh.js';
import { sessionItem } from './sessions.js';

export async function findCustomer(dynamo: Dynamo, target: string): Promise<Customer | undefined> {
  const result = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.customersTable,
      Key: marshall({ [CUSTOMER_PK]: customerKey(target) }),
    }),
  );
  return result.Item ? customerFrom(unmarshall(result.Item)) : undefined;
}

/**
 * Consumes the code, writes the session and creates or updates the customer (its login metadata) in
 * one transaction: either the login happened completely or the code is still there. The code's
 * condition makes it single-use; the customer's makes find-or-create safe, and a lost race hands the
 * session to the winner.
 */
export async function completeLogin(
  dynamo: Dynamo,
  login: LoginCompletion,
): Promise<{ customer: Customer; isNew: boolean }> {
  let { session, customer, isNew } = login;
  for (;;) {
    try {
      await transact(dynamo, loginItems(dynamo, login, session, customer, isNew));
      return { customer: afterLogin(customer, login.now, session), isNew };
    } catch (error) {
      const [codeReason, , customerReason] = cancellationReasons(error);
      if (codeReason?.Code === 'ConditionalCheckFailed') throw new InvalidCodeError();
      if (!isNew || customerReason?.Code !== 'ConditionalCheckFailed' || !customerReason.Item) throw error;
      // Another login created this customer first: the session belongs to that one.
      customer = customerFrom(unmarshall(customerReason.Item));
      session = { ...session, customerId: customer.id };
      isNew = false;
    }
  }
}

/**
 * The customer as the login left it. The count is the one read before the login plus one: logins of
 * one customer that run at the same moment may each report the same count, while the stored count
 * (an ADD) misses none.
 */
function afterLogin(customer: Customer, now: number, session: SessionRecord): Customer {
  return { ...customer, lastLoginAt: now, loginCount: (customer.loginCount ?? 0) + 1, lastLogin: session.origin };
}

function loginItems(
  dynamo: Dynamo,
  login: LoginCompletion,
  session: SessionRecord,
  customer: Customer,
  isNew: boolean,
): TransactWriteItem[] {
  const items: TransactWriteItem[] = [
    {
      Delete: {
        TableName: dynamo.tables.stateTable,
        Key: marshall({ [STATE_PK]: codeKeyOf(login.code) }),
        ConditionExpression: 'codeHash = :hash AND expiresAt > :now',
        ExpressionAttributeValues: marshall({ ':hash': login.codeHash, ':now': login.now }),
      },
    },
    {
      Put: {
        TableName: dynamo.tables.stateTable,
        Item: marshall(sessionItem(session), { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': STATE_PK },
      },
    },
  ];
  const origin = session.origin;
  if (isNew) {
    items.push({
      Put: {
        TableName: dynamo.tables.customersTable,
        Item: marshall(customerItem(afterLogin(customer, login.now, session)), { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
  } else {
    // REMOVE what this login did not come with, so that the last login's origin is never mixed
    // with an older one's.
    const set = ['lastLoginAt = :now'];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':now': login.now, ':one': 1 };
    for (const [attribute, value] of [
      ['lastClientId', origin.clientId],
      ['lastIp', origin.sourceIp],
      ['lastPlatform', origin.platform],
    ] as const) {
      if (value === undefined) remove.push(attribute);
      else {
        set.push(`${attribute} = :${attribute}`);
        values[`:${attribute}`] = value;
      }
    }
    items.push({
      Update: {
        TableName: dynamo.tables.customersTable,
        Key: marshall({ [CUSTOMER_PK]: customerKey(customer.target) }),
        UpdateExpression: `SET ${set.join(', ')} ADD loginCount :one${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
        ExpressionAttributeValues: marshall(values),
      },
    });
  }
  items.push(...loginFamilyItems(dynamo, session, login.refresh));
  return items;
}

function customerItem(customer: Customer): Record<string, unknown> {
  return {
    [CUSTOMER_PK]: customerKey(customer.target),
    id: customer.id,
    channel: customer.channel,
    // No attribute for no name, not an empty string.
    name: customer.name || undefined,
    createdAt: customer.createdAt,
    lastLoginAt: customer.lastLoginAt,
    loginCount: customer.loginCount,
    lastClientId: customer.lastLogin?.clientId,
    lastIp: customer.lastLogin?.sourceIp,
    lastPlatform: customer.lastLogin?.platform,
  };
}

function customerFrom(item: Record<string, unknown>): Customer {
  const text = (name: string) => (typeof item[name] === 'string' ? item[name] : '');
  return {
    id: text('id'),
    target: text(CUSTOMER_PK),
    channel: item.channel as Channel,
    name: typeof item.name === 'string' ? item.name : null,
    createdAt: Number(item.createdAt ?? 0),
    lastLoginAt: typeof item.lastLoginAt === 'number' ? item.lastLoginAt : undefined,
    loginCount: typeof item.loginCount === 'number' ? item.loginCount : undefined,
    lastLogin: {
      clientId: typeof item.lastClientId === 'string' ? item.lastClientId : undefined,
      sourceIp: typeof item.lastIp === 'string' ? item.lastIp : undefined,
      platform: typeof item.lastPlatform === 'string' ? (item.lastPlatform as Platform) : undefined,
    },
  };
}
