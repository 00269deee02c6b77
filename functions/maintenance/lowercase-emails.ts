/**
 * One-off migration: customers whose e-mail was stored with upper-case letters before the @ are
 * re-keyed under the whole address lower-cased, which is what functions/core/targets.ts now
 * normalises to. Without it, the next login of such a mailbox finds no customer and creates a second
 * one with a new id.
 *
 * Safe while the service is live: every move is one transaction whose conditions DynamoDB checks,
 * never a read followed by a write. A customer that already exists under the lower-case key (a login
 * after the upgrade created it, or two spellings of one mailbox were stored before) is never merged:
 * both items are left as they are and the pair is reported for a person to resolve. Idempotent: a
 * second run finds nothing left to move.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Dynamo } from '../adapters/dynamo/client.js';
import { CUSTOMER_PK } from '../adapters/dynamo/keys.js';
import { cancellationReasons, isConflict, transact } from '../adapters/dynamo/retry.js';

export interface MigrationOptions {
  client: DynamoDBClient;
  /** The customers table (the stack output CustomersTableName in AWS). */
  tableName: string;
  /** Reports what would change and writes nothing. */
  dryRun?: boolean;
  /** Items per Scan page (1..1000): small pages keep each read's capacity burst small on a live table. */
  pageSize?: number;
}

/** Two customers for one mailbox: the old spelling and the lower-case key, each with its own id. */
export interface Conflict {
  oldKey: string;
  newKey: string;
  oldId: string;
  newId: string;
}

export interface MigrationSummary {
  dryRun: boolean;
  /** Every item read, whatever its channel, except the ones this run moved and met again. */
  scanned: number;
  /** Re-keyed under the lower-case address (in a dry run: would be). */
  migrated: number;
  /** Left as they are for a person to resolve. */
  conflicts: Conflict[];
  /**
   * Nothing to do: SMS customers, addresses already lower-case, and items that another writer
   * (another run of this migration) moved or removed between the scan and the write.
   */
  skipped: number;
  /** Still contended by other transactions after the retries; a second run picks them up. */
  unfinished: number;
}

export const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/**
 * The key the service now looks a customer up by. Must match normaliseEmail in
 * functions/core/targets.ts; stored keys are already trimmed, as the old normalisation trimmed too.
 */
export const lowercaseKey = (key: string): string => key.toLowerCase();

export async function migrateLowercaseEmails(options: MigrationOptions): Promise<MigrationSummary> {
  const { client, tableName } = options;
  const dryRun = options.dryRun ?? false;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${pageSize}).`);
  }
  // transact() only sends through the client; the state table plays no part here.
  const dynamo: Dynamo = { client, tables: { stateTable: '', customersTable: tableName, clientsTable: '' } };
  const summary: MigrationSummary = { dryRun, scanned: 0, migrated: 0, conflicts: [], skipped: 0, unfinished: 0 };
  // A dry run writes nothing, so two old spellings of one mailbox would both look movable: the keys it
  // would have claimed so far stand in for the writes, with the id that would be there.
  const claimed = new Map<string, string>();
  // A moved item may be met again further on in the same scan, under its new key: it is not counted
  // twice, so that scanned = migrated + conflicts + skipped + unfinished.
  const moved = new Set<string>();

  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, Limit: pageSize, ExclusiveStartKey: startKey }),
    );
    startKey = page.LastEvaluatedKey;
    for (const item of page.Items ?? []) {
      const plain: Record<string, unknown> = unmarshall(item);
      const oldKey = plain[CUSTOMER_PK];
      if (typeof oldKey === 'string' && moved.has(oldKey)) continue;
      summary.scanned++;
      const id = plain.id;
      if (plain.channel !== 'email' || typeof oldKey !== 'string' || typeof id !== 'string') {
        summary.skipped++;
        continue;
      }
      const newKey = lowercaseKey(oldKey);
      if (newKey === oldKey) {
        summary.skipped++;
        continue;
      }
      const outcome = dryRun
        ? await predict(dynamo, claimed, oldKey, newKey, id)
        : await move(dynamo, item, oldKey, newKey, id);
      record(summary, outcome);
      if (outcome.kind === 'migrated' && !dryRun) moved.add(newKey);
    }
  } while (startKey);
  return summary;
}

type Outcome =
  { kind: 'migrated' } | { kind: 'conflict'; conflict: Conflict } | { kind: 'skipped' } | { kind: 'unfinished' };

function record(summary: MigrationSummary, outcome: Outcome): void {
  if (outcome.kind === 'conflict') summary.conflicts.push(outcome.conflict);
  else summary[outcome.kind]++;
}

/**
 * Put under the new key only if nothing is there, and delete the old item only if it is still the
 * customer that was scanned: the service never deletes customers, but another run of this migration,
 * or a person resolving a conflict, may have.
 */
async function move(
  dynamo: Dynamo,
  item: Record<string, AttributeValue>,
  oldKey: string,
  newKey: string,
  id: string,
): Promise<Outcome> {
  const table = dynamo.tables.customersTable;
  // The item is copied as stored, so attributes this module does not know about move with it.
  const items: TransactWriteItem[] = [
    {
      Put: {
        TableName: table,
        Item: { ...item, [CUSTOMER_PK]: { S: newKey } },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Delete: {
        TableName: table,
        Key: { [CUSTOMER_PK]: { S: oldKey } },
        ConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': { S: id } },
      },
    },
  ];
  try {
    await transact(dynamo, items);
    return { kind: 'migrated' };
  } catch (error) {
    const [putReason, deleteReason] = cancellationReasons(error);
    if (deleteReason?.Code === 'ConditionalCheckFailed') return { kind: 'skipped' };
    if (putReason?.Code === 'ConditionalCheckFailed') {
      const existing: Record<string, unknown> = putReason.Item ? unmarshall(putReason.Item) : {};
      const newId = typeof existing.id === 'string' ? existing.id : '';
      return { kind: 'conflict', conflict: { oldKey, newKey, oldId: id, newId } };
    }
    // transact() has already retried; left for the next run rather than stopping the whole scan.
    if (isConflict(error)) return { kind: 'unfinished' };
    throw error;
  }
}

/** What move() would do, from a consistent read of the new key; writes nothing. */
async function predict(
  dynamo: Dynamo,
  claimed: Map<string, string>,
  oldKey: string,
  newKey: string,
  id: string,
): Promise<Outcome> {
  const result = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.customersTable,
      Key: { [CUSTOMER_PK]: { S: newKey } },
      ConsistentRead: true,
    }),
  );
  const stored: unknown = result.Item ? unmarshall(result.Item).id : undefined;
  const newId = typeof stored === 'string' ? stored : claimed.get(newKey);
  if (result.Item || newId !== undefined) {
    return { kind: 'conflict', conflict: { oldKey, newKey, oldId: id, newId: newId ?? '' } };
  }
  claimed.set(newKey, id);
  return { kind: 'migrated' };
}
