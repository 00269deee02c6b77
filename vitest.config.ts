import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-env.ts'],
    // DynamoDB Local and the e2e server take a moment to start on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      OTP_PEPPER: 'test-pepper-test-pepper-test-pepper-0123',
      OTP_DELIVERY: 'local',
    },
  },
});
