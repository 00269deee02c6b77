import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (lib/function-defaults.ts
 * aliases it here): Lambda always gives a function its role's keys in AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, so the rest of the default chain (SSO, shared ini
 * files, credential processes, web identity, the instance metadata service, and the STS and SSO
 * clients they carry) is never reached there, yet it was 130 KB of every bundle. Every AWS SDK client
 * imports only `defaultProvider` from that package. Outside a bundle (npm start, the tests, the
 * maintenance commands) the SDK keeps its full chain.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
