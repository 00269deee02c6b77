import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';
import type { Channel } from '../functions/core/purposes.js';
import { phoneMetadataAlias } from './phone-metadata.js';

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

/**
 * What a bundle leaves out or narrows, measured one by one against the build without them by
 * `npm run bench` (bench/RESULTS.md). `STOCK_BUILD` is that build, kept for the bench's comparison;
 * the stack builds with `defaultLevers` and its own settings.
 */
export interface BuildLevers {
  /**
   * The AWS SDK's credential chain replaced by the environment provider alone
   * (functions/adapters/lambda-credentials.ts): all that ever answers in Lambda.
   */
  envCredentials: boolean;
  /**
   * Powertools Tracer and the X-Ray SDK, for a subsegment per AWS call and handler
   * (functions/http/tracer.ts). Without them Lambda's active tracing still records each
   * invocation's segments and its init duration.
   */
  xraySdk: boolean;
  /**
   * The countries whose phone metadata the bundles carry (lib/phone-metadata.ts): exactly the list
   * the functions read as OTP_SMS_ALLOWED_COUNTRIES, `[]` when SMS is off, undefined for all.
   */
  phoneCountries?: readonly string[];
  /**
   * The channels whose delivery client the send function carries (functions/wiring.ts
   * createSenders): exactly the channels the functions read as OTP_ALLOWED_CHANNELS. An e-mail-only
   * build leaves the SNS client out, an SMS-only one the SES client (about 22 to 25 KB each).
   * Undefined keeps both.
   */
  channels?: readonly Channel[];
}

export const STOCK_BUILD: BuildLevers = { envCredentials: false, xraySdk: true };

export function defaultLevers(overrides: Partial<BuildLevers> = {}): BuildLevers {
  return { envCredentials: true, xraySdk: false, ...overrides };
}

/** The module functions/http/tracer.ts reads at build time: `off` leaves the X-Ray SDK out. */
export const XRAY_SDK_DEFINE = 'process.env.OTP_BUILD_XRAY_SDK';

/**
 * What functions/wiring.ts createSenders reads at build time, per channel: `off` leaves that
 * channel's sender and its AWS SDK client out.
 */
export const CHANNEL_DEFINES: Readonly<Record<Channel, string>> = {
  sms: 'process.env.OTP_BUILD_SMS',
  email: 'process.env.OTP_BUILD_EMAIL',
};

/** esbuild's `alias` and `define` for the levers, shared by the stack's build and esbuildOptions. */
function leverOptions(levers: BuildLevers): { alias: Record<string, string>; define: Record<string, string> } {
  return {
    alias: {
      ...(levers.envCredentials
        ? { '@aws-sdk/credential-provider-node': join(packageRoot(), 'functions', 'adapters', 'lambda-credentials.ts') }
        : {}),
      ...phoneMetadataAlias(levers.phoneCountries),
    },
    define: {
      ...(levers.xraySdk ? {} : { [XRAY_SDK_DEFINE]: JSON.stringify('off') }),
      ...Object.fromEntries(
        (Object.keys(CHANNEL_DEFINES) as Channel[])
          .filter((channel) => levers.channels && !levers.channels.includes(channel))
          .map((channel) => [CHANNEL_DEFINES[channel], JSON.stringify('off')]),
      ),
    },
  };
}

/** How NodejsFunction builds every function of the stack, with these levers. */
export function bundlingFor(levers: BuildLevers): BundlingOptions {
  const { alias, define } = leverOptions(levers);
  return {
    format: OutputFormat.ESM,
    banner: ESM_REQUIRE_BANNER,
    mainFields: ['module', 'main'],
    minify: true,
    sourceMap: false,
    target: ESBUILD_TARGET,
    bundleAwsSDK: true,
    define,
    // NodejsFunction passes each as `--alias:from=to` to the esbuild command line.
    ...(Object.keys(alias).length > 0
      ? { esbuildArgs: { '--alias': Object.entries(alias).map(([from, to]) => `${from}=${to}`) } }
      : {}),
  };
}

export const BUNDLING: BundlingOptions = bundlingFor(defaultLevers());

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
export function esbuildOptions(entry: string, outfile: string, levers: BuildLevers = defaultLevers()): BuildOptions {
  return {
    ...leverOptions(levers),
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
