/**
 * The one definition of the tables, used by the CDK stack, the local server and the tests.
 * Plain data so that the CDK app does not pull in the DynamoDB client.
 */
export interface SecondaryIndex {
  name: string;
  /** A string attribute. */
  partitionKey: string;
  /** A number attribute. */
  sortKey: string;
  /** Non-key attributes copied into the index; none (keys only) when left out. */
  include?: readonly string[];
}

export interface TableDefinition {
  partitionKey: string;
  /** Epoch-seconds attribute that DynamoDB TTL deletes by; undefined for tables that keep items. */
  timeToLiveAttribute?: string;
  /** A keys-only index with a string partition key and a number sort key. */
  dueIndex?: SecondaryIndex;
  /** The index that lists a customer's sessions (their families). */
  sessionsIndex?: SecondaryIndex;
}

/**
 * Codes, send counters, sessions, refresh tokens and session families. Every item expires. With the
 * expiry sweep (OTP_EXPIRY_SWEEP) each also lists itself in the sparse `due` index under the hour it
 * expires in, so the cleanup can find what TTL has not deleted yet without scanning the table;
 * without it the table has no `due` index (stateTableOf).
 *
 * The sparse `sessions` index holds family items only: its partition key, `sessionsOf` (the
 * customer's id), is written on family items alone (session and refresh items carry `customerId`
 * too, and keying on that would put every one of them in the index). Its sort key is the family's
 * absolute end, which never changes, so a Query can skip ended families by its key condition. It
 * includes what GET /v1/sessions shows and decides liveness by, so that the listing is one Query
 * with no read of the table. `lastUsedAt`, `sessionExpiresAt` and `idleUntil` change on every
 * refresh: that is one index write (1 write unit) per refresh, the price of a listing that shows
 * when each session was last used. The hashes that also change on every refresh are left out (no
 * token hash in the index). A logout or a revoke-all removes `sessionsOf`, which takes the family out
 * of the index (one index write), so revoked families do not pile up there.
 */
export const STATE_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'ttl',
  dueIndex: { name: 'due', partitionKey: 'dueBucket', sortKey: 'dueAt' },
  sessionsIndex: {
    name: 'sessions',
    partitionKey: 'sessionsOf',
    sortKey: 'absoluteExpiresAt',
    include: ['clientId', 'platform', 'loginAt', 'lastUsedAt', 'sessionExpiresAt', 'idleUntil', 'revokedAt'],
  },
} as const satisfies TableDefinition;

/** The state table as a deployment has it: the `due` index only with the expiry sweep. */
export function stateTableOf(settings: { expirySweep?: boolean }): TableDefinition {
  if (settings.expirySweep) return STATE_TABLE;
  return { ...STATE_TABLE, dueIndex: undefined };
}

/** Customers, keyed by their normalised target. Kept; point-in-time recovery on in AWS. */
export const CUSTOMERS_TABLE: TableDefinition = { partitionKey: 'pk' };

/**
 * Clients and their API keys: `client#<id>` items hold name, status and policy, `apikey#<sha256>`
 * items lead from a key's hash to its client. Kept; point-in-time recovery on in AWS.
 */
export const CLIENTS_TABLE: TableDefinition = { partitionKey: 'pk' };

/** The secondary indexes of a table. */
export function indexesOf(definition: TableDefinition): SecondaryIndex[] {
  return [definition.dueIndex, definition.sessionsIndex].filter((index) => index !== undefined);
}

/** The CreateTable input for DynamoDB Local (and any other on-demand table created outside CDK). */
export function createTableInput(definition: TableDefinition, tableName: string) {
  const indexes = indexesOf(definition);
  const attributes = new Map<string, 'S' | 'N'>([[definition.partitionKey, 'S']]);
  for (const index of indexes) {
    attributes.set(index.partitionKey, 'S');
    attributes.set(index.sortKey, 'N');
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: [{ AttributeName: definition.partitionKey, KeyType: 'HASH' as const }],
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    ...(indexes.length > 0
      ? {
          GlobalSecondaryIndexes: indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
              { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
            ],
            Projection: index.include
              ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.include] }
              : { ProjectionType: 'KEYS_ONLY' as const },
          })),
        }
      : {}),
  };
}
