import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { stateKey } from '../../functions/adapters/dynamo/keys.js';
import { IDEMPOTENCY_LEASE_MS, idempotencyRecordKey } from '../../functions/core/idempotency.js';
import { addClient } from '../../functions/core/manage-clients.js';
import type { OutgoingCode } from '../../functions/core/ports.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { call, countRequests, expectProblem, type Harness, harness, PEPPER, PHONE, stateItem } from '../support.js';

/**
 * Idempotency-Key on POST /v1/otp/send over DynamoDB Local: a retried request gets the first answer
 * and sends nothing; another request with the key is refused; a failed one gives its key back.
 * Messages are counted at the sender.
 */

const KEY = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const OTHER_PHONE = '+14155550124';

type Headers = Record<string, string>;

const keyed = (key: string, headers: Headers = {}): Headers => ({ 'Idempotency-Key': key, ...headers });

/** One warm send function; `send(body, headers)`. */
function sender(h: Harness) {
  const handler = createSendOtpHandler(h.deps);
  return (body: Record<string, unknown>, headers: Headers = {}) => call(handler, { body, headers });
}

/**
 * Holds the first message at the sender until `release()`: the first request is in flight, its key
 * taken. `reached` resolves once it is there. Later messages pass at once.
 */
function holdFirstMessage(h: Harness) {
  const recording = h.sender;
  let release = () => {};
  let reachedResolve = () => {};
  const reached = new Promise<void>((resolve) => (reachedResolve = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let first = true;
  const gated = {
    async send(message: OutgoingCode) {
      if (first) {
        first = false;
        reachedResolve();
        await released;
      }
      await recording.send(message);
    },
  };
  h.deps.senders = { sms: gated, email: gated };
  return { reached, release };
}

/** The Idempotency-Key records in the state table, as a table reader sees them. */
async function idempotencyItems(h: Harness) {
  const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }));
  return Items.map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith('idem#'));
}

function expectReplayOf(replay: Awaited<ReturnType<typeof call>>, first: Awaited<ReturnType<typeof call>>) {
  expect(replay.status).toBe(200);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.body).toEqual(first.body);
}

