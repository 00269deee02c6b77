import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dynamoClient, type RequestLimits } from '../../functions/adapters/dynamo/client.js';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../fault-proxy.js';
import * as kit from '../kit.js';
import { call, expectProblem, PEPPER, stateItem, storedCode, wrongCode } from '../support.js';

/**
 * Issue 14, item 1, what a failure between the steps of a verify or a refresh leaves, counted exactly
 * on DynamoDB Local behind the fault proxy: no attempt or guess stays counted without an answer the
 * caller can act on, no code is consumed without its session, and a write whose answer was lost on
 * the way back (the SDK tries it again) does not turn into a refusal.
 */

/** One try, so that a fault is the answer; `PATIENT` has the SDK's retries, for the lost answers. */
const ONE_TRY: RequestLimits = { maxAttempts: 1, connectionTimeoutMs: 1000, requestTimeoutMs: 1000 };
const PATIENT: RequestLimits = { maxAttempts: 3, connectionTimeoutMs: 1000, requestTimeoutMs: 1000 };

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(inject('dynamoEndpoint'));
  // DynamoDB Local's JVM warms up on its first requests: not within a test's one quick try.
  const { send, verify } = await api(PATIENT);
  const target = nextTarget();
  const sent = await call(send, { body: { target } });
  await call(verify, { body: { target, code: sent.body?.mockCode } });
});
afterAll(async () => {
  await proxy.close();
});

