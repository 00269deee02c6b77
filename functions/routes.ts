/**
 * The routes of the API (README, API) and the handler module that serves each. The local server routes by this
 * table, and the CDK stack builds one function per handler from it.
 */
export const HANDLERS = [
  'health',
  'send-otp',
  'verify-otp',
  'session',
  'sessions',
  'refresh',
  'policy',
  'well-known',
] as const;
export type HandlerName = (typeof HANDLERS)[number];

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  handler: HandlerName;
}

/** The public keys of access tokens, and the discovery document that points at them (API.md). */
export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/v1/health', handler: 'health' },
  { method: 'POST', path: '/v1/otp/send', handler: 'send-otp' },
  { method: 'POST', path: '/v1/otp/verify', handler: 'verify-otp' },
  { method: 'GET', path: '/v1/session', handler: 'session' },
  { method: 'DELETE', path: '/v1/session', handler: 'session' },
  { method: 'POST', path: '/v1/session/refresh', handler: 'refresh' },
  { method: 'GET', path: '/v1/sessions', handler: 'sessions' },
  { method: 'GET', path: '/v1/otp/policy', handler: 'policy' },
  { method: 'GET', path: JWKS_PATH, handler: 'well-known' },
  { method: 'GET', path: DISCOVERY_PATH, handler: 'well-known' },
];

export function methodsOf(path: string): Route['method'][] {
  return ROUTES.filter((route) => route.path === path).map((route) => route.method);
}
