import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, indexesOf, STATE_TABLE, type TableDefinition } from '../functions/tables.js';

export interface OtpTablesProps {
  /** Production keeps tables on stack deletion and refuses to delete them by accident. */
  production: boolean;
}

/** The state, customers and clients tables, from the same definitions the local server and tests use. */
export class OtpTables extends Construct {
  readonly state: TableV2;
  readonly customers: TableV2;
  readonly clients: TableV2;

  constructor(scope: Construct, id: string, props: OtpTablesProps) {
    super(scope, id);
    this.state = this.table('State', STATE_TABLE, props.production, false);
    this.customers = this.table('Customers', CUSTOMERS_TABLE, props.production, true);
    // Clients and their key hashes are set by hand with `npm run clients`: losing them locks every
    // app out, so they are kept like customers.
    this.clients = this.table('Clients', CLIENTS_TABLE, props.production, true);
  }

  private table(id: string, definition: TableDefinition, production: boolean, keep: boolean): TableV2 {
    const indexes = indexesOf(definition);
    return new TableV2(this, id, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: definition.timeToLiveAttribute,
      // Customers and clients must survive; state items all expire within a day.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: keep },
      deletionProtection: production,
      removalPolicy: production || keep ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
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
