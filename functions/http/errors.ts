import { OtpError } from '../core/errors.js';

/**
 * Failures of the request itself, before any use case runs: the route, the method, the body. The
 * local server and the shared middy chain (http-handler.ts, json-body.ts) throw them.
 */
export interface FieldError {
  path: string;
  message: string;
}

export class ValidationError extends OtpError {
  readonly status = 400;
  readonly slug = 'validation-error';
  readonly title = 'Request body is invalid';
  constructor(readonly errors: FieldError[]) {
    super('One or more fields are invalid.');
    this.extensions.errors = errors;
  }
}

export class MalformedJsonError extends OtpError {
  readonly status = 400;
  readonly slug = 'malformed-json';
  readonly title = 'Request body is not valid JSON';
  constructor() {
    super('The request body could not be parsed as JSON.');
  }
}

export class NotFoundError extends OtpError {
  readonly status = 404;
  readonly slug = 'not-found';
  readonly title = 'Not found';
  constructor(path: string) {
    super(`No route for ${path}.`);
  }
}

export class MethodNotAllowedError extends OtpError {
  readonly status = 405;
  readonly slug = 'method-not-allowed';
  readonly title = 'Method not allowed';
  constructor(method: string, allowed: readonly string[]) {
    super(`${method} is not allowed here; use ${allowed.join(', ')}.`);
    this.headers.Allow = allowed.join(', ');
  }
}

export class UnsupportedMediaTypeError extends OtpError {
  readonly status = 415;
  readonly slug = 'unsupported-media-type';
  readonly title = 'Unsupported media type';
  constructor() {
    super('Send the request body as application/json.');
  }
}

export class PayloadTooLargeError extends OtpError {
  readonly status = 413;
  readonly slug = 'payload-too-large';
  readonly title = 'Request body too large';
  constructor(limitBytes: number) {
    super(`The request body must be at most ${limitBytes} bytes.`);
  }
}
