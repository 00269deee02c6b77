import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BuildLevers, defaultLevers, esbuildOptions } from '../lib/function-defaults.js';

/**
 * The size of each function's bundle (functions/handlers/*.ts) as the stack builds it, with the
 * project's own code and the store modules (functions/adapters/dynamo/) it carries:
 * `node --import tsx bench/bundle-sizes.ts [sms|email|sms,email]`, the channels' build lever.
 */
const handlers = fileURLToPath(new URL('../functions/handlers/', import.meta.url));
const channelsArg = process.argv[2];
const levers: BuildLevers = defaultLevers({
  phoneCountries: ['US'],
  ...(channelsArg ? { channels: channelsArg.split(',') as ('sms' | 'email')[] } : {}),
});

const rows = [];
for (const file of (await readdir(handlers)).filter((name) => name.endsWith('.ts')).sort()) {
  const name = file.replace(/\.ts$/, '');
  const { metafile } = await build({
    ...esbuildOptions(join(handlers, file), join(tmpdir(), `otp-size-${name}.mjs`), levers),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(metafile.outputs)[0];
  const inputs = Object.entries(output?.inputs ?? {});
  const project = inputs.filter(([path]) => !path.includes('node_modules/'));
  rows.push({
    name,
    bytes: output?.bytes ?? 0,
    projectBytes: project.reduce((sum, [, input]) => sum + input.bytesInOutput, 0),
    store: project
      .map(([path]) => /functions\/adapters\/dynamo\/([^/]+)\.ts$/.exec(path)?.[1])
      .filter((module) => module !== undefined)
      .sort()
      .join(' '),
  });
}
const width = Math.max(...rows.map((row) => row.name.length));
for (const row of rows) {
  const bytes = String(row.bytes).padStart(7);
  const project = String(row.projectBytes).padStart(7);
  process.stdout.write(`${row.name.padEnd(width)} ${bytes} B  project ${project} B  store: ${row.store || '-'}\n`);
}
