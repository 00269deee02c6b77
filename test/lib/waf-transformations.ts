/**
 * A model of how AWS WAF evaluates the scope-down statements of lib/otp-waf.ts, for the tests: the
 * text transformations the rules use, in priority order, then the regex. WAF's code is not public;
 * each transformation follows AWS's description (AWS WAF Developer Guide, "Using text
 * transformations", and the TextTransformation type of the WAFV2 API reference):
 * - URL_DECODE: "decodes a URL-encoded value";
 * - NORMALIZE_PATH: "removes multiple slashes, directory self-references, and directory
 *   back-references that are not at the beginning of the input";
 * - LOWERCASE: "converts uppercase letters (A-Z) to lowercase (a-z)".
 * Where the text leaves a case open (a malformed escape, a trailing `/.`), the model takes the reading
 * of ModSecurity's urlDecode and normalizePath, which these transformations carry the names of.
 */

type Transformation = (input: string) => string;

/** `%XX` escapes decoded (bytes, read as Latin-1: paths of ours are ASCII); a malformed one is kept. */
const urlDecode: Transformation = (input) =>
  input.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * `//` becomes `/`, `/./` goes, `/x/../` goes with the segment before it; a `..` with nothing
 * before it (at the beginning) stays. A trailing slash, or a trailing `.` or `..`, leaves one slash at
 * the end.
 */
const normalizePath: Transformation = (input) => {
  const absolute = input.startsWith('/');
  const segments = input.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '' || segment === '.') {
      if (last && index > 0) trailingSlash = true;
      return;
    }
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else out.push(segment);
      if (last) trailingSlash = true;
      return;
    }
    out.push(segment);
  });
  const path = `${absolute ? '/' : ''}${out.join('/')}`;
  return trailingSlash && !path.endsWith('/') ? `${path}/` : path;
};

const lowercase: Transformation = (input) => input.replace(/[A-Z]/g, (letter) => letter.toLowerCase());

export const TRANSFORMATIONS: Readonly<Record<string, Transformation>> = {
  URL_DECODE: urlDecode,
  NORMALIZE_PATH: normalizePath,
  LOWERCASE: lowercase,
};

/** A RegexMatchStatement of a synthesised template. */
export interface RegexMatch {
  FieldToMatch: { UriPath?: object };
  RegexString: string;
  TextTransformations: { Priority: number; Type: string }[];
}

/** The text WAF matches the regex against: `path` after the statement's transformations. */
export function transformed(match: RegexMatch, path: string): string {
  return [...match.TextTransformations]
    .sort((a, b) => a.Priority - b.Priority)
    .reduce((text, { Type }) => {
      const transform = TRANSFORMATIONS[Type];
      if (!transform) throw new Error(`no model of the ${Type} transformation`);
      return transform(text);
    }, path);
}

/** Whether the statement matches a request whose URI path is `path`. */
export function regexMatches(match: RegexMatch, path: string): boolean {
  if (!match.FieldToMatch.UriPath) throw new Error('the model reads the URI path only');
  return new RegExp(match.RegexString).test(transformed(match, path));
}
