import { describe, expect, it } from 'vitest';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { opaqueKey } from '../../functions/core/codes.js';
import { InvalidCodeError, NewCodeRequiredError, TargetLockedError } from '../../functions/core/errors.js';
import type { OtpError } from '../../functions/core/errors.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { countRequests, type Harness, harness, PEPPER, sendTo, stateItem, wrongCode } from '../support.js';

const tag = (n: number) => `ada+${n}@x.com`;
const MAILBOX = opaqueKey(PEPPER, 'target', 'ada@x.com');
/** Cap 5 (3 places open to any guess, 2 for token-bound codes), 10 attempts per code, sends enough for 16 codes. */
const CAP_5 = {
  OTP_MAX_FAILURES_PER_TARGET: '5',
  OTP_MAX_ATTEMPTS: '10',
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_SEND_LIMIT_PER_HOUR: '20',
  OTP_SEND_LIMIT_PER_DAY: '40',
};

interface Sent {
  target: string;
  code: string;
  otpToken: string;
}

async function sendToTags(h: Harness, tags: number[]): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (const n of tags) {
    const { otpToken } = await sendTo(h, tag(n));
    sent.push({ target: tag(n), code: h.sender.lastCode(), otpToken });
  }
  return sent;
}

/** Ten different wrong codes for a code. */
const wrongCodes = (code: string) =>
  Array.from({ length: 10 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(code.length, '0'));

/** Runs the verifies in parallel; every one must be refused. */
async function refusals(verifies: Promise<unknown>[]): Promise<OtpError[]> {
  const results = await Promise.allSettled(verifies);
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(0);
  return results.map((r) => (r as PromiseRejectedResult).reason as OtpError);
}

const count = (errors: unknown[], type: abstract new (...args: never[]) => unknown) =>
  errors.filter((e) => e instanceof type).length;

async function codeItem(h: Harness, target: string) {
  return stateItem(h, stateKey.code(opaqueKey(PEPPER, 'target', target), 'login'));
}

/** Wrong codes of the mailbox's run, as its item holds them. */
async function wrongCodesOfRun(h: Harness): Promise<number> {
  return (await h.store.failures(MAILBOX, h.clock.now)).count;
}

describe('the per-target cap under concurrency', () => {
  it('80 parallel wrong guesses without otpToken over 8 live codes compare exactly the 3 open places of a cap of 5', async () => {
    const h = await harness(CAP_5);
    const sent = await sendToTags(h, [1, 2, 3, 4, 5, 6, 7, 8]);
    const errors = await refusals(
      sent.flatMap((s) => wrongCodes(s.code).map((code) => verifyCode(h.deps, { target: s.target, code }))),
    );
    // 401: compared and wrong. 429: refused before any comparison.
    expect(count(errors, InvalidCodeError)).toBe(3);
    expect(count(errors, TargetLockedError) + count(errors, NewCodeRequiredError)).toBe(77);
    expect(await wrongCodesOfRun(h)).toBe(3);
    // A refused guess used up no attempt of any code: the codes hold exactly the 3 compared.
    const attempts = await Promise.all(sent.map(async (s) => Number((await codeItem(h, s.target))?.attempts)));
    expect(attempts.reduce((a, b) => a + b, 0)).toBe(3);
    expect((await stateItem(h, stateKey.failures(MAILBOX)))?.failures).toBe(3);
  });

  it('then 8 fresh token-bound codes and 80 parallel wrong guesses compare exactly the 2 places left: 5 in all', async () => {
    const h = await harness(CAP_5);
    const first = await sendToTags(h, [1, 2, 3]);
    for (const s of first) {
      await expect(verifyCode(h.deps, { target: s.target, code: wrongCode(s.code) })).rejects.toThrow(InvalidCodeError);
    }
    expect(await wrongCodesOfRun(h)).toBe(3);

    // Sent past the open places: only their otpToken can try them.
    const sent = await sendToTags(h, [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of sent) expect((await codeItem(h, s.target))?.requireToken).toBe(true);
    const errors = await refusals(
      sent.flatMap((s) => {
        const [withToken, ...without] = wrongCodes(s.code);
        return [
          verifyCode(h.deps, { otpToken: s.otpToken, code: withToken ?? '' }),
          ...without.slice(0, 9).map((code) => verifyCode(h.deps, { target: s.target, code })),
        ];
      }),
    );
    expect(errors).toHaveLength(80);
    expect(count(errors, InvalidCodeError)).toBe(2);
    expect(await wrongCodesOfRun(h)).toBe(5);

    // The cap is reached: no code is sent, and even the right code with its token is not compared.
    await expect(sendTo(h, tag(9))).rejects.toMatchObject({ reason: 'target-locked' });
    const last = sent.at(-1) as Sent;
    const locked = await verifyCode(h.deps, { otpToken: last.otpToken, code: last.code }).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(TargetLockedError);
    expect((locked as TargetLockedError).retryAfterSeconds).toBe(86_400);
  });

  it('guessing against nothing, 200 at once, takes no place: the run stays empty and the target unlocked', async () => {
    const h = await harness(CAP_5);
    const errors = await refusals(
      Array.from({ length: 200 }, (_, i) => verifyCode(h.deps, { target: tag(i), code: '123456' })),
    );
    // No code anywhere: each is answered as a wrong code, or (places held for a moment) "try again in 1 s".
    for (const error of errors) {
      if (!(error instanceof InvalidCodeError)) expect(error).toMatchObject({ retryAfterSeconds: 1 });
    }
    expect((await stateItem(h, stateKey.failures(MAILBOX)))?.failures).toBe(0);
    const [s] = await sendToTags(h, [1]);
    await expect(verifyCode(h.deps, { target: tag(1), code: wrongCode(s?.code ?? '') })).rejects.toThrow(
      InvalidCodeError,
    );
    expect(await wrongCodesOfRun(h)).toBe(1);
  });
});

describe('past the open places: only a new code with its otpToken', () => {
  async function pastOpenPlaces(h: Harness): Promise<Sent> {
    const [owners] = await sendToTags(h, [1]);
    for (const n of [2, 3, 4]) {
      const [s] = await sendToTags(h, [n]);
      await expect(verifyCode(h.deps, { target: tag(n), code: wrongCode(s?.code ?? '') })).rejects.toThrow(
        InvalidCodeError,
      );
    }
    expect(await wrongCodesOfRun(h)).toBe(3);
    return owners as Sent;
  }

  it('a code sent before is not compared, even with its token and the right code, and nothing is counted', async () => {
    const h = await harness(CAP_5);
    const before = await pastOpenPlaces(h);
    for (const request of [{ target: before.target }, { otpToken: before.otpToken }]) {
      const error = await verifyCode(h.deps, { ...request, code: before.code }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NewCodeRequiredError);
      expect(error).toMatchObject({ status: 429, slug: 'too-many-attempts', retryAfterSeconds: 86_400 });
      expect((error as NewCodeRequiredError).extensions.reason).toBe('new-code-required');
    }
    expect(await wrongCodesOfRun(h)).toBe(3);
    expect((await codeItem(h, before.target))?.attempts).toBe(0);
    // What the 429 says: a new code, verified with its token, gets in and ends the run.
    const [fresh] = await sendToTags(h, [1]);
    await expect(verifyCode(h.deps, { otpToken: fresh?.otpToken, code: fresh?.code ?? '' })).resolves.toMatchObject({
      verifiedTarget: tag(1),
    });
    expect(await stateItem(h, stateKey.failures(MAILBOX))).toBeUndefined();
  });

  it('a token-bound code gets one try: a second is refused and counts nothing', async () => {
    const h = await harness(CAP_5);
    await pastOpenPlaces(h);
    const [s] = (await sendToTags(h, [5])) as [Sent];
    await expect(verifyCode(h.deps, { otpToken: s.otpToken, code: wrongCode(s.code) })).rejects.toThrow(
      InvalidCodeError,
    );
    expect(await wrongCodesOfRun(h)).toBe(4);
    await expect(verifyCode(h.deps, { otpToken: s.otpToken, code: s.code })).rejects.toThrow(NewCodeRequiredError);
    expect(await wrongCodesOfRun(h)).toBe(4);
  });

  it("200 parallel guesses without the token neither use up the owner's new code nor keep the owner out", async () => {
    const h = await harness(CAP_5);
    await pastOpenPlaces(h);
    const [owner] = (await sendToTags(h, [1])) as [Sent];
    const attack = Array.from({ length: 200 }, (_, i) =>
      verifyCode(h.deps, { target: tag(1 + (i % 4)), code: String(i).padStart(6, '0') }),
    );
    const [login, ...rest] = await Promise.allSettled([
      verifyCode(h.deps, { otpToken: owner.otpToken, code: owner.code }),
      ...attack,
    ]);
    expect(login?.status).toBe('fulfilled');
    for (const r of rest) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason.status).toBe(429);
    }
    // Whatever the attack did is gone with the run the owner's code ended.
    expect(await stateItem(h, stateKey.failures(MAILBOX))).toBeUndefined();
  });
});

