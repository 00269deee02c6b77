import { defineConfig } from 'vitest/config';

/**
 * `unit` needs neither Java nor DynamoDB Local and runs in seconds (`npm run test:unit`). `infra`
 * (test/lib/) synthesises the CDK stack and builds the Lambda bundles: no Java either, but each file
 * pays seconds to load aws-cdk-lib, so it is a project of its own. `integration` (files named
 * *.integration.test.ts) runs against one DynamoDB Local started for the run. `npm test` runs all three.
 */
export default defineConfig({
  // `otp-service/cdk` resolves to the TypeScript source in this repository's own tests (package.json
  // exports, the `otp-source` condition); an app that installs the package gets dist/. Not `module`:
  // Node itself loads the SDK packages, whose module builds are not Node ESM.
  resolve: { conditions: ['otp-source', 'node', 'development|production'] },
  ssr: { resolve: { conditions: ['otp-source', 'node', 'development|production'] } },
  test: {
    setupFiles: ['test/setup-env.ts'],
    // DynamoDB Local and the e2e server take a moment to start on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // Handlers count what they do in EMF lines on stdout; tests that check metrics inject a recorder.
      POWERTOOLS_METRICS_DISABLED: 'true',
      // The Tracer is off outside Lambda anyway (functions/http/tracer.ts); said here so no test sends segments.
      POWERTOOLS_TRACE_ENABLED: 'false',
      OTP_PEPPER: 'test-pepper-test-pepper-test-pepper-0123',
      OTP_DELIVERY: 'local',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts', 'test/lib/**'],
        },
      },
      {
        extends: true,
        test: { name: 'infra', include: ['test/lib/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          setupFiles: ['test/setup-env.ts', 'test/setup-dynamo.ts'],
        },
      },
    ],
  },
});
