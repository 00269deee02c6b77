import { describe, expect, it } from 'vitest';
import { createRefreshHandler } from '../../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { createSessionHandler } from '../../functions/handlers/session.js';
import { createSessionsHandler } from '../../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../../functions/handlers/verify-otp.js';
import type { HandlerName } from '../../functions/routes.js';
import { STATE_PK } from '../../functions/adapters/dynamo/keys.js';
import { LEADING_KEY_PREFIXES } from '../../lib/leading-keys.js';
import { call, type Harness, harness } from '../support.js';

/**
 * The stack holds the session-token functions to the partition key prefixes of lib/leading-keys.ts
 * (`dynamodb:LeadingKeys`): a key outside them is refused in AWS and nowhere else, since DynamoDB
 * Local checks no IAM. So every path of those functions runs here with each DynamoDB request
 * recorded, and every item it reaches must be on a table and under a prefix the stack grants.
 */
interface Access {
  table: string;
  action: string;
  /** The item's partition key; undefined for a Query, which names an index instead. */
  pk?: string;
  index?: string;
}

type Input = Record<string, any>;
const pkOf = (input: Input): string | undefined => (input.Key ?? input.Item)?.[STATE_PK]?.S;

/** The item accesses of one DynamoDB command, as IAM authorises them (a transaction item by item). */
function accessesOf(command: { constructor: { name: string }; input: Input }): Access[] {
  const { input } = command;
  const action = command.constructor.name.replace(/Command$/, '');
  if (action === 'TransactWriteItems' || action === 'TransactGetItems') {
    return (input.TransactItems as Record<string, Input>[]).flatMap((item) =>
      Object.entries(item).map(([kind, operation]) => ({
        table: operation.TableName as string,
        action: kind === 'ConditionCheck' ? 'ConditionCheckItem' : `${kind}Item`,
        pk: pkOf(operation),
      })),
    );
  }
  if (action === 'BatchGetItem' || action === 'BatchWriteItem') {
    throw new Error(`${action}: not expected from these functions; teach this test its keys before allowing it`);
  }
  return [{ table: input.TableName, action, pk: pkOf(input), index: input.IndexName }];
}

/** Records every access of the harness's store while `run` runs. */
async function record(h: Harness, run: () => Promise<unknown>): Promise<Access[]> {
  type Send = (command: unknown) => Promise<unknown>;
  const client = h.client as unknown as { send: Send };
  const original: Send = client.send.bind(h.client);
  const accesses: Access[] = [];
  client.send = (command) => {
    accesses.push(...accessesOf(command as Parameters<typeof accessesOf>[0]));
    return original(command);
  };
  try {
    await run();
  } finally {
    client.send = original;
  }
  return accesses;
}

let targets = 0;
const nextTarget = () => `keys-${++targets}-${Math.random().toString(36).slice(2, 8)}@example.com`;

