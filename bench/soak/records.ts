/**
 * What the soak's load generator (generator.ts) records of every answer it got, one JSON line each,
 * for the checker (checker.ts) to hold against the database after the load.
 */
import { readFileSync } from 'node:fs';

export type Route = 'send' | 'verify' | 'session' | 'sessions' | 'refresh' | 'revoke' | 'revoke-all';

export interface AnswerRecord {
  /** The scenario the request belonged to (scenarios.ts). */
  scenario: string;
  route: Route;
  /** HTTP status; 0 when no answer came (connection error, timeout). */
  status: number;
  /** The problem's slug (`error`) for a non-2xx answer. */
  slug?: string;
  /** A 429's `reason`. */
  reason?: string;
  /** Epoch ms when the request started and when its answer was read. */
  start: number;
  end: number;
  /** The source address the request came from (127.x.y.z). */
  ip: string;

  // send and verify
  /** The target as sent (send), or as sent with the verify (may be absent: otpToken only). */
  target?: string;
  purpose?: string;
  /** send: the answer's otpToken and mockCode; verify: whether the request carried the otpToken. */
  otpToken?: string;
  mockCode?: string;
  /** send: answered with `Idempotent-Replayed: true` (nothing counted, nothing sent). */
  replayed?: boolean;
  idempotencyKey?: string;
  /** verify: the code tried, and whether the generator knew it to be the right one. */
  code?: string;
  rightCode?: boolean;
  /** verify 200: the normalised target, the customer, isNew, and the tokens. */
  verifiedTarget?: string;
  customerId?: string;
  isNew?: boolean;
  sessionToken?: string;
  refreshToken?: string;
  /** The session (family) id, from the access token's `sid`. */
  sid?: string;
  /** Epoch ms the session token expires at. */
  expiresAt?: number;

  // refresh, session, revoke
  /** refresh: the refresh token presented. */
  presented?: string;
  /** session, sessions, revoke, revoke-all, and verify-* sends and verifies: the session token used. */
  token?: string;
}

export function readRecords(file: string): AnswerRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AnswerRecord);
}

/** The `sid` claim of an access token (a JWT), read without checking its signature. */
export function sidOf(accessToken: unknown): string | undefined {
  if (typeof accessToken !== 'string') return undefined;
  const payload = accessToken.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid?: unknown };
    return typeof claims.sid === 'string' ? claims.sid : undefined;
  } catch {
    return undefined;
  }
}
