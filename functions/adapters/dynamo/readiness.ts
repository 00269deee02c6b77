import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, STATE_TABLE } from '../../tables.js';
import type { TableNames } from './client.js';

/** Each table by name: `ok`, or why it did not answer. */
export interface Readiness {
  ready: boolean;
  tables: Record<string, string>;
}

/** A key no item has: the read costs half a read unit and returns nothing. */
const PROBE_KEY = 'readiness-probe';

/**
 * Whether the database serves the service now: one eventually consistent read by key on each table,
 * in parallel, through `client` (built with the functions' request limits, so that an unreachable
 * database answers within seconds). Liveness (`GET /v1/health`) touches no table; this does.
 */
export async function checkReadiness(client: DynamoDBClient, names: TableNames): Promise<Readiness> {
  const probes: [string, string][] = [
    [names.stateTable, STATE_TABLE.partitionKey],
    [names.customersTable, CUSTOMERS_TABLE.partitionKey],
    [names.clientsTable, CLIENTS_TABLE.partitionKey],
  ];
  const outcomes = await Promise.allSettled(
    probes.map(([table, key]) =>
      client.send(new GetItemCommand({ TableName: table, Key: { [key]: { S: PROBE_KEY } } })),
    ),
  );
  const tables: Record<string, string> = {};
  outcomes.forEach((outcome, index) => {
    const [table] = probes[index] ?? ['?'];
    tables[table] =
      outcome.status === 'fulfilled'
        ? 'ok'
        : outcome.reason instanceof Error
          ? `${outcome.reason.name}: ${outcome.reason.message}`
          : String(outcome.reason);
  });
  return { ready: outcomes.every((outcome) => outcome.status === 'fulfilled'), tables };
}
