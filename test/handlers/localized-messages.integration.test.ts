import { describe, expect, it } from 'vitest';
import { addClient } from '../../functions/core/manage-clients.js';
import { smsText } from '../../functions/core/messages.js';
import type { OutgoingCode } from '../../functions/core/ports.js';
import { createSendOtpHandler } from '../../functions/handlers/send-otp.js';
import { call, type Harness, harness, PHONE } from '../support.js';

/**
 * What reaches the sender of a send through the real handler: the request's locale, the calling
 * client's name as the app name, and its WebOTP domain and SMS Retriever hash (client policy).
 */

function lastSent(h: Harness): OutgoingCode {
  const message = h.sender.sent.at(-1);
  if (!message) throw new Error('nothing was sent');
  return message;
}

async function keyOf(h: Harness, name: string, policy: Record<string, unknown> = {}) {
  const client = await addClient({ registry: h.registry, now: () => h.clock.now }, name, policy);
  return { 'X-API-Key': client.apiKey };
}

describe('send: the message in the customer language, from the client', () => {
  it('without a key: the locale of the body and the deployment app name, no fill-in lines', async () => {
    const h = await harness({ OTP_APP_NAME: 'Acme' });
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE, locale: 'pt-BR' } });
    expect(response.status).toBe(200);
    const message = lastSent(h);
    expect(message).toMatchObject({ locale: 'pt-BR', appName: 'Acme' });
    expect(message.webOtpDomain).toBeUndefined();
    expect(message.androidAppHash).toBeUndefined();
    expect(smsText(message)).toMatch(/^\d{6} é o seu codigo de acesso para Acme\. /);
  });

  it("with a key: the client's name, and the lines its policy asks for", async () => {
    const h = await harness({ OTP_APP_NAME: 'Acme' });
    const headers = await keyOf(h, 'Acme Bank', { webOtpDomain: 'bank.acme.example', androidAppHash: 'FA+9qCX9VSu' });
    const response = await call(createSendOtpHandler(h.deps), { body: { target: PHONE, locale: 'de-AT' }, headers });
    expect(response.status).toBe(200);
    const message = lastSent(h);
    expect(message).toMatchObject({
      locale: 'de-AT',
      appName: 'Acme Bank',
      webOtpDomain: 'bank.acme.example',
      androidAppHash: 'FA+9qCX9VSu',
    });
    const code = response.body?.mockCode as string;
    expect(smsText(message).split('\n')).toEqual([
      `${code} ist Ihr Code zur Anmeldung bei Acme Bank. Er gilt 5 Minuten. Geben Sie ihn nie weiter.`,
      'FA+9qCX9VSu',
      `@bank.acme.example #${code}`,
    ]);
  });

  it('an Idempotency-Key replay sends nothing again, whatever the locale says', async () => {
    const h = await harness();
    const send = createSendOtpHandler(h.deps);
    const headers = { 'Idempotency-Key': 'locale-1' };
    expect((await call(send, { body: { target: PHONE, locale: 'fr' }, headers })).status).toBe(200);
    expect((await call(send, { body: { target: PHONE, locale: 'fr' }, headers })).headers['idempotent-replayed']).toBe(
      'true',
    );
    expect(h.sender.sent.map((message) => message.locale)).toEqual(['fr']);
  });
});
