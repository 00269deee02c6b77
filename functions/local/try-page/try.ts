/**
 * The script of the page `npm start` serves at `/` (index.html beside this file, served by
 * functions/local/try-page.ts, which bundles it with esbuild and serves it as /try.js). It calls the
 * API of the server that served it through the typed client of client/, as a web app would, so the
 * client runs in a real browser here (test/e2e/npm-start-try-page.integration.test.ts).
 *
 * Everything it shows is built with textContent, never as HTML, so nothing an answer carries can
 * become markup. The tokens live in this page's memory only: a reload forgets them.
 *
 * Type-checked for the browser, without Node's types, by tsconfig.json beside this file.
 */

import {
  memoryTokenStore,
  OtpClient,
  OtpNotSignedInError,
  OtpProblemError,
  type Purpose,
  type RefreshResponse,
  type StoredSession,
  type VerifyResponse,
} from '../../../client/index.js';

/** functions/local/outbox-route.ts; not imported, as this file is served alone, without a bundler. */
const OUTBOX_PATH = '/_local/outbox';

type Json = Record<string, unknown>;

/** A message as the outbox route gives it (functions/adapters/local-outbox.ts, KeptMessage). */
interface KeptMessage {
  sentAt: string;
  expiresAt: string;
  channel: string;
  to: string;
  purpose: string;
  locale: string;
  code: string;
  subject?: string;
  text: string;
}

/** A row of a definition list: label, value, and the id of its value, where a test or a link needs one. */
type Row = [label: string, value: unknown, id?: string];

/** The login's tokens, as the client keeps them (client/tokens.ts). */
const store = memoryTokenStore();
const state: {
  otpToken?: string;
  /** The last tokens the store held, kept after a revoke to show that the server refuses them. */
  lastSession?: StoredSession;
} = {};

/** A client per call, with the API key as the field says now; they share the one token store. */
function otp(tokenStore = store): OtpClient {
  const apiKey = input.apiKey.value.trim();
  return new OtpClient({ baseUrl: location.origin, apiKey: apiKey || undefined, tokenStore, platform: 'web' });
}

async function remember(): Promise<void> {
  state.lastSession = (await store.load()) ?? state.lastSession;
}

function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`#${id} is missing from the page`);
  return found;
}

const form = {
  send: byId('send-form', HTMLFormElement),
  verify: byId('verify-form', HTMLFormElement),
};
const input = {
  target: byId('target', HTMLInputElement),
  purpose: byId('purpose', HTMLSelectElement),
  locale: byId('locale', HTMLInputElement),
  apiKey: byId('api-key', HTMLInputElement),
  code: byId('code', HTMLInputElement),
  name: byId('name', HTMLInputElement),
  withOtpToken: byId('with-otp-token', HTMLInputElement),
};
const button = {
  useCode: byId('use-code', HTMLButtonElement),
  check: byId('check-session', HTMLButtonElement),
  refresh: byId('refresh', HTMLButtonElement),
  revoke: byId('revoke', HTMLButtonElement),
};
const result = {
  send: byId('send-result', HTMLDivElement),
  outbox: byId('outbox', HTMLDivElement),
  verify: byId('verify-result', HTMLDivElement),
  tokens: byId('tokens', HTMLDivElement),
  session: byId('session-result', HTMLDivElement),
};

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text;
  if (className !== undefined) made.className = className;
  return made;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return 'null';
  return JSON.stringify(value);
}

/** The rows whose value is present, as a definition list. */
function list(rows: Row[]): HTMLDListElement {
  const dl = element('dl');
  for (const [label, value, id] of rows) {
    if (value === undefined) continue;
    const dd = element('dd', shown(value));
    if (id) dd.id = id;
    dl.append(element('dt', label), dd);
  }
  return dl;
}

function pretty(value: unknown): HTMLPreElement {
  return element('pre', JSON.stringify(value, null, 2));
}

function showSuccess(container: HTMLElement, status: string, ...content: Node[]): void {
  container.className = 'result success';
  container.replaceChildren(element('p', status, 'status'), ...content);
}

/**
 * An error as the API gives it: the problem's members, Retry-After, and the whole JSON. Anything
 * else (no answer at all) is rethrown, for run() to show.
 */
function showProblem(container: HTMLElement, error: unknown): void {
  if (error instanceof OtpNotSignedInError) {
    showNote(container, `${error.message} (a refused refresh token signs the page out)`);
    return;
  }
  if (!(error instanceof OtpProblemError)) throw error;
  const body = error.problem as Json;
  container.className = 'result problem';
  container.replaceChildren(
    element('p', `HTTP ${error.status} ${error.slug}`, 'status'),
    list([
      ['status', error.status],
      ['error', error.slug],
      ['title', body.title],
      ['detail', body.detail],
      ['reason', body.reason],
      ['Retry-After', error.retryAfter === undefined ? undefined : `${error.retryAfter} s`],
    ]),
    pretty(body),
  );
}

