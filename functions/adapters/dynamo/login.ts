import { GetItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { InvalidCodeError } from '../../core/errors.js';
import type { Customer, LoginCompletion, SessionRecord } from '../../core/ports.js';
import type { Channel } from '../../core/purposes.js';
import type { Dynamo } from './client.js';
import { codeKeyOf } from './codes.js';
import { CUSTOMER_PK, customerKey, STATE_PK } from './keys.js';
import { cancellationReasons, transact } from './retry.js';
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
 * Consumes the code and writes the session (and a new customer) in one transaction: either the
 * login happened completely or the code is still there. The code's condition makes it single-use;
 * the customer's makes find-or-create safe, and a lost race hands the session to the winner.
 */
export async function completeLogin(
  dynamo: Dynamo,
  login: LoginCompletion,
): Promise<{ customer: Customer; isNew: boolean }> {
  let { session, customer, isNew } = login;
  for (;;) {
    try {
      await transact(dynamo, loginItems(dynamo, login, session, isNew ? customer : undefined));
      return { customer, isNew };
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

function loginItems(
  dynamo: Dynamo,
  login: LoginCompletion,
  session: SessionRecord,
  newCustomer?: Customer,
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
        Item: marshall(sessionItem(session)),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': STATE_PK },
      },
    },
  ];
  if (newCustomer) {
    items.push({
      Put: {
        TableName: dynamo.tables.customersTable,
        Item: marshall(customerItem(newCustomer), { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
  }
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
  };
}
