import { OtpError } from '../core/errors.js';

/**
 * DNS rebinding: a web site the developer visits can point its own name at 127.0.0.1 and then
 * call this server as a page of the same origin, reading `mockCode` or sending real SMS when
 * OTP_DELIVERY=aws. What gives it away is the Host header, which carries the site's name. So the
 * local server answers only requests addressed to an IP address (no site can rebind one), to
 * localhost or a name under .localhost (RFC 6761: browsers resolve them to loopback themselves),
 * or to a name the developer listed in OTP_LOCAL_ALLOWED_HOSTS (a tunnel, a hosts-file name).
 */
export type AllowedHosts = readonly string[] | '*';

/** OTP_LOCAL_ALLOWED_HOSTS: `*`, or names separated by commas; `.example.com` also allows its subdomains. */
export function parseAllowedHosts(value: string | undefined): AllowedHosts {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '*') return '*';
  return trimmed
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}

export function isAllowedHost(host: string | undefined, allowed: AllowedHosts): boolean {
  // HTTP/1.0 without Host: no browser sends that, so no page can be behind it.
  if (host === undefined) return true;
  if (allowed === '*') return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  if (hostname.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname)) return true;
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  return allowed.some((name) =>
    name.startsWith('.') ? hostname.endsWith(name) || hostname === name.slice(1) : hostname === name,
  );
}

export class HostNotAllowedError extends OtpError {
  readonly status = 403;
  readonly slug = 'forbidden';
  readonly title = 'Host not allowed';
  constructor(host: string) {
    super(
      `This local server answers requests addressed to localhost or an IP address, not to "${host}" ` +
        '(a page of another site could have pointed that name here). To reach it by that name, ' +
        `add it to OTP_LOCAL_ALLOWED_HOSTS.`,
    );
  }
}
