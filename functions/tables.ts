/**
 * The one definition of the tables, used by the CDK stack, the local server and the tests.
 * Plain data so that the CDK app does not pull in the DynamoDB client.
 */
export interface TableDefinition {
  partitionKey: string;
  /** Epoch-seconds attribute that DynamoDB TTL deletes by; undefined for tables that keep items. */
  timeToLiveAttribute?: string;
}

/** Codes, send counters and sessions. Every item expires. */
export const STATE_TABLE: TableDefinition = { partitionKey: 'pk', timeToLiveAttribute: 'ttl' };

/** Customers, keyed by their normalised target. Kept; point-in-time recovery on in AWS. */
export const CUSTOMERS_TABLE: TableDefinition = { partitionKey: 'pk' };

/** The CreateTable input for DynamoDB Local (and any other on-demand table created outside CDK). */
export function createTableInput(definition: TableDefinition, tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: [{ AttributeName: definition.partitionKey, KeyType: 'HASH' as const }],
    AttributeDefinitions: [{ AttributeName: definition.partitionKey, AttributeType: 'S' as const }],
  };
}
