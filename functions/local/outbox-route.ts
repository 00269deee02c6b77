import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { OutboxLog } from '../adapters/local-outbox.js';
import type { OtpConfig } from '../config.js';
import { OtpError } from '../core/errors.js';
import { normaliseTarget } from '../core/targets.js';
import { MethodNotAllowedError, ValidationError } from '../http/errors.js';
import { json, problem } from '../http/responses.js';

/**
 * `npm start` in dev mode shows what its local outbox delivered, code included, to the page at `/`
 * (functions/local/try-page.ts). The path is the local server's alone: no route of the API
 * (functions/routes.ts), so no deployed function has it, and the server has it only when given a log.
 */
export const OUTBOX_PATH = '/_local/outbox';

/**
 * The log npm start keeps, or none: only in dev mode (where the send answer carries `mockCode`
 * anyway, so the outbox gives away nothing more), and only when codes go to the local outbox.
 */
export function outboxLogFor(config: Pick<OtpConfig, 'devMode' | 'delivery'>): OutboxLog | undefined {
  return config.devMode && config.delivery === 'local' ? new OutboxLog() : undefined;
}

export class LocalOnlyError extends OtpError {
  readonly status = 403;
  // The gateway's slug for a request it will not serve (lib/gateway-responses.ts): one an app knows already.
  readonly slug = 'forbidden';
  readonly title = 'Local requests only';
  constructor() {
    super('The local outbox answers only requests from this machine, addressed to localhost, 127.0.0.1 or [::1].');
  }
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.replace(/^::ffff:/i, '');
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * The Host a browser on this machine sends to this server: localhost, 127.x.x.x or [::1], with or
 * without a port. Any other name could be a site of someone else's that resolves to 127.0.0.1 (DNS
 * rebinding), whose scripts would then read the outbox as if from the same origin.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return hostname === 'localhost' || hostname === '[::1]' || isLoopbackAddress(hostname);
}

/**
 * `GET /_local/outbox?to=TARGET`: the live messages to that target, newest first, as the outbox
 * delivered them. The target is normalised as a send normalises it, so the page can pass what was
 * typed. Only from this machine (isLoopbackAddress, isLoopbackHost); the answer carries no CORS
 * headers (functions/local/server.ts), so only pages of this server can read it.
 */
export function outboxAnswer(req: IncomingMessage, url: URL, log: OutboxLog): APIGatewayProxyResult {
  const method = req.method ?? 'GET';
  if (method !== 'GET') return problem(new MethodNotAllowedError(method, ['GET']));
  if (!isLoopbackAddress(req.socket.remoteAddress) || !isLoopbackHost(req.headers.host)) {
    return problem(new LocalOnlyError());
  }
  const to = url.searchParams.get('to');
  if (!to?.trim()) {
    return problem(new ValidationError([{ path: 'to', message: 'Name the target: ?to=ana@example.com' }]));
  }
  try {
    return json(200, { messages: log.to(normaliseTarget(to).address) });
  } catch (error) {
    if (error instanceof OtpError) return problem(error);
    throw error;
  }
}