describe('token-bound codes, learnt by sends without a read', () => {
  /** Three wrong codes: the open places of a cap of 5 are taken. */
  async function pastOpenHalf(h: Harness) {
    const [first] = await sendToTags(h, [1]);
    for (const code of wrongCodes(first?.code ?? '').slice(0, 3)) {
      await expect(verifyCode(h.deps, { target: tag(1), code })).rejects.toBeInstanceOf(InvalidCodeError);
    }
  }

  it('past the open half, a send stores a token-bound code and reads nothing to learn it', async () => {
    const h = await harness(CAP_5);
    await pastOpenHalf(h);
    const { commands } = await countRequests(h, () => sendTo(h, tag(2)));
    expect(commands.filter((name) => /Get|Query|Scan/.test(name))).toEqual([]);
    expect((await codeItem(h, tag(2)))?.requireToken).toBe(true);
    // A send before the run reached it stores a code any guess may try.
    const fresh = await harness(CAP_5);
    const { commands: freshCommands } = await countRequests(fresh, () => sendTo(fresh, tag(2)));
    expect(freshCommands.sort()).toEqual(['PutItemCommand', 'UpdateItemCommand']);
    expect((await codeItem(fresh, tag(2)))?.requireToken).toBeUndefined();
  });

  it("the owner's right code ends the run, and with it the binding: the next code needs no token", async () => {
    const h = await harness(CAP_5);
    await pastOpenHalf(h);
    const { otpToken } = await sendTo(h, tag(2));
    await verifyCode(h.deps, { otpToken, code: h.sender.lastCode() });
    await sendTo(h, tag(3));
    expect((await codeItem(h, tag(3)))?.requireToken).toBeUndefined();
    await expect(verifyCode(h.deps, { target: tag(3), code: h.sender.lastCode() })).resolves.toBeDefined();
  });
});
