import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { OtpTables } from './otp-tables.js';

export interface OtpStackProps extends StackProps {
  stage: 'dev' | 'prod';
}

/**
 * The deployable service. For now it holds the tables; the functions, API, pepper secret, schedule
 * and alarms are the production-stack issue.
 */
export class OtpStack extends Stack {
  readonly tables: OtpTables;

  constructor(scope: Construct, id: string, props: OtpStackProps) {
    super(scope, id, props);
    this.tables = new OtpTables(this, 'Tables', { production: props.stage === 'prod' });
    new CfnOutput(this, 'StateTableName', { value: this.tables.state.tableName });
    new CfnOutput(this, 'CustomersTableName', { value: this.tables.customers.tableName });
  }
}
