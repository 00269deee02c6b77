import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SesEmailSender } from '../../functions/adapters/ses-email.js';

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

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function storedEmails(): Promise<StoredEmail[]> {
  const response = await fetch(`${endpoint}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

describe('SesEmailSender against aws-ses-v2-local', () => {
  it('sends a text and HTML e-mail from the configured identity, readable back from the store', async () => {
    const client = new SESv2Client({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await new SesEmailSender(client, 'Acme <no-reply@acme.example>').send({
      channel: 'email',
      to: 'jane@example.com',
      code: '604213',
      purpose: 'verify-email',
      expiresInSeconds: 600,
      appName: 'Acme',
    });

    const mail = (await storedEmails()).find((email) => email.destination.to.includes('jane@example.com'));
    expect(mail).toBeDefined();
    expect(mail?.from).toBe('Acme <no-reply@acme.example>');
    expect(mail?.subject).toBe('Your Acme e-mail verification code');
    expect(mail?.body.text).toContain('Your Acme e-mail verification code is 604213.');
    expect(mail?.body.text).toContain('expires in 10 minutes');
    expect(mail?.body.html).toContain('>604213</p>');
  });
});
