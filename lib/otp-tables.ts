import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, indexesOf, stateTableOf, type TableDefinition } from '../functions/tables.js';

/**
 * The most request units a second each table may serve (DynamoDB on-demand maximum throughput):
 * past it, DynamoDB throttles the table's requests instead of billing them. Per table, not in all.
 */
export interface TableMaxThroughput {
  /** @default no maximum */
  readonly readRequestUnits?: number;
  /** @default no maximum */
  readonly writeRequestUnits?: number;
}

/**
 * The bounds of a table's maximum throughput. DynamoDB takes 1 and up; the floor is higher because
 * one request can be a transaction of well over 10 write units on the state table (2 per item: a
 * login's code, session and family; a send's counters, a dozen with the SMS caps), and a cap below
 * what one request needs would throttle that request every time. The top is CloudFormation's Integer.
 */
export const TABLE_MAX_THROUGHPUT = { min: 25, max: 2_147_483_647 } as const;

/** Throws naming the value when a maximum is not a whole number within TABLE_MAX_THROUGHPUT. */
export function checkTableMaxThroughput(maxThroughput: TableMaxThroughput | undefined): void {
  for (const [name, value] of Object.entries(maxThroughput ?? {})) {
    if (value === undefined) continue;
    const { min, max } = TABLE_MAX_THROUGHPUT;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`OtpTables: maxThroughput.${name} must be a whole number from ${min} to ${max} (got ${value}).`);
    }
  }
}

export interface OtpTablesProps {
  /**
   * Production keeps every table on stack deletion and refuses to delete them by accident; any other
   * stage's tables, customers and clients included, go with its stack (`cdk destroy`).
   */
  production: boolean;
  /** @default no maximum */
  maxThroughput?: TableMaxThroughput;
  /** The state table gets the `due` index of the expiry sweep (functions/tables.ts, stateTableOf). */
  expirySweep: boolean;
}

/** The state, customers and clients tables, from the same definitions the local server and tests use. */
export class OtpTables extends Construct {
  readonly state: TableV2;
  readonly customers: TableV2;
  readonly clients: TableV2;

  constructor(scope: Construct, id: string, props: OtpTablesProps) {
    super(scope, id);
    checkTableMaxThroughput(props.maxThroughput);
    this.state = this.table('State', stateTableOf(props), props, false);
    this.customers = this.table('Customers', CUSTOMERS_TABLE, props, true);
    // Clients and their key hashes are set by hand with `npm run clients`: losing them locks every
    // app out, so they are backed up like customers.
    this.clients = this.table('Clients', CLIENTS_TABLE, props, true);
  }

  private table(id: string, definition: TableDefinition, props: OtpTablesProps, backedUp: boolean): TableV2 {
    const indexes = indexesOf(definition);
    const { production, maxThroughput } = props;
    return new TableV2(this, id, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand({
        maxReadRequestUnits: maxThroughput?.readRequestUnits,
        maxWriteRequestUnits: maxThroughput?.writeRequestUnits,
      }),
      encryption: TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: definition.timeToLiveAttribute,
      // Customers and clients must survive a mistake; state items all expire within a day.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: backedUp },
      deletionProtection: production,
      // A stage that is not production is a test bed: `cdk destroy` removes all it made, as the README
      // says (Tear-down). Production keeps every table, and deletion protection guards it besides.
      removalPolicy: production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      globalSecondaryIndexes: indexes.length
        ? indexes.map((index) => ({
            indexName: index.name,
            partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
            sortKey: { name: index.sortKey, type: AttributeType.NUMBER },
            ...(index.include
              ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }
              : { projectionType: ProjectionType.KEYS_ONLY }),
          }))
        : undefined,
    });
  }
}
