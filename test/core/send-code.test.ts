import { effectiveConfig } from '../../functions/core/client-policy.js';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../functions/core/errors.js';
import type { OtpStore, SendLimit } from '../../functions/core/ports.js';
import { sendCode } from '../../functions/core/send-code.js';
import { RecordingSender, silentLog, testConfig } from '../kit.js';

const NOW = Date.UTC(2036, 0, 1, 12, 0, 0);

/** The core's words for each fact the store reports: the store itself is not needed for that. */
function refusingStore(limit: SendLimit, until: number): OtpStore {
  return new Proxy({} as OtpStore, {
    get: (_, method) => {
      if (method === 'reserveSend') return () => Promise.resolve({ limit, until });
      // Read in the same step as the reservation (guesses.ts: whether new codes need their token).
      if (method === 'failures') return () => Promise.resolve({ count: 0, expiresAt: NOW });
      return () => Promise.reject(new Error(`${String(method)} must not be called after a refusal`));
    },
  });
}

describe('sendCode: a send the store refuses', () => {
  it.each([
    ['cooldown', 20_000, 'cooldown', 20, /moments ago/],
    ['target-hourly', 1_800_000, 'target-hourly', 1800, /Hourly limit/],
    ['target-daily', 43_200_000, 'target-daily', 43_200, /Daily limit/],
    ['target-locked', 3_600_000, 'target-locked', 3600, /Too many wrong codes/],
    ['ip-hourly', 600_000, 'ip-hourly', 600, /network/],
    ['contended', 1000, 'cooldown', 1, /at once/],
  ] as const)('%s for %i ms: 429 with reason %s and Retry-After %i', async (limit, ms, reason, seconds, detail) => {
    const sender = new RecordingSender();
    const deps = {
      config: effectiveConfig(testConfig(), undefined),
      store: refusingStore(limit, NOW + ms),
      senders: sender.asSenders(),
      now: () => NOW,
      log: silentLog,
    };
    const error = await sendCode(deps, { target: '+14155550123', purpose: 'login' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      reason,
      retryAfterSeconds: seconds,
      headers: { 'Retry-After': String(seconds) },
      extensions: { reason, retryAfter: seconds },
    });
    expect((error as RateLimitedError).message).toMatch(detail);
    expect(sender.sent).toHaveLength(0);
  });
});
