import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../config.js';
import { type CleanupResult, removeExpiredItems } from '../core/cleanup.js';
import type { OtpStore } from '../core/ports.js';
import { type KeyRotation, rotateSigningKeys } from '../core/signing-keys.js';
import { DAY_MS } from '../core/windows.js';
import { createLogger } from '../http/logger.js';
import { traceInvocation } from '../http/tracer.js';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../metrics.js';
import { createCleanupStore, createSigningKeyVault } from '../wiring.js';

const logger = createLogger();
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

export interface CleanupDeps {
  store: Pick<OtpStore, 'removeExpired'>;
  now: () => number;
  /** Makes or rotates the stored signing keys; absent where keys are not stored (inline keys). */
  rotateKeys?: () => Promise<KeyRotation>;
  /**
   * The expiry sweep (OTP_EXPIRY_SWEEP): expired items are removed before TTL does. Off (the
   * default), the table has no `due` index to read, and the run only rotates the keys.
   */
  expirySweep: boolean;
}

/** What a run did; `expirySweep: 'off'` when it left expired items to TTL. */
export type CleanupRun = CleanupResult & { signingKeys?: KeyRotation; expirySweep?: 'off' };

/**
 * The scheduled function: rotates the signing keys when due, then, with the expiry sweep, one bounded
 * cleanup run, logged, and counted as a metric per kind of item. A failed rotation does not stop the
 * cleanup; the run fails afterwards, so that it is retried and alarmed on.
 */
export function createCleanupHandler(deps: CleanupDeps, limit: number) {
  return middy(async (): Promise<CleanupRun> => {
    let signingKeys: KeyRotation | undefined;
    let rotationError: Error | undefined;
    if (deps.rotateKeys) {
      try {
        signingKeys = await deps.rotateKeys();
        // The kid is public (it is in every token's header and in the JWKS).
        logger.info('signing keys checked', { ...signingKeys });
      } catch (error) {
        rotationError = error instanceof Error ? error : new Error(String(error));
        const { name, message } = rotationError;
        logger.error('signing keys could not be rotated', { error: { name, message } });
      }
    }
    const result: CleanupRun = deps.expirySweep
      ? await removeExpiredItems(deps, limit)
      : { removed: {}, total: 0, expirySweep: 'off' };
    if (deps.expirySweep) {
      logger.info('expired items removed', { removed: result.removed, total: result.total, limit });
    } else {
      logger.info('expired items left to TTL: the expiry sweep is off (OTP_EXPIRY_SWEEP)');
    }
    // Also with the sweep off (0): a run that emits no metric makes Powertools warn every hour.
    metrics.addMetric('ExpiredItemsRemoved', MetricUnit.Count, result.total);
    for (const [kind, count] of Object.entries(result.removed)) {
      const single = metrics.singleMetric();
      single.addDimension('kind', kind);
      single.addMetric('ExpiredItemsRemoved', MetricUnit.Count, count);
    }
    if (rotationError !== undefined) throw rotationError;
    return signingKeys ? { ...result, signingKeys } : result;
  })
    .use(traceInvocation(() => false))
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics));
}

const config = loadConfig(process.env);
const vault = createSigningKeyVault(config);
const periodMs = config.signingKeyRotationDays * DAY_MS;
export const handler = createCleanupHandler(
  {
    store: createCleanupStore(config),
    now: Date.now,
    // Read fresh on every run, never cached: the rotation must start from the stored set.
    // New keys have the configured algorithm: a switch goes through the rotations (core/signing-keys.ts).
    rotateKeys: vault && (() => rotateSigningKeys(vault, Date.now(), periodMs, config.accessTokenAlgorithm)),
    expirySweep: config.expirySweep,
  },
  config.cleanupMaxItems,
);
