import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { indexesOf, STATE_TABLE } from '../functions/tables.js';

/**
 * Write units as AWS bills them, from the items themselves: DynamoDB Local's figures for
 * TransactWriteItems do not follow AWS's rule (measured: one 1-item transaction reports 2, a 2-item
 * one reports 2 as well, where AWS bills 4), so they cannot be corrected by a factor.
 *
 * Per item written: its size (the larger of before and after) rounded up to 1 KB, times 2 inside
 * TransactWriteItems (ConditionCheck items included); plus, for each index of the state table (the
 * `due` index of the expiry sweep, the `sessions` index of family items), 1 unit per entry added,
 * removed or rewritten in place (an attribute the index copies changed), 2 when an update moves the
 * entry (its key changed: a delete and a put); an entry left as it was costs nothing. Index entries
 * are small (keys and a few attributes), under 1 KB each. A refused write is billed its item's size
 * as well (at least 1 unit, 2 per item of a cancelled transaction) and changes no index.
 */
export type Item = Record<string, AttributeValue>;

export interface WrittenItem {
  before?: Item;
  after?: Item;
  transactional: boolean;
}

const KB = 1024;

/** Each index: the attributes of its key, and those it copies (the base table's key is copied too). */
const INDEXES = indexesOf(STATE_TABLE).map((index) => ({
  keys: [index.partitionKey, index.sortKey],
  copied: [index.partitionKey, index.sortKey, STATE_TABLE.partitionKey, ...(index.include ?? [])],
}));

export function billedWriteUnits(written: WrittenItem, refused = false): number {
  const size = Math.max(itemBytes(written.before), refused ? 0 : itemBytes(written.after));
  const base = Math.max(1, Math.ceil(size / KB)) * (written.transactional ? 2 : 1);
  return refused ? base : base + indexWrites(written.before, written.after);
}

const values = (item: Item, names: string[]) => JSON.stringify(names.map((name) => item[name] ?? null));

/** Index writes of one item's change, over every index of the state table. */
export function indexWrites(before: Item | undefined, after: Item | undefined): number {
  return INDEXES.reduce((sum, index) => {
    // An item is in a sparse index only while it has every attribute of the index's key.
    const listed = (item: Item | undefined): item is Item =>
      item !== undefined && index.keys.every((name) => item[name] !== undefined);
    const was = listed(before);
    const is = listed(after);
    if (!was || !is) return sum + (was ? 1 : 0) + (is ? 1 : 0);
    if (values(before, index.keys) !== values(after, index.keys)) return sum + 2;
    return sum + (values(before, index.copied) === values(after, index.copied) ? 0 : 1);
  }, 0);
}

/** DynamoDB's item size: attribute names plus values, as its documentation counts them. */
export function itemBytes(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function numberBytes(text: string): number {
  const digits = text
    .replace(/^[-+]?0*/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '').length;
  return Math.ceil(digits / 2) + 1;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, text) => sum + utf8(text), 0);
  if (value.NS) return value.NS.reduce((sum, text) => sum + numberBytes(text), 0);
  if (value.BS) return value.BS.reduce((sum, bytes) => sum + bytes.length, 0);
  if (value.L) return 3 + value.L.reduce((sum, entry) => sum + 1 + valueBytes(entry), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueBytes(v), 0);
  return 0;
}
