import { asProblem, OtpNetworkError, OtpProblemError, OtpUnexpectedResponseError } from './problems.js';
import { memoryTokenStore, type StoredSession, type TokenStore } from './tokens.js';
import type {
  DiscoveryResponse,
  HealthResponse,
  JwksResponse,
  OpenApiDocument,
  Platform,
  PolicyResponse,
  Purpose,
  RefreshResponse,
  SendRequest,
  SendResponse,
  SessionResponse,
  SessionsResponse,
  VerifyRequest,
  VerifyResponse,
} from './types.js';

export interface OtpClientOptions {
  /** Where the API is: `http://127.0.0.1:3000` under `npm start`, the stack's `ApiUrl` (or custom domain) in AWS. */
  baseUrl: string;
  /** The client's key (`npm run clients -- add`), sent as `X-API-Key`. */
  apiKey?: string;
  /** Where the tokens live between launches; in memory when not given. */
  tokenStore?: TokenStore;
  /** Sent with every verify that does not name one, for the customer's list of sessions. */
  platform?: Platform;
  /** A `fetch` of your own (a polyfill, a wrapper that logs); the global one when not given. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** How long one request may take before it fails with OtpNetworkError. Default 30 000 ms. */
  timeoutMs?: number;
  /** `accessToken()` refreshes an access token with less than this left. Default 60 s. */
  refreshLeewaySeconds?: number;
}

export interface SendOptions {
  /**
   * Makes the send safe to repeat (API.md): the same key and body answer the first response again
   * and send nothing. Generated for each `send` when not given.
   */
  idempotencyKey?: string;
}

/** Purposes whose send and verify must come with the customer's own session (API.md, Purposes). */
const SESSION_PURPOSES: ReadonlySet<Purpose> = new Set([
  'verify-email',
  'verify-phone',
  'update-email',
  'update-phone',
]);

/** A send is repeated on a dropped connection or a `request-in-progress`, with its key, this many times. */
const SEND_TRIES = 3;
/** The longest a repeated send waits for the server's `Retry-After`. */
const MAX_SEND_RETRY_WAIT_SECONDS = 5;

/**
 * The refresh in flight for each token store, whichever OtpClient started it: two clients on one
 * store (a client made per call, or per render) must not each present the same refresh token, as
 * the second would revoke the session.
 */
const refreshes = new WeakMap<TokenStore, Promise<StoredSession | undefined>>();

interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The OTP service from an app (web or React Native): `fetch` only, no Node API. One method per
 * route; each resolves to the success body or rejects with OtpProblemError (the API's answer, typed
 * by slug), OtpNetworkError or OtpUnexpectedResponseError.
 *
 * A login (or register) verify saves the tokens in the token store; the session methods use them,
 * and when the session token is refused they rotate the refresh token once and try again. Concurrent
 * refreshes share one request, because presenting a used refresh token revokes the session.
 */
export class OtpClient {
  private readonly baseUrl: string;
  private readonly store: TokenStore;
  private readonly fetchImpl: (input: string, init: RequestInit) => Promise<Response>;

  constructor(private readonly options: OtpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.store = options.tokenStore ?? memoryTokenStore();
    // Called through a closure: a browser's fetch throws when called as another object's method.
    const given = options.fetch;
    this.fetchImpl = given ? (input, init) => given(input, init) : (input, init) => fetch(input, init);
  }

  /** `GET /v1/health`. */
  health(): Promise<HealthResponse> {
    return this.call({ method: 'GET', path: '/v1/health' });
  }

  /**
   * `POST /v1/otp/send`. Carries an `Idempotency-Key`, so that a send whose answer was lost is
   * repeated (up to three tries, on a dropped connection or `request-in-progress`) without sending
   * a second message. For the purposes that need one, the stored session comes along (refreshed
   * once when refused, as for the session methods: a refused send sent nothing).
   */
  send(request: SendRequest, options: SendOptions = {}): Promise<SendResponse> {
    const key = { 'Idempotency-Key': options.idempotencyKey ?? newIdempotencyKey() };
    if (request.purpose && SESSION_PURPOSES.has(request.purpose)) {
      return this.withSession((auth) => this.sendWith(request, { ...key, ...auth }));
    }
    return this.sendWith(request, key);
  }

