import { describe, expect, it } from 'vitest';
import { addClient } from '../../functions/core/manage-clients.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, expectProblem, type Harness, harness, PHONE, storedCode, wrongCode } from '../support.js';

/**
 * A code keeps the rules of the client that asked for it: whoever verifies it, through whichever
 * client (or none), meets that client's attempt limit and token requirement.
 */
async function client(h: Harness, name: string, policy: Record<string, unknown>) {
  return (await addClient({ registry: h.registry, now: h.deps.now }, name, policy)).apiKey;
}

async function send(h: Harness, apiKey: string) {
  const response = await call(createSendOtpHandler(h.deps), {
    body: { target: PHONE },
    headers: { 'X-API-Key': apiKey },
  });
  expect(response.status).toBe(200);
  return { code: response.body?.mockCode as string, otpToken: response.body?.otpToken as string };
}

const verify = (h: Harness, body: Record<string, unknown>, apiKey?: string) =>
  call(createVerifyOtpHandler(h.deps), { body, headers: apiKey ? { 'X-API-Key': apiKey } : {} });

const attempts = async (h: Harness) => Number((await storedCode(h))?.attempts?.N);

describe("a code keeps its sending client's rules", () => {
  it('requireOtpToken: no other client, and no call without a key, verifies it without the token', async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const strict = await client(h, 'Token app', { requireOtpToken: true });
    const other = await client(h, 'Other app', {});
    const { code, otpToken } = await send(h, strict);

    expectProblem(await verify(h, { target: PHONE, code }), 401, 'invalid-code');
    expectProblem(await verify(h, { target: PHONE, code }, other), 401, 'invalid-code');
    // Refused without spending the code's attempts.
    expect(await attempts(h)).toBe(0);
    expect((await verify(h, { otpToken, code }, other)).status).toBe(200);
  });

  it("maxAttempts: another client's higher limit gives a code no more guesses than its sender allows", async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const strict = await client(h, 'One guess', { maxAttempts: 1 });
    const wide = await client(h, 'Ten guesses', { maxAttempts: 10 });
    const { code } = await send(h, strict);

    expectProblem(await verify(h, { target: PHONE, code: wrongCode(code) }, wide), 401, 'invalid-code');
    expectProblem(await verify(h, { target: PHONE, code }, wide), 429, 'too-many-attempts');
    expectProblem(await verify(h, { target: PHONE, code }), 429, 'too-many-attempts');
    expect(await attempts(h)).toBe(1);
  });

  it("maxAttempts: a client's higher limit holds when an anonymous caller verifies", async () => {
    const h = await harness({ OTP_REQUIRE_API_KEY: 'false' });
    const wide = await client(h, 'Five guesses', { maxAttempts: 5 });
    const { code } = await send(h, wide);
    for (let i = 0; i < 4; i++) {
      expectProblem(await verify(h, { target: PHONE, code: wrongCode(code) }), 401, 'invalid-code');
    }
    expect((await verify(h, { target: PHONE, code })).status).toBe(200);
  });
});
