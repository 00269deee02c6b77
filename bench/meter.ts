import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';

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
  writeUnits: number;
  /**
   * Write units of refused conditional writes. DynamoDB charges them but returns no ConsumedCapacity
   * with the error, so they are counted at AWS's documented rate: 1 per item, 2 per transaction item.
   */
  estimatedWriteUnits: number;
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
  busyMs: 0,
  requestMs: 0,
});

export function difference(after: Usage, before: Usage): Usage {
  return {
    requests: after.requests - before.requests,
    roundTrips: after.roundTrips - before.roundTrips,
    readUnits: after.readUnits - before.readUnits,
    writeUnits: after.writeUnits - before.writeUnits,
    estimatedWriteUnits: after.estimatedWriteUnits - before.estimatedWriteUnits,
    busyMs: after.busyMs - before.busyMs,
    requestMs: after.requestMs - before.requestMs,
  };
}

/**
 * Counts what a DynamoDB client does, with an SDK middleware: every request asks for
 * ReturnConsumedCapacity TOTAL, and the units in the answers are added up by kind.
 */
export class DynamoMeter {
  private usage = emptyUsage();
  private inFlight = 0;
  private busySince = 0;

  attach(client: DynamoDBClient): DynamoDBClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ReturnConsumedCapacity?: string; TransactItems?: unknown[] };
        input.ReturnConsumedCapacity = 'TOTAL';
        if (this.inFlight === 0) {
          this.usage.roundTrips++;
          this.busySince = performance.now();
        }
        this.inFlight++;
        this.usage.requests++;
        const started = performance.now();
        try {
          const result = await next(args);
          this.record(
            context.commandName ?? '',
            (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity,
          );
          return result;
        } catch (error) {
          const name = (error as Error).name;
          if (name === 'ConditionalCheckFailedException') this.usage.estimatedWriteUnits += 1;
          if (name === 'TransactionCanceledException')
            this.usage.estimatedWriteUnits += 2 * (input.TransactItems?.length ?? 0);
          throw error;
        } finally {
          this.usage.requestMs += performance.now() - started;
          this.inFlight--;
          if (this.inFlight === 0) this.usage.busyMs += performance.now() - this.busySince;
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

  private record(command: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const units = [consumed ?? []].flat().reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    if (READS.has(command)) this.usage.readUnits += units;
    else this.usage.writeUnits += units;
  }
}
