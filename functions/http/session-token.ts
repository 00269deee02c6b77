import { SessionInvalidError } from '../core/errors.js';

/**
 * The session token of a request, from `Authorization: Bearer …` or `X-OTP-Session` (header names
 * lower-cased). When both headers come and name different tokens, neither is trusted.
 */
export function tokenFromHeaders(headers: Record<string, string | undefined>): string | undefined {
  const session = headers['x-otp-session']?.trim() || undefined;
  const authorization = headers.authorization?.trim();
  if (!authorization) return session;
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (bearer === undefined || (session !== undefined && session !== bearer)) throw new SessionInvalidError();
  return bearer;
}
