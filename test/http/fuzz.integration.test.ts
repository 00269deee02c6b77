import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PURPOSES } from '../../functions/core/purposes.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { call, harness } from '../support.js';

/** Bodies a careless or hostile client might send: JSON of any shape, near-miss fields, and junk. */
const fieldValue = fc.oneof(
  fc.string(),
  fc.constantFrom('+14155550123', 'jane@example.com', '123456', ...PURPOSES, 'sms', 'email'),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
);
const nearMiss = fc.record(
  {
    target: fieldValue,
    code: fieldValue,
    purpose: fieldValue,
    channel: fieldValue,
    name: fieldValue,
    locale: fieldValue,
  },
  { requiredKeys: [] },
);
const rawBody = fc.oneof(
  nearMiss.map((body) => JSON.stringify(body)),
  fc.json(),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constant('x'.repeat(9000)),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
  'text/plain',
  '',
  'application/jsonx',
);

describe('generated bad requests', () => {
  it('never get a 5xx, and always get JSON', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_SEND_LIMIT_PER_IP_PER_HOUR: '0' });
    const handlers = [createSendOtpHandler(h.deps), createVerifyOtpHandler(h.deps), createSessionHandler(h.deps)];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...handlers),
        fc.constantFrom('POST', 'GET', 'DELETE', 'PUT'),
        rawBody,
        contentType,
        fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
        async (handler, method, body, type, authorization) => {
          const headers: Record<string, string> = { 'Content-Type': type };
          if (authorization !== undefined) headers.Authorization = authorization;
          const response = await call(handler, { method, rawBody: body, headers });
          expect(response.status).toBeLessThan(500);
          if (response.status !== 204) {
            expect(response.headers['content-type']).toMatch(/^application\/(problem\+)?json/);
            expect(response.body?.success).toBe(response.status < 400);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