async function setUp() {
  const h = await harness();
  const send = createSendOtpHandler(h.deps);
  const verify = createVerifyOtpHandler(h.deps);
  const login = async (target = nextTarget()) => {
    // Past the resend cooldown of a target that logged in before.
    h.clock.now += 60_000;
    const sent = await call(send, { body: { target } });
    const verified = await call(verify, { body: { target, code: sent.body?.mockCode } });
    expect(verified.status).toBe(200);
    return verified.body as { sessionToken: string; accessToken: string; refreshToken: string };
  };
  return {
    h,
    login,
    session: createSessionHandler(h.deps),
    sessions: createSessionsHandler(h.deps),
    refresh: createRefreshHandler(h.deps),
  };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Fails naming each access the stack does not grant `handler`. */
function expectGranted(h: Harness, handler: keyof typeof LEADING_KEY_PREFIXES & HandlerName, accesses: Access[]) {
  const granted: Record<string, readonly string[] | 'any'> = {
    [h.tables.clientsTable]: 'any',
    ...Object.fromEntries(
      Object.entries(LEADING_KEY_PREFIXES[handler]).map(([table, prefixes]) => [
        table === 'state' ? h.tables.stateTable : h.tables.customersTable,
        prefixes,
      ]),
    ),
  };
  expect(accesses.length).toBeGreaterThan(0);
  for (const access of accesses) {
    const prefixes = granted[access.table];
    const label = `${handler}: ${access.action} on ${access.table} ${access.pk ?? access.index}`;
    expect(prefixes, label).toBeDefined();
    if (access.index !== undefined) {
      // The index Query is granted apart, on the sessions index only (lib/otp-permissions.ts).
      expect([access.action, access.index], label).toEqual(['Query', 'sessions']);
      continue;
    }
    if (prefixes === 'any') continue;
    expect(
      prefixes?.some((prefix) => access.pk?.startsWith(prefix)),
      label,
    ).toBe(true);
  }
}

describe('the session-token functions reach only the keys the stack grants them', () => {
  it('session: GET and DELETE by session and access token, ?action=, ?all=true, and tokens no longer live', async () => {
    const s = await setUp();
    const first = await s.login();
    const second = await s.login();
    const third = await s.login();
    const target = nextTarget();
    const [mine, again] = [await s.login(target), await s.login(target)];
    const rotated = await s.login();
    const accesses = await record(s.h, async () => {
      for (const headers of [
        bearer(first.sessionToken),
        bearer(first.accessToken),
        { 'X-OTP-Session': first.sessionToken },
      ]) {
        expect((await call(s.session, { method: 'GET', headers })).status).toBe(200);
      }
      await call(s.session, { method: 'GET', headers: bearer(first.sessionToken), query: { action: 'transfer' } });
      expect((await call(s.session, { method: 'DELETE', headers: bearer(second.sessionToken) })).status).toBe(204);
      expect((await call(s.session, { method: 'DELETE', headers: bearer(third.accessToken) })).status).toBe(204);
      // Revoked: refused, the same reads.
      expect((await call(s.session, { method: 'GET', headers: bearer(second.sessionToken) })).status).toBe(401);
      expect((await call(s.session, { method: 'DELETE', headers: bearer(second.sessionToken) })).status).toBe(401);
      expect(
        (await call(s.session, { method: 'DELETE', headers: bearer(mine.sessionToken), query: { all: 'true' } }))
          .status,
      ).toBe(204);
      expect(
        (await call(s.session, { method: 'DELETE', headers: bearer(again.accessToken), query: { all: 'true' } }))
          .status,
      ).toBe(401);
    });
    // A token a refresh rotated away still ends its family when presented to DELETE.
    await call(s.refresh, { body: { refreshToken: rotated.refreshToken } });
    accesses.push(
      ...(await record(s.h, () => call(s.session, { method: 'DELETE', headers: bearer(rotated.sessionToken) }))),
    );
    expectGranted(s.h, 'session', accesses);
  });

  it('sessions: GET by session and access token, and a revoked one', async () => {
    const s = await setUp();
    const target = nextTarget();
    const first = await s.login(target);
    await s.login(target);
    const accesses = await record(s.h, async () => {
      expect((await call(s.sessions, { method: 'GET', headers: bearer(first.sessionToken) })).status).toBe(200);
      expect((await call(s.sessions, { method: 'GET', headers: bearer(first.accessToken) })).status).toBe(200);
    });
    await call(s.session, { method: 'DELETE', headers: bearer(first.sessionToken) });
    accesses.push(
      ...(await record(s.h, () => call(s.sessions, { method: 'GET', headers: bearer(first.sessionToken) }))),
    );
    expectGranted(s.h, 'sessions', accesses);
  });

  it('refresh: a rotation, a reuse that revokes the family, an unknown and an expired token', async () => {
    const s = await setUp();
    const first = await s.login();
    const second = await s.login();
    const accesses = await record(s.h, async () => {
      const rotated = await call(s.refresh, { body: { refreshToken: first.refreshToken } });
      expect(rotated.status).toBe(200);
      // The used token again: reuse, the family revoked.
      expect((await call(s.refresh, { body: { refreshToken: first.refreshToken } })).status).toBe(401);
      expect((await call(s.refresh, { body: { refreshToken: 'A'.repeat(43) } })).status).toBe(401);
    });
    s.h.clock.now += 400 * 86_400_000;
    accesses.push(...(await record(s.h, () => call(s.refresh, { body: { refreshToken: second.refreshToken } }))));
    expectGranted(s.h, 'refresh', accesses);
    // The refreshed answer reads the customer: the customers table is reached, by id.
    expect(accesses.some((access) => access.table === s.h.tables.customersTable)).toBe(true);
  });
});
