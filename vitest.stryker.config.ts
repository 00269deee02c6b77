import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The vitest configuration `npm run mutate` (stryker.config.json) runs: the settings of vitest.config.ts
 * with one project instead of three, the unit tests of test/core/ (no Java, about ten seconds). The
 * Stryker vitest runner starts every project of the configuration it is given (it has no option to pick
 * one), and neither `infra` (the CDK stack) nor `integration` (DynamoDB Local, about a second a test,
 * and a mutant is run against every test that reaches it) fits a run per mutant on two cores: see
 * bench/RESULTS.md, "Mutation testing (functions/core)".
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    projects: undefined,
    include: ['test/core/**/*.test.ts'],
    exclude: ['test/**/*.integration.test.ts'],
  },
});
