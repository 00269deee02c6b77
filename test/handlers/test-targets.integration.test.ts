import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { addClient } from '../../functions/core/manage-clients.js';
import { hashSessionToken } from '../../functions/core/sessions.js';
import { maskTarget, normaliseTarget } from '../../functions/core/targets.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { createLogger } from '../../functions/http/logger.js';
import type { UsageMetrics } from '../../functions/usage-metrics.js';
import { call, expectProblem, type Harness, harness, PEPPER, storedCode, wrongCode } from '../support.js';

/** A fictional US mobile number (555-01xx), as an app-store reviewer would be given. */
const REVIEW_PHONE = '+14155550199';
const REVIEW_CODE = '730291';
const ORDINARY_PHONE = '+14155550123';

/** A recorder of the handlers' metrics. */
function recorder() {
  const counts: { name: string; dimensions: Record<string, string> }[] = [];
  const metrics: UsageMetrics = { count: (name, dimensions) => counts.push({ name, dimensions }) };
  return { metrics, counts };
}

async function setUp(overrides: Record<string, string> = {}) {
  const h = await harness(overrides);
  const client = await addClient({ registry: h.registry, now: h.deps.now }, 'Review app', {
    testTargets: [{ target: REVIEW_PHONE, code: REVIEW_CODE }],
  });
  const { metrics, counts } = recorder();
  const logger = createLogger();
  const send = createSendOtpHandler(h.deps, logger, metrics);
  const verify = createVerifyOtpHandler(h.deps, logger, metrics);
  const withKey = { 'X-API-Key': client.apiKey };
  return { h, client, counts, logger, send, verify, withKey };
}

