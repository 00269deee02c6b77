import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CLIENTS_TABLE, CUSTOMERS_TABLE, STATE_TABLE, type TableDefinition } from '../functions/tables.js';

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
    return new TableV2(this, id, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: definition.timeToLiveAttribute,
      // Customers and clients must survive; state items all expire within a day.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: keep },
      deletionProtection: production,
      removalPolicy: production || keep ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      globalSecondaryIndexes: definition.dueIndex
        ? [
            {
              indexName: definition.dueIndex.name,
              partitionKey: { name: definition.dueIndex.partitionKey, type: AttributeType.STRING },
              sortKey: { name: definition.dueIndex.sortKey, type: AttributeType.NUMBER },
              projectionType: ProjectionType.KEYS_ONLY,
            },
          ]
        : undefined,
    });
  }
}
