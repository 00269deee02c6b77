import { DescribeTableCommand, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { opaqueKey } from '../../functions/core/codes.js';
import { InvalidCodeError, SessionInvalidError } from '../../functions/core/errors.js';
import { checkSession, hashSessionToken } from '../../functions/core/sessions.js';
import { kindOf, stateKey } from '../../functions/adapters/dynamo/keys.js';
import { sendCode } from '../../functions/core/send-code.js';
import {
  initialKeySet,
  rotateSigningKeys,
  type SigningKeySet,
  type SigningKeyVault,
} from '../../functions/core/signing-keys.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { DAY_MS, HOUR_MS } from '../../functions/core/windows.js';
import { createCleanupHandler } from '../../functions/handlers/cleanup.js';
import { countRequests, type Harness, harness, PEPPER, wrongCode } from '../support.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  // The test run turns metrics off (vitest.config.ts); this test reads them.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const T0 = Date.UTC(2036, 0, 1, 10, 0, 0);
/** The expiry sweep on (OTP_EXPIRY_SWEEP): items list themselves in the `due` index for the cleanup. */
const SWEEP = { OTP_EXPIRY_SWEEP: 'true', OTP_RESEND_COOLDOWN_SECONDS: '0', SESSION_TTL_SECONDS: '3600' };
const TTL_ONLY = { OTP_RESEND_COOLDOWN_SECONDS: '0', SESSION_TTL_SECONDS: '3600' };
const IP = '198.51.100.77';

async function keys(h: Harness): Promise<string[]> {
  const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable, ConsistentRead: true }));
  return Items.map((item) => item.pk?.S ?? '').sort();
}

/** Two finished flows at T0 (one login, one failed guess), and one live code 30 hours later. */
async function history(h: Harness) {
  h.clock.now = T0;
  await sendCode(h.deps, { target: 'a@example.com', purpose: 'login', sourceIp: IP });
  await verifyCode(h.deps, { target: 'a@example.com', code: h.sender.sent[0]?.code ?? '', purpose: 'login' });
  await sendCode(h.deps, { target: 'b@example.com', purpose: 'login', sourceIp: IP });
  const wrong = wrongCode(h.sender.sent[1]?.code ?? '');
  await verifyCode(h.deps, { target: 'b@example.com', code: wrong, purpose: 'login' }).catch(() => undefined);
  h.clock.now = T0 + 30 * HOUR_MS + 10 * 60_000;
  await sendCode(h.deps, { target: 'c@example.com', purpose: 'login', sourceIp: IP });
  // c's code (5 min) and its IP hour are still live.
  h.clock.now = T0 + 30 * HOUR_MS + 12 * 60_000;
}

