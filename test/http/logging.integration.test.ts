import { afterEach, describe, expect, it, vi } from 'vitest';

import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { logger } from '../../functions/http/logger.js';
import { call, harness, PEPPER } from '../support.js';

// Powertools re-applies its initial level on every invocation, so set it before the logger exists.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('structured logs', () => {
  it('never contain a code, a session token, the pepper or a full target, even at DEBUG', async () => {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);

    const h = await harness();
    const deps = { ...h.deps, log: logger };
    const target = 'jane.doe@example.com';
    const sent = await call(createSendOtpHandler(deps), { body: { target } });
    const code = sent.body?.mockCode as string;
    await call(createVerifyOtpHandler(deps), { body: { target, code: code === '000000' ? '000001' : '000000' } });
    const verified = await call(createVerifyOtpHandler(deps), { body: { target, code } });
    const token = verified.body?.sessionToken as string;
    await call(createSessionHandler(deps), { method: 'GET', headers: { Authorization: `Bearer ${token}` } });

    const output = lines.join('');
    // The test is only meaningful if the flow was logged at all.
    expect(output).toContain('code sent');
    expect(output).toContain('code rejected');
    expect(output).toContain('code verified');
    expect(output).toContain('j***@example.com');
    for (const secret of [code, token, PEPPER, target, 'jane.doe']) expect(output).not.toContain(secret);
  });
});
