import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { SessionInvalidError } from '../../functions/core/errors.js';
import { sendCode } from '../../functions/core/send-code.js';
import { checkSession, revokeSession } from '../../functions/core/sessions.js';
import { verifyCode } from '../../functions/core/verify-code.js';
import { type Harness, harness } from '../support.js';

const PHONE = '+14155550123';

describe('sessions on DynamoDB Local', () => {
  async function login(h: Harness) {
    await sendCode(h.deps, { target: PHONE, purpose: 'login' });
    return verifyCode(h.deps, { target: PHONE, code: h.sender.lastCode(), purpose: 'login' });
  }

  it('checks a session and refuses it once revoked, forever', async () => {
    const h = await harness();
    const { sessionToken, customer } = await login(h);
    await expect(checkSession(h.deps, sessionToken)).resolves.toMatchObject({
      customerId: customer.id,
      target: PHONE,
      channel: 'sms',
      purpose: 'login',
    });
    await revokeSession(h.deps, sessionToken);
    await expect(checkSession(h.deps, sessionToken)).rejects.toThrow(SessionInvalidError);
    await expect(revokeSession(h.deps, sessionToken)).rejects.toThrow(SessionInvalidError);
  });

  it('refuses an expired session', async () => {
    const h = await harness({ SESSION_TTL_SECONDS: '60' });
    const { sessionToken } = await login(h);
    h.clock.now += 60_000;
    await expect(checkSession(h.deps, sessionToken)).rejects.toThrow(SessionInvalidError);
    await expect(revokeSession(h.deps, sessionToken)).rejects.toThrow(SessionInvalidError);
  });

  it('refuses unknown and malformed tokens alike', async () => {
    const h = await harness();
    for (const token of [undefined, '', 'short', 'A'.repeat(43)]) {
      await expect(checkSession(h.deps, token)).rejects.toThrow(SessionInvalidError);
    }
  });

  it('stores only the hash of the session token', async () => {
    const h = await harness();
    const { sessionToken } = await login(h);
    const { Items } = await h.client.send(new ScanCommand({ TableName: h.tables.stateTable }));
    expect(JSON.stringify(Items)).not.toContain(sessionToken);
  });
});