function showNote(container: HTMLElement, text: string): void {
  container.className = 'result';
  container.replaceChildren(element('p', text, 'hint'));
}

/** Runs one action with its button held down; a failure (no answer from the server) shows where its result goes. */
async function run(trigger: HTMLButtonElement, container: HTMLElement, action: () => Promise<void>): Promise<void> {
  trigger.disabled = true;
  container.setAttribute('aria-busy', 'true');
  try {
    await action();
  } catch (error) {
    container.className = 'result problem';
    container.replaceChildren(
      element('p', 'Failed', 'status'),
      element('p', `${String(error)} (is npm start still running?)`),
    );
  } finally {
    container.removeAttribute('aria-busy');
    trigger.disabled = false;
    updateSessionButtons();
  }
}

function updateSessionButtons(): void {
  void Promise.resolve(store.load()).then((session) => {
    button.check.disabled = !session && !state.lastSession;
    button.revoke.disabled = !session;
    button.refresh.disabled = !session;
  });
}

function submitter(of: HTMLFormElement): HTMLButtonElement {
  const found = of.querySelector('button[type="submit"]');
  if (!(found instanceof HTMLButtonElement)) throw new Error(`#${of.id} has no submit button`);
  return found;
}

async function send(): Promise<void> {
  const target = input.target.value.trim();
  const locale = input.locale.value.trim();
  let sent;
  try {
    // The client adds the stored session to the purposes that need one.
    sent = await otp().send({ target, purpose: input.purpose.value as Purpose, locale: locale || undefined });
  } catch (error) {
    showProblem(result.send, error);
    return;
  }
  state.otpToken = sent.otpToken;
  showSuccess(
    result.send,
    `HTTP 200: ${sent.message}`,
    list([
      ['otpType', sent.otpType, 'send-otp-type'],
      ['otpToken', sent.otpToken, 'send-otp-token'],
      ['expiresIn (s)', sent.expiresIn, 'send-expires-in'],
      ['resendAfter (s)', sent.resendAfter, 'send-resend-after'],
      ['mockCode', sent.mockCode, 'send-mock-code'],
    ]),
  );
  await showOutbox(target, sent.mockCode);
}

function offerCode(code: string | undefined): void {
  button.useCode.hidden = code === undefined;
  button.useCode.dataset.code = code ?? '';
}

/** Asks the local outbox once for what it delivered to the target: the newest message is the one just sent. */
async function showOutbox(target: string, mockCode: string | undefined): Promise<void> {
  // Not an API route: the local server's own, so a plain fetch.
  const response = await fetch(`${OUTBOX_PATH}?to=${encodeURIComponent(target)}`);
  if (response.status === 404) {
    showNote(
      result.outbox,
      'This server has no outbox to show: dev mode is off, or codes go to SNS and SES. Read the code where it was ' +
        'delivered (the console of npm start, with OTP_DELIVERY=local).',
    );
    offerCode(mockCode);
    return;
  }
  const body = (await response.json()) as Json;
  if (response.status !== 200) {
    showNote(result.outbox, `The outbox answered ${response.status}: ${shown(body.detail)}`);
    offerCode(mockCode);
    return;
  }
  const messages = Array.isArray(body.messages) ? (body.messages as KeptMessage[]) : [];
  const newest = messages[0];
  if (!newest) {
    showNote(result.outbox, 'Nothing in the outbox for this target: a test target of a client policy sends nothing.');
    offerCode(mockCode);
    return;
  }
  const code = element('span', newest.code, 'code');
  code.id = 'outbox-code';
  const codeLine = element('p', 'Code: ');
  codeLine.append(code);
  const text = element('pre', newest.text);
  text.id = 'outbox-text';
  showSuccess(
    result.outbox,
    `${newest.channel.toUpperCase()} to ${newest.to} (${newest.purpose}, ${newest.locale}), not sent`,
    codeLine,
    list([
      ['Subject', newest.subject, 'outbox-subject'],
      ['Expires at', newest.expiresAt],
    ]),
    text,
  );
  offerCode(newest.code);
}

function decodeJwtPart(part: string | undefined): unknown {
  if (!part) return undefined;
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
}

function decodedAccessToken(token: string): Node[] {
  try {
    const [header, claims] = token.split('.');
    const headerPre = pretty(decodeJwtPart(header));
    headerPre.id = 'access-header';
    const claimsPre = pretty(decodeJwtPart(claims));
    claimsPre.id = 'access-claims';
    return [
      element('h3', 'accessToken, decoded'),
      element('p', 'Read here, not verified: a backend verifies it with the keys at /.well-known/jwks.json.', 'hint'),
      element('h4', 'Header'),
      headerPre,
      element('h4', 'Claims'),
      claimsPre,
    ];
  } catch {
    return [element('p', 'The accessToken is not a JWT this page can read.', 'hint')];
  }
}

