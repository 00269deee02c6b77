/** `npm run openapi`: writes openapi.json and openapi.html at the repository root (generated.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedFiles } from './generated.js';

const root = join(import.meta.dirname, '..', '..');
for (const [name, text] of Object.entries(generatedFiles())) {
  writeFileSync(join(root, name), text);
  process.stdout.write(`wrote ${name}\n`);
}
