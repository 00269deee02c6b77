/**
 * The soak's load generator, run by bench/soak/main.ts in its own process, so that its virtual users
 * do not share an event loop with the server they load. Arguments: base URL (127.0.0.1 only),
 * seconds, virtual users, the file to record every answer in (records.ts, one JSON line each), a
 * run id that makes its targets unique. Each virtual user runs weighted scenarios (scenarios.ts)
 * until the time is up, then the process prints one JSON line: the scenarios run and any error of
 * the generator itself.
 */
import { Generator, type GeneratorSummary } from './generator.js';
import { SCENARIOS, type Scenario } from './scenarios.js';

function pick(scenarios: readonly Scenario[]): Scenario {
  const total = scenarios.reduce((sum, scenario) => sum + scenario.weight, 0);
  let roll = Math.random() * total;
  for (const scenario of scenarios) {
    roll -= scenario.weight;
    if (roll < 0) return scenario;
  }
  return scenarios[0] as Scenario;
}

async function main(): Promise<void> {
  const [base = '', seconds = '10', users = '8', file = '', run = 'soak'] = process.argv.slice(2);
  const url = new URL(base);
  if (url.hostname !== '127.0.0.1') throw new Error(`the soak talks to 127.0.0.1 only (got ${url.hostname})`);
  if (!file) throw new Error('no record file given');
  const generator = new Generator(Number(url.port), file, run);
  const runs: Record<string, number> = Object.fromEntries(SCENARIOS.map((scenario) => [scenario.name, 0]));
  let errors = 0;
  let firstError: string | undefined;
  const started = Date.now();
  const deadline = started + Number(seconds) * 1000;
  const user = async () => {
    while (Date.now() < deadline) {
      const scenario = pick(SCENARIOS);
      runs[scenario.name] = (runs[scenario.name] ?? 0) + 1;
      try {
        await scenario.run(generator, scenario.name);
      } catch (error) {
        errors++;
        firstError ??= `${scenario.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Number(users) }, user));
  await generator.close();
  const summary: GeneratorSummary = {
    seconds: (Date.now() - started) / 1000,
    users: Number(users),
    runs,
    errors,
    ...(firstError ? { firstError } : {}),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak generator failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
