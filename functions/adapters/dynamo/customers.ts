import { type CancellationReason, GetItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { identifierOf } from '../../core/customers.js';
import { IdentifierExistsError, InvalidCodeError, SessionInvalidError, TargetInUseError } from '../../core/errors.js';
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
      await transact(dynamo, items);
      const linked = { ...customer, keys: { ...customer.keys, [target.channel]: target.targetKey } };
      return target.channel === 'email' ? { ...linked, email: target.address } : { ...linked, phone: target.address };
    } catch (error) {
      const [code, session, lookup, identifier] = cancellationReasons(error).map(
        (reason) => reason.Code === 'ConditionalCheckFailed',
      );
      if (code) throw new InvalidCodeError();
      if (session) throw new SessionInvalidError();
      if (lookup) throw new TargetInUseError();
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
