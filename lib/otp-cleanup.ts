import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { STATE_TABLE } from '../functions/tables.js';
import { BUNDLING, FUNCTION_DEFAULTS, handlerEntry } from './function-defaults.js';

export interface OtpCleanupProps {
  stateTable: TableV2;
  environment: Record<string, string>;
  production: boolean;
}

/** Items removed at most per run; a run every hour keeps well ahead of what a busy day expires. */
const MAX_ITEMS_PER_RUN = 5000;

/** Every hour, removes what has expired but TTL has not deleted yet (TTL takes up to two days). */
export class OtpCleanup extends Construct {
  readonly fn: NodejsFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: OtpCleanupProps) {
    super(scope, id);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.fn = new NodejsFunction(this, 'cleanup', {
      ...FUNCTION_DEFAULTS,
      timeout: Duration.minutes(5),
      description: 'OTP service: cleanup',
      entry: handlerEntry('cleanup'),
      handler: 'handler',
      bundling: BUNDLING,
      environment: { ...props.environment, OTP_CLEANUP_MAX_ITEMS: String(MAX_ITEMS_PER_RUN) },
      logGroup: new LogGroup(this, 'cleanup-logs', {
        retention: props.production ? RetentionDays.THREE_MONTHS : RetentionDays.ONE_MONTH,
        removalPolicy,
      }),
    });
    // Query on the `due` index only; DeleteItem removes what it lists.
    const index = STATE_TABLE.dueIndex.name;
    this.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.stateTable.tableArn}/index/${index}`] }),
    );
    this.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [props.stateTable.tableArn] }),
    );
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Hourly cleanup of expired OTP items',
      schedule: Schedule.rate(Duration.hours(1)),
      targets: [new LambdaFunction(this.fn, { retryAttempts: 2 })],
    });
  }
}
