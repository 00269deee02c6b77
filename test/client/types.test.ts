import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import { RATE_LIMIT_REASONS as SERVER_REASONS } from '../../functions/core/errors.js';
import { type PLATFORMS } from '../../functions/core/ports.js';
import { type PURPOSES } from '../../functions/core/purposes.js';
import type { refreshBody, sendBody, verifyBody } from '../../functions/http/schemas.js';
import type * as schemas from '../../functions/openapi/responses.js';
import {
  PROBLEM_SLUGS,
  RATE_LIMIT_REASONS,
  type Problem,
  type RateLimitReason,
  type DiscoveryResponse,
  type HealthResponse,
  type Identity,
  type Platform,
  type PolicyResponse,
  type Purpose,
  type RefreshResponse,
  type SendRequest,
  type SendResponse,
  type SessionResponse,
  type SessionsResponse,
  type VerifyRequest,
  type VerifyResponse,
} from 'otp-service/client';

/**
 * The client's hand-written types (client/types.ts) against the zod schemas that validate requests
 * and describe answers in the OpenAPI document. The type assertions are checked by `tsc` (`npm run
 * typecheck`, part of `npm test`): a field added, renamed or retyped on one side breaks the build.
 */
describe('client types', () => {
  it('are the OpenAPI schemas of the success bodies, member for member', () => {
    expectTypeOf<HealthResponse>().toEqualTypeOf<z.infer<typeof schemas.healthResponse>>();
    expectTypeOf<SendResponse>().toEqualTypeOf<z.infer<typeof schemas.sendResponse>>();
    expectTypeOf<Identity>().toEqualTypeOf<z.infer<typeof schemas.identity>>();
    expectTypeOf<VerifyResponse>().toEqualTypeOf<z.infer<typeof schemas.verifyResponse>>();
    expectTypeOf<RefreshResponse>().toEqualTypeOf<z.infer<typeof schemas.refreshResponse>>();
    expectTypeOf<SessionResponse>().toEqualTypeOf<z.infer<typeof schemas.sessionResponse>>();
    expectTypeOf<SessionsResponse>().toEqualTypeOf<z.infer<typeof schemas.sessionsResponse>>();
    expectTypeOf<PolicyResponse>().toEqualTypeOf<z.infer<typeof schemas.policyResponse>>();
    expectTypeOf<DiscoveryResponse>().toEqualTypeOf<z.infer<typeof schemas.discoveryResponse>>();
  });

  it('are the request schemas the handlers validate with', () => {
    expectTypeOf<SendRequest>().toEqualTypeOf<z.input<typeof sendBody>>();
    expectTypeOf<VerifyRequest>().toEqualTypeOf<z.input<typeof verifyBody>>();
    expectTypeOf<{ refreshToken: string }>().toEqualTypeOf<z.input<typeof refreshBody>>();
    expectTypeOf<Purpose>().toEqualTypeOf<(typeof PURPOSES)[number]>();
    expectTypeOf<Platform>().toEqualTypeOf<(typeof PLATFORMS)[number]>();
  });

  it('name the rate-limit reasons the server sends', () => {
    expect([...RATE_LIMIT_REASONS]).toEqual([...SERVER_REASONS]);
  });

  it("say that a 429 rate-limited may come without a reason: the gateway's throttle has none", () => {
    // Read as text, as below: loading lib/ would load aws-cdk-lib into a unit test.
    const gateway = readFileSync('lib/gateway-responses.ts', 'utf8');
    expect(gateway).toMatch(/slug: 'rate-limited'/);
    expect(gateway).not.toMatch(/\breason\b/);
    expectTypeOf<Problem<'rate-limited'>['reason']>().toEqualTypeOf<RateLimitReason | undefined>();
  });

  it('name every problem slug the handlers, the local server and the gateway answer with', () => {
    const sources = [...typeScriptFiles('functions'), 'lib/gateway-responses.ts'];
    const answered = new Set<string>();
    for (const file of sources) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\bslug(?: =|:) '([a-z-]+)'/g))
        answered.add(match[1] ?? '');
    }
    expect(answered.size).toBeGreaterThan(20);
    const named = new Set<string>(PROBLEM_SLUGS);
    expect([...answered].filter((slug) => !named.has(slug))).toEqual([]);
  });
});

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
