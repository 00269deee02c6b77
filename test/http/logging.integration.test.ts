import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, harness, PEPPER, wrongCode } from '../support.js';

// Powertools re-applies its initial level on every invocation, so set it before any logger exists.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Everything written to stdout and stderr from now on. */
function captureOutput(): string[] {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return lines;
}

describe('structured logs', () => {
  it('never contain a code, a session token, the pepper or a full target, even at DEBUG', async () => {
    const lines = captureOutput();
    const h = await harness();
    const target = 'jane.doe@example.com';
    const sent = await call(createSendOtpHandler(h.deps), { body: { target } });
    const code = sent.body?.mockCode as string;
    await call(createVerifyOtpHandler(h.deps), { body: { target, code: wrongCode(code) } });
    const verified = await call(createVerifyOtpHandler(h.deps), { body: { target, code } });
    const token = verified.body?.sessionToken as string;
    await call(createSessionHandler(h.deps), { method: 'GET', headers: { Authorization: `Bearer ${token}` } });

    const output = lines.join('\n');
    // The test is only meaningful if the flow was logged at all.
    expect(output).toContain('code sent');
    expect(output).toContain('code rejected');
    expect(output).toContain('code verified');
    expect(output).toContain('j***@example.com');
    for (const secret of [code, token, PEPPER, target, 'jane.doe']) expect(output).not.toContain(secret);
  });

  it('tag each line with the function that wrote it, with handlers running side by side in one process', async () => {
    const lines = captureOutput();
    const h = await harness({ OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
    const send = createSendOtpHandler(h.deps);
    const verify = createVerifyOtpHandler(h.deps);
    // As the local server runs them: interleaved in one process, each invocation with its own context.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        call(send, { body: { target: `side-${i}@example.com` }, functionName: 'send-otp' }),
        call(verify, { body: { target: `other-${i}@example.com`, code: '123456' }, functionName: 'verify-otp' }),
      ]).flat(),
    );
    const entries = lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const sent = entries.filter((entry) => entry.message === 'code sent');
    const rejected = entries.filter((entry) => entry.message === 'code rejected');
    expect(sent).toHaveLength(10);
    expect(rejected).toHaveLength(10);
    for (const entry of sent) expect(entry.function_name).toBe('otp-send-otp');
    for (const entry of rejected) expect(entry.function_name).toBe('otp-verify-otp');
  });
});
