import type { RemovalPolicy } from 'aws-cdk-lib';
import { type BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HANDLERS, type HandlerName } from '../functions/routes.js';
import { FUNCTION_DEFAULTS, handlerEntry } from './function-defaults.js';
import { functionRole } from './otp-logs.js';

export interface HandlerFunctionsProps {
  /** How each function is built (lib/function-defaults.ts bundlingFor). */
  bundling: BundlingOptions;
  environment: Record<string, string>;
  retention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Reserved concurrency per function: at most that many instances run, and they always may. */
  reservedConcurrency?: Partial<Record<HandlerName, number>>;
}

export interface HandlerFunctions {
  functions: Record<HandlerName, NodejsFunction>;
  /** One per function, so that retention and removal are ours rather than Lambda's defaults. */
  logGroups: Record<HandlerName, LogGroup>;
}

/** One Lambda function per API handler, with no permissions yet (otp-permissions.ts grants them). */
export function handlerFunctions(scope: Construct, props: HandlerFunctionsProps): HandlerFunctions {
  const logGroups = {} as Record<HandlerName, LogGroup>;
  const functions = {} as Record<HandlerName, NodejsFunction>;
  for (const name of HANDLERS) {
    logGroups[name] = new LogGroup(scope, `${name}-logs`, {
      retention: props.retention,
      removalPolicy: props.removalPolicy,
    });
    functions[name] = new NodejsFunction(scope, name, {
      ...FUNCTION_DEFAULTS,
      description: `OTP service: ${name}`,
      entry: handlerEntry(name),
      handler: 'handler',
      bundling: props.bundling,
      environment: props.environment,
      logGroup: logGroups[name],
      role: functionRole(scope, `${name}-role`, logGroups[name]),
      reservedConcurrentExecutions: props.reservedConcurrency?.[name],
    });
  }
  return { functions, logGroups };
}
