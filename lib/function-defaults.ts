import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/**
 * How every function of the service is built and run: one definition for the stack and for the
 * bundle benchmark. ESM, minified, with the AWS SDK bundled rather than taken from the runtime, and
 * `module` before `main` so that esbuild picks the SDK's ES modules: the fastest to load measured.
 */
export const ESBUILD_TARGET = 'node24';

export const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: false,
  target: ESBUILD_TARGET,
  bundleAwsSDK: true,
};

/** The source file of a handler, as NodejsFunction wants its entry. */
export const handlerEntry = (name: string): string =>
  fileURLToPath(new URL(`../functions/handlers/${name}.ts`, import.meta.url));

export const FUNCTION_DEFAULTS = {
  runtime: Runtime.NODEJS_24_X,
  architecture: Architecture.ARM_64,
  memorySize: 512,
  timeout: Duration.seconds(10),
} as const;

/**
 * The same build as esbuild options, for building a handler outside CDK (bundle smoke test and
 * benchmarks). Kept next to BUNDLING so that the two cannot drift apart.
 */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: BUNDLING.mainFields,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    target: BUNDLING.target,
    // bundleAwsSDK: nothing is external.
    external: [],
  };
}
