import { ACTION_PATTERN } from '../core/client-policy.js';
import { ValidationError } from './errors.js';

/** The `?action=` of the policy and session routes; `required` refuses a call without one. */
export function actionFrom(query: Record<string, string | undefined>, required: true): string;
export function actionFrom(query: Record<string, string | undefined>, required: false): string | undefined;
export function actionFrom(query: Record<string, string | undefined>, required: boolean): string | undefined {
  const action = query.action;
  if (action === undefined && !required) return undefined;
  if (action === undefined || !ACTION_PATTERN.test(action)) {
    throw new ValidationError([{ path: 'action', message: 'Must be 1-64 of a-z 0-9 . _ -.' }]);
  }
  return action;
}