  private async sendWith(request: SendRequest, headers: Record<string, string>): Promise<SendResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call<SendResponse>({ method: 'POST', path: '/v1/otp/send', body: request, headers });
      } catch (error) {
        const retry =
          error instanceof OtpNetworkError ||
          (error instanceof OtpProblemError && error.slug === 'request-in-progress');
        if (!retry || attempt >= SEND_TRIES) throw error;
        const wait = error instanceof OtpProblemError ? (error.retryAfter ?? 1) : attempt;
        await sleep(Math.min(wait, MAX_SEND_RETRY_WAIT_SECONDS) * 1000);
      }
    }
  }

  /**
   * `POST /v1/otp/verify`. A login or register keeps its tokens in the store; a step-up or
   * reset-password session is only returned (it must not replace the customer's login); verify-*
   * and update-* send the stored session (refreshed once when refused: the server checks the session
   * before it counts an attempt). Never repeated otherwise: a code works once.
   */
  async verify(request: VerifyRequest): Promise<VerifyResponse> {
    const body = { ...request, platform: request.platform ?? this.options.platform };
    const call = (headers: Record<string, string>) =>
      this.call<VerifyResponse>({ method: 'POST', path: '/v1/otp/verify', body, headers });
    const answer =
      request.purpose && SESSION_PURPOSES.has(request.purpose) ? await this.withSession(call) : await call({});
    if (answer.sessionToken && answer.refreshToken) await this.store.save(storedSession(answer as RefreshResponse));
    return answer;
  }

  /** `GET /v1/session` for the stored session; with `action`, what the client's policy says about it. */
  session(options: { action?: string } = {}): Promise<SessionResponse> {
    const query = options.action === undefined ? undefined : { action: options.action };
    return this.withSession((headers) => this.call({ method: 'GET', path: '/v1/session', query, headers }));
  }

  /** `GET /v1/sessions`: the signed-in customer's live sessions (devices). */
  sessions(): Promise<SessionsResponse> {
    return this.withSession((headers) => this.call({ method: 'GET', path: '/v1/sessions', headers }));
  }

  /**
   * `DELETE /v1/session`: signs out this session, or with `all` every session of the customer, and
   * clears the store. A session the server no longer knows counts as signed out.
   */
  async revoke(options: { all?: boolean } = {}): Promise<void> {
    try {
      const query = options.all ? { all: 'true' } : undefined;
      await this.withSession((headers) => this.call({ method: 'DELETE', path: '/v1/session', query, headers }));
    } catch (error) {
      if (!(error instanceof OtpProblemError && error.slug === 'session-invalid')) throw error;
    }
    await this.store.clear();
  }

  /**
   * `POST /v1/session/refresh` with the stored refresh token: saves and returns the rotated tokens.
   * When the server refuses the refresh token, the store is cleared (the customer must sign in again).
   */
  async refresh(): Promise<RefreshResponse> {
    // One flight per store, joined before the store is read: a caller that read the old refresh
    // token while another rotated it would present a used token, and that revokes the session.
    let flight = refreshes.get(this.store);
    if (!flight) {
      const started = this.rotateStored().finally(() => {
        if (refreshes.get(this.store) === started) refreshes.delete(this.store);
      });
      refreshes.set(this.store, started);
      flight = started;
    }
    const rotated = await flight;
    if (!rotated) throw new OtpNotSignedInError();
    return responseOf(rotated);
  }

  /**
   * An access token to send to your own backend, refreshed first when it has less than the
   * leeway left; undefined when nobody is signed in (or the refresh was refused).
   */
  async accessToken(): Promise<string | undefined> {
    const current = await this.store.load();
    if (!current) return undefined;
    const leeway = (this.options.refreshLeewaySeconds ?? 60) * 1000;
    if (Date.parse(current.accessExpiresAt) - leeway > Date.now()) return current.accessToken;
    try {
      await this.refresh();
    } catch (error) {
      if (error instanceof OtpNotSignedInError) return undefined;
      throw error;
    }
    return (await this.store.load())?.accessToken;
  }

  /** `GET /v1/otp/policy?action=NAME`: whether the client's policy wants an OTP for the action. */
  policy(action: string): Promise<PolicyResponse> {
    return this.call({ method: 'GET', path: '/v1/otp/policy', query: { action } });
  }

  /** `GET /.well-known/jwks.json`: the keys that sign access tokens. */
  jwks(): Promise<JwksResponse> {
    return this.call({ method: 'GET', path: '/.well-known/jwks.json' });
  }

  /** `GET /.well-known/openid-configuration`. */
  discovery(): Promise<DiscoveryResponse> {
    return this.call({ method: 'GET', path: '/.well-known/openid-configuration' });
  }

  /** `GET /openapi.json`. */
  openApi(): Promise<OpenApiDocument> {
    return this.call({ method: 'GET', path: '/openapi.json' });
  }

  /**
   * A call with the stored session token. Refused as `session-invalid` while a refresh token is
   * stored: rotate once (or take the tokens another call rotated meanwhile) and call again. A refresh
   * that got no answer (or a 503) is told as such: only a refused one means signed out.
   */
  private async withSession<T>(request: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    const used = await this.store.load();
    try {
      return await request(bearerOf(used));
    } catch (error) {
      if (!(used && error instanceof OtpProblemError && error.slug === 'session-invalid')) throw error;
      const now = await this.store.load();
      const fresh =
        now && now.sessionToken !== used.sessionToken
          ? now
          : await this.refresh().then(
              () => this.store.load(),
              (refreshError: unknown) => {
                if (refreshError instanceof OtpNotSignedInError) return undefined;
                throw refreshError;
              },
            );
      if (!fresh) throw error;
      return request(bearerOf(fresh));
    }
  }

  /** The stored refresh token rotated and saved; undefined when there is none or it was refused. */
  private async rotateStored(): Promise<StoredSession | undefined> {
    const refreshToken = (await this.store.load())?.refreshToken;
    if (refreshToken === undefined) return undefined;
    try {
      const answer = await this.call<RefreshResponse>({
        method: 'POST',
        path: '/v1/session/refresh',
        body: { refreshToken },
      });
      const session = storedSession(answer);
      // A sign-in that finished while this refresh was under way holds newer tokens: keep them.
      const now = await this.store.load();
      if (now?.refreshToken !== refreshToken) return now;
      await this.store.save(session);
      return session;
    } catch (error) {
      if (!(error instanceof OtpProblemError && error.slug === 'session-invalid')) throw error;
      // Only if the store still holds the token refused: another sign-in may have replaced it.
      if ((await this.store.load())?.refreshToken === refreshToken) await this.store.clear();
      return undefined;
    }
  }

  private async call<T>({ method, path, query, body, headers = {} }: Call): Promise<T> {
    const url = `${this.baseUrl}${path}${query ? `?${new URLSearchParams(query).toString()}` : ''}`;
    const requestHeaders: Record<string, string> = { Accept: 'application/json', ...headers };
    if (this.options.apiKey) requestHeaders['X-API-Key'] = this.options.apiKey;
    if (body !== undefined) requestHeaders['Content-Type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.timeoutMs ?? 30_000);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: requestHeaders,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
      });
      text = await response.text();
    } catch (error) {
      throw new OtpNetworkError(
        abort.signal.aborted ? `${method} ${path} took longer than the timeout` : `${method} ${path} failed`,
        error,
      );
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 204) return undefined as T;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new OtpUnexpectedResponseError(response.status, text);
    }
    if (response.ok) return parsed as T;
    const problem = asProblem(parsed);
    if (!problem) throw new OtpUnexpectedResponseError(response.status, text);
    throw new OtpProblemError(problem, response.headers.get('Retry-After'));
  }
}

