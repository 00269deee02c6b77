import {
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { billedWriteUnits, type Item } from './billing.js';

const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);

export interface Usage {
  /** DynamoDB requests sent. */
  requests: number;
  /** Sequential round trips: requests that started while no other was in flight. */
  roundTrips: number;
  readUnits: number;
  /** Write units as DynamoDB Local reports them (ConsumedCapacity), successful writes only. */
  writeUnits: number;
  /**
   * Write units of refused conditional writes, which come back with no ConsumedCapacity: the
   * documented charge, 1 per item, 2 per transaction item.
   */
  estimatedWriteUnits: number;
  /** Write units as AWS bills them (bench/billing.ts), refused writes included; 0 unless billing is on. */
  billedWriteUnits: number;
  /** Milliseconds with at least one DynamoDB request in flight. */
  busyMs: number;
  /** Sum of the durations of all requests (overlapping ones counted each). */
  requestMs: number;
}

export const emptyUsage = (): Usage => ({
  requests: 0,
  roundTrips: 0,
  readUnits: 0,
  writeUnits: 0,
  estimatedWriteUnits: 0,
  billedWriteUnits: 0,
  busyMs: 0,
  requestMs: 0,
});

export function difference(after: Usage, before: Usage): Usage {
  const result = emptyUsage();
  for (const key of Object.keys(result) as (keyof Usage)[]) result[key] = after[key] - before[key];
  return result;
}

interface Touched {
  table: string;
  key: Record<string, AttributeValue>;
  transactional: boolean;
  /** A ConditionCheck writes nothing: its item is the same after. */
  unchanged: boolean;
}

/** The items a write request touches, by table and primary key (both tables are keyed by `pk` alone). */
function touchedItems(command: string, input: Record<string, unknown>): Touched[] {
  const keyOf = (item: Item) => ({ pk: item.pk as AttributeValue });
  const single = (transactional: boolean, table: string | undefined, key: Item | undefined, unchanged = false) =>
    table && key ? [{ table, key, transactional, unchanged }] : [];
  const request = input as { TableName?: string; Item?: Item; Key?: Item };
  switch (command) {
    case 'PutItemCommand':
      return single(false, request.TableName, request.Item && keyOf(request.Item));
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      return single(false, request.TableName, request.Key);
    case 'TransactWriteItemsCommand':
      return ((input.TransactItems ?? []) as TransactWriteItem[]).flatMap((entry) => [
        ...single(true, entry.Put?.TableName, entry.Put?.Item && keyOf(entry.Put.Item)),
        ...single(true, entry.Update?.TableName, entry.Update?.Key),
        ...single(true, entry.Delete?.TableName, entry.Delete?.Key),
        ...single(true, entry.ConditionCheck?.TableName, entry.ConditionCheck?.Key, true),
      ]);
    case 'BatchWriteItemCommand':
      return Object.entries(
        (input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>,
      ).flatMap(([table, writes]) =>
        writes.flatMap((write) =>
          single(false, table, write.PutRequest ? keyOf(write.PutRequest.Item) : write.DeleteRequest?.Key),
        ),
      );
    default:
      return [];
  }
}

/**
 * Counts what a DynamoDB client does, with an SDK middleware: every request asks for
 * ReturnConsumedCapacity INDEXES, and the units in the answers are added up by kind. With a
 * `reader` (a second, unmetered client on the same database), each written item is also read
 * before and after the write, so that its write units can be counted as AWS bills them; those reads
 * happen outside the timed part of the request, and are not counted.
 */
export class DynamoMeter {
  private usage = emptyUsage();
  private inFlight = 0;
  /** Requests the application has sent and not yet had answered (round trips). */
  private issued = 0;
  private busySince = 0;

  constructor(private readonly reader?: DynamoDBClient) {}

  attach(client: DynamoDBClient): DynamoDBClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const input = args.input as {
          ReturnConsumedCapacity?: string;
          TransactItems?: unknown[];
          ConsistentRead?: boolean;
        };
        input.ReturnConsumedCapacity = 'INDEXES';
        // A round trip is counted when the application sends, before the billing reads below: they
        // delay a write, and a read sent beside it must not look like one sent after it.
        if (this.issued === 0) this.usage.roundTrips++;
        this.issued++;
        const touched = this.reader ? touchedItems(command, input) : [];
        const before = await Promise.all(touched.map((item) => this.read(item))).catch((error: unknown) => {
          this.issued--;
          throw error;
        });
        if (this.inFlight === 0) this.busySince = performance.now();
        this.inFlight++;
        this.usage.requests++;
        const started = performance.now();
        let outcome: 'written' | 'refused' | 'failed' = 'failed';
        try {
          const result = await next(args);
          outcome = 'written';
          this.record(
            command,
            (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity,
            input,
          );
          return result;
        } catch (error) {
          const name = (error as Error).name;
          if (name === 'ConditionalCheckFailedException') {
            outcome = 'refused';
            this.usage.estimatedWriteUnits += 1;
          }
          if (name === 'TransactionCanceledException') {
            outcome = 'refused';
            this.usage.estimatedWriteUnits += 2 * (input.TransactItems?.length ?? 0);
          }
          throw error;
        } finally {
          this.usage.requestMs += performance.now() - started;
          this.inFlight--;
          this.issued--;
          if (this.inFlight === 0) this.usage.busyMs += performance.now() - this.busySince;
          if (touched.length > 0 && outcome !== 'failed') await this.bill(touched, before, outcome === 'refused');
        }
      },
      { step: 'initialize', name: 'dynamoMeter' },
    );
    return client;
  }

  snapshot(): Usage {
    return { ...this.usage };
  }

  /** What `work` used, alone. */
  async measure(work: () => Promise<unknown>): Promise<Usage> {
    const before = this.snapshot();
    await work().catch(() => undefined);
    return difference(this.snapshot(), before);
  }

  private async read(touched: Touched): Promise<Item | undefined> {
    const { Item } = await (this.reader as DynamoDBClient).send(
      new GetItemCommand({ TableName: touched.table, Key: touched.key, ConsistentRead: true }),
    );
    return Item;
  }

  private async bill(touched: Touched[], before: (Item | undefined)[], refused: boolean): Promise<void> {
    const after = refused ? before : await Promise.all(touched.map((item) => this.read(item)));
    touched.forEach((item, index) => {
      this.usage.billedWriteUnits += billedWriteUnits(
        {
          before: before[index],
          after: item.unchanged ? before[index] : after[index],
          transactional: item.transactional,
        },
        refused,
      );
    });
  }

  private record(
    command: string,
    consumed: ConsumedCapacity | ConsumedCapacity[] | undefined,
    input: { ConsistentRead?: boolean },
  ): void {
    const units = [consumed ?? []].flat().reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    // AWS bills a read that finds nothing its minimum (0.5 eventually consistent, 1 strongly);
    // DynamoDB Local reports 0 for an empty Query.
    const minimum = command === 'BatchGetItemCommand' ? 0 : input.ConsistentRead ? 1 : 0.5;
    if (READS.has(command)) this.usage.readUnits += Math.max(units, minimum);
    else this.usage.writeUnits += units;
  }
}
