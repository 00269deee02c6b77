import { describe, expect, it } from 'vitest';
import { LocalOutbox } from '../../functions/adapters/local-outbox.js';
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