/** `refresh()` or `accessToken()` with nothing (or nothing valid any more) in the store. */
export class OtpNotSignedInError extends Error {
  override readonly name = 'OtpNotSignedInError';
  constructor() {
    super('Nobody is signed in: verify a login code first.');
  }
}

function bearerOf(session: StoredSession | undefined): Record<string, string> {
  return session ? { Authorization: `Bearer ${session.sessionToken}` } : {};
}

function storedSession(answer: RefreshResponse): StoredSession {
  return {
    sessionToken: answer.sessionToken,
    expiresAt: answer.expiresAt,
    accessToken: answer.accessToken,
    accessExpiresAt: new Date(Date.now() + answer.accessExpiresIn * 1000).toISOString(),
    refreshToken: answer.refreshToken,
    refreshExpiresAt: answer.refreshExpiresAt,
  };
}

function responseOf(session: StoredSession): RefreshResponse {
  return {
    success: true,
    sessionToken: session.sessionToken,
    expiresAt: session.expiresAt,
    expiresIn: Math.max(0, Math.round((Date.parse(session.expiresAt) - Date.now()) / 1000)),
    accessToken: session.accessToken,
    accessExpiresIn: Math.max(0, Math.round((Date.parse(session.accessExpiresAt) - Date.now()) / 1000)),
    tokenType: 'Bearer',
    refreshToken: session.refreshToken,
    refreshExpiresAt: session.refreshExpiresAt,
  };
}

/**
 * 122 random bits as a UUID. React Native has no `crypto` unless the app installs
 * react-native-get-random-values; the key only tells repeats of one send apart, and is no secret,
 * so Math.random is enough there.
 */
function newIdempotencyKey(): string {
  const webCrypto = (globalThis as { crypto?: WebCrypto }).crypto;
  if (webCrypto?.randomUUID) return webCrypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (webCrypto?.getRandomValues) webCrypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** What the key needs of Web Crypto, which browsers have and React Native may not. */
interface WebCrypto {
  randomUUID?: () => string;
  getRandomValues?: (bytes: Uint8Array) => Uint8Array;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