let targets = 0;
const nextTarget = () => `verify-faults-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

async function api(limits: RequestLimits = ONE_TRY) {
  const h = await kit.harness(inject('dynamoEndpoint'), { OTP_RESEND_COOLDOWN_SECONDS: '0' }, () =>
    dynamoClient(proxy.endpoint, limits),
  );
  return {
    h,
    send: createSendOtpHandler(h.deps),
    verify: createVerifyOtpHandler(h.deps),
    session: createSessionHandler(h.deps),
    refresh: createRefreshHandler(h.deps),
  };
}

/** Runs `run` with the proxy failing by `rules`, and passing again afterwards. */
async function failing<T>(rules: FaultRule[], run: () => Promise<T>): Promise<T> {
  await proxy.fail(...rules);
  try {
    return await run();
  } finally {
    await proxy.pass();
  }
}

/** The code's counted attempts, and the mailbox's run of wrong codes (places taken, pending). */
async function counts(h: kit.Harness, target: string) {
  const code = await storedCode(h, target);
  const run = await stateItem(h, stateKey.failures(opaqueKey(PEPPER, 'target', target)));
  return {
    code: code ? Number(code.attempts?.N) : undefined,
    run: run ? { failures: Number(run.failures), pending: Number(run.pending) } : undefined,
  };
}

describe('a verify the database fails part-way', () => {
  it('first step: the attempt and the guess counted beside a failed read are given back', async () => {
    const { h, send, verify } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    // The attempt and the guess's place (UpdateItem) are written; the owner's lookup (GetItem) fails.
    const answer = await failing([{ mode: 'throttle', op: 'GetItem' }], () => call(verify, { body: { target, code } }));
    expectProblem(answer, 503, 'unavailable');
    expect(await counts(h, target)).toEqual({ code: 0, run: { failures: 0, pending: 0 } });
    // The caller's retry finds the code as it was.
    expect((await call(verify, { body: { target, code } })).status).toBe(200);
  });

  it('the grant: a failed login transaction consumes nothing, counts nothing, and the code verifies after', async () => {
    const { h, send, verify } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const answer = await failing([{ mode: 'throttle', op: 'TransactWriteItems', error: 'RequestLimitExceeded' }], () =>
      call(verify, { body: { target, code } }),
    );
    expectProblem(answer, 503, 'unavailable');
    // The right code ended the run (in parallel with the grant); the code keeps all its attempts.
    expect(await counts(h, target)).toEqual({ code: 0, run: undefined });
    const retried = await call(verify, { body: { target, code } });
    expect(retried.status).toBe(200);
    expect(await counts(h, target)).toEqual({ code: undefined, run: undefined });
  });

  it('the grant and the end of the run both failing: the guess’s place is given back too', async () => {
    const { h, send, verify } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const answer = await failing(
      [
        { mode: 'reset', op: 'TransactWriteItems', times: 1 },
        { mode: 'reset', op: 'DeleteItem', times: 1 },
      ],
      () => call(verify, { body: { target, code } }),
    );
    expectProblem(answer, 503, 'unavailable');
    expect(await counts(h, target)).toEqual({ code: 0, run: { failures: 0, pending: 0 } });
  });

  it('a wrong code whose settling fails is still answered invalid-code: it was compared', async () => {
    const { h, send, verify } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    // Attempt and reservation pass (two UpdateItems); the settle (the third) fails.
    const answer = await failing([{ mode: 'throttle', op: 'UpdateItem', skip: 2, times: 1 }], () =>
      call(verify, { body: { target, code: wrongCode(code) } }),
    );
    expectProblem(answer, 401, 'invalid-code');
    // Counted as compared: the attempt, and the place (pending, so still against the cap).
    expect(await counts(h, target)).toEqual({ code: 1, run: { failures: 1, pending: 1 } });
    expect((await call(verify, { body: { target, code } })).status).toBe(200);
  });

  it('every step failing: 503, and what could not be given back is logged, never a 500', async () => {
    const { h, send, verify } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const answer = await failing([{ mode: 'hang' }], () => call(verify, { body: { target, code } }));
    expectProblem(answer, 503, 'unavailable');
    expect(await counts(h, target)).toEqual({ code: 0, run: undefined });
  });
});

describe("the refresh token's put beside the login transaction (adapters/dynamo/refresh.ts, loginFamily)", () => {
  it('fails once where the transaction passes: it is written again, and the login answers a refresh token that works', async () => {
    const { send, verify, refresh } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    // The refresh token's item is the verify's only PutItem.
    const login = await failing([{ mode: 'throttle', op: 'PutItem', times: 1 }], () =>
      call(verify, { body: { target, code } }),
    );
    expect(login.status, login.rawBody).toBe(200);
    expect(proxy.seen.filter((request) => request.op === 'PutItem').slice(-2)).toEqual([
      { op: 'PutItem', fault: 'throttle' },
      { op: 'PutItem', fault: 'pass' },
    ]);
    expect((await call(refresh, { body: { refreshToken: login.body?.refreshToken } })).status).toBe(200);
  });

  it('fails twice: 503, as when the answer of a login is lost; the code is used, and a new one logs in', async () => {
    const { h, send, verify, session } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const answer = await failing([{ mode: 'throttle', op: 'PutItem', times: 2 }], () =>
      call(verify, { body: { target, code } }),
    );
    expectProblem(answer, 503, 'unavailable');
    // The login happened (its transaction passed) but no token of it reached anyone; the run of wrong
    // codes is ended, the code consumed.
    expect(await counts(h, target)).toEqual({ code: undefined, run: undefined });
    expectProblem(await call(verify, { body: { target, code } }), 401, 'invalid-code');
    const again = (await call(send, { body: { target } })).body?.mockCode as string;
    const login = await call(verify, { body: { target, code: again } });
    expect(login.status, login.rawBody).toBe(200);
    const checked = await call(session, {
      method: 'GET',
      headers: { Authorization: `Bearer ${login.body?.sessionToken}` },
    });
    expect(checked.status).toBe(200);
  });
});

describe('a write whose answer is lost after DynamoDB did it (the SDK tries it again)', () => {
  it('verify: the login transaction is not done twice nor refused; the caller gets its session', async () => {
    const { h, send, verify, session } = await api(PATIENT);
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const answer = await failing([{ mode: 'lose-answer', op: 'TransactWriteItems', times: 1 }], () =>
      call(verify, { body: { target, code } }),
    );
    expect(answer.status, answer.rawBody).toBe(200);
    expect(proxy.seen.filter((request) => request.op === 'TransactWriteItems').slice(-2)).toEqual([
      { op: 'TransactWriteItems', fault: 'lose-answer' },
      { op: 'TransactWriteItems', fault: 'pass' },
    ]);
    const checked = await call(session, {
      method: 'GET',
      headers: { Authorization: `Bearer ${answer.body?.sessionToken}` },
    });
    expect(checked.status).toBe(200);
    expect(await counts(h, target)).toEqual({ code: undefined, run: undefined });
  });

  it('refresh: a rotation whose answer was lost is not taken for reuse; the new tokens work', async () => {
    const { send, verify, refresh } = await api(PATIENT);
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const login = await call(verify, { body: { target, code } });
    const answer = await failing([{ mode: 'lose-answer', op: 'TransactWriteItems', times: 1 }], () =>
      call(refresh, { body: { refreshToken: login.body?.refreshToken } }),
    );
    expect(answer.status, answer.rawBody).toBe(200);
    expect((await call(refresh, { body: { refreshToken: answer.body?.refreshToken } })).status).toBe(200);
  });

  it('send: an Idempotency-Key whose claim was written and its answer lost is still this request’s', async () => {
    const { h, send } = await api(PATIENT);
    const target = nextTarget();
    const answer = await failing([{ mode: 'lose-answer', op: 'PutItem', times: 1 }], () =>
      call(send, { body: { target }, headers: { 'Idempotency-Key': `faults-${targets}` } }),
    );
    expect(answer.status, answer.rawBody).toBe(200);
    expect(h.sender.sent).toHaveLength(1);
  });
});

describe('a refresh whose profile read fails after the rotation', () => {
  it('answers the new tokens: an error would send the app back with a used token, read as reuse', async () => {
    const { send, verify, refresh, session } = await api();
    const target = nextTarget();
    const code = (await call(send, { body: { target } })).body?.mockCode as string;
    const login = await call(verify, { body: { target, code } });
    // The refresh token's lookup (the first GetItem) passes; the customer's read beside the rotation fails.
    const answer = await failing([{ mode: 'throttle', op: 'GetItem', skip: 1 }], () =>
      call(refresh, { body: { refreshToken: login.body?.refreshToken } }),
    );
    expect(answer.status, answer.rawBody).toBe(200);
    const checked = await call(session, {
      method: 'GET',
      headers: { Authorization: `Bearer ${answer.body?.sessionToken}` },
    });
    expect(checked.status).toBe(200);
  });
});