describe('Idempotency-Key on send', () => {
  it('the same request again answers the first 200 (same otpToken and mockCode), replayed, and sends nothing', async () => {
    const h = await harness();
    const send = sender(h);
    const first = await send({ target: PHONE, locale: 'pt-BR' }, keyed(KEY));
    expect(first.status).toBe(200);
    expect(first.headers).not.toHaveProperty('idempotent-replayed');
    expect(first.body?.mockCode).toBe(h.sender.lastCode());

    // Another spelling of the same request, later within the code's lifetime: no cooldown, no SMS.
    h.clock.now += 10_000;
    const replay = await send({ target: '+1 (415) 555-0123', channel: 'sms', locale: 'pt-br' }, keyed(KEY));
    expectReplayOf(replay, first);
    expect(replay.headers['cache-control']).toBe('no-store');
    expect(h.sender.sent).toHaveLength(1);
  });

  it('a replay outside dev mode has no mockCode either', async () => {
    const h = await harness({ OTP_DEV_MODE: 'false' });
    const send = sender(h);
    const first = await send({ target: 'ada@example.com' }, keyed(KEY));
    expect(first.body).not.toHaveProperty('mockCode');
    expectReplayOf(await send({ target: 'Ada@Example.com' }, keyed(KEY)), first);
    expect(h.sender.sent).toHaveLength(1);
  });

  it('replays count against no limit: with 2 per hour, one more send passes after five replays, the next is refused', async () => {
    const h = await harness({ OTP_SEND_LIMIT_PER_HOUR: '2', OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const send = sender(h);
    expect((await send({ target: PHONE }, keyed(KEY))).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await send({ target: PHONE }, keyed(KEY))).headers['idempotent-replayed']).toBe('true');
    }
    // Hourly limit 2: the first send and this one; the five replays counted nothing.
    expect((await send({ target: PHONE })).status).toBe(200);
    const third = await send({ target: PHONE });
    expectProblem(third, 429, 'rate-limited');
    expect(third.body).toMatchObject({ reason: 'target-hourly' });
    expect(h.sender.sent).toHaveLength(2);
  });

  it('20 parallel sends with one key: exactly 1 message; 1 fresh 200, every other a replay or 409, 20 in all', async () => {
    const h = await harness();
    const send = sender(h);
    // Half at the same instant, half spread over the first send's run: both kinds of answer occur.
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        if (i % 2) await new Promise((resolve) => setTimeout(resolve, i * 8));
        return send({ target: PHONE }, keyed(KEY));
      }),
    );

    expect(h.sender.sent).toHaveLength(1);
    const fresh = answers.filter((a) => a.status === 200 && a.headers['idempotent-replayed'] === undefined);
    const replays = answers.filter((a) => a.status === 200 && a.headers['idempotent-replayed'] === 'true');
    const inProgress = answers.filter((a) => a.status === 409);
    expect(fresh).toHaveLength(1);
    expect(1 + replays.length + inProgress.length).toBe(20);
    const [first] = fresh;
    for (const replay of replays) expect(replay.body).toEqual(first?.body);
    for (const answer of inProgress) {
      expectProblem(answer, 409, 'request-in-progress');
      expect(answer.headers['retry-after']).toBe('1');
    }
    expect(first?.body?.mockCode).toBe(h.sender.lastCode());
  });

  it('409 request-in-progress with Retry-After: 1 while the first runs; the same key replays once it is done', async () => {
    const h = await harness();
    const send = sender(h);
    const gate = holdFirstMessage(h);
    const pending = send({ target: PHONE }, keyed(KEY));
    await gate.reached;

    const during = await send({ target: PHONE }, keyed(KEY));
    expectProblem(during, 409, 'request-in-progress');
    expect(during.headers['retry-after']).toBe('1');
    expect(during.body?.retryAfter).toBe(1);

    gate.release();
    const first = await pending;
    expect(first.status).toBe(200);
    expectReplayOf(await send({ target: PHONE }, keyed(KEY)), first);
    expect(h.sender.sent).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>]>([
    ['another target', { target: OTHER_PHONE }],
    ['another purpose', { target: PHONE, purpose: 'register' }],
    ['another locale', { target: PHONE, locale: 'de' }],
  ])('422 idempotency-key-reused for the key with %s, and nothing sent', async (_what, body) => {
    const h = await harness();
    const send = sender(h);
    expect((await send({ target: PHONE }, keyed(KEY))).status).toBe(200);
    expectProblem(await send(body, keyed(KEY)), 422, 'idempotency-key-reused');
    expect(h.sender.sent).toHaveLength(1);
  });

  it('422 idempotency-key-reused for the key with another request while the first is still in flight', async () => {
    const h = await harness();
    const send = sender(h);
    const gate = holdFirstMessage(h);
    const pending = send({ target: PHONE }, keyed(KEY));
    await gate.reached;
    expectProblem(await send({ target: OTHER_PHONE }, keyed(KEY)), 422, 'idempotency-key-reused');
    gate.release();
    expect((await pending).status).toBe(200);
    expect(h.sender.sent.map((message) => message.to)).toEqual([PHONE]);
  });

  it('422 idempotency-key-reused for the key from another client (two API keys), or without a key', async () => {
    const h = await harness();
    const send = sender(h);
    const manage = { registry: h.registry, now: () => h.clock.now };
    const appA = await addClient(manage, 'App A');
    const appB = await addClient(manage, 'App B');
    const first = await send({ target: PHONE }, keyed(KEY, { 'X-API-Key': appA.apiKey }));
    expect(first.status).toBe(200);
    expectProblem(
      await send({ target: PHONE }, keyed(KEY, { 'X-API-Key': appB.apiKey })),
      422,
      'idempotency-key-reused',
    );
    expectProblem(await send({ target: PHONE }, keyed(KEY)), 422, 'idempotency-key-reused');
    expectReplayOf(await send({ target: PHONE }, keyed(KEY, { 'X-API-Key': appA.apiKey })), first);
    expect(h.sender.sent).toHaveLength(1);
  });

  it('a delivery failure gives the key back: the retry with it runs afresh and sends', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '0' });
    const send = sender(h);
    h.sender.failWith = new Error('provider down');
    expectProblem(await send({ target: PHONE }, keyed(KEY)), 502, 'delivery-failed');
    expect(await idempotencyItems(h)).toEqual([]);

    h.sender.failWith = undefined;
    const retry = await send({ target: PHONE }, keyed(KEY));
    expect(retry.status).toBe(200);
    expect(retry.headers).not.toHaveProperty('idempotent-replayed');
    expect(retry.body?.mockCode).toBe(h.sender.lastCode());
    expect(h.sender.sent).toHaveLength(1);
  });

  it('a rate-limited send gives the key back: once the cooldown is over, within the lease, the retry with it sends', async () => {
    const h = await harness({ OTP_RESEND_COOLDOWN_SECONDS: '5' });
    const send = sender(h);
    expect((await send({ target: PHONE })).status).toBe(200);
    const takenAt = h.clock.now;
    const refused = await send({ target: PHONE }, keyed(KEY));
    expectProblem(refused, 429, 'rate-limited');
    expect(refused.body).toMatchObject({ reason: 'cooldown' });

    h.clock.now += Number(refused.headers['retry-after']) * 1000;
    // Within the lease: only a release lets this retry take the key.
    expect(h.clock.now - takenAt).toBeLessThan(IDEMPOTENCY_LEASE_MS);
    const retry = await send({ target: PHONE }, keyed(KEY));
    expect(retry.status).toBe(200);
    expect(retry.headers).not.toHaveProperty('idempotent-replayed');
    expect(h.sender.sent).toHaveLength(2);
  });

  it('400 invalid-target and 401 session-invalid from the send give the key back; a malformed target takes none', async () => {
    const h = await harness();
    const send = sender(h);
    expectProblem(await send({ target: '+1415' }, keyed(KEY)), 400, 'invalid-target');
    // Refused inside the send, once the key is taken: a phone for verify-email, no session for it.
    expectProblem(await send({ target: PHONE, purpose: 'verify-email' }, keyed(KEY)), 400, 'invalid-target');
    expect(await idempotencyItems(h)).toEqual([]);
    expectProblem(
      await send({ target: 'ada@example.com', purpose: 'verify-email' }, keyed(KEY)),
      401,
      'session-invalid',
    );
    expect(await idempotencyItems(h)).toEqual([]);
    const retry = await send({ target: PHONE }, keyed(KEY));
    expect(retry.status).toBe(200);
    expect(retry.headers).not.toHaveProperty('idempotent-replayed');
    expect(h.sender.sent).toHaveLength(1);
  });

  it('a crashed request holds its key for the lease only: then another takes over, and the late one cannot overwrite it', async () => {
    const h = await harness();
    const send = sender(h);
    const gate = holdFirstMessage(h);
    const crashed = send({ target: PHONE }, keyed(KEY));
    await gate.reached;

    h.clock.now += IDEMPOTENCY_LEASE_MS - 1;
    expectProblem(await send({ target: PHONE }, keyed(KEY)), 409, 'request-in-progress');
    h.clock.now += 1;
    const takeover = await send({ target: PHONE }, keyed(KEY));
    expect(takeover.status).toBe(200);
    expect(takeover.headers).not.toHaveProperty('idempotent-replayed');
    expect(h.sender.sent).toHaveLength(1);

    // The first request comes back after all: its caller gets its answer, the key keeps the takeover's.
    gate.release();
    const late = await crashed;
    expect(late.status).toBe(200);
    expect(late.body?.otpToken).not.toBe(takeover.body?.otpToken);
    expectReplayOf(await send({ target: PHONE }, keyed(KEY)), takeover);
    expect(h.sender.sent).toHaveLength(2);
  });

  it("replays within the code's lifetime under the client's policy (codeTtlSeconds), and sends afresh after it", async () => {
    const h = await harness();
    const send = sender(h);
    const app = await addClient({ registry: h.registry, now: () => h.clock.now }, 'Short codes', {
      codeTtlSeconds: 60,
    });
    const headers = keyed(KEY, { 'X-API-Key': app.apiKey });
    const first = await send({ target: PHONE }, headers);
    expect(first.body?.expiresIn).toBe(60);

    h.clock.now += 59_999;
    expectReplayOf(await send({ target: PHONE }, headers), first);
    h.clock.now += 1;
    const after = await send({ target: PHONE }, headers);
    expect(after.status).toBe(200);
    expect(after.headers).not.toHaveProperty('idempotent-replayed');
    expect(after.body?.otpToken).not.toBe(first.body?.otpToken);
    expect(h.sender.sent).toHaveLength(2);
  });

  it('a send without the key is as before: no record, no replay header, and 2 DynamoDB requests fewer than with one', async () => {
    const h = await harness();
    const send = sender(h);
    const without = await countRequests(h, () => send({ target: PHONE }));
    expect(without.result.status).toBe(200);
    expect(without.result.headers).not.toHaveProperty('idempotent-replayed');
    expect(await idempotencyItems(h)).toEqual([]);
    // The same request again is a new send, refused by the cooldown as ever.
    expectProblem(await send({ target: PHONE }), 429, 'rate-limited');

    const withKey = await countRequests(h, () => send({ target: OTHER_PHONE }, keyed(KEY)));
    expect(withKey.result.status).toBe(200);
    // The key's one conditional put before the send, its one update after it.
    expect(withKey.commands.length - without.commands.length).toBe(2);
    expect(withKey.commands.filter((name) => name === 'PutItemCommand').length).toBe(
      without.commands.filter((name) => name === 'PutItemCommand').length + 1,
    );
  });

  it('a replay costs one DynamoDB request: the refused put that returns the record', async () => {
    const h = await harness();
    const send = sender(h);
    await send({ target: PHONE }, keyed(KEY));
    const replay = await countRequests(h, () => send({ target: PHONE }, keyed(KEY)));
    expect(replay.result.headers['idempotent-replayed']).toBe('true');
    expect(replay.commands).toEqual(['PutItemCommand']);
  });

  it.each<[string, string]>([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé-1'],
    ['a control character', 'key\u0001'],
    ['a tab', 'key\t1'],
    ['DEL', 'key\u007F'],
  ])('400 validation-error naming Idempotency-Key for a key that is %s, and nothing sent', async (_what, key) => {
    const h = await harness();
    const response = await sender(h)({ target: PHONE }, keyed(key));
    expectProblem(response, 400, 'validation-error');
    expect(response.body?.errors).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);
    expect(h.sender.sent).toHaveLength(0);
    expect(await idempotencyItems(h)).toEqual([]);
  });

  it('accepts 255 printable ASCII characters, spaces and symbols included', async () => {
    const h = await harness();
    const key = ` ~!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}`.padEnd(255, 'z');
    expect(key).toHaveLength(255);
    const send = sender(h);
    const first = await send({ target: PHONE }, keyed(key));
    expect(first.status).toBe(200);
    expectReplayOf(await send({ target: PHONE }, keyed(key)), first);
  });

  it('the record holds no usable secret: keyed by a keyed hash, the answer sealed, no key, token, code or target', async () => {
    const h = await harness();
    const send = sender(h);
    const first = await send({ target: PHONE }, keyed(KEY));
    const items = await idempotencyItems(h);
    expect(items).toHaveLength(1);
    const [item] = items;
    expect(item?.pk).toBe(stateKey.idempotency(idempotencyRecordKey(PEPPER, KEY)));
    expect(await stateItem(h, stateKey.idempotency(idempotencyRecordKey(PEPPER, KEY)))).toEqual(item);
    const stored = JSON.stringify(item);
    const digits = PHONE.slice(1);
    for (const secret of [KEY, first.body?.otpToken as string, first.body?.mockCode as string, PHONE, digits]) {
      expect(stored).not.toContain(secret);
    }
    expect(item).toMatchObject({ state: 'done', sealed: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
  });
});
