import { describe, expect, it, vi } from 'vitest';
import { keepLocalMessages, LocalOutbox, localSenders, OutboxLog } from '../../functions/adapters/local-outbox.js';
import type { OutgoingCode } from '../../functions/core/ports.js';

const sms: OutgoingCode = {
  channel: 'sms',
  to: '+14155550123',
  code: '042917',
  purpose: 'login',
  expiresInSeconds: 300,
  appName: 'Acme',
};

async function printed(message: OutgoingCode): Promise<string> {
  let output = '';
  await new LocalOutbox((text) => (output += text)).send(message);
  return output;
}

describe('LocalOutbox', () => {
  it('prints the SMS as SNS would carry it, in English without a locale', async () => {
    expect(await printed(sms)).toBe(
      '\n[LOCAL OUTBOX: not sent] SMS to +14155550123 (login, en)\n  code: 042917\n' +
        '  042917 is your Acme sign-in code. It expires in 5 minutes. Never share it.\n\n',
    );
  });

  it("prints the SMS in the customer's language, with its fill-in lines indented", async () => {
    const output = await printed({ ...sms, locale: 'fr-CA', webOtpDomain: 'acme.example' });
    expect(output).toContain('(login, fr)');
    expect(output).toContain(
      '  042917 est votre code de connexion pour Acme. Il expire dans 5 minutes. Ne le partagez jamais.\n' +
        '  @acme.example #042917\n',
    );
  });

  it("prints the e-mail's subject and text part in the customer's language", async () => {
    const output = await printed({ ...sms, channel: 'email', to: 'ana@example.com', locale: 'pt-BR' });
    expect(output).toContain('EMAIL to ana@example.com (login, pt-BR)');
    expect(output).toContain('  Subject: Seu código de acesso para Acme\n  Seu código de acesso para Acme é 042917.\n');
    expect(output).toContain('  Ele expira em 5 minutos.');
  });
});

describe('OutboxLog', () => {
  const start = Date.parse('2026-01-02T03:04:05.000Z');

  function logAt(capacity?: number) {
    let now = start;
    const log = new OutboxLog(capacity, () => now);
    const outbox = new LocalOutbox(
      () => {},
      log,
      () => now,
    );
    return { log, outbox, advance: (ms: number) => (now += ms) };
  }

  it('keeps the SMS as the outbox printed it, with when it was sent and when its code expires', async () => {
    const { log, outbox } = logAt();
    await outbox.send({ ...sms, locale: 'fr-CA' });
    expect(log.to('+14155550123')).toEqual([
      {
        sentAt: '2026-01-02T03:04:05.000Z',
        expiresAt: '2026-01-02T03:09:05.000Z',
        channel: 'sms',
        to: '+14155550123',
        purpose: 'login',
        locale: 'fr',
        code: '042917',
        text: '042917 est votre code de connexion pour Acme. Il expire dans 5 minutes. Ne le partagez jamais.',
      },
    ]);
  });

  it("keeps the e-mail's subject and text part", async () => {
    const { log, outbox } = logAt();
    await outbox.send({ ...sms, channel: 'email', to: 'ana@example.com', locale: 'pt-BR' });
    const [kept] = log.to('ana@example.com');
    expect(kept?.subject).toBe('Seu código de acesso para Acme');
    expect(kept?.text).toMatch(/^Seu código de acesso para Acme é 042917\.\n\nEle expira em 5 minutos\./);
    expect(kept?.channel).toBe('email');
  });

  it('gives the messages to one target only, newest first', async () => {
    const { log, outbox, advance } = logAt();
    await outbox.send({ ...sms, code: '111111' });
    advance(1000);
    await outbox.send({ ...sms, to: '+14155550199', code: '222222' });
    advance(1000);
    await outbox.send({ ...sms, code: '333333', purpose: 'step-up' });
    expect(log.to('+14155550123').map((kept) => kept.code)).toEqual(['333333', '111111']);
    expect(log.to('+14155550199').map((kept) => kept.code)).toEqual(['222222']);
    expect(log.to('+14155550100')).toEqual([]);
  });

  it('holds at most its capacity: the oldest message goes first', async () => {
    const { log, outbox } = logAt(3);
    for (const code of ['000001', '000002', '000003', '000004']) await outbox.send({ ...sms, code });
    expect(log.size).toBe(3);
    expect(log.to('+14155550123').map((kept) => kept.code)).toEqual(['000004', '000003', '000002']);
  });

  it('gives no message whose code has expired', async () => {
    const { log, outbox, advance } = logAt();
    await outbox.send({ ...sms, code: '000001', expiresInSeconds: 60 });
    await outbox.send({ ...sms, code: '000002', expiresInSeconds: 120 });
    advance(59_999);
    expect(log.to('+14155550123').map((kept) => kept.code)).toEqual(['000002', '000001']);
    advance(1);
    expect(log.to('+14155550123').map((kept) => kept.code)).toEqual(['000002']);
    advance(60_000);
    expect(log.to('+14155550123')).toEqual([]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new OutboxLog(0)).toThrow(RangeError);
    expect(() => new OutboxLog(1.5)).toThrow(RangeError);
  });

  it('is where the senders of localSenders keep their messages once npm start asks (keepLocalMessages)', async () => {
    const log = new OutboxLog();
    const before = localSenders();
    keepLocalMessages(log);
    const after = localSenders();
    // They print to the console, as under npm start: kept quiet here.
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await before.sms.send({ ...sms, code: '000001' });
      await after.sms.send({ ...sms, code: '000002' });
      await after.email.send({ ...sms, channel: 'email', to: 'ana@example.com', code: '000003' });
    } finally {
      write.mockRestore();
    }
    expect(log.to('+14155550123').map((kept) => kept.code)).toEqual(['000002']);
    expect(log.to('ana@example.com').map((kept) => kept.code)).toEqual(['000003']);
  });
});
