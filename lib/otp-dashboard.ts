import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  MathExpression,
  Metric,
  SearchExpression,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, SMS_METRICS } from '../functions/metrics.js';
import { ROUTES } from '../functions/routes.js';

export interface OtpDashboardProps {
  dashboardName: string;
  /** The countries SMS may go to; without them the dashboard has no SMS widgets. */
  smsCountries?: readonly string[];
  /** The breaker's minimum conversion, drawn on the conversion graph when the stack sets it. */
  breakerMinConversion?: number;
  /** Shown with their state at the top (the country-paused alarm). */
  alarms?: IAlarm[];
  /** The REST API and stage whose routes get latency and error graphs; without it, none. */
  api?: { apiName: string; stage: string };
}

const PERIOD = Duration.minutes(5);

/**
 * Every time series of `metricName` that carries exactly `dimensions` besides `service`, whatever
 * their values: the countries and clients that sent, and the reasons of refusals, are not known at
 * synth. Each shows under its dimension values (an empty label keeps only those).
 */
function everySeries(metricName: string, dimensions: string[]): SearchExpression {
  const schema = [METRICS_NAMESPACE, 'service', ...dimensions].join(',');
  return new SearchExpression({
    expression: `SEARCH('{${schema}} MetricName="${metricName}" service="${METRICS_SERVICE}"', 'Sum', ${PERIOD.toSeconds()})`,
    label: '',
    period: PERIOD,
  });
}

/** One country's sum of `metricName`, as the functions emit it with the {service, country} set. */
const perCountry = (metricName: string, country: string) =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE, country },
    statistic: 'Sum',
    period: PERIOD,
  });

/**
 * Codes verified over SMS sent, per country. A period with sends and no verification is 0, not a
 * gap: that is what SMS pumping looks like.
 */
function conversionPerCountry(countries: readonly string[]): IMetric[] {
  return countries.map((country) => {
    const id = country.toLowerCase();
    return new MathExpression({
      expression: `FILL(verified_${id}, 0) / sent_${id}`,
      usingMetrics: {
        [`verified_${id}`]: perCountry(SMS_METRICS.verified, country),
        [`sent_${id}`]: perCountry(SMS_METRICS.sent, country),
      },
      label: country,
      period: PERIOD,
    });
  });
}

/** The titles of the per-route graphs (API Gateway's metrics), in the order they appear. */
export const ROUTE_GRAPHS = ['Latency p50 per route', 'Latency p99 per route', '4XX per route', '5XX per route'];

/**
 * One line per route of functions/routes.ts, from API Gateway's per-method metrics (the stage turns
 * them on, lib/otp-rest-api.ts metricsEnabled): what a caller waited, and what it was answered,
 * whichever function serves the route (one function serves both /v1/session methods).
 */
function perRoute(api: { apiName: string; stage: string }, metricName: string, statistic: string): IMetric[] {
  return ROUTES.map(
    (route) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: api.apiName, Stage: api.stage, Resource: route.path, Method: route.method },
        statistic,
        label: `${route.method} ${route.path}`,
        period: PERIOD,
      }),
  );
}

/**
 * What an operator watching SMS spend reads: SMS sent and codes verified per country, their
 * conversion, refused sends by reason, SMS per client and breaker trips, from the metrics the
 * functions emit (functions/metrics.ts); without SMS, only the refusals. Below, each route's latency
 * (p50, p99) and errors (4XX, 5XX) from API Gateway.
 */
export class OtpDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OtpDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.addSmsWidgets(props);
    if (props.api) this.addRouteWidgets(props.api);
  }

  private addRouteWidgets(api: { apiName: string; stage: string }): void {
    const [p50, p99, clientErrors, serverErrors] = ROUTE_GRAPHS as [string, string, string, string];
    const graph = (title: string, metricName: string, statistic: string, unit: string) =>
      new GraphWidget({
        title,
        left: perRoute(api, metricName, statistic),
        leftYAxis: { min: 0, label: unit, showUnits: false },
        width: 12,
        height: 6,
        period: PERIOD,
        statistic,
      });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          '### API per route',
          "Latency is what API Gateway measured, from request to answer (its own and the function's time); 4XX",
          'are refusals (validation, limits, keys: expected in small numbers), 5XX failures. Traces: X-Ray, service `otp-service`.',
        ].join('\n'),
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(graph(p50, 'Latency', 'p50', 'ms'), graph(p99, 'Latency', 'p99', 'ms'));
    this.dashboard.addWidgets(
      graph(clientErrors, '4XXError', 'Sum', 'count'),
      graph(serverErrors, '5XXError', 'Sum', 'count'),
    );
  }

  private addSmsWidgets(props: OtpDashboardProps): void {
    const graph = (title: string, left: IMetric[], width = 8) =>
      new GraphWidget({ title, left, width, height: 6, period: PERIOD, statistic: 'Sum' });
    const refusals = graph('Sends refused by reason', [everySeries(SMS_METRICS.refused, ['reason'])]);

    const countries = props.smsCountries;
    if (!countries) {
      this.dashboard.addWidgets(refusals);
      return;
    }
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          '### SMS cost protection',
          `SMS may go to ${countries.join(', ')}. A country whose conversion (codes verified / SMS sent) falls`,
          "below the breaker's minimum is paused (reason `country-paused`) and the alarm below goes off;",
          'the send function logs "country paused" with the country.',
        ].join('\n'),
        width: 16,
        height: 3,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms ?? [], width: 8, height: 3 }),
    );
    this.dashboard.addWidgets(
      graph('SMS sent per country', [everySeries(SMS_METRICS.sent, ['country'])]),
      graph('Codes verified by SMS per country', [everySeries(SMS_METRICS.verified, ['country'])]),
      new GraphWidget({
        title: 'Conversion per country (verified / sent)',
        left: conversionPerCountry(countries),
        leftYAxis: { min: 0, max: 1, showUnits: false },
        leftAnnotations:
          props.breakerMinConversion === undefined
            ? undefined
            : [{ value: props.breakerMinConversion, label: 'breaker minimum' }],
        width: 8,
        height: 6,
        period: PERIOD,
      }),
    );
    this.dashboard.addWidgets(
      refusals,
      graph('SMS sent per client', [everySeries(SMS_METRICS.sent, ['clientId'])]),
      graph('Breaker trips per country and mode', [everySeries(SMS_METRICS.breakerTripped, ['country', 'mode'])]),
    );
  }
}
