import { effectiveConfig, type PolicyScope } from '../core/client-policy.js';
import { type Client, identifyClient } from '../core/clients.js';
import type { ApiDeps, CoreLog } from '../core/deps.js';
import type { ClientIdentifier } from './http-handler.js';

/** Identifies callers by X-API-Key against the handler's directory and the deployment's rule. */
export function clientIdentifier(
  deps: Pick<ApiDeps, 'clients' | 'now'> & { config: Pick<ApiDeps['config'], 'requireApiKey'> },
  log: CoreLog,
): ClientIdentifier {
  return (apiKey) =>
    identifyClient({ directory: deps.clients, now: deps.now, requireApiKey: deps.config.requireApiKey, log }, apiKey);
}

/**
 * The use cases' dependencies for one call: the deployment's settings under the caller's policy. A
 * client's messages name the client (its app), an anonymous call's the deployment (OTP_APP_NAME).
 */
export function callDeps<D extends { config: PolicyScope }>(deps: D, client: Client | undefined, log: CoreLog) {
  const config = effectiveConfig(deps.config, client?.policy);
  return { ...deps, config: client ? { ...config, appName: client.name } : config, log };
}
