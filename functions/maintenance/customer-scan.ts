import { type AttributeValue, GetItemCommand, ScanCommand, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Dynamo } from '../adapters/dynamo/client.js';
import { customerFrom } from '../adapters/dynamo/customers.js';
import { CUSTOMER_PK, customerKey } from '../adapters/dynamo/keys.js';

/**
 * Every item of the customers table, page by page, with an optional filter: what the maintenance
 * commands walk (migrate-customers.ts, rekey-customers.ts).
 */
export async function* scanCustomerTable(
  dynamo: Dynamo,
  pageSize: number,
  filter: Pick<ScanCommandInput, 'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> = {},
): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.client.send(
      new ScanCommand({
        TableName: dynamo.tables.customersTable,
        Limit: pageSize,
        ExclusiveStartKey: startKey,
        ...filter,
      }),
    );
    startKey = page.LastEvaluatedKey;
    for (const item of page.Items ?? []) yield unmarshall(item);
  } while (startKey);
}

/**
 * The customers in the layout keyed by id, as the maintenance commands check their pepper on them:
 * the `customer#` items only, no lookup or legacy item.
 */
export async function* scanCustomers(
  dynamo: Dynamo,
  pageSize: number,
): AsyncGenerator<ReturnType<typeof customerFrom>> {
  const customers = scanCustomerTable(dynamo, pageSize, {
    FilterExpression: 'begins_with(#pk, :customer)',
    ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
    ExpressionAttributeValues: marshall({ ':customer': customerKey.customer('') }),
  });
  for await (const item of customers) yield customerFrom(item);
}

/** One item of the customers table by its key, read consistently; undefined when there is none. */
export async function getItem(dynamo: Dynamo, pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.customersTable,
      Key: marshall({ [CUSTOMER_PK]: pk }),
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}
