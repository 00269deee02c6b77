import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Trigger } from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { STATE_TABLE } from '../functions/tables.js';
import { BUNDLING, FUNCTION_DEFAULTS, handlerEntry } from './function-defaults.js';
import { functionRole } from './otp-logs.js';

export interface OtpCleanupProps {
  /** How the function is built (lib/function-defaults.ts bundlingFor); the defaults' build otherwise. */
  bundling?: BundlingOptions;
  stateTable: TableV2;
  /** The signing keys, which the function makes on deploy and rotates (functions/core/signing-keys.ts). */
  signingKeys: ISecret;
  environment: Record<string, string>;
  production: boolean;
  /** What must not exist before the first key set does: the functions that read the keys at start. */
  runBefore: Construct[];
  /**
   * The expiry sweep (OTP_EXPIRY_SWEEP): the function deletes expired items through the state
   * table's `due` index. Without it, it may neither Query nor delete: it only rotates the keys.
   */
  expirySweep: boolean;
}

/** The function's own timeout; the deploy waits as long for its run. */
const TIMEOUT = Duration.minutes(5);

/** Items removed at most per run; a run every hour keeps well ahead of what a busy day expires. */
const MAX_ITEMS_PER_RUN = 5000;

/**
 * Every hour, rotates the signing keys when due and, with the expiry sweep, removes what has expired
 * but TTL has not deleted yet (TTL takes up to a few days). It also runs once on every deploy that
 * changes it, before the API functions are created or updated, so that the first key set exists
 * before anything reads it.
 */
export class OtpCleanup extends Construct {
  readonly fn: NodejsFunction;
  readonly schedule: Rule;
  readonly onDeploy: Trigger;

  constructor(scope: Construct, id: string, props: OtpCleanupProps) {
    super(scope, id);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logGroup = new LogGroup(this, 'cleanup-logs', {
      retention: props.production ? RetentionDays.THREE_MONTHS : RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    this.fn = new NodejsFunction(this, 'cleanup', {
      ...FUNCTION_DEFAULTS,
      timeout: TIMEOUT,
      description: 'OTP service: cleanup',
      entry: handlerEntry('cleanup'),
      handler: 'handler',
      bundling: props.bundling ?? BUNDLING,
      environment: { ...props.environment, OTP_CLEANUP_MAX_ITEMS: String(MAX_ITEMS_PER_RUN) },
      logGroup,
      role: functionRole(this, 'cleanup-role', logGroup),
    });
    if (props.expirySweep) {
      // Query on the `due` index only; DeleteItem removes what it lists.
      const index = STATE_TABLE.dueIndex.name;
      this.fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: [`${props.stateTable.tableArn}/index/${index}`],
        }),
      );
      this.fn.addToRolePolicy(
        new PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [props.stateTable.tableArn] }),
      );
    }
    // Reads the stored set and writes the next one; no other action on the secret.
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [props.signingKeys.secretArn],
      }),
    );
    // A run on deploy rather than a key made at synth (which would sit in the template) or a custom
    // resource of our own: the same code makes the first set as rotates it later, and a repeated run
    // changes nothing until the rotation period has passed. It runs again whenever the function
    // changes, harmlessly.
    this.onDeploy = new Trigger(this, 'OnDeploy', {
      handler: this.fn,
      timeout: TIMEOUT,
      executeAfter: [props.signingKeys],
      executeBefore: props.runBefore,
    });
    this.schedule = new Rule(this, 'Schedule', {
      description: props.expirySweep
        ? 'Hourly: OTP signing key rotation, and cleanup of expired OTP items'
        : 'Hourly: OTP signing key rotation (expired items are left to TTL)',
      schedule: Schedule.rate(Duration.hours(1)),
      targets: [new LambdaFunction(this.fn, { retryAttempts: 2 })],
    });
  }
}
