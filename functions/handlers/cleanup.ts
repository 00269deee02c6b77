import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../config.js';
import { type CleanupResult, removeExpiredItems } from '../core/cleanup.js';
import type { OtpStore } from '../core/ports.js';
import { createLogger } from '../http/logger.js';
import { METRICS_NAMESPACE } from '../metrics.js';
import { createStore } from '../wiring.js';

const logger = createLogger();
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'otp-service' });

/** The scheduled cleanup: one bounded run, logged, and counted as a metric per kind of item. */
export function createCleanupHandler(
  deps: { store: Pick<OtpStore, 'removeExpired'>; now: () => number },
  limit: number,
) {
  return middy(async (): Promise<CleanupResult> => {
    const result = await removeExpiredItems(deps, limit);
    logger.info('expired items removed', { removed: result.removed, total: result.total, limit });
    metrics.addMetric('ExpiredItemsRemoved', MetricUnit.Count, result.total);
    for (const [kind, count] of Object.entries(result.removed)) {
      const single = metrics.singleMetric();
      single.addDimension('kind', kind);
      single.addMetric('ExpiredItemsRemoved', MetricUnit.Count, count);
    }
    return result;
  })
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics));
}

const config = loadConfig(process.env);
export const handler = createCleanupHandler({ store: createStore(config), now: Date.now }, config.cleanupMaxItems);
