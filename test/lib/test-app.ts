import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';

/** The context of cdk.json, as `cdk synth` reads it with no `-c`. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** The feature flags of cdk.json, so that the tests read the template `cdk synth` writes. */
export const FEATURE_FLAGS = Object.fromEntries(
  Object.entries(CDK_JSON_CONTEXT).filter(([name]) => name.startsWith('@aws-cdk')),
);

/**
 * An app as `cdk synth` makes it, with bundling skipped: the tests read the template, not the code
 * (one real synth runs in CI).
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...FEATURE_FLAGS, ...context, 'aws:cdk:bundling-stacks': [] } });
}

/** What Tracing.ACTIVE grants every function's role (lib/function-defaults.ts): X-Ray takes no resource. */
export const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

/**
 * The statement without X-Ray's actions, or nothing if it had only those: the permissions a function
 * was granted for its own work. (CDK merges the X-Ray grant with any other statement on "*".)
 */
export function withoutXray<S extends { Action: string | string[] }>(statement: S): S[] {
  const actions = [statement.Action].flat().filter((action) => !XRAY_ACTIONS.includes(action));
  if (actions.length === 0) return [];
  return [{ ...statement, Action: actions.length === 1 ? actions[0] : actions }];
}
