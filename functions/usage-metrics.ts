import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, METRICS_SERVICE } from './metrics.js';

/** Counts of what the API did, by dimension (client, channel): CloudWatch metrics in embedded format. */
export interface UsageMetrics {
  count(name: string, dimensions: Record<string, string>): void;
}

/**
 * One EMF line per count, flushed at once: a handler emits at most a couple per call, and without a
 * flushing middleware a call that counts nothing prints no "no metrics" warning.
 * POWERTOOLS_METRICS_DISABLED=true silences it (npm start, tests).
 */
export function cloudWatchMetrics(): UsageMetrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
  return {
    count(name, dimensions) {
      const single = metrics.singleMetric();
      for (const [dimension, value] of Object.entries(dimensions)) single.addDimension(dimension, value);
      single.addMetric(name, MetricUnit.Count, 1);
    },
  };
}
