import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Pages } from './server.js';

/**
 * The page `npm start` serves at `/` to try the flow by hand (functions/local/try-page/): its HTML,
 * its script and its style, each at a path of its own, so that the page's policy allows this
 * server's script and style and nothing inline, nothing from elsewhere. Only the local server serves
 * it; no deployed function has these paths (functions/routes.ts).
 */
export const TRY_PATH = '/';
export const TRY_SCRIPT_PATH = '/try.js';
export const TRY_STYLE_PATH = '/try.css';

/**
 * Scripts and styles from this server only (files, never inline: no `unsafe-inline`, no `eval`);
 * calls to this server only; no images, frames, forms posted anywhere, or base URL.
 */
export const TRY_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const source = (file: string) => readFile(new URL(`./try-page/${file}`, import.meta.url), 'utf8');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The try page, its script (try.ts bundled with the typed client it calls the API through) and
 * its style. `requireApiKey` (OTP_REQUIRE_API_KEY) only changes what the
 * page says about the API key field.
 */
export async function tryPages({ requireApiKey }: { requireApiKey: boolean }): Promise<Pages> {
  const [html, style, bundled] = await Promise.all([
    source('index.html'),
    source('try.css'),
    build({
      entryPoints: [fileURLToPath(new URL('./try-page/try.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    }),
  ]);
  const code = bundled.outputFiles[0]?.text ?? '';
  const hint = requireApiKey
    ? 'Required by this server (OTP_REQUIRE_API_KEY=true): npm start printed the key of its client "local" on its first start.'
    : 'Optional here (OTP_REQUIRE_API_KEY=false); a key that comes is still checked.';
  return {
    [TRY_PATH]: {
      body: html.replace('%API_KEY_HINT%', escapeHtml(hint)),
      contentType: 'text/html; charset=utf-8',
      csp: TRY_PAGE_CSP,
    },
    [TRY_SCRIPT_PATH]: { body: code, contentType: 'text/javascript; charset=utf-8' },
    [TRY_STYLE_PATH]: { body: style, contentType: 'text/css; charset=utf-8' },
  };
}
