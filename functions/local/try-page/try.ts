/// <reference lib="dom" />
/**
 * The script of the page `npm start` serves at `/` (index.html beside this file, served by
 * functions/local/try-page.ts, which strips the types with esbuild and serves it as /try.js). It
 * calls the API of the server that served it, same origin, as an app would.
 *
 * Everything it shows is built with textContent, never as HTML, so nothing an answer carries can
 * become markup. The tokens live in this page's memory only: a reload forgets them.
 *
 * The `reference lib="dom"` above puts the DOM's types in the one TypeScript program of the
 * repository (tsconfig.json), so that `tsc --noEmit` and ESLint check this file too.
 */

export {};

/** functions/local/outbox-route.ts; not imported, as this file is served alone, without a bundler. */
const OUTBOX_PATH = '/_local/outbox';

/** The purposes whose send and verify need the customer's session (API.md, Purposes). */
const SESSION_PURPOSES = new Set(['verify-email', 'verify-phone', 'update-email', 'update-phone']);

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  /** The JSON body, when the answer has one. */
  body: Json | undefined;
  retryAfter: string | null;
}

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

const state: {
  otpToken?: string;
  sessionToken?: string;
  accessToken?: string;
  refreshToken?: string;
} = {};

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

/** An error answer as the API gives it: the problem's members, Retry-After, and the whole JSON. */
function showProblem(container: HTMLElement, answer: Answer): void {
  const body = answer.body ?? {};
  container.className = 'result problem';
  container.replaceChildren(
    element('p', `HTTP ${answer.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}`, 'status'),
    list([
      ['status', body.status ?? answer.status],
      ['error', body.error],
      ['title', body.title],
      ['detail', body.detail],
      ['reason', body.reason],
      ['Retry-After', answer.retryAfter === null ? undefined : `${answer.retryAfter} s`],
    ]),
    pretty(answer.body),
  );
}

function showNote(container: HTMLElement, text: string): void {
  container.className = 'result';
  container.replaceChildren(element('p', text, 'hint'));
}

async function call(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  { body, token }: { body?: Json; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const apiKey = input.apiKey.value.trim();
  if (apiKey) headers['X-API-Key'] = apiKey;
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Json | undefined;
  try {
    parsed = text ? (JSON.parse(text) as Json) : undefined;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed, retryAfter: response.headers.get('Retry-After') };
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
  button.check.disabled = !state.sessionToken;
  button.revoke.disabled = !state.sessionToken;
  button.refresh.disabled = !state.refreshToken;
}

function sessionFor(purpose: string): string | undefined {
  return SESSION_PURPOSES.has(purpose) ? state.sessionToken : undefined;
}

function submitter(of: HTMLFormElement): HTMLButtonElement {
  const found = of.querySelector('button[type="submit"]');
  if (!(found instanceof HTMLButtonElement)) throw new Error(`#${of.id} has no submit button`);
  return found;
}

async function send(): Promise<void> {
  const target = input.target.value.trim();
  const purpose = input.purpose.value;
  const body: Json = { target, purpose };
  const locale = input.locale.value.trim();
  if (locale) body.locale = locale;
  const answer = await call('POST', '/v1/otp/send', { body, token: sessionFor(purpose) });
  if (answer.status !== 200 || !answer.body) {
    showProblem(result.send, answer);
    return;
  }
  const sent = answer.body;
  state.otpToken = typeof sent.otpToken === 'string' ? sent.otpToken : undefined;
  showSuccess(
    result.send,
    `HTTP ${answer.status}: ${shown(sent.message)}`,
    list([
      ['otpType', sent.otpType, 'send-otp-type'],
      ['otpToken', sent.otpToken, 'send-otp-token'],
      ['expiresIn (s)', sent.expiresIn, 'send-expires-in'],
      ['resendAfter (s)', sent.resendAfter, 'send-resend-after'],
      ['mockCode', sent.mockCode, 'send-mock-code'],
    ]),
  );
  await showOutbox(target, typeof sent.mockCode === 'string' ? sent.mockCode : undefined);
}

function offerCode(code: string | undefined): void {
  button.useCode.hidden = code === undefined;
  button.useCode.dataset.code = code ?? '';
}

/** Asks the local outbox once for what it delivered to the target: the newest message is the one just sent. */
async function showOutbox(target: string, mockCode: string | undefined): Promise<void> {
  const answer = await call('GET', `${OUTBOX_PATH}?to=${encodeURIComponent(target)}`);
  if (answer.status === 404) {
    showNote(
      result.outbox,
      'This server has no outbox to show: dev mode is off, or codes go to SNS and SES. Read the code where it was ' +
        'delivered (the console of npm start, with OTP_DELIVERY=local).',
    );
    offerCode(mockCode);
    return;
  }
  if (answer.status !== 200 || !answer.body) {
    showProblem(result.outbox, answer);
    offerCode(mockCode);
    return;
  }
  const messages = Array.isArray(answer.body.messages) ? (answer.body.messages as KeptMessage[]) : [];
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

/** The tokens of a verify or a refresh answer, kept for the session's buttons and shown. */
function takeTokens(tokens: Json, origin: string): void {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  state.sessionToken = text(tokens.sessionToken);
  state.accessToken = text(tokens.accessToken);
  state.refreshToken = text(tokens.refreshToken);
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
    ...(state.accessToken ? decodedAccessToken(state.accessToken) : []),
  );
}

async function verify(): Promise<void> {
  const purpose = input.purpose.value;
  const body: Json = { code: input.code.value.trim(), purpose };
  const target = input.target.value.trim();
  if (target) body.target = target;
  if (input.withOtpToken.checked && state.otpToken) body.otpToken = state.otpToken;
  const name = input.name.value.trim();
  if (name) body.name = name;
  const answer = await call('POST', '/v1/otp/verify', { body, token: sessionFor(purpose) });
  if (answer.status !== 200 || !answer.body) {
    showProblem(result.verify, answer);
    return;
  }
  const verified = answer.body;
  const identity = (verified.identity ?? {}) as Json;
  const tokens = typeof verified.sessionToken === 'string';
  showSuccess(
    result.verify,
    `HTTP ${answer.status}: ${shown(verified.verifiedTarget)} verified`,
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
    ...(tokens ? [] : [element('p', `No new tokens for ${purpose}: the session you have stays the one.`, 'hint')]),
  );
  if (tokens) takeTokens(verified, `Issued by verify (${purpose})`);
}

async function checkSession(): Promise<void> {
  const answer = await call('GET', '/v1/session', { token: state.sessionToken });
  if (answer.status !== 200 || !answer.body) {
    showProblem(result.session, answer);
    return;
  }
  const session = answer.body;
  showSuccess(
    result.session,
    `HTTP ${answer.status}: the session is valid`,
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
  const used = state.refreshToken;
  const answer = await call('POST', '/v1/session/refresh', { body: { refreshToken: used } });
  if (answer.status !== 200 || !answer.body) {
    showProblem(result.session, answer);
    return;
  }
  takeTokens(answer.body, 'Rotated by refresh: every token is new');
  showSuccess(
    result.session,
    `HTTP ${answer.status}: new sessionToken, accessToken and refreshToken (above)`,
    list([['spent refreshToken', used, 'spent-refresh-token']]),
    element('p', 'Presenting the spent refresh token again would revoke the whole session (reuse).', 'hint'),
  );
}

async function revoke(): Promise<void> {
  const answer = await call('DELETE', '/v1/session', { token: state.sessionToken });
  if (answer.status !== 204) {
    showProblem(result.session, answer);
    return;
  }
  showSuccess(
    result.session,
    `HTTP ${answer.status}: revoked`,
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
