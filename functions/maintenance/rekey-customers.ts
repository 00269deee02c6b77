/**
 * After a pepper rotation (README, "Rotating the pepper"): moves every customer's lookup items
 * (`target#<keyed hash>`, functions/adapters/dynamo/keys.ts) from the key of the pepper the rotation
 * replaced to the key of the current one, so that the previous pepper can be dropped. A login re-keys
 * its own customer on its way (functions/adapters/dynamo/login.ts); this re-keys the customers that
 * do not log in before the previous pepper is dropped, who would otherwise never be found again by
 * their e-mail or phone, and get a second customer at their next login.
 *
 * Safe while the service is live: each move is rekeyCustomer's one conditional transaction
 * (functions/adapters/dynamo/customers.ts), the same a login makes, so a login at the same moment
 * finds the customer under one key or the other, never neither, and never creates it again.
 * Idempotent: a second run finds nothing left to move.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Dynamo } from '../adapters/dynamo/client.js';
import { customerFrom, moveLookupItem } from '../adapters/dynamo/customers.js';
import { CUSTOMER_PK, customerKey } from '../adapters/dynamo/keys.js';
import { isConflict } from '../adapters/dynamo/retry.js';
import { opaqueKey } from '../core/codes.js';
import type { Channel } from '../core/purposes.js';
import { getItem, scanCustomers, scanCustomerTable } from './customer-scan.js';
import { DEFAULT_PAGE_SIZE } from './migrate-customers.js';

export interface RekeyOptions {
  client: DynamoDBClient;
  /** The customers table (the stack output CustomersTableName in AWS). */
  tableName: string;
  /** The current pepper (the secret's AWSCURRENT) and the one the rotation replaced (AWSPREVIOUS). */
  pepper: string;
  previousPepper: string;
  /** Reports what would change and writes nothing. */
  dryRun?: boolean;
  /** Items per Scan page (1..1000). */
  pageSize?: number;
}

/** An identifier left under the previous pepper's key because the current key gives it to another customer. */
export interface RekeyConflict {
  customerId: string;
  channel: Channel;
  /** The address, in full: a person resolves the conflict (README, "Rotating the pepper"). */
  address: string;
  /** Whom the current key gives it to. */
  ownerId: string;
}

export interface RekeySummary {
  dryRun: boolean;
  /** Customers read (items `customer#…`). */
  customers: number;
  /** Identifiers moved to the current pepper's key (in a dry run: would be). */
  rekeyed: number;
  /** Identifiers already under the current pepper's key. */
  current: number;
  conflicts: RekeyConflict[];
  /**
   * Identifiers whose key is neither pepper's: the peppers given are not the stack's (nothing is
   * written then), or the customer changed meanwhile. Customer ids.
   */
  unknownKeys: string[];
  /** Lookup items whose customer does not name them (left over, or the customer is gone): their keys. */
  strays: string[];
  /** Still contended by other transactions after the retries, or changed meanwhile; run it again. */
  unfinished: number;
}

/** The peppers given are not the stack's: nothing was written. */
export class RekeyPepperMismatchError extends Error {
  override readonly name = 'RekeyPepperMismatchError';
  constructor(customerId: string) {
    super(
      `Neither pepper given gives the lookup key stored for customer ${customerId}: ` +
        "they are not this stack's current and previous peppers. Nothing was written.",
    );
  }
}

const CUSTOMER_PREFIX = customerKey.customer('');
const TARGET_PREFIX = customerKey.target('');
const IDENTIFIERS = [
  ['email', 'email'],
  ['sms', 'phone'],
] as const;

