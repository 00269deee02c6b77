import { type CancellationReason, GetItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { identifierOf } from '../../core/customers.js';
import { IdentifierExistsError, InvalidCodeError, SessionInvalidError, TargetInUseError } from '../../core/errors.js';
import { otherKeys } from '../../core/peppers.js';
import type { Customer, Owner, Platform, TargetLink, TargetRef } from '../../core/ports.js';
import type { Channel } from '../../core/purposes.js';
import type { Dynamo } from './client.js';
import { consumeCode } from './codes.js';
import { CUSTOMER_PK, customerKey, STATE_PK, stateKey } from './keys.js';
import { cancellationReasons, transact } from './retry.js';

/**
 * Customers: `customer#<id>` holds the profile and its identifiers, `target#<keyed hash>` says which
 * customer a target belongs to. Every write that gives a target to a customer is conditional on that
 * lookup item, and every write that changes a customer's identifier on the identifier it had.
 */

/** Rounds a use case tries again when a concurrent write moved what it read (a target, an identifier). */
export const CUSTOMER_TRIES = 4;

const FIELD: Record<Channel, { value: string; key: string }> = {
  email: { value: 'email', key: 'emailKey' },
  sms: { value: 'phone', key: 'phoneKey' },
};

export async function findOwner(dynamo: Dynamo, target: TargetRef): Promise<Owner | undefined> {
  const lookup = await getItem(dynamo, customerKey.target(target.targetKey));
  if (lookup) return { customerId: String(lookup.customerId) };
  // Only on a miss, and only during a pepper rotation (core/peppers.ts): the lookup item keyed with
  // the pepper before (re-keyed by the use case before it writes), or with the coming one (written by
  // a function that already holds it as current; left where it is). Each key is read after the one
  // before it missed: a re-key moves the item from the previous key to the current one in one
  // transaction, so a reader that missed the current key and then misses the previous one as well
  // finds the current key taken when it writes (its writes are conditional on it).
  if (target.previousKey !== undefined) {
    const previous = await getItem(dynamo, customerKey.target(target.previousKey));
    if (previous) return { customerId: String(previous.customerId), previousKey: target.previousKey };
  }
  if (target.nextKey !== undefined) {
    const next = await getItem(dynamo, customerKey.target(target.nextKey));
    if (next) return { customerId: String(next.customerId) };
  }
  // Only on a miss: a customer stored before keys were hashed, moved by its next write.
  const legacy = await getItem(dynamo, customerKey.legacy(target.address));
  return legacy ? { customerId: String(legacy.id), legacy: legacyCustomerFrom(legacy) } : undefined;
}

export async function getCustomer(dynamo: Dynamo, customerId: string): Promise<Customer | undefined> {
  const item = await getItem(dynamo, customerKey.customer(customerId));
  return item ? customerFrom(item) : undefined;
}

async function getItem(dynamo: Dynamo, pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.customersTable,
      Key: marshall({ [CUSTOMER_PK]: pk }),
      // A target just given to another customer must be seen by the next find.
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

/**
 * The customer item and its lookup item, as a login that creates the customer (or moves a legacy one)
 * writes them: both conditional on not existing, so that of two logins creating a customer for one
 * target, one wins and the other learns the winner's id from the lookup item (ALL_OLD).
 */
export function newCustomerItems(dynamo: Dynamo, target: TargetRef, customer: Customer): TransactWriteItem[] {
  return [
    {
      Put: {
        TableName: dynamo.tables.customersTable,
        Item: marshall(lookupItem(target, customer.id)),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Put: {
        TableName: dynamo.tables.customersTable,
        Item: marshall(customerItem(customer, { [target.channel]: target.targetKey }), { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
      },
    },
  ];
}

/**
 * During a pepper rotation (core/peppers.ts): the target's lookup item must not exist under any of
 * its other keys (or, with `customerId`, must be that customer's), so that a function keyed with one
 * pepper never gives a target a customer while a function keyed with the other has given it one.
 * Appended after a transaction's own items, so that their cancellation reasons keep their indexes.
 * Each costs a condition check (2 write units), only while a rotation is under way.
 */
export function otherKeyChecks(dynamo: Dynamo, target: TargetRef, customerId?: string): TransactWriteItem[] {
  return otherKeys(target).map((key) => ({
    ConditionCheck: {
      TableName: dynamo.tables.customersTable,
      Key: marshall({ [CUSTOMER_PK]: customerKey.target(key) }),
      ConditionExpression:
        customerId === undefined ? 'attribute_not_exists(#pk)' : 'attribute_not_exists(#pk) OR customerId = :id',
      ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
      ...(customerId === undefined ? {} : { ExpressionAttributeValues: marshall({ ':id': customerId }) }),
    },
  }));
}

/** Whether a transaction was refused by one of its `otherKeyChecks`, which start at `from`. */
export function refusedByOtherKey(reasons: CancellationReason[], from: number): boolean {
  return reasons.slice(from).some((reason) => reason.Code === 'ConditionalCheckFailed');
}

/**
 * Moves a customer's lookup item from the key of the pepper before a rotation to the target's
 * current key, and the customer's record of its key (`emailKey` / `phoneKey`) with it, in one
 * transaction: the new item only if the current key is free, the old one only if it is still this
 * customer's, the customer only if it still holds the target. So at every moment exactly one of the
 * two keys gives the target to the customer, and two re-keys (logins in parallel, a login and the
 * re-key command) make one move. Returns the id of whoever holds the current key afterwards: this
 * customer, or another that took it meanwhile (the rotation's race with a stale function, which the
 * re-key command reports). Costs 3 items, 6 write units, once per target and rotation.
 */
export async function rekeyCustomer(
  dynamo: Dynamo,
  target: TargetRef,
  customerId: string,
  previousKey: string,
): Promise<string> {
  return (await moveLookupItem(dynamo, target, customerId, previousKey)).customerId;
}

/** rekeyCustomer, saying also whether this call made the move (`moved`) or found it made or refused. */
export async function moveLookupItem(
  dynamo: Dynamo,
  target: TargetRef,
  customerId: string,
  previousKey: string,
): Promise<{ customerId: string; moved: boolean; reason?: 'taken' | 'gone' | 'changed' }> {
  const field = FIELD[target.channel];
  try {
    await transact(dynamo, [
      {
        Put: {
          TableName: dynamo.tables.customersTable,
          Item: marshall(lookupItem(target, customerId)),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Delete: {
          TableName: dynamo.tables.customersTable,
          Key: marshall({ [CUSTOMER_PK]: customerKey.target(previousKey) }),
          ConditionExpression: 'customerId = :id',
          ExpressionAttributeValues: marshall({ ':id': customerId }),
        },
      },
      {
        Update: {
          TableName: dynamo.tables.customersTable,
          Key: marshall({ [CUSTOMER_PK]: customerKey.customer(customerId) }),
          UpdateExpression: 'SET #key = :key',
          ConditionExpression: 'attribute_exists(#pk) AND #field = :target',
          ExpressionAttributeNames: { '#pk': CUSTOMER_PK, '#field': field.value, '#key': field.key },
          ExpressionAttributeValues: marshall({ ':target': target.address, ':key': target.targetKey }),
        },
      },
    ]);
    return { customerId, moved: true };
  } catch (error) {
    const reasons = cancellationReasons(error);
    // The current key is taken: by this customer (another re-key won), or by another one.
    const holder = ownerFromRefusedLookup(reasons[0]);
    if (holder !== undefined) return { customerId: holder, moved: false, reason: 'taken' };
    // The old item went (another re-key, or an update-* gave the target up): whoever holds it now.
    if (reasons[1]?.Code === 'ConditionalCheckFailed' || reasons[2]?.Code === 'ConditionalCheckFailed') {
      const owner = await findOwner(dynamo, { ...target, previousKey: undefined });
      if (owner) return { customerId: owner.customerId, moved: false, reason: 'taken' };
      return { customerId, moved: false, reason: reasons[1]?.Code === 'ConditionalCheckFailed' ? 'gone' : 'changed' };
    }
    throw error;
  }
}

/** The winner's id when a `newCustomerItems` lookup was refused because the target has an owner. */
export function ownerFromRefusedLookup(reason: CancellationReason | undefined): string | undefined {
  if (reason?.Code !== 'ConditionalCheckFailed' || !reason.Item) return undefined;
  const customerId: unknown = unmarshall(reason.Item).customerId;
  return typeof customerId === 'string' ? customerId : undefined;
}

export async function migrateLegacyCustomer(
  dynamo: Dynamo,
  target: TargetRef,
  legacy: Customer,
  legacyKey?: string,
): Promise<string> {
  return (await moveLegacyCustomer(dynamo, target, legacy, legacyKey)).customerId;
}

/**
 * migrateLegacyCustomer, saying also whether this call made the move (`moved`) or found it made by
 * another writer (a login, another run of the migration). `legacyKey` is the key the customer is
 * stored under when it is not the normalised target (an e-mail stored with upper-case letters
 * before addresses were lower-cased). `conditions` (ConditionChecks on other items) join the move's
 * transaction after its three items, so their cancellation reasons start at index 3; a move refused
 * by one of them alone is thrown, for the caller to read.
 */
export async function moveLegacyCustomer(
  dynamo: Dynamo,
  target: TargetRef,
  legacy: Customer,
  legacyKey = customerKey.legacy(target.address),
  conditions: TransactWriteItem[] = [],
): Promise<{ customerId: string; moved: boolean }> {
  try {
    await transact(dynamo, [
      ...newCustomerItems(dynamo, target, legacy),
      {
        Delete: {
          TableName: dynamo.tables.customersTable,
          Key: marshall({ [CUSTOMER_PK]: legacyKey }),
          ConditionExpression: 'id = :id',
          ExpressionAttributeValues: marshall({ ':id': legacy.id }),
        },
      },
      ...conditions,
    ]);
    return { customerId: legacy.id, moved: true };
  } catch (error) {
    const reasons = cancellationReasons(error);
    // Another writer moved it first (or a login already gave the target a lookup item).
    const owner = ownerFromRefusedLookup(reasons[0]);
    if (owner !== undefined) return { customerId: owner, moved: false };
    if (reasons[2]?.Code === 'ConditionalCheckFailed') {
      const now = await findOwner(dynamo, target);
      if (now && !now.legacy) return { customerId: now.customerId, moved: false };
    }
    throw error;
  }
}

/** `loginCount` and the last login's origin as a login sets them on an existing customer. */
export function loginUpdate(
  dynamo: Dynamo,
  customerId: string,
  target: TargetRef,
  login: { now: number; sid?: string; origin: { clientId?: string; sourceIp?: string; platform?: Platform } },
): TransactWriteItem {
  // REMOVE what this login did not come with, so that the last login's origin is never mixed with an
  // older one's.
  const set = ['lastLoginAt = :now'];
  const remove: string[] = [];
  const values: Record<string, unknown> = { ':now': login.now, ':one': 1, ':target': target.address };
  for (const [attribute, value] of [
    ['lastClientId', login.origin.clientId],
    ['lastIp', login.origin.sourceIp],
    ['lastPlatform', login.origin.platform],
    ['lastLoginSid', login.sid],
  ] as const) {
    if (value === undefined) remove.push(attribute);
    else {
      set.push(`${attribute} = :${attribute}`);
      values[`:${attribute}`] = value;
    }
  }
  return {
    Update: {
      TableName: dynamo.tables.customersTable,
      Key: marshall({ [CUSTOMER_PK]: customerKey.customer(customerId) }),
      UpdateExpression: `SET ${set.join(', ')} ADD loginCount :one${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      // The login's target must still be this customer's: an update-* may have just moved it away.
      ConditionExpression: `attribute_exists(#pk) AND #field = :target`,
      ExpressionAttributeNames: { '#pk': CUSTOMER_PK, '#field': FIELD[target.channel].value },
      ExpressionAttributeValues: marshall(values),
    },
  };
}

/**
 * Gives the target to the session's customer (TargetLink). Reads the customer first for the
 * identifier it replaces; a concurrent change of that identifier fails the condition, and the link
 * is tried again with what is there then.
 */
export async function linkTarget(dynamo: Dynamo, link: TargetLink): Promise<Customer> {
  const { target } = link;
  const field = FIELD[target.channel];
  for (let round = 1; ; round++) {
    const customer = await getCustomer(dynamo, link.customerId);
    if (!customer) throw new SessionInvalidError();
    const current = identifierOf(customer, target.channel);
    if (!link.replace && current !== null && current !== target.address) {
      throw new IdentifierExistsError(target.channel);
    }
    const currentKey = current === null ? undefined : customer.keys[target.channel];
    const items: TransactWriteItem[] = [
      consumeCode(dynamo, link.code, link.codeHash, link.now),
      {
        ConditionCheck: {
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: stateKey.session(link.sessionHash) }),
          ConditionExpression:
            'attribute_exists(#pk) AND customerId = :id AND expiresAt > :now AND attribute_not_exists(revokedAt)',
          ExpressionAttributeNames: { '#pk': STATE_PK },
          ExpressionAttributeValues: marshall({ ':id': link.customerId, ':now': link.now }),
        },
      },
      {
        Put: {
          TableName: dynamo.tables.customersTable,
          Item: marshall(lookupItem(target, link.customerId)),
          ConditionExpression: 'attribute_not_exists(#pk) OR customerId = :id',
          ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
          ExpressionAttributeValues: marshall({ ':id': link.customerId }),
        },
      },
      {
        Update: {
          TableName: dynamo.tables.customersTable,
          Key: marshall({ [CUSTOMER_PK]: customerKey.customer(link.customerId) }),
          UpdateExpression: 'SET #field = :target, #key = :key',
          ConditionExpression: `attribute_exists(#pk) AND ${current === null ? 'attribute_not_exists(#field)' : '#field = :current'}`,
          ExpressionAttributeNames: { '#pk': CUSTOMER_PK, '#field': field.value, '#key': field.key },
          ExpressionAttributeValues: marshall({
            ':target': target.address,
            ':key': target.targetKey,
            ...(current === null ? {} : { ':current': current }),
          }),
        },
      },
    ];
    // During a pepper rotation: the target must not belong to another customer under another key.
    const checks = otherKeyChecks(dynamo, target, link.customerId);
    if (currentKey !== undefined && current !== target.address) {
      // The replaced identifier is free again: its lookup item goes with it.
      items.push({
        Delete: {
          TableName: dynamo.tables.customersTable,
          Key: marshall({ [CUSTOMER_PK]: customerKey.target(currentKey) }),
          ConditionExpression: 'customerId = :id',
          ExpressionAttributeValues: marshall({ ':id': link.customerId }),
        },
      });
    }
    try {
      await transact(dynamo, [...items, ...checks]);
      const linked = { ...customer, keys: { ...customer.keys, [target.channel]: target.targetKey } };
      return target.channel === 'email' ? { ...linked, email: target.address } : { ...linked, phone: target.address };
    } catch (error) {
      const reasons = cancellationReasons(error);
      const [code, session, lookup, identifier] = reasons.map((reason) => reason.Code === 'ConditionalCheckFailed');
      if (code) throw new InvalidCodeError();
      if (session) throw new SessionInvalidError();
      if (lookup || (checks.length > 0 && refusedByOtherKey(reasons, items.length))) throw new TargetInUseError();
      // The identifier changed since it was read: read it again.
      if (!identifier || round >= CUSTOMER_TRIES) throw error;
    }
  }
}

function lookupItem(target: TargetRef, customerId: string) {
  return { [CUSTOMER_PK]: customerKey.target(target.targetKey), customerId, channel: target.channel };
}

/** The customer as stored under its id; `keys` names the lookup items of its identifiers. */
export function customerItem(
  customer: Customer,
  keys: Partial<Record<Channel, string>> = customer.keys,
): Record<string, unknown> {
  return {
    [CUSTOMER_PK]: customerKey.customer(customer.id),
    id: customer.id,
    email: customer.email ?? undefined,
    emailKey: keys.email,
    phone: customer.phone ?? undefined,
    phoneKey: keys.sms,
    // No attribute for no name, not an empty string.
    name: customer.name || undefined,
    createdAt: customer.createdAt,
    verifiedAt: customer.verifiedAt,
    lastLoginAt: customer.lastLoginAt,
    lastLoginSid: customer.lastLoginSid,
    loginCount: customer.loginCount,
    lastClientId: customer.lastLogin?.clientId,
    lastIp: customer.lastLogin?.sourceIp,
    lastPlatform: customer.lastLogin?.platform,
  };
}

const text = (item: Record<string, unknown>, name: string) => (typeof item[name] === 'string' ? item[name] : undefined);
const number = (item: Record<string, unknown>, name: string) =>
  typeof item[name] === 'number' ? item[name] : undefined;

function loginFields(item: Record<string, unknown>) {
  return {
    name: text(item, 'name') ?? null,
    createdAt: number(item, 'createdAt') ?? 0,
    lastLoginAt: number(item, 'lastLoginAt'),
    loginCount: number(item, 'loginCount'),
    lastLogin: {
      clientId: text(item, 'lastClientId'),
      sourceIp: text(item, 'lastIp'),
      platform: text(item, 'lastPlatform') as Platform | undefined,
    },
  };
}

export function customerFrom(item: Record<string, unknown>): Customer {
  const fields = loginFields(item);
  return {
    id: text(item, 'id') ?? '',
    email: text(item, 'email') ?? null,
    phone: text(item, 'phone') ?? null,
    keys: { email: text(item, 'emailKey'), sms: text(item, 'phoneKey') },
    ...fields,
    verifiedAt: number(item, 'verifiedAt') ?? fields.createdAt,
    lastLoginSid: text(item, 'lastLoginSid'),
  };
}

/** A customer stored under its plain target, with one identifier: the channel it logged in with. */
export function legacyCustomerFrom(item: Record<string, unknown>): Customer {
  const address = text(item, CUSTOMER_PK) ?? '';
  const fields = loginFields(item);
  return {
    id: text(item, 'id') ?? '',
    email: item.channel === 'email' ? address : null,
    phone: item.channel === 'sms' ? address : null,
    keys: {},
    ...fields,
    // Its first verification was its creation: customers exist only once verified.
    verifiedAt: fields.createdAt,
  };
}
