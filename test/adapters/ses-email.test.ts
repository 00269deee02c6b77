import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SesEmailSender, sourceHeader } from '../../functions/adapters/ses-email.js';
import { loadConfig } from '../../functions/config.js';
import type { OutgoingCode } from '../../functions/core/ports.js';
import { createSenders } from '../../functions/wiring.js';

interface StoredEmail {
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

let server: Server;
let endpoint: string;

beforeAll(async () => {
  // A CommonJS package: native Node ESM exposes its server factory at .default.default, vitest at .default.
  type Factory = (config: { host: string; port: number }) => Promise<Server>;
  const module = (await import('aws-ses-v2-local')) as unknown as { default: Factory | { default: Factory } };
  const factory = typeof module.default === 'function' ? module.default : module.default.default;
  // Its default host is ::, every interface; a test binds to loopback only.
  server = await factory({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function storedEmail(to: string): Promise<StoredEmail | undefined> {
  const response = await fetch(`${endpoint}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails.find((email) =>
    email.destination.to.includes(to),
  );
}

function localClient(): SESClient {
  return new SESClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

const message: OutgoingCode = {
  channel: 'email',
  to: 'jane@example.com',
  code: '604213',
  purpose: 'verify-email',
  expiresInSeconds: 600,
  appName: 'Acme',
};

describe('SesEmailSender against aws-ses-v2-local', () => {
  it('sends a text and HTML e-mail from the configured identity, readable back from the store', async () => {
    await new SesEmailSender(localClient(), 'Acme <no-reply@acme.example>').send(message);

    const mail = await storedEmail('jane@example.com');
    expect(mail).toBeDefined();
    expect(mail?.from).toBe('Acme <no-reply@acme.example>');
    expect(mail?.subject).toBe('Your Acme e-mail verification code');
    expect(mail?.body.text).toContain('Your Acme e-mail verification code is 604213.');
    expect(mail?.body.text).toContain('expires in 10 minutes');
    expect(mail?.body.html).toContain('>604213</p>');
  });

  it("sends the subject, text and HTML in the customer's language", async () => {
    await new SesEmailSender(localClient(), 'Acme <no-reply@acme.example>').send({
      ...message,
      to: 'lena@example.com',
      locale: 'de-CH',
    });
    const mail = await storedEmail('lena@example.com');
    expect(mail?.subject).toBe('Ihr Code zur Bestätigung Ihrer E-Mail-Adresse bei Acme');
    expect(mail?.body.text).toContain('Ihr Code zur Bestätigung Ihrer E-Mail-Adresse bei Acme lautet 604213.');
    expect(mail?.body.text).toContain('Er gilt 10 Minuten.');
    expect(mail?.body.html).toContain('<html lang="de">');
  });

  it('sends from a bare address as given', async () => {
    await new SesEmailSender(localClient(), 'no-reply@acme.example').send({ ...message, to: 'bare@example.com' });
    expect((await storedEmail('bare@example.com'))?.from).toBe('no-reply@acme.example');
  });

  it('sends UTF-8 content unchanged', async () => {
    await new SesEmailSender(localClient(), 'Acme <no-reply@acme.example>').send({
      ...message,
      to: 'zoe@example.com',
      appName: 'Café Zoë',
    });
    const mail = await storedEmail('zoe@example.com');
    expect(mail?.subject).toBe('Your Café Zoë e-mail verification code');
    expect(mail?.body.text).toContain('Your Café Zoë e-mail verification code is 604213.');
  });

  it('sends through the SES client of the send function, pointed at the emulator by AWS_ENDPOINT_URL_SES', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_SES', endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    const senders = createSenders(loadConfig({ OTP_DELIVERY: 'aws', OTP_EMAIL_FROM: 'Acme <no-reply@acme.example>' }));
    await senders.email.send({ ...message, to: 'wired@example.com' });
    const mail = await storedEmail('wired@example.com');
    expect(mail?.from).toBe('Acme <no-reply@acme.example>');
    expect(mail?.body.text).toContain('is 604213.');
  });
});

describe('SesEmailSender configuration set', () => {
  /** A client of its own whose calls are recorded, not sent (the emulator ignores configuration sets). */
  function recordingClient() {
    const client = new SESClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const mock = mockClient(client);
    mock.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    return { client, sent: () => mock.commandCalls(SendEmailCommand).map((call) => call.args[0].input) };
  }

  it("sends in the stack's configuration set when given one, so that SES suppresses bounced addresses", async () => {
    const { client, sent } = recordingClient();
    await new SesEmailSender(client, 'no-reply@acme.example', 'otp-set-1').send(message);
    expect(sent()).toEqual([expect.objectContaining({ ConfigurationSetName: 'otp-set-1' })]);
  });

  it('names no configuration set without one', async () => {
    const { client, sent } = recordingClient();
    await new SesEmailSender(client, 'no-reply@acme.example').send(message);
    expect(sent()[0]).not.toHaveProperty('ConfigurationSetName');
  });

  it('takes it from OTP_SES_CONFIGURATION_SET, checked at start', () => {
    const config = { OTP_DELIVERY: 'aws', OTP_EMAIL_FROM: 'no-reply@acme.example' };
    expect(loadConfig({ ...config, OTP_SES_CONFIGURATION_SET: 'Otp-Set_1' }).sesConfigurationSet).toBe('Otp-Set_1');
    expect(loadConfig(config).sesConfigurationSet).toBeUndefined();
    expect(() => loadConfig({ ...config, OTP_SES_CONFIGURATION_SET: 'not a name' })).toThrow(
      /OTP_SES_CONFIGURATION_SET/,
    );
  });
});

describe('sourceHeader', () => {
  it('keeps a bare address and a plain ASCII name as they are', () => {
    expect(sourceHeader('no-reply@acme.example')).toBe('no-reply@acme.example');
    expect(sourceHeader('Acme Sign-in <no-reply@acme.example>')).toBe('Acme Sign-in <no-reply@acme.example>');
  });

  it('quotes a name with a comma or a dot, which SES would otherwise read as an address list', () => {
    expect(sourceHeader('Acme, Inc. <no-reply@acme.example>')).toBe('"Acme, Inc." <no-reply@acme.example>');
    expect(sourceHeader('"Acme, Inc." <no-reply@acme.example>')).toBe('"Acme, Inc." <no-reply@acme.example>');
    expect(sourceHeader('Say "hi" <no-reply@acme.example>')).toBe('"Say \\"hi\\"" <no-reply@acme.example>');
  });

  it('encodes a non-ASCII name as UTF-8 encoded words of at most 75 characters', () => {
    expect(sourceHeader('Café Zoë <no-reply@acme.example>')).toBe(
      `=?UTF-8?B?${Buffer.from('Café Zoë').toString('base64')}?= <no-reply@acme.example>`,
    );
    const name = 'Ünïcödé Banking Services for Everyone, Everywhere 🌍';
    const header = sourceHeader(`${name} <no-reply@acme.example>`);
    const words = header.replace(/ <no-reply@acme\.example>$/, '').split(' ');
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) expect(word.length).toBeLessThanOrEqual(75);
    const decoded = words
      .map((word) => Buffer.from(/^=\?UTF-8\?B\?(.*)\?=$/.exec(word)?.[1] ?? '', 'base64').toString('utf8'))
      .join('');
    expect(decoded).toBe(name);
  });

  it('sends the encoded name to SES', async () => {
    await new SesEmailSender(localClient(), 'Café Zoë <no-reply@acme.example>').send({
      ...message,
      to: 'encoded@example.com',
    });
    expect((await storedEmail('encoded@example.com'))?.from).toBe(
      `=?UTF-8?B?${Buffer.from('Café Zoë').toString('base64')}?= <no-reply@acme.example>`,
    );
  });
});
