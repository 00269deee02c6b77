/**
 * One-off migration: every customer still stored the way releases before customers were keyed by id
 * stored them, under its plain target (an e-mail address or phone number as the key), moves to
 * `customer#<id>` with a `target#<keyed hash>` lookup item (functions/adapters/dynamo/keys.ts). A
 * login moves its own customer on its way (functions/adapters/dynamo/login.ts); this moves the
 * customers that do not log in, so that no key holds an address any more, and the ones a login
 * cannot find: e-mail addresses stored with upper-case letters by an even older release, which a
 * login (looking up the lower-cased address) would give a new customer.
 *
 * Safe while the service is live: each move is migrateLegacyCustomer's one conditional transaction
 * (functions/adapters/dynamo/customers.ts), the same a login makes, so a login, another run or this
 * one finds the customer either where it was or where it went, never both or neither. A target
 * that already has a customer of the new layout (a login since the upgrade created it) is never
 * merged: the legacy item stays and the pair is reported for a person to resolve. Neither is a
 * mixed-case e-mail key whose lower-cased form is a legacy key too: that release's logins reached the
 * lower-case customer, never this one, so this one is an orphan and is reported, not moved, and the
 * lower-case one moves (this run or its next login). The orphan's move is conditional on the
 * lower-case key not existing, in the same transaction, so whichever the scan meets first, the
 * orphan never takes the address. Idempotent: a second run finds nothing left to move.
 */
import { type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Dynamo } from '../adapters/dynamo/client.js';
import { legacyCustomerFrom, moveLegacyCustomer } from '../adapters/dynamo/customers.js';
import { CUSTOMER_PK, customerKey } from '../adapters/dynamo/keys.js';
import { cancellationReasons, isConflict } from '../adapters/dynamo/retry.js';
import { opaqueKey } from '../core/codes.js';
import { InvalidTargetError } from '../core/errors.js';
import type { Customer, TargetRef } from '../core/ports.js';
import { normaliseTarget } from '../core/targets.js';
import { getItem, scanCustomers, scanCustomerTable } from './customer-scan.js';

export interface MigrationOptions {
  client: DynamoDBClient;
  /** The customers table (the stack output CustomersTableName in AWS). */
  tableName: string;
  /** The service's pepper: lookup keys are keyed hashes of targets (opaqueKey in functions/core/codes.ts). */
  pepper: string;
  /** Reports what would change and writes nothing. */
  dryRun?: boolean;
  /** Items per Scan page (1..1000): small pages keep each read's capacity burst small on a live table. */
  pageSize?: number;
}

/**
 * A legacy customer left where it is because its target belongs to another customer now: one a login
 * created or moved, or (for a mixed-case e-mail key) the legacy customer under the lower-cased key,
 * which logins reached all along.
 */
export interface Conflict {
  /** The legacy item's key as stored: the address, in the case it was stored with. */
  legacyKey: string;
  legacyId: string;
  /** The customer that logins of the target reach now. */
  ownerId: string;
  /** The target's lookup item, which gives it to `ownerId` (once moved, when `ownerId` is still legacy). */
  lookupKey: string;
}

/** A legacy item the migration cannot move as it stands; left as it is. */
export interface Unmovable {
  key: string;
  id?: string;
  reason: string;
}

export interface MigrationSummary {
  dryRun: boolean;
  /**
   * Every item read, whatever its kind, except the items this run wrote and met again further on in
   * the scan: scanned = migrated + conflicts + skipped + unfinished.
   */
  scanned: number;
  /** Legacy customers this run moved (in a dry run: would move). */
  migrated: number;
  /** Left as they are for a person to resolve. */
  conflicts: Conflict[];
  /**
   * Nothing done: items of the new layout, legacy items another writer (a login, another run) moved
   * or removed between the scan and the write, and the items listed under `unmovable`.
   */
  skipped: number;
  /** Legacy items left as they are, with the reason; counted in `skipped`. */
  unmovable: Unmovable[];
  /** Still contended by other transactions after the retries; a second run picks them up. */
  unfinished: number;
  /**
   * The pepper gave the key the service stored for a customer of the new layout. False when the
   * table has none yet to check it against.
   */
  pepperChecked: boolean;
}

/** The pepper is not the one the service hashes targets with: nothing was written. */
export class PepperMismatchError extends Error {
  override readonly name = 'PepperMismatchError';
  constructor(customerId: string) {
    super(
      `The pepper given does not give the lookup key the service stored for customer ${customerId}: ` +
        "it is not this stack's pepper. Nothing was written.",
    );
  }
}

export const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

const CUSTOMER_PREFIX = customerKey.customer('');
const TARGET_PREFIX = customerKey.target('');
// The form every phone number was stored in; normaliseTarget's checks of the number's type and
// country are not applied, so that a number a later rule refuses still leaves its key.
const E164 = /^\+[1-9]\d{1,14}$/;

