import { existsSync, rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, SCREENSHOTS } from '../browser.js';
import { type NpmStart, serveOnFreshTables } from './npm-start-harness.js';

/**
 * The page `npm start` serves at `/`, in Debian's Chromium driven by playwright-core (as
 * test/adapters/ses-email-browser.test.ts): the whole flow by clicking, as a developer trying the
 * service would. The screenshot lands in test-results/ (gitignored).
 */

const started: NpmStart[] = [];
const dirs: string[] = [];
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const npm of started) npm.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function serve(extraEnv: Record<string, string> = {}) {
  const served = await serveOnFreshTables(extraEnv);
  started.push(served.npm);
  dirs.push(served.tmp);
  return served;
}

/**
 * A page that records what went wrong in it: uncaught errors and console errors, a refused script or
 * style (CSP) among them. The browser's own line for an answer the flow expects is no error: a 401 or a
 * 429 of the API, and the 404 of the outbox path where dev mode is off.
 */
async function openPage(url: string): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text())?.[1];
    if (status === '401' || status === '429') return;
    if (status === '404' && new URL(message.location().url).pathname === '/_local/outbox') return;
    errors.push(`${message.text()} (${message.location().url})`);
  });
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent())?.trim() ?? '';

describe('the try page of npm start, in Chromium', () => {
  it('walks the flow by clicking: send, the code from the outbox, verify, check, refresh, revoke, and the check after it fails', async () => {
    const { npm, base } = await serve();
    expect(npm.output()).toContain(`page:      ${base}/ to try the flow in a browser`);
    expect(npm.output()).toContain(`outbox:    ${base}/_local/outbox?to=TARGET`);

    const { page, errors, close } = await openPage(`${base}/`);
    try {
      expect(await page.title()).toBe('Try the OTP service');
      await expect.poll(() => page.locator('#check-session').isDisabled()).toBe(true);

      // Send, as typed: mixed case, a locale.
      await page.getByLabel('Target', { exact: true }).fill('Ada.Lovelace@Example.com');
      await page.getByLabel('Locale').fill('pt-BR');
      await page.getByRole('button', { name: 'Send code' }).click();
      await page.locator('#outbox-code').waitFor();
      const code = await text(page, '#outbox-code');
      expect(code).toMatch(/^\d{6}$/);
      expect(await text(page, '#send-mock-code')).toBe(code);
      expect(await text(page, '#send-expires-in')).toBe('300');
      expect(await text(page, '#send-resend-after')).toBe('30');
      expect((await text(page, '#send-otp-token')).length).toBeGreaterThanOrEqual(22);
      // The message as the outbox delivered it: the e-mail's subject and text, in Portuguese.
      expect(await text(page, '#outbox .status')).toBe('EMAIL to ada.lovelace@example.com (login, pt-BR), not sent');
      expect(await text(page, '#outbox-subject')).toMatch(/^Seu código de acesso para /);
      expect(await text(page, '#outbox-text')).toContain(`é ${code}.`);

      // A second send at once is refused by the cooldown: the problem, with its Retry-After.
      await page.getByRole('button', { name: 'Send code' }).click();
      await page.locator('#send-result', { hasText: 'HTTP 429 rate-limited' }).waitFor();
      const refused = await text(page, '#send-result');
      expect(refused).toMatch(/Retry-After\s*\d+ s/);
      expect(refused).toContain('"reason": "cooldown"');
      expect(await text(page, '#outbox-code')).toBe(code);

      await page.getByRole('button', { name: 'Use this code' }).click();
      expect(await page.getByLabel('Code', { exact: true }).inputValue()).toBe(code);
      await page.getByLabel('Name').fill('Ada');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.locator('#identity-id').waitFor();
      const customerId = await text(page, '#identity-id');
      expect(customerId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await text(page, '#verify-is-new')).toBe('true');
      expect(await text(page, '#verify-result')).toContain('ada.lovelace@example.com');
      const issued = {
        session: await text(page, '#session-token'),
        access: await text(page, '#access-token'),
        refresh: await text(page, '#refresh-token'),
      };
      expect(issued.session).toMatch(/^[\w-]{43}$/);
      expect(issued.refresh).toMatch(/^[\w-]{43}$/);
      expect(issued.access.split('.')).toHaveLength(3);
      // The access token, decoded: ES256 with a kid, and this customer as its subject.
      const header = JSON.parse(await text(page, '#access-header')) as Record<string, unknown>;
      expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      expect(header.kid).toEqual(expect.any(String));
      const claims = JSON.parse(await text(page, '#access-claims')) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: base, sub: customerId, amr: ['otp', 'email'], purpose: 'login' });

      await page.getByRole('button', { name: 'Check session' }).click();
      await page.locator('#session-customer-id').waitFor();
      expect(await text(page, '#session-customer-id')).toBe(customerId);

      // Refresh: every token is new, and the spent refresh token is the one verify gave.
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.locator('#spent-refresh-token').waitFor();
      expect(await text(page, '#spent-refresh-token')).toBe(issued.refresh);
      const rotated = {
        session: await text(page, '#session-token'),
        access: await text(page, '#access-token'),
        refresh: await text(page, '#refresh-token'),
      };
      expect(rotated.session).toMatch(/^[\w-]{43}$/);
      expect(rotated.refresh).toMatch(/^[\w-]{43}$/);
      expect(rotated.session).not.toBe(issued.session);
      expect(rotated.access).not.toBe(issued.access);
      expect(rotated.refresh).not.toBe(issued.refresh);
      expect(await text(page, '#tokens .status')).toBe('Rotated by refresh: every token is new');

      // The new session token holds the same customer's session.
      await page.getByRole('button', { name: 'Check session' }).click();
      await page.locator('#session-customer-id').waitFor();
      expect(await text(page, '#session-customer-id')).toBe(customerId);

      await page.getByRole('button', { name: 'Revoke' }).click();
      await page.locator('#session-result', { hasText: 'HTTP 204: revoked' }).waitFor();

      await page.getByRole('button', { name: 'Check session' }).click();
      await page.locator('#session-result', { hasText: 'HTTP 401 session-invalid' }).waitFor();
      expect(await text(page, '#session-result')).toContain('"status": 401');

      await page.screenshot({ path: `${SCREENSHOTS}/try-page.png`, fullPage: true });
      expect(existsSync(`${SCREENSHOTS}/try-page.png`)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);

  it('with dev mode off: the page still works, and there is no outbox path to read codes from', async () => {
    const { npm, base } = await serve({ OTP_DEV_MODE: 'false' });
    expect(npm.output()).toContain(`page:      ${base}/`);
    expect(npm.output()).not.toContain('outbox:    ');

    const outbox = await fetch(`${base}/_local/outbox?to=${encodeURIComponent('+14155550142')}`);
    expect(outbox.status).toBe(404);
    expect(await outbox.json()).toMatchObject({ error: 'not-found' });

    const { page, errors, close } = await openPage(`${base}/`);
    try {
      await page.getByLabel('Target', { exact: true }).fill('+1 415 555 0142');
      await page.getByRole('button', { name: 'Send code' }).click();
      await page.locator('#outbox', { hasText: 'no outbox to show' }).waitFor();
      expect(await text(page, '#send-result')).toContain('HTTP 200');
      // No mockCode without dev mode, so nothing to fill in.
      expect(await page.locator('#send-mock-code').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Use this code' }).isHidden()).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
    // The code went to the console outbox, as ever.
    expect(npm.output()).toContain('[LOCAL OUTBOX: not sent] SMS to +14155550142');
  }, 120_000);
});
