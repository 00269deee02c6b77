/** What `npm run soak` prints: the workload, latency per route, throughput, and a line per invariant. */
import { percentile } from '../bundles.js';
import type { InvariantResult } from './checker.js';
import type { AnswerRecord, Route } from './records.js';

const pad = (value: string | number, width: number) => String(value).padStart(width);

function outcomeOf(record: AnswerRecord): string {
  if (record.status === 0) return 'no answer';
  const slug = record.slug ? ` ${record.slug}` : record.replayed ? ' replayed' : '';
  return `${record.status}${slug}${record.reason ? ` (${record.reason})` : ''}`;
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** Per scenario: its weight, how often it ran, and the outcome of each of its calls. */
export function workloadLines(
  weights: readonly { name: string; weight: number }[],
  runs: Record<string, number>,
  records: readonly AnswerRecord[],
): string[] {
  const total = weights.reduce((sum, scenario) => sum + scenario.weight, 0);
  const lines = ['Workload (weight, runs, then each route: outcome x count):'];
  for (const { name, weight } of weights) {
    const own = records.filter((record) => record.scenario === name);
    const routes = countBy(own, (record) => record.route).map(([route]) => route);
    const outcomes = routes.map((route) => {
      const answers = own.filter((record) => record.route === route);
      return `${route}: ${countBy(answers, outcomeOf)
        .map(([outcome, count]) => `${outcome} x${count}`)
        .join(', ')}`;
    });
    lines.push(
      `  ${name.padEnd(18)} ${pad(`${Math.round((weight / total) * 100)}%`, 4)} ${pad(runs[name] ?? 0, 6)} runs  ${outcomes.join('; ')}`,
    );
  }
  return lines;
}

/** p50/p99/max per route and overall, and the throughput over the load's duration. */
export function latencyLines(records: readonly AnswerRecord[], seconds: number): string[] {
  const lines = [
    `Latency (ms, client side)  ${'count'.padStart(7)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}`,
  ];
  const routes: Route[] = ['send', 'verify', 'session', 'sessions', 'refresh', 'revoke', 'revoke-all'];
  const row = (label: string, rows: readonly AnswerRecord[]) => {
    const times = rows.map((record) => record.end - record.start);
    const max = times.reduce((a, b) => Math.max(a, b), 0);
    lines.push(
      `  ${label.padEnd(25)} ${pad(rows.length, 7)} ${pad(percentile(times, 50), 7)} ${pad(percentile(times, 99), 7)} ${pad(max, 7)}`,
    );
  };
  for (const route of routes) {
    const rows = records.filter((record) => record.route === route);
    if (rows.length > 0) row(route, rows);
  }
  row('all', records);
  lines.push(
    `Throughput: ${records.length} requests in ${seconds.toFixed(1)} s = ${(records.length / seconds).toFixed(1)} requests/s`,
  );
  return lines;
}

/** One line per invariant, `PASS name (checked N): detail`, and the first violations under a FAIL. */
export function invariantLines(results: readonly InvariantResult[]): string[] {
  const lines = ['Invariants:'];
  for (const result of results) {
    lines.push(
      `  ${result.pass ? 'PASS' : 'FAIL'} ${result.name.padEnd(24)} (checked ${result.checked}) ${result.title}: ${result.detail}` +
        (result.pass ? '' : `; ${result.violationCount} violations`),
    );
    for (const violation of result.violations) lines.push(`       - ${violation}`);
  }
  const failed = results.filter((result) => !result.pass).length;
  lines.push(
    failed === 0
      ? `Result: PASS (${results.length} of ${results.length} invariants hold)`
      : `Result: FAIL (${failed} of ${results.length} invariants broken)`,
  );
  return lines;
}
