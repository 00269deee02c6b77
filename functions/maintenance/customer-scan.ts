import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Dynamo } from '../adapters/dynamo/client.js';
import { customerFrom } from '../adapters/dynamo/customers.js';
import { CUSTOMER_PK, customerKey } from '../adapters/dynamo/keys.js';

/**
 * The customers of the customers table in the layout keyed by id, page by page, as the maintenance
 * commands check their pepper on them (migrate-customers.ts, rekey-customers.ts): a scan of the
 * `customer#` items only, no lookup or legacy item.
 */
export async function* scanCustomers(
  dynamo: Dynamo,
  pageSize: number,
): AsyncGenerator<ReturnType<typeof customerFrom>> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.client.send(
      new ScanCommand({
        TableName: dynamo.tables.customersTable,
        Limit: pageSize,
        ExclusiveStartKey: startKey,
        FilterExpression: 'begins_with(#pk, :customer)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
        ExpressionAttributeValues: marshall({ ':customer': customerKey.customer('') }),
      }),
    );
    startKey = page.LastEvaluatedKey;
    for (const item of page.Items ?? []) yield customerFrom(unmarshall(item));
  } while (startKey);
}
