import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';

/** The feature flags of cdk.json, so that the tests read the template `cdk synth` writes. */
export const FEATURE_FLAGS = Object.fromEntries(
  Object.entries(
    (
      JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
        context: Record<string, unknown>;
      }
    ).context,
  ).filter(([name]) => name.startsWith('@aws-cdk')),
);

/**
 * An app as `cdk synth` makes it, with bundling skipped: the tests read the template, not the code
 * (one real synth runs in CI).
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...FEATURE_FLAGS, ...context, 'aws:cdk:bundling-stacks': [] } });
}