describe('removeExpired on DynamoDB Local', () => {
  it('removes expired codes, counters, sessions and failure counts, and nothing live', async () => {
    const h = await harness(SWEEP);
    await history(h);
    const removed = await h.store.removeExpired(h.clock.now, 100, 72);
    // a's session (1 h), b's code (5 min), both targets' day counters and the IP's hour at T0, b's failures (24 h).
    expect(removed).toEqual({ session: 1, code: 1, send: 2, ip: 1, fails: 1 });

    const left = await keys(h);
    const c = opaqueKey(PEPPER, 'target', 'c@example.com');
    expect(left).toHaveLength(5);
    expect(left).toContain(stateKey.code(c, 'login'));
    // a's refresh token and its family live 30 days (OTP_REFRESH_TTL_SECONDS), after its session ends.
    expect(left.filter((pk) => kindOf(pk) === 'refresh')).toHaveLength(1);
    expect(left.filter((pk) => kindOf(pk) === 'family')).toHaveLength(1);
    expect(left).toContain(stateKey.sendCounter(c, Math.floor(h.clock.now / DAY_MS)));
    expect(left.filter((pk) => kindOf(pk) === 'ip')).toHaveLength(1);
    expect(await h.store.removeExpired(h.clock.now, 100, 72)).toEqual({});
  });

  it('stops at its limit; the next run goes on', async () => {
    const h = await harness(SWEEP);
    await history(h);
    const first = await h.store.removeExpired(h.clock.now, 4, 72);
    expect(Object.values(first).reduce((a, b) => a + b, 0)).toBe(4);
    const second = await h.store.removeExpired(h.clock.now, 100, 72);
    expect(Object.values(second).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('leaves an item whose expiry moved later', async () => {
    const h = await harness({ ...SWEEP, OTP_MAX_ATTEMPTS: '10' });
    const targetKey = opaqueKey(PEPPER, 'target', 'a@example.com');
    // Two wrong codes, as verify counts them: a place taken in the run, then settled as wrong.
    for (const at of [T0, T0 + 23 * HOUR_MS]) {
      const reservation = await h.store.reserveGuess({ mailboxKey: targetKey, now: at, limit: 50, windowMs: DAY_MS });
      if (reservation.kind !== 'reserved') throw new Error('the run refused a place');
      await h.store.settleWrongGuess(reservation.guess, at, DAY_MS);
    }
    expect(await h.store.removeExpired(T0 + 25 * HOUR_MS, 100, 72)).toEqual({});
    const { Item } = await h.client.send(
      new GetItemCommand({ TableName: h.tables.stateTable, Key: { pk: { S: stateKey.failures(targetKey) } } }),
    );
    expect(Item?.failures?.N).toBe('2');
  });
});

describe('cleanup handler', () => {
  it('logs what it removed and emits it as a metric', async () => {
    const h = await harness(SWEEP);
    await history(h);
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const context = { functionName: 'cleanup', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60_000 };
    const result = await createCleanupHandler({ store: h.store, now: () => h.clock.now, expirySweep: true }, 100)(
      {},
      context as unknown as Context,
    );
    write.mockRestore();

    expect(result).toEqual({ removed: { session: 1, code: 1, send: 2, ip: 1, fails: 1 }, total: 6 });
    const output = lines.join('');
    expect(output).toContain('"message":"expired items removed"');
    const emf = output
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf.find((metric) => metric.ExpiredItemsRemoved === 6 && metric.kind === undefined)).toBeDefined();
    expect(emf.find((metric) => metric.kind === 'send' && metric.ExpiredItemsRemoved === 2)).toBeDefined();
  });

  it('rotates the signing keys when due, with the stored set as it is now, then cleans', async () => {
    const h = await harness(SWEEP);
    await history(h);
    const { vault, versions } = memoryVault(initialKeySet(h.clock.now - 31 * DAY_MS));
    const context = { functionName: 'cleanup', awsRequestId: 'r-2', getRemainingTimeInMillis: () => 60_000 };
    const run = createCleanupHandler(
      {
        store: h.store,
        now: () => h.clock.now,
        rotateKeys: () => rotateSigningKeys(vault, h.clock.now, 30 * DAY_MS),
        expirySweep: true,
      },
      100,
    );
    const first = await run({}, context as unknown as Context);
    expect(first).toMatchObject({ total: 6, signingKeys: { action: 'rotated' } });
    expect(versions).toHaveLength(2);
    expect(await run({}, context as unknown as Context)).toMatchObject({ total: 0, signingKeys: { action: 'kept' } });
    expect(versions).toHaveLength(2);
  });

  it('still cleans when the rotation fails, and then fails the run so that it is retried', async () => {
    const h = await harness(SWEEP);
    await history(h);
    const context = { functionName: 'cleanup', awsRequestId: 'r-3', getRemainingTimeInMillis: () => 60_000 };
    const run = createCleanupHandler(
      {
        store: h.store,
        now: () => h.clock.now,
        rotateKeys: () => Promise.reject(new Error('AccessDenied')),
        expirySweep: true,
      },
      100,
    );
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    // Powertools writes errors to stderr, the rest to stdout.
    const writes = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
    for (const write of writes) write.mockImplementation(capture);
    await expect(run({}, context as unknown as Context)).rejects.toThrow('AccessDenied');
    for (const write of writes) write.mockRestore();
    expect(lines.join('')).toContain('"message":"signing keys could not be rotated"');
    expect(await h.store.removeExpired(h.clock.now, 100, 72)).toEqual({});
  });
});

describe('without the expiry sweep (the default): TTL alone', () => {
  it('no item carries the due attributes, every one keeps its ttl, and the table has no due index', async () => {
    const h = await harness(TTL_ONLY);
    await history(h);
    const { Items = [] } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable }));
    expect(Items.length).toBeGreaterThan(0);
    for (const item of Items) {
      expect(item.ttl?.N, item.pk?.S).toEqual(expect.any(String));
      expect(item.dueBucket, item.pk?.S).toBeUndefined();
      expect(item.dueAt, item.pk?.S).toBeUndefined();
    }
    const { Table } = await h.client.send(new DescribeTableCommand({ TableName: h.tables.stateTable }));
    expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual(['sessions']);
  });

  it('a run rotates the signing keys and removes nothing, without a request to the table', async () => {
    const h = await harness(TTL_ONLY);
    await history(h);
    const before = await keys(h);
    const { vault, versions } = memoryVault(initialKeySet(h.clock.now - 31 * DAY_MS));
    const context = { functionName: 'cleanup', awsRequestId: 'r-4', getRemainingTimeInMillis: () => 60_000 };
    const run = createCleanupHandler(
      {
        store: h.store,
        now: () => h.clock.now,
        rotateKeys: () => rotateSigningKeys(vault, h.clock.now, 30 * DAY_MS),
        expirySweep: false,
      },
      100,
    );
    const { result, commands } = await countRequests(h, () => run({}, context as unknown as Context));
    expect(result).toMatchObject({ removed: {}, total: 0, expirySweep: 'off', signingKeys: { action: 'rotated' } });
    expect(versions).toHaveLength(2);
    expect(commands).toEqual([]);
    expect(await keys(h)).toEqual(before);
    // The store does not read an index the table does not have.
    expect(await h.store.removeExpired(h.clock.now, 100, 72)).toEqual({});
  });

  it('expired items are never honoured: still stored (TTL is lazy), an expired code and session answer as unknown', async () => {
    const h = await harness(TTL_ONLY);
    await sendCode(h.deps, { target: 'd@example.com', purpose: 'login', sourceIp: IP });
    const login = await verifyCode(h.deps, { target: 'd@example.com', code: h.sender.lastCode(), purpose: 'login' });
    await sendCode(h.deps, { target: 'e@example.com', purpose: 'login', sourceIp: IP });
    const expired = h.sender.lastCode();
    await expect(checkSession(h.deps, login.sessionToken)).resolves.toMatchObject({ target: 'd@example.com' });
    // Past the code's and the session's ends (1 hour); TTL has not removed them.
    h.clock.now += 2 * HOUR_MS;
    expect(await keys(h)).toEqual(
      expect.arrayContaining([
        stateKey.code(opaqueKey(PEPPER, 'target', 'e@example.com'), 'login'),
        stateKey.session(hashSessionToken(login.sessionToken ?? '')),
      ]),
    );
    await expect(verifyCode(h.deps, { target: 'e@example.com', code: expired, purpose: 'login' })).rejects.toThrow(
      InvalidCodeError,
    );
    await expect(checkSession(h.deps, login.sessionToken)).rejects.toThrow(SessionInvalidError);
  });
});

/** A key set store in memory with Secrets Manager's rule: one replacement per version read. */
function memoryVault(initial: SigningKeySet) {
  const versions: { keys: SigningKeySet | undefined; version: string }[] = [{ keys: initial, version: 'v0' }];
  const vault: SigningKeyVault = {
    read: () => Promise.resolve(versions.at(-1) as { keys: SigningKeySet | undefined; version: string }),
    replace: (keys, version) => {
      if (versions.at(-1)?.version !== version) return Promise.resolve(false);
      versions.push({ keys, version: `v${versions.length}` });
      return Promise.resolve(true);
    },
  };
  return { vault, versions };
}