const sendItems = async (h: Harness, target: string) => {
  const prefix = stateKey.sendCounter(opaqueKey(PEPPER, 'target', target), 0).replace(/#0$/, '#');
  const items = (await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }))).Items;
  return (items ?? []).map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith(prefix));
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('test identities (testTargets) for app-store review', () => {
  it('the review number passes the target rules', () => {
    expect(normaliseTarget(REVIEW_PHONE)).toEqual({ address: REVIEW_PHONE, channel: 'sms', country: 'US' });
  });

  it('send with the client key: 200, nothing sent, the fixed code as mockCode', async () => {
    const { h, send, withKey } = await setUp();
    const response = await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ otpType: 'sms', mockCode: REVIEW_CODE, otpToken: expect.any(String) });
    expect(response.body).not.toHaveProperty('testTarget');
    expect(h.sender.sent).toEqual([]);
  });

  it('send in another spelling of the review number: still the test identity', async () => {
    const { h, send, withKey } = await setUp();
    const response = await call(send, { body: { target: '+1 (415) 555-0199' }, headers: withKey });
    expect(response.body?.mockCode).toBe(REVIEW_CODE);
    expect(h.sender.sent).toEqual([]);
  });

  it('20 sends in a row: all 200, no send limit or cooldown counts them', async () => {
    const { h, send, withKey } = await setUp();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await call(send, { body: { target: REVIEW_PHONE }, headers: withKey })).status);
    }
    expect(statuses).toEqual(Array(20).fill(200));
    expect(await sendItems(h, REVIEW_PHONE)).toEqual([]);
    expect(h.sender.sent).toEqual([]);
  });

  it('an ordinary target of the same client is limited by the cooldown on its second send', async () => {
    const { h, send, withKey } = await setUp();
    expect((await call(send, { body: { target: ORDINARY_PHONE }, headers: withKey })).status).toBe(200);
    const second = await call(send, { body: { target: ORDINARY_PHONE }, headers: withKey });
    expectProblem(second, 429, 'rate-limited');
    expect(second.body?.reason).toBe('cooldown');
    expect(await sendItems(h, ORDINARY_PHONE)).toHaveLength(1);
  });

  it('sends to the test identity do not count against the per-IP limit', async () => {
    const { send, withKey } = await setUp({ OTP_SEND_LIMIT_PER_IP_PER_HOUR: '2' });
    for (let i = 0; i < 20; i++) {
      expect((await call(send, { body: { target: REVIEW_PHONE }, headers: withKey })).status).toBe(200);
    }
    const ordinary = ['+14155550123', '+14155550124', '+14155550125'];
    const statuses = [];
    for (const target of ordinary) statuses.push((await call(send, { body: { target }, headers: withKey })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('verify with the fixed code: 200 and a session', async () => {
    const { h, send, verify, withKey, client } = await setUp();
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    const response = await call(verify, { body: { target: REVIEW_PHONE, code: REVIEW_CODE }, headers: withKey });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ verifiedTarget: REVIEW_PHONE, sessionToken: expect.any(String) });
    const session = await h.store.getSession(hashSessionToken(response.body?.sessionToken as string));
    expect(session).toMatchObject({ target: REVIEW_PHONE, origin: { clientId: client.clientId } });
  });

  it('verify with the fixed code and the otpToken of the send alone: 200', async () => {
    const { send, verify, withKey } = await setUp();
    const sent = await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    const response = await call(verify, {
      body: { otpToken: sent.body?.otpToken, code: REVIEW_CODE },
      headers: withKey,
    });
    expect(response.status).toBe(200);
  });

  it('the fixed code is single use, as any code', async () => {
    const { send, verify, withKey } = await setUp();
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    const body = { target: REVIEW_PHONE, code: REVIEW_CODE };
    expect((await call(verify, { body, headers: withKey })).status).toBe(200);
    expectProblem(await call(verify, { body, headers: withKey }), 401, 'invalid-code');
  });

  it('a wrong code: 401, and the attempts count (maxAttempts holds for the fixed code)', async () => {
    const { h, send, verify, withKey } = await setUp();
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    for (let i = 0; i < 3; i++) {
      const wrong = await call(verify, {
        body: { target: REVIEW_PHONE, code: wrongCode(REVIEW_CODE) },
        headers: withKey,
      });
      expectProblem(wrong, 401, 'invalid-code');
    }
    expect((await storedCode(h, REVIEW_PHONE))?.attempts?.N).toBe('3');
    const right = await call(verify, { body: { target: REVIEW_PHONE, code: REVIEW_CODE }, headers: withKey });
    expectProblem(right, 429, 'too-many-attempts');
  });

  it('without the client key, the review number is an ordinary target: a real code is sent', async () => {
    const { h, send } = await setUp();
    const response = await call(send, { body: { target: REVIEW_PHONE } });
    expect(response.status).toBe(200);
    expect(h.sender.sent).toHaveLength(1);
    expect(h.sender.sent[0]?.to).toBe(REVIEW_PHONE);
    expect(response.body?.mockCode).toBe(h.sender.lastCode());
    expect(await sendItems(h, REVIEW_PHONE)).toHaveLength(1);
  });

  it('without the client key, the fixed code does not verify a real code', async () => {
    const { send, verify } = await setUp();
    const response = await call(send, { body: { target: REVIEW_PHONE } });
    // One chance in a million that the random code is the fixed one.
    if (response.body?.mockCode === REVIEW_CODE) return;
    expectProblem(await call(verify, { body: { target: REVIEW_PHONE, code: REVIEW_CODE } }), 401, 'invalid-code');
  });

  it('the fixed code verifies only for the client it was issued to, not for another caller', async () => {
    const { h, send, verify, withKey } = await setUp();
    const other = await addClient({ registry: h.registry, now: h.deps.now }, 'Other app');
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    const body = { target: REVIEW_PHONE, code: REVIEW_CODE };
    expectProblem(await call(verify, { body, headers: { 'X-API-Key': other.apiKey } }), 401, 'invalid-code');
    expectProblem(await call(verify, { body }), 401, 'invalid-code');
    expect((await call(verify, { body, headers: withKey })).status).toBe(200);
  });

  it('a fixed code of another length than the codes of the client: a real code is sent, with a warning', async () => {
    const h = await harness({ OTP_CODE_LENGTH: '8' });
    const client = await addClient({ registry: h.registry, now: h.deps.now }, 'Review app', {
      testTargets: [{ target: REVIEW_PHONE, code: REVIEW_CODE }],
    });
    const logger = createLogger();
    const warn = vi.spyOn(logger, 'warn');
    const response = await call(createSendOtpHandler(h.deps, logger), {
      body: { target: REVIEW_PHONE },
      headers: { 'X-API-Key': client.apiKey },
    });
    expect(response.status).toBe(200);
    expect(h.sender.sent.map((message) => message.to)).toEqual([REVIEW_PHONE]);
    expect(response.body?.mockCode).toMatch(/^\d{8}$/);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/test identity ignored/), {
      target: maskTarget(REVIEW_PHONE),
      codeLength: 8,
    });
  });

  it('another client key: the review number is an ordinary target', async () => {
    const { h, send } = await setUp();
    const other = await addClient({ registry: h.registry, now: h.deps.now }, 'Other app');
    const response = await call(send, { body: { target: REVIEW_PHONE }, headers: { 'X-API-Key': other.apiKey } });
    expect(response.status).toBe(200);
    expect(h.sender.sent.map((message) => message.to)).toEqual([REVIEW_PHONE]);
  });

  it('metrics: TestCodeIssued and TestCodeVerified with the client id, and no CodeSent / CodeVerified', async () => {
    const { send, verify, withKey, client, counts } = await setUp();
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    await call(verify, { body: { target: REVIEW_PHONE, code: REVIEW_CODE }, headers: withKey });
    expect(counts).toEqual([
      { name: 'TestCodeIssued', dimensions: expect.objectContaining({ clientId: client.clientId }) },
      { name: 'TestCodeVerified', dimensions: expect.objectContaining({ clientId: client.clientId }) },
    ]);
  });

  it('metrics: CodeSent and CodeVerified with the client id for an ordinary target', async () => {
    const { h, send, verify, withKey, client, counts } = await setUp();
    await call(send, { body: { target: ORDINARY_PHONE }, headers: withKey });
    await call(verify, { body: { target: ORDINARY_PHONE, code: h.sender.lastCode() }, headers: withKey });
    expect(counts).toEqual([
      { name: 'CodeSent', dimensions: expect.objectContaining({ clientId: client.clientId }) },
      // An SMS: for the SMS cost protection too (functions/metrics.ts).
      { name: 'SmsSent', dimensions: { country: 'US' } },
      { name: 'SmsSent', dimensions: { clientId: client.clientId } },
      { name: 'CodeVerified', dimensions: expect.objectContaining({ clientId: client.clientId }) },
      { name: 'SmsVerified', dimensions: { country: 'US' } },
      { name: 'SmsVerified', dimensions: { clientId: client.clientId } },
    ]);
  });

  it('metrics: anonymous sends count under clientId anonymous', async () => {
    const { send, counts } = await setUp();
    await call(send, { body: { target: REVIEW_PHONE } });
    // Without the client's key the review number is an ordinary number: a real SMS.
    expect(counts).toEqual([
      { name: 'CodeSent', dimensions: expect.objectContaining({ clientId: 'anonymous' }) },
      { name: 'SmsSent', dimensions: { country: 'US' } },
      { name: 'SmsSent', dimensions: { clientId: 'anonymous' } },
    ]);
  });

  it('logs a warning for every test code issued, with the target masked', async () => {
    const { send, withKey, logger } = await setUp();
    const warn = vi.spyOn(logger, 'warn');
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    const issued = warn.mock.calls.filter(([message]) => message === 'test identity code issued, nothing sent');
    expect(issued).toHaveLength(2);
    for (const [, attributes] of issued) {
      expect(attributes).toMatchObject({ target: maskTarget(REVIEW_PHONE) });
      expect(JSON.stringify(attributes)).not.toContain(REVIEW_PHONE);
      expect(JSON.stringify(attributes)).not.toContain(REVIEW_CODE);
    }
  });

  it('logs a warning when a test identity verifies, with the target masked', async () => {
    const { send, verify, withKey, logger } = await setUp();
    const warn = vi.spyOn(logger, 'warn');
    await call(send, { body: { target: REVIEW_PHONE }, headers: withKey });
    await call(verify, { body: { target: REVIEW_PHONE, code: REVIEW_CODE }, headers: withKey });
    const verified = warn.mock.calls.filter(([message]) => message === 'test identity verified');
    expect(verified).toHaveLength(1);
    expect(verified[0]?.[1]).toMatchObject({ target: maskTarget(REVIEW_PHONE) });
    expect(JSON.stringify(warn.mock.calls)).not.toContain(REVIEW_PHONE);
  });

  it('the warning line names the client and shows the target masked only', async () => {
    const { h, client, withKey } = await setUp();
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    // The tests run with logging silenced; this logger writes its warnings.
    const logger = new Logger({ serviceName: 'otp-service', logLevel: 'WARN' });
    await call(createSendOtpHandler(h.deps, logger, recorder().metrics), {
      body: { target: REVIEW_PHONE },
      headers: withKey,
    });
    const entries = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const issued = entries.filter((entry) => entry.message === 'test identity code issued, nothing sent');
    expect(issued).toEqual([
      expect.objectContaining({ level: 'WARN', clientId: client.clientId, target: maskTarget(REVIEW_PHONE) }),
    ]);
    expect(lines.join('\n')).not.toContain(REVIEW_PHONE);
    expect(lines.join('\n')).not.toContain(client.apiKey);
  });
});
