import { IDEMPOTENCY_KEY_PATTERN } from '../core/idempotency.js';
import { ValidationError } from './errors.js';

/** The header as the contract spells it; headers reach the handlers lower-cased. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** The answer header of a replayed send. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** The Idempotency-Key of a request, undefined without one; 400 validation-error for a malformed one. */
export function idempotencyKeyFrom(headers: Record<string, string | undefined>): string | undefined {
  const key = headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (key === undefined || IDEMPOTENCY_KEY_PATTERN.test(key)) return key;
  throw new ValidationError([
    { path: IDEMPOTENCY_KEY_HEADER, message: 'Must be 1-255 printable ASCII characters, such as a UUID.' },
  ]);
}
