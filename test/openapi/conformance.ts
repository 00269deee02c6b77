import { expect } from 'vitest';
import document from '../../openapi.json' with { type: 'json' };
import { SCHEMAS } from '../../functions/openapi/document.js';
import { problemResponse } from '../../functions/openapi/responses.js';
import type { Answer } from '../kit.js';

type Json = Record<string, any>;

const doc = document as Json;

/** The committed document's answer for `method path` and the answer's status, if it lists one. */
export function documentedResponse(method: string, path: string, status: number): Json | undefined {
  return doc.paths[path]?.[method.toLowerCase()]?.responses?.[String(status)];
}

/**
 * The answer is one the committed openapi.json describes for `method path`: its status is listed,
 * its body parses with the zod schema the document names (functions/openapi/document.ts SCHEMAS) and
 * holds no member that schema leaves out, a problem's slug is among the status's, and a
 * `retryAfter` comes with the `Retry-After` header the document lists.
 */
export function expectDocumented(answer: Answer, method: string, path: string): void {
  const where = `${method} ${path} ${answer.status} ${answer.rawBody}`;
  const response = documentedResponse(method, path, answer.status);
  expect(response, `${where}: status not in openapi.json`).toBeDefined();
  const content = (response?.content ?? {}) as Json;
  if (answer.status === 204) {
    expect(content, where).toEqual({});
    expect(answer.rawBody, where).toBe('');
    return;
  }
  const problem = content['application/problem+json'];
  if (problem) {
    expect(answer.headers['content-type'], where).toMatch(/^application\/problem\+json/);
    const parsed = problemResponse.safeParse(answer.body);
    expect(parsed.error, where).toBeUndefined();
    expect(parsed.data, `${where}: members the Problem schema does not list`).toEqual(answer.body);
    const slugs = problem.schema.allOf[1].properties.error.enum as string[];
    expect(slugs, where).toContain(answer.body?.error);
    expect(answer.body?.status, where).toBe(answer.status);
    if (answer.body?.retryAfter !== undefined) {
      expect(Object.keys(response?.headers ?? {}), where).toContain('Retry-After');
      expect(answer.headers['retry-after'], where).toBe(String(answer.body.retryAfter));
    }
    return;
  }
  const ref = content['application/json']?.schema?.$ref as string | undefined;
  expect(ref, `${where}: no JSON schema documented`).toBeDefined();
  expect(answer.headers['content-type'], where).toMatch(/^application\/json/);
  const schema = SCHEMAS[String(ref).split('/').pop() ?? ''];
  expect(schema, `${where}: ${ref} is not a schema of document.ts`).toBeDefined();
  const parsed = schema?.safeParse(answer.body);
  expect(parsed?.error, where).toBeUndefined();
  expect(parsed?.data, `${where}: members the ${ref} schema does not list`).toEqual(answer.body);
  for (const header of Object.keys(answer.headers)) {
    if (/^idempotent-/i.test(header))
      expect(Object.keys(response?.headers ?? {}), where).toContain('Idempotent-Replayed');
  }
}
