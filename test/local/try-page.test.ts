import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandler } from '../../functions/http/http-handler.js';
import { createLocalServer, DOCS_PATH, type Handlers } from '../../functions/local/server.js';
import { TRY_PAGE_CSP, TRY_PATH, TRY_SCRIPT_PATH, TRY_STYLE_PATH, tryPages } from '../../functions/local/try-page.js';
import { HANDLERS } from '../../functions/routes.js';

/** What the local server serves of the try page; its flow in a browser is test/e2e/npm-start-try-page.integration.test.ts. */
let server: Server;
let base: string;
const DOCS = '<!doctype html><title>API</title><p>reference';

beforeAll(async () => {
  const stub: ApiHandler = () => Promise.reject(new Error('not under test'));
  const handlers = Object.fromEntries(HANDLERS.map((name) => [name, stub])) as Handlers;
  const pages = { [DOCS_PATH]: DOCS, ...(await tryPages({ requireApiKey: false })) };
  server = createLocalServer(handlers, () => {}, { pages });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the try page of npm start', () => {
  it('is HTML at /, under a policy that allows the script and style of this server and nothing inline', async () => {
    const response = await fetch(`${base}${TRY_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(TRY_PAGE_CSP);
    const directives = new Map(
      csp
        .split(';')
        .map((part) => part.trim().split(/\s+/) as [string, ...string[]])
        .map(([name, ...values]) => [name, values]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
  });

  it('loads its one script and its one style from this server, and has no inline script, handler or style', async () => {
    const html = await (await fetch(`${base}${TRY_PATH}`)).text();
    expect([...html.matchAll(/<script\b[^>]*>/gi)].map(([tag]) => tag)).toEqual([
      `<script type="module" src="${TRY_SCRIPT_PATH}">`,
    ]);
    expect(html).toContain(`<script type="module" src="${TRY_SCRIPT_PATH}"></script>`);
    expect([...html.matchAll(/<link\b[^>]*>/gi)].map(([tag]) => tag)).toEqual([
      `<link rel="stylesheet" href="${TRY_STYLE_PATH}" />`,
    ]);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/<style|\sstyle\s*=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('serves the script as JavaScript that Node can parse (types stripped)', async () => {
    const response = await fetch(`${base}${TRY_SCRIPT_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const script = await response.text();
    expect(script).toContain('addEventListener("submit"');
    expect(script).not.toMatch(/\binterface\s+\w+|: Promise<void>/);
    // The page never makes markup of what it shows.
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/);
    const dir = mkdtempSync(join(tmpdir(), 'otp-try-js-'));
    try {
      const file = join(dir, 'try.mjs');
      writeFileSync(file, script);
      const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the style as CSS', async () => {
    const response = await fetch(`${base}${TRY_STYLE_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await response.text()).toContain('.result');
  });

  it('answers other methods 405', async () => {
    for (const path of [TRY_PATH, TRY_SCRIPT_PATH]) {
      const response = await fetch(`${base}${path}`, { method: 'POST' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
    }
  });

  it('leaves the reference page its own policy, which allows no script', async () => {
    const response = await fetch(`${base}${DOCS_PATH}`);
    expect(await response.text()).toBe(DOCS);
    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  it('says whether the server requires an API key', async () => {
    const optional = (await tryPages({ requireApiKey: false }))[TRY_PATH];
    const required = (await tryPages({ requireApiKey: true }))[TRY_PATH];
    const html = (page: typeof optional) => (typeof page === 'object' ? page.body : '');
    expect(html(optional)).toContain('Optional here (OTP_REQUIRE_API_KEY=false)');
    expect(html(required)).toContain('Required by this server (OTP_REQUIRE_API_KEY=true)');
    for (const page of [optional, required]) expect(html(page)).not.toContain('%API_KEY_HINT%');
  });
});
