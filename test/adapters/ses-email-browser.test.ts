import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../functions/config.js';
import type { OutgoingCode } from '../../functions/core/ports.js';
import { createSenders } from '../../functions/wiring.js';
import { launchChromium, SCREENSHOTS } from '../browser.js';

/**
 * The e-mail as a customer's mail client shows it: sent by the real SES adapter to aws-ses-v2-local
 * (the local stand-in for SES, in a process of its own), read back from its store, and its HTML part
 * rendered by Debian's Chromium (.ci/run installs it). The screenshots land in test-results/
 * (gitignored).
 */

interface StoredEmail {
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

let ses: ChildProcess | undefined;
let endpoint: string;
let browser: Browser;

/** Starts aws-ses-v2-local on loopback, on a port the system picks; resolves with its URL. */
function startSes(): Promise<string> {
  const cli = createRequire(import.meta.url).resolve('aws-ses-v2-local/dist/cli.js');
  const child = spawn(process.execPath, [cli, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ses = child;
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const port = /server running at http:\/\/[^:\s]+:(\d+)/.exec(output)?.[1];
      if (port) {
        child.stdout?.off('data', onData);
        resolve(`http://127.0.0.1:${port}`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`aws-ses-v2-local exited (${code}): ${output}`)));
  });
}

/** Stops the emulator this test started, by its PID, and waits for it to be gone. */
async function stopSes(): Promise<void> {
  const child = ses;
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

beforeAll(async () => {
  endpoint = await startSes();
  browser = await launchChromium();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await browser?.close();
  await stopSes();
});

async function storedEmail(to: string): Promise<StoredEmail | undefined> {
  const response = await fetch(`${endpoint}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails.find((email) =>
    email.destination.to.includes(to),
  );
}

/** Sends through the SES sender of the send function, pointed at the emulator as a deployment would be. */
async function sendThroughSes(message: OutgoingCode): Promise<StoredEmail> {
  vi.stubEnv('AWS_ENDPOINT_URL_SES', endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  const senders = createSenders(loadConfig({ OTP_DELIVERY: 'aws', OTP_EMAIL_FROM: 'Acme <no-reply@acme.example>' }));
  await senders.email.send(message);
  const mail = await storedEmail(message.to);
  if (!mail) throw new Error(`no e-mail to ${message.to} in the store`);
  return mail;
}

/** The HTML part in a page of its own, scripts off as in a mail client. */
async function render(html: string, screenshot: string) {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 600, height: 400 } });
  const page = await context.newPage();
  await page.setContent(html, { waitUntil: 'load' });
  await page.screenshot({ path: `${SCREENSHOTS}/${screenshot}`, fullPage: true });
  return { page, close: () => context.close() };
}

const message: OutgoingCode = {
  channel: 'email',
  to: 'ana@example.com',
  code: '604213',
  purpose: 'login',
  expiresInSeconds: 300,
  appName: 'Acme',
};

describe("the e-mail's HTML part, rendered by Chromium", () => {
  it.each([
    ['en', undefined, 'Your Acme sign-in code is'],
    ['pt-BR', 'pt-BR', 'Seu código de acesso para Acme é'],
    ['de', 'de-AT', 'Ihr Code zur Anmeldung bei Acme lautet'],
  ])('in %s: the code is visible, under the first sentence', async (lang, locale, intro) => {
    const to = `render-${lang}@example.com`;
    const mail = await sendThroughSes({ ...message, to, locale });
    const { page, close } = await render(mail.body.html ?? '', `email-${lang}.png`);
    try {
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect(await page.getByText(intro, { exact: true }).isVisible()).toBe(true);
      const code = page.getByText('604213', { exact: true });
      expect(await code.isVisible()).toBe(true);
      // Large enough to read at a glance: the code's box is taller than the sentence's.
      const [codeBox, introBox] = [await code.boundingBox(), await page.getByText(intro).boundingBox()];
      expect(codeBox?.height ?? 0).toBeGreaterThan(introBox?.height ?? Infinity);
      expect(await page.title()).toBe(mail.subject);
    } finally {
      await close();
    }
  });

  it('shows an app name with markup in it as text, never as markup', async () => {
    const appName = `Tom & Jerry's <b>"Shop"</b><img src=x>`;
    const mail = await sendThroughSes({ ...message, to: 'markup@example.com', appName, locale: 'fr' });
    const { page, close } = await render(mail.body.html ?? '', 'email-escaped-app-name.png');
    try {
      expect(await page.locator('b, img').count()).toBe(0);
      expect(await page.getByText(`Votre code de connexion pour ${appName} est`).isVisible()).toBe(true);
      expect(await page.getByText('604213', { exact: true }).isVisible()).toBe(true);
    } finally {
      await close();
    }
  });
});
