import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { esbuildOptions } from '../lib/function-defaults.js';
import type { BenchBuild } from './levers.js';

export interface BundleResult {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  /** The largest inputs, to see what a bundle is made of. */
  largestInputs: { path: string; bytes: number }[];
}

/** Builds each function as the stack does (lib/function-defaults.ts), with the levers of its build. */
export async function buildBundles(builds: readonly BenchBuild[], outDir: string): Promise<BundleResult[]> {
  await mkdir(outDir, { recursive: true });
  const results: BundleResult[] = [];
  for (const { name, entry, levers } of builds) {
    const file = join(outDir, `${name}.mjs`);
    const { metafile } = await build({
      ...esbuildOptions(entry, file, levers),
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.values(metafile.outputs)[0];
    const content = await readFile(file);
    const byPackage = new Map<string, number>();
    for (const [path, input] of Object.entries(output?.inputs ?? {})) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const key = match?.[1] ?? 'project code';
      byPackage.set(key, (byPackage.get(key) ?? 0) + input.bytesInOutput);
    }
    results.push({
      name,
      file,
      bytes: content.length,
      gzipBytes: gzipSync(content).length,
      largestInputs: [...byPackage.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([path, bytes]) => ({ path, bytes })),
    });
  }
  return results;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[index] ?? Number.NaN) * 10) / 10;
}
