/**
 * The API reference as one static HTML page, rendered from the OpenAPI document (document.ts) by our
 * own code: the reference renderers (Redoc, Scalar) need Node 22 or a large dependency tree, and this
 * document needs only routes, parameters, bodies, responses and problems. No script, no external
 * resource: `npm start` serves it at /docs (local/server.ts) under a CSP that allows only its styles.
 */

type Json = Record<string, unknown>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The little Markdown the document's descriptions use: `code` and paragraphs. */
function prose(text: unknown): string {
  if (typeof text !== 'string' || text === '') return '';
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${escape(paragraph).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
    .join('');
}

/** A scalar of the document as text. */
const text = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);

const asObject = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});

class Renderer {
  constructor(private readonly doc: Json) {}

  /** A local `$ref` (`#/components/...`), followed. */
  resolve(value: unknown): Json {
    const object = asObject(value);
    if (typeof object.$ref !== 'string') return object;
    let target: unknown = this.doc;
    for (const part of object.$ref.replace(/^#\//, '').split('/')) target = asObject(target)[part];
    return this.resolve(target);
  }

  refName(value: unknown): string | undefined {
    const ref = asObject(value).$ref;
    return typeof ref === 'string' ? ref.split('/').pop() : undefined;
  }

  /** A schema's type in a few words: `string (1..255)`, `"sms" | "email"`, `Identity`. */
  typeOf(value: unknown): string {
    const name = this.refName(value);
    if (name) return `<a href="#schema-${escape(name)}">${escape(name)}</a>`;
    const schema = asObject(value);
    if ('const' in schema) return `<code>${escape(JSON.stringify(schema.const))}</code>`;
    if (Array.isArray(schema.enum)) {
      return schema.enum.map((item) => `<code>${escape(JSON.stringify(item))}</code>`).join(' | ');
    }
    if (Array.isArray(schema.anyOf)) return schema.anyOf.map((item) => this.typeOf(item)).join(' | ');
    if (schema.type === 'array') return `array of ${this.typeOf(schema.items)}`;
    const types = Array.isArray(schema.type) ? schema.type.join(' | ') : text(schema.type ?? 'any');
    const limits: string[] = [];
    if (schema.minLength !== undefined || schema.maxLength !== undefined) {
      limits.push(`length ${text(schema.minLength ?? 0)}..${text(schema.maxLength ?? '')}`);
    }
    if (schema.minimum !== undefined) limits.push(`≥ ${text(schema.minimum)}`);
    if (typeof schema.format === 'string') limits.push(schema.format);
    if (typeof schema.pattern === 'string') limits.push(`<code>${escape(schema.pattern)}</code>`);
    return `${escape(types)}${limits.length > 0 ? ` (${limits.join(', ')})` : ''}`;
  }

  /** An object schema as a table of its members; another schema as its type. */
  fields(value: unknown): string {
    const schema = this.resolve(value);
    const properties = asObject(schema.properties);
    const names = Object.keys(properties);
    if (names.length === 0) return `<p>${this.typeOf(value)}</p>`;
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const rows = names.map(
      (name) =>
        `<tr><td><code>${escape(name)}</code>${required.has(name) ? '' : ' <small>optional</small>'}</td><td>${this.typeOf(properties[name])}</td></tr>`,
    );
    return `<table><thead><tr><th>member</th><th>type</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  /** A problem response: its slugs (the `error` enum of the allOf) and when each comes. */
  problemSchema(value: unknown): string {
    const parts = Array.isArray(asObject(value).allOf) ? (asObject(value).allOf as unknown[]) : [];
    const slugs = parts.flatMap((part) => {
      const error = asObject(asObject(asObject(part).properties).error);
      return Array.isArray(error.enum) ? (error.enum as string[]) : [];
    });
    return `<p>problem+json (<a href="#schema-Problem">Problem</a>), <code>error</code>: ${slugs
      .map((slug) => `<code>${escape(slug)}</code>`)
      .join(' | ')}</p>`;
  }

  headers(value: unknown): string {
    const names = Object.keys(asObject(value));
    return names.length > 0 ? `<p>headers: ${names.map((name) => `<code>${escape(name)}</code>`).join(', ')}</p>` : '';
  }

  security(value: unknown): string {
    const requirements = Array.isArray(value) ? (value as Json[]) : [];
    if (requirements.length === 0) return '<p><strong>No API key, no session.</strong></p>';
    const schemes = asObject(asObject(this.doc.components).securitySchemes);
    const header = (name: string) => {
      const scheme = asObject(schemes[name]);
      return scheme.type === 'http' ? 'Authorization: Bearer' : text(scheme.name);
    };
    const options = requirements.map((requirement) =>
      Object.keys(requirement).length === 0
        ? 'none (where keys are optional)'
        : Object.keys(requirement)
            .map((name) => `<code>${escape(header(name))}</code>`)
            .join(' + '),
    );
    return `<p><strong>Headers</strong>, one of: ${options.join('; ')}.</p>`;
  }

  parameters(value: unknown): string {
    const parameters = (Array.isArray(value) ? value : []).map((parameter) => this.resolve(parameter));
    if (parameters.length === 0) return '';
    const rows = parameters.map(
      (parameter) =>
        `<tr><td><code>${escape(text(parameter.name))}</code> <small>${escape(text(parameter.in))}${parameter.required ? ', required' : ''}</small></td><td>${this.typeOf(parameter.schema)}</td><td>${prose(parameter.description)}</td></tr>`,
    );
    return `<h4>Parameters</h4><table><thead><tr><th>name</th><th>type</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  operation(path: string, method: string, operation: Json): string {
    const id = escape(text(operation.operationId));
    const body = asObject(operation.requestBody);
    const bodySchema = asObject(asObject(asObject(body.content)['application/json']).schema);
    const responses = Object.entries(asObject(operation.responses)).map(([status, raw]) => {
      const response = this.resolve(raw);
      const content = asObject(response.content);
      const json = asObject(content['application/json']).schema;
      const problem = asObject(content['application/problem+json']).schema;
      const shape = json ? this.fields(json) : problem ? this.problemSchema(problem) : '';
      return `<section class="response"><h5>${escape(status)}</h5>${prose(response.description)}${this.headers(response.headers)}${shape}</section>`;
    });
    return [
      `<section class="operation" id="${id}">`,
      `<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code> — ${escape(text(operation.summary))}</h3>`,
      prose(operation.description),
      this.security(operation.security),
      this.parameters(operation.parameters),
      body.content ? `<h4>Request body (application/json)</h4>${this.fields(bodySchema)}` : '',
      `<h4>Responses</h4>${responses.join('')}`,
      '</section>',
    ].join('\n');
  }

  page(): string {
    const info = asObject(this.doc.info);
    const operations: string[] = [];
    const toc: string[] = [];
    for (const [path, item] of Object.entries(asObject(this.doc.paths))) {
      for (const method of METHODS) {
        const operation = asObject(asObject(item)[method]);
        if (!operation.operationId) continue;
        toc.push(
          `<li><a href="#${escape(text(operation.operationId))}">${method.toUpperCase()} ${escape(path)}</a></li>`,
        );
        operations.push(this.operation(path, method, operation));
      }
    }
    const schemas = Object.entries(asObject(asObject(this.doc.components).schemas)).map(
      ([name, schema]) =>
        `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3>${this.fields(schema)}</section>`,
    );
    const title = `${text(info.title)} ${text(info.version)}`;
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} — API reference</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escape(title)}</h1>${prose(info.description)}<p>The OpenAPI ${escape(text(this.doc.openapi))} document: <a href="/openapi.json">/openapi.json</a>.</p></header>
<nav><ul>${toc.join('')}</ul></nav>
<main>
<h2>Routes</h2>
${operations.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
</main>
</body>
</html>
`;
  }
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;color:#1d1d1f}
code{font:13px ui-monospace,monospace;background:#f2f2f4;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.operation{border-top:2px solid #ddd;padding-top:.5rem;margin-top:2rem}.response{margin-left:1rem}
.method{font-weight:700;color:#fff;padding:0 .4em;border-radius:3px;background:#555}.get{background:#1769aa}.post{background:#2e7d32}.delete{background:#c62828}
nav ul{columns:2}small{color:#666}`;

/** The whole page, from the document alone. */
export function referencePage(doc: Json): string {
  return new Renderer(doc).page();
}
