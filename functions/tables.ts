/**
 * The one definition of the tables, used by the CDK stack, the local server and the tests.
 * Plain data so that the CDK app does not pull in the DynamoDB client.
 */
export interface TableDefinition {
  partitionKey: string;
  /** Epoch-seconds attribute that DynamoDB TTL deletes by; undefined for tables that keep items. */
  timeToLiveAttribute?: string;
  /** A keys-only index with a string partition key and a number sort key. */
  dueIndex?: { name: string; partitionKey: string; sortKey: string };
}

/**
 * Codes, send counters and sessions. Every item expires, and lists itself in the sparse `due`
 * index under the hour it expires in, so the cleanup can find what TTL has not deleted yet
 * without scanning the table.
 */
export const STATE_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'ttl',
  dueIndex: { name: 'due', partitionKey: 'dueBucket', sortKey: 'dueAt' },
} as const satisfies TableDefinition;

/** Customers, keyed by their normalised target. Kept; point-in-time recovery on in AWS. */
export const CUSTOMERS_TABLE: TableDefinition = { partitionKey: 'pk' };

/**
 * Clients and their API keys: `client#<id>` items hold name, status and policy, `apikey#<sha256>`
 * items lead from a key's hash to its client. Kept; point-in-time recovery on in AWS.
 */
export const CLIENTS_TABLE: TableDefinition = { partitionKey: 'pk' };

/** The CreateTable input for DynamoDB Local (and any other on-demand table created outside CDK). */
export function createTableInput(definition: TableDefinition, tableName: string) {
  const index = definition.dueIndex;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: [{ AttributeName: definition.partitionKey, KeyType: 'HASH' as const }],
    AttributeDefinitions: [
      { AttributeName: definition.partitionKey, AttributeType: 'S' as const },
      ...(index
        ? [
            { AttributeName: index.partitionKey, AttributeType: 'S' as const },
            { AttributeName: index.sortKey, AttributeType: 'N' as const },
          ]
        : []),
    ],
    ...(index
      ? {
          GlobalSecondaryIndexes: [
            {
              IndexName: index.name,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' as const },
            },
          ],
        }
      : {}),
  };
}
