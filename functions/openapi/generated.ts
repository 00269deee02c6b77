import packageJson from '../../package.json' with { type: 'json' };
import { openApiDocument } from './document.js';
import { referencePage } from './html.js';

/**
 * The files `npm run openapi` (main.ts) writes at the repository root, as they must be: a test
 * (test/openapi/) compares the committed ones with these. Both are committed so that the handler
 * bundles the document as it is (handlers/openapi.ts) and a reader of the repository sees the API.
 */
export function generatedFiles(): Record<string, string> {
  const document = openApiDocument(packageJson.version);
  return {
    'openapi.json': `${JSON.stringify(document, null, 2)}\n`,
    'openapi.html': referencePage(document),
  };
}