export async function rekeyCustomers(options: RekeyOptions): Promise<RekeySummary> {
  const { tableName, pepper, previousPepper } = options;
  const dryRun = options.dryRun ?? false;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new RangeError(`pageSize must be an integer from 1 to 1000 (got ${pageSize}).`);
  }
  if (pepper === previousPepper)
    throw new Error('The current and the previous pepper are the same: nothing to re-key.');
  const dynamo: Dynamo = {
    client: options.client,
    tables: { stateTable: '', customersTable: tableName, clientsTable: '' },
  };
  await checkPeppers(dynamo, pepper, previousPepper, pageSize);
  const summary: RekeySummary = {
    dryRun,
    customers: 0,
    rekeyed: 0,
    current: 0,
    conflicts: [],
    unknownKeys: [],
    strays: [],
    unfinished: 0,
  };
  for await (const item of scanCustomerTable(dynamo, pageSize)) {
    const pk = String(item[CUSTOMER_PK]);
    if (pk.startsWith(CUSTOMER_PREFIX)) {
      summary.customers++;
      await rekeyOne(dynamo, customerFrom(item), { pepper, previousPepper, dryRun }, summary);
    } else if (pk.startsWith(TARGET_PREFIX) && (await isStray(dynamo, pk))) {
      summary.strays.push(pk);
    }
  }
  return summary;
}

async function rekeyOne(
  dynamo: Dynamo,
  customer: ReturnType<typeof customerFrom>,
  run: { pepper: string; previousPepper: string; dryRun: boolean },
  summary: RekeySummary,
): Promise<void> {
  for (const [channel, field] of IDENTIFIERS) {
    const address = customer[field];
    const stored = customer.keys[channel];
    if (!address || !stored) continue;
    const targetKey = opaqueKey(run.pepper, 'target', address);
    if (stored === targetKey) {
      summary.current++;
      continue;
    }
    if (stored !== opaqueKey(run.previousPepper, 'target', address)) {
      summary.unknownKeys.push(customer.id);
      continue;
    }
    const target = { targetKey, address, channel };
    if (run.dryRun) {
      const holder = await getItem(dynamo, customerKey.target(targetKey));
      const ownerId = typeof holder?.customerId === 'string' ? holder.customerId : undefined;
      if (ownerId !== undefined && ownerId !== customer.id) {
        summary.conflicts.push({ customerId: customer.id, channel, address, ownerId });
      } else summary.rekeyed++;
      continue;
    }
    try {
      const moved = await moveLookupItem(dynamo, target, customer.id, stored);
      if (moved.moved) summary.rekeyed++;
      else if (moved.customerId !== customer.id) {
        summary.conflicts.push({ customerId: customer.id, channel, address, ownerId: moved.customerId });
      } else if (moved.reason === 'taken') summary.current++;
      else summary.unfinished++;
    } catch (error) {
      // transact() has already retried; left for the next run rather than stopping the whole scan.
      if (!isConflict(error)) throw error;
      summary.unfinished++;
    }
  }
}

/**
 * A lookup item, still there, that its customer does not name as its key. A login may re-key the
 * customer between the reads (the old item goes in the same transaction as the customer changes):
 * the item is read once more after the customer, and is a stray only if it is still there.
 */
async function isStray(dynamo: Dynamo, pk: string): Promise<boolean> {
  // Read again: the page was read before this run re-keyed its customers, which deleted old items.
  const item = await getItem(dynamo, pk);
  if (!item) return false;
  const customerId = typeof item.customerId === 'string' ? item.customerId : '';
  const owner = await getItem(dynamo, customerKey.customer(customerId));
  const keys = owner ? Object.values(customerFrom(owner).keys) : [];
  if (keys.some((key) => key !== undefined && customerKey.target(key) === pk)) return false;
  return (await getItem(dynamo, pk))?.customerId === customerId;
}

/**
 * Before anything is written, the first customer the scan finds must be keyed with one of the two
 * peppers: peppers that are not the stack's would find no key to move, and report every customer.
 */
async function checkPeppers(dynamo: Dynamo, pepper: string, previousPepper: string, pageSize: number): Promise<void> {
  for await (const customer of scanCustomers(dynamo, pageSize)) {
    for (const [channel, field] of IDENTIFIERS) {
      const address = customer[field];
      const key = customer.keys[channel];
      if (!address || !key) continue;
      if (key !== opaqueKey(pepper, 'target', address) && key !== opaqueKey(previousPepper, 'target', address)) {
        throw new RekeyPepperMismatchError(customer.id);
      }
      return;
    }
  }
}
