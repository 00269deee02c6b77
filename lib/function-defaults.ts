import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/**
 * How every function of the service is built and run: one definition for the stack and for the
 * bundle benchmark. ESM, minified, with the AWS SDK bundled rather than taken from the runtime, and
 * `module` before `main` so that esbuild picks the SDK's ES modules: the fastest to load measured.
 */
export const ESBUILD_TARGET = 'node24';

/**
 * A `require` for the CommonJS packages bundled into ES modules: the X-Ray SDK under Powertools
 * Tracer (functions/http/tracer.ts) requires Node's built-ins at run time, which esbuild leaves as
 * `require()` calls, and an ES module has no `require` of its own.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __otpCreateRequire } from 'node:module'; const require = __otpCreateRequire(import.meta.url);";

export const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  banner: ESM_REQUIRE_BANNER,
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: false,
  target: ESBUILD_TARGET,
  bundleAwsSDK: true,
};

/**
 * The package's root: the nearest folder above this module with a package.json. This module runs
 * from lib/ in the repository (tsx) and from dist/lib/ where an app imports `otp-service/cdk`
 * (tsconfig.cdk.json); the handlers' sources are at functions/handlers/ under the root in both.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('otp-service: no package.json above lib/function-defaults');
    dir = parent;
  }
  return dir;
}

/** The source file of a handler, as NodejsFunction wants its entry. */
export const handlerEntry = (name: string): string => join(packageRoot(), 'functions', 'handlers', `${name}.ts`);

export const FUNCTION_DEFAULTS = {
  runtime: Runtime.NODEJS_24_X,
  architecture: Architecture.ARM_64,
  memorySize: 512,
  timeout: Duration.seconds(10),
  // X-Ray: Lambda's own segments, and the handler and AWS SDK subsegments functions/http/tracer.ts
  // records. Brings the role its permission to send them.
  tracing: Tracing.ACTIVE,
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
    banner: { js: ESM_REQUIRE_BANNER },
    // bundleAwsSDK: nothing is external.
    external: [],
  };
}
