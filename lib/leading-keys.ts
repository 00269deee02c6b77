import { customerKey, stateKey } from '../functions/adapters/dynamo/keys.js';
import type { HandlerName } from '../functions/routes.js';

/** The tables whose items a function may be held to by the prefixes of their partition keys. */
export type KeyedTable = 'state' | 'customers';

/**
 * The partition key prefixes each function may touch, table by table, where the stack holds it to
 * them (`dynamodb:LeadingKeys`, lib/otp-permissions.ts). Plain data, so that the test that records
 * every key the function's code reaches (test/handlers/leading-keys.integration.test.ts) checks the
 * same list the stack grants.
 *
 * Only the session-token functions, whose every access is a session, a family, a refresh token or a
 * customer by id: the send and verify functions reach nearly every kind of state item, and verify
 * also customers stored under their plain address (customerKey.legacy), so a list there would buy
 * little and could break a rare path unseen. The clients table holds two kinds of item, both read by
 * every caller. The condition is on the item actions on the table only: a Query on the sessions
 * index is keyed by the index's own partition key (a customer id), which LeadingKeys would test.
 */
export const LEADING_KEY_PREFIXES = {
  session: { state: [stateKey.session(''), stateKey.family('')] },
  sessions: { state: [stateKey.session(''), stateKey.family('')] },
  refresh: {
    state: [stateKey.session(''), stateKey.family(''), stateKey.refresh('')],
    customers: [customerKey.customer('')],
  },
} as const satisfies Partial<Record<HandlerName, Partial<Record<KeyedTable, readonly string[]>>>>;

/** The IAM condition that holds `handler` to its prefixes on `table`, or none where it is not held. */
export function leadingKeysCondition(
  handler: HandlerName,
  table: KeyedTable,
): { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string[] } } | undefined {
  const prefixes = (
    LEADING_KEY_PREFIXES as Partial<Record<HandlerName, Partial<Record<KeyedTable, readonly string[]>>>>
  )[handler]?.[table];
  if (!prefixes) return undefined;
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) } };
}
