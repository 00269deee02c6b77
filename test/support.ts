import { expect, inject } from 'vitest';
import * as kit from './kit.js';

export {
  between,
  call,
  countRequests,
  type Harness,
  PEPPER,
  PHONE,
  RecordingSender,
  sendTo,
  silentLog,
  stateItem,
  storedCode,
  testConfig,
  wrongCode,
} from './kit.js';

/** Fresh tables on the run's DynamoDB Local (test/global-setup.ts). */
export const freshTables = () => kit.freshTables(inject('dynamoEndpoint'));

/** Core dependencies on fresh tables of the run's DynamoDB Local (see test/kit.ts). */
export const harness = (overrides: Record<string, string> = {}) => kit.harness(inject('dynamoEndpoint'), overrides);

/** The answer is the problem+json of the API for `status` and `slug`, with no stack trace in it. */
export function expectProblem(response: kit.Answer, status: number, slug: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body).toMatchObject({ status, success: false, error: slug });
  expect(response.body?.type).toMatch(new RegExp(`/problems/${slug}$`));
  expect(typeof response.body?.title).toBe('string');
  expect(typeof response.body?.detail).toBe('string');
  expect(response.rawBody).not.toMatch(/\bat .+\.(ts|js):\d+/);
}
