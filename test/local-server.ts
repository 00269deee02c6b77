import type { AddressInfo } from 'node:net';
import { handler as health } from '../functions/handlers/health.js';
import { handler as openapi } from '../functions/handlers/openapi.js';
import { createPolicyHandler } from '../functions/handlers/policy.js';
import { createRefreshHandler } from '../functions/handlers/refresh.js';
import { createSendOtpHandler } from '../functions/handlers/send-otp.js';
import { createSessionHandler } from '../functions/handlers/session.js';
import { createSessionsHandler } from '../functions/handlers/sessions.js';
import { createVerifyOtpHandler } from '../functions/handlers/verify-otp.js';
import { handler as wellKnown } from '../functions/handlers/well-known.js';
import { createLocalServer, type Handlers } from '../functions/local/server.js';
import type { Harness } from './kit.js';

/** Every handler of functions/routes.ts on a harness's tables, sender and clock. */
export function harnessHandlers(h: Harness): Handlers {
  return {
    health,
    'send-otp': createSendOtpHandler(h.deps),
    'verify-otp': createVerifyOtpHandler(h.deps),
    session: createSessionHandler(h.deps),
    sessions: createSessionsHandler(h.deps),
    refresh: createRefreshHandler(h.deps),
    policy: createPolicyHandler(h.deps),
    'well-known': wellKnown,
    openapi,
  };
}

/** The local server (functions/local/server.ts) over a harness's handlers, on a free port of 127.0.0.1. */
export async function listeningServer(h: Harness): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createLocalServer(harnessHandlers(h));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