/** The tokens of a verify or a refresh answer, shown. */
function showTokens(tokens: Partial<RefreshResponse>, origin: string): void {
  showSuccess(
    result.tokens,
    origin,
    list([
      ['sessionToken', tokens.sessionToken, 'session-token'],
      ['expiresAt', tokens.expiresAt],
      ['refreshToken', tokens.refreshToken ?? 'none: only login and register sessions refresh', 'refresh-token'],
      ['refreshExpiresAt', tokens.refreshExpiresAt],
      ['accessToken', tokens.accessToken, 'access-token'],
      ['accessExpiresIn (s)', tokens.accessExpiresIn],
    ]),
    ...(tokens.accessToken ? decodedAccessToken(tokens.accessToken) : []),
  );
}

async function verify(): Promise<void> {
  const purpose = input.purpose.value as Purpose;
  const target = input.target.value.trim();
  const name = input.name.value.trim();
  let verified: VerifyResponse;
  try {
    // A login or register puts its tokens in the store; step-up and reset-password only return theirs.
    verified = await otp().verify({
      code: input.code.value.trim(),
      purpose,
      target: target || undefined,
      otpToken: input.withOtpToken.checked ? state.otpToken : undefined,
      name: name || undefined,
    });
  } catch (error) {
    showProblem(result.verify, error);
    return;
  }
  await remember();
  const { identity } = verified;
  showSuccess(
    result.verify,
    `HTTP 200: ${verified.verifiedTarget} verified`,
    list([
      ['verifiedTarget', verified.verifiedTarget],
      ['otpType', verified.otpType],
      ['isNew', verified.isNew, 'verify-is-new'],
    ]),
    element('h3', 'Identity'),
    list([
      ['id', identity.id, 'identity-id'],
      ['email', identity.email],
      ['phone', identity.phone],
      ['name', identity.name],
      ['trustLevel', identity.trustLevel],
      ['verifiedAt', identity.verifiedAt],
      ['createdAt', identity.createdAt],
      ['lastLoginAt', identity.lastLoginAt],
      ['loginCount', identity.loginCount],
    ]),
    ...(verified.sessionToken
      ? []
      : [element('p', `No new tokens for ${purpose}: the session you have stays the one.`, 'hint')]),
  );
  if (verified.sessionToken) {
    showTokens(
      verified,
      verified.refreshToken
        ? `Issued by verify (${purpose})`
        : `Issued by verify (${purpose}): shown, not kept; the login's tokens stay in use`,
    );
  }
}

/**
 * GET /v1/session with the stored session, or after a revoke with the revoked one, to show that
 * the server refuses it (the client then tries its refresh token once, which is refused too).
 */
async function checkSession(): Promise<void> {
  const stored = await store.load();
  let session;
  try {
    session = await otp(stored ? store : memoryTokenStore(state.lastSession)).session();
  } catch (error) {
    showProblem(result.session, error);
    return;
  }
  await remember();
  showSuccess(
    result.session,
    'HTTP 200: the session is valid',
    list([
      ['customerId', session.customerId, 'session-customer-id'],
      ['target', session.target],
      ['otpType', session.otpType],
      ['purpose', session.purpose],
      ['issuedAt', session.issuedAt],
      ['authTime', session.authTime],
      ['expiresAt', session.expiresAt],
      ['clientId', session.clientId],
    ]),
  );
}

async function refresh(): Promise<void> {
  const used = (await store.load())?.refreshToken;
  let rotated: RefreshResponse;
  try {
    rotated = await otp().refresh();
  } catch (error) {
    showProblem(result.session, error);
    return;
  }
  await remember();
  showTokens(rotated, 'Rotated by refresh: every token is new');
  showSuccess(
    result.session,
    'HTTP 200: new sessionToken, accessToken and refreshToken (above)',
    list([['spent refreshToken', used, 'spent-refresh-token']]),
    element('p', 'Presenting the spent refresh token again would revoke the whole session (reuse).', 'hint'),
  );
}

async function revoke(): Promise<void> {
  try {
    await otp().revoke();
  } catch (error) {
    showProblem(result.session, error);
    return;
  }
  showSuccess(
    result.session,
    'HTTP 204: revoked',
    element('p', 'Its session token, access tokens and refresh token no longer work: Check session now answers 401.'),
  );
}

form.send.addEventListener('submit', (event) => {
  event.preventDefault();
  void run(submitter(form.send), result.send, send);
});
form.verify.addEventListener('submit', (event) => {
  event.preventDefault();
  void run(submitter(form.verify), result.verify, verify);
});
button.useCode.addEventListener('click', () => {
  input.code.value = button.useCode.dataset.code ?? '';
  input.code.focus();
});
button.check.addEventListener('click', () => void run(button.check, result.session, checkSession));
button.refresh.addEventListener('click', () => void run(button.refresh, result.session, refresh));
button.revoke.addEventListener('click', () => void run(button.revoke, result.session, revoke));