export async function migrateCustomers(options: MigrationOptions): Promise<MigrationSummary> {
  const { tableName, pepper } = options;
  const dryRun = options.dryRun ?? false;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${pageSize}).`);
  }
  // The store's functions only read and write the customers table here.
  const dynamo: Dynamo = {
    client: options.client,
    tables: { stateTable: '', customersTable: tableName, clientsTable: '' },
  };
  const pepperChecked = await checkPepper(dynamo, pepper, pageSize);
  const summary: MigrationSummary = {
    dryRun,
    scanned: 0,
    migrated: 0,
    conflicts: [],
    skipped: 0,
    unmovable: [],
    unfinished: 0,
    pepperChecked,
  };
  // The keys this run wrote, with the id there. A real run meets them again further on in its scan
  // and leaves them out of the count; a dry run writes nothing, so two legacy items of one target
  // would both look movable: these stand in for the writes.
  const written = new Map<string, string>();

  for await (const stored of scanCustomerTable(dynamo, pageSize)) {
    const key = String(stored[CUSTOMER_PK]);
    if (!dryRun && written.has(key)) continue;
    summary.scanned++;
    if (key.startsWith(CUSTOMER_PREFIX) || key.startsWith(TARGET_PREFIX)) {
      summary.skipped++;
      continue;
    }
    const plan = planMove(key, stored, pepper);
    const outcome =
      'reason' in plan
        ? ({ kind: 'unmovable', unmovable: plan } as const)
        : dryRun
          ? await predict(dynamo, written, plan)
          : await move(dynamo, plan);
    record(summary, outcome);
    if (outcome.kind === 'migrated' && !('reason' in plan)) {
      written.set(plan.lookupKey, plan.legacy.id);
      written.set(customerKey.customer(plan.legacy.id), plan.legacy.id);
    }
  }
  return summary;
}

/** A legacy item's move: where it is, the target it stands for and the customer it becomes. */
interface Move {
  legacyKey: string;
  /**
   * The key a login of the target looks up for a legacy customer, when it is not `legacyKey` (an
   * e-mail stored with upper-case letters): an item there is the customer those logins reached.
   */
  loginKey?: string;
  target: TargetRef;
  lookupKey: string;
  legacy: Customer;
}

function planMove(key: string, stored: Record<string, unknown>, pepper: string): Move | Unmovable {
  const id = typeof stored.id === 'string' && stored.id !== '' ? stored.id : undefined;
  if (id === undefined) return { key, reason: 'it has no id' };
  let address: string;
  let channel: TargetRef['channel'];
  if (key.includes('@')) {
    try {
      // Lower-cased as a login normalises what it is given: the key a login of this mailbox finds.
      ({ address, channel } = normaliseTarget(key));
    } catch (error) {
      if (!(error instanceof InvalidTargetError)) throw error;
      return { key, id, reason: 'its key is not a valid e-mail address' };
    }
  } else if (E164.test(key)) {
    address = key;
    channel = 'sms';
  } else {
    return { key, id, reason: 'its key is neither an e-mail address nor a phone number in E.164 form' };
  }
  if (stored.channel !== channel) {
    return { key, id, reason: `its channel (${String(stored.channel)}) does not fit its key (${channel})` };
  }
  const targetKey = opaqueKey(pepper, 'target', address);
  const loginKey = customerKey.legacy(address);
  return {
    legacyKey: key,
    ...(loginKey === key ? {} : { loginKey }),
    target: { targetKey, address, channel },
    lookupKey: customerKey.target(targetKey),
    // Its address is the normalised one: a mixed-case e-mail becomes the customer's lower-case e-mail.
    legacy: legacyCustomerFrom({ ...stored, [CUSTOMER_PK]: address }),
  };
}

type Outcome =
  | { kind: 'migrated' }
  | { kind: 'conflict'; conflict: Conflict }
  | { kind: 'unmovable'; unmovable: Unmovable }
  | { kind: 'skipped' }
  | { kind: 'unfinished' };

function record(summary: MigrationSummary, outcome: Outcome): void {
  if (outcome.kind === 'conflict') summary.conflicts.push(outcome.conflict);
  else if (outcome.kind === 'unmovable') {
    summary.unmovable.push(outcome.unmovable);
    summary.skipped++;
  } else summary[outcome.kind]++;
}

const conflictOf = (move: Move, ownerId: string): Outcome => ({
  kind: 'conflict',
  conflict: { legacyKey: move.legacyKey, legacyId: move.legacy.id, ownerId, lookupKey: move.lookupKey },
});

/** The target's lookup item already gives it to this very id, and the legacy item is still there. */
const leftoverCopy = (move: Move): Outcome => ({
  kind: 'unmovable',
  unmovable: {
    key: move.legacyKey,
    id: move.legacy.id,
    reason: 'its customer is already stored by id with this target: this item is a leftover copy',
  },
});

const idTaken = (move: Move): Outcome => ({
  kind: 'unmovable',
  unmovable: {
    key: move.legacyKey,
    id: move.legacy.id,
    reason: `${customerKey.customer(move.legacy.id)} already exists without this target`,
  },
});

/** The customer under `loginKey`, which logins of the target reached: the one that keeps the target. */
const loginsReach = (move: Move, live: Record<string, unknown>): Outcome =>
  live.id === move.legacy.id ? leftoverCopy(move) : conflictOf(move, typeof live.id === 'string' ? live.id : '');

/** Refuses the move while a legacy customer is stored under the key logins of the target look up. */
function noLoginKey(dynamo: Dynamo, move: Move): TransactWriteItem[] {
  if (move.loginKey === undefined) return [];
  return [
    {
      ConditionCheck: {
        TableName: dynamo.tables.customersTable,
        Key: marshall({ [CUSTOMER_PK]: move.loginKey }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
      },
    },
  ];
}

async function move(dynamo: Dynamo, move: Move): Promise<Outcome> {
  let moved: { customerId: string; moved: boolean };
  try {
    moved = await moveLegacyCustomer(dynamo, move.target, move.legacy, move.legacyKey, noLoginKey(dynamo, move));
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (!reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) {
      // transact() has already retried; left for the next run rather than stopping the whole scan.
      if (isConflict(error)) return { kind: 'unfinished' };
      throw error;
    }
    // Refused, and not for the lookup item (migrateLegacyCustomer answers that with its owner).
    if (!(await stillThere(dynamo, move))) return { kind: 'skipped' };
    if (reasons[3]?.Code === 'ConditionalCheckFailed' && move.loginKey !== undefined) {
      const live = await getItem(dynamo, move.loginKey);
      // Gone since (moved by a login or a run): the next run meets its lookup item instead.
      return live ? loginsReach(move, live) : { kind: 'unfinished' };
    }
    if (reasons[1]?.Code === 'ConditionalCheckFailed') return idTaken(move);
    // The legacy item changed between the write and the read above: the next run looks again.
    return { kind: 'unfinished' };
  }
  // The same id comes back when another writer moved the customer just before: only this run's own
  // transaction going through makes it this run's move.
  if (moved.moved) return { kind: 'migrated' };
  if (!(await stillThere(dynamo, move))) return { kind: 'skipped' };
  return moved.customerId === move.legacy.id ? leftoverCopy(move) : conflictOf(move, moved.customerId);
}

/**
 * What move() would do, from consistent reads of the items its transaction is conditional on and the
 * keys this dry run would have written so far; writes nothing.
 */
async function predict(dynamo: Dynamo, written: Map<string, string>, move: Move): Promise<Outcome> {
  const customerItemKey = customerKey.customer(move.legacy.id);
  const [legacy, lookup, customer, live] = await Promise.all([
    getItem(dynamo, move.legacyKey),
    getItem(dynamo, move.lookupKey),
    getItem(dynamo, customerItemKey),
    move.loginKey === undefined ? undefined : getItem(dynamo, move.loginKey),
  ]);
  if (legacy?.id !== move.legacy.id) return { kind: 'skipped' };
  const ownerId =
    written.get(move.lookupKey) ?? (typeof lookup?.customerId === 'string' ? lookup.customerId : undefined);
  if (ownerId !== undefined) return ownerId === move.legacy.id ? leftoverCopy(move) : conflictOf(move, ownerId);
  // A dry run leaves the lower-case item in place even where it would move it, but then its move
  // is in `written` and answered above.
  if (live) return loginsReach(move, live);
  if (customer || written.has(customerItemKey)) return idTaken(move);
  return { kind: 'migrated' };
}

/** The legacy item the scan met is still there, with the same id. */
async function stillThere(dynamo: Dynamo, move: Move): Promise<boolean> {
  return (await getItem(dynamo, move.legacyKey))?.id === move.legacy.id;
}

/**
 * A pepper that is not the service's would not fail anything: every lookup item would be written
 * under a key no login computes, and every customer moved would be lost to its logins. Before
 * anything is written, the pepper is tried on the first customer of the new layout the scan finds
 * (every login since the upgrade writes one): false when there is none to try it on.
 */
async function checkPepper(dynamo: Dynamo, pepper: string, pageSize: number): Promise<boolean> {
  for await (const customer of scanCustomers(dynamo, pageSize)) {
    for (const [address, key] of [
      [customer.email, customer.keys.email],
      [customer.phone, customer.keys.sms],
    ] as const) {
      if (!address || !key) continue;
      if (opaqueKey(pepper, 'target', address) !== key) throw new PepperMismatchError(customer.id);
      return true;
    }
  }
  return false;
}
