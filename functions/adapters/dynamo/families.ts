import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Platform, RefreshIssue, SessionFamily, SessionRecord, SessionSummary } from '../../core/ports.js';
import type { Channel, Purpose } from '../../core/purposes.js';
import { STATE_TABLE } from '../../tables.js';
import type { Dynamo } from './client.js';
import { dueEntry, type ExpirySweep } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { retryConflicts } from './retry.js';

/**
 * A session's family item (`family#<sid>`) is the durable record of one login: which session token
 * (and, for login and register, which refresh token) is current, the session's lifetimes, whether it
 * is revoked, and what a listing or an access-token check shows about it. Only family items carry
 * `sessionsOf`, the partition key of the sparse `sessions` index (functions/tables.ts).
 */
const SESSIONS_INDEX = STATE_TABLE.sessionsIndex;
export const SESSIONS_OF = SESSIONS_INDEX.partitionKey;

/** Families ended per revoke-all page at once: enough to be quick, few enough not to throttle one customer. */
const PARALLEL_ENDS = 10;
/** Index items per Query page of a revoke-all. */
const REVOKE_PAGE = 100;

const FAMILY_PREFIX = stateKey.family('');

/** The family a login writes: its session, and its refresh token when it has one. */
export function familyItem(
  session: SessionRecord,
  refresh: RefreshIssue | undefined,
  sweep: ExpirySweep,
): Record<string, unknown> {
  const sid = session.sid as string;
  const pk = stateKey.family(sid);
  // Without a refresh token the family ends with its session.
  const end = refresh?.absoluteExpiresAt ?? session.expiresAt;
  return {
    [STATE_PK]: pk,
    [SESSIONS_OF]: session.customerId,
    customerId: session.customerId,
    currentSessionHash: session.tokenHash,
    currentRefreshHash: refresh?.tokenHash,
    target: session.target,
    channel: session.channel,
    purpose: session.purpose,
    clientId: session.origin.clientId,
    platform: session.origin.platform,
    loginAt: session.issuedAt,
    authTime: session.authTime,
    lastUsedAt: session.issuedAt,
    sessionExpiresAt: session.expiresAt,
    absoluteExpiresAt: end,
    idleUntil: refresh?.idleUntil,
    [TTL]: ttlOf(end),
    ...dueEntry(sweep, pk, end),
  };
}

const text = (item: Record<string, unknown>, name: string) => (typeof item[name] === 'string' ? item[name] : undefined);
const number = (item: Record<string, unknown>, name: string) =>
  typeof item[name] === 'number' ? item[name] : undefined;

/** What the index holds of a family; undefined for a family stored before families recorded it. */
function summaryFrom(item: Record<string, unknown>): SessionSummary | undefined {
  const pk = text(item, STATE_PK);
  const loginAt = number(item, 'loginAt');
  const lastUsedAt = number(item, 'lastUsedAt');
  const sessionExpiresAt = number(item, 'sessionExpiresAt');
  const absoluteExpiresAt = number(item, 'absoluteExpiresAt');
  if (
    !pk?.startsWith(FAMILY_PREFIX) ||
    loginAt === undefined ||
    lastUsedAt === undefined ||
    sessionExpiresAt === undefined ||
    absoluteExpiresAt === undefined
  ) {
    return undefined;
  }
  return {
    sid: pk.slice(FAMILY_PREFIX.length),
    origin: { clientId: text(item, 'clientId'), platform: text(item, 'platform') as Platform | undefined },
    loginAt,
    lastUsedAt,
    sessionExpiresAt,
    absoluteExpiresAt,
    idleUntil: number(item, 'idleUntil'),
    revokedAt: number(item, 'revokedAt'),
  };
}

function familyFrom(item: Record<string, unknown>): SessionFamily | undefined {
  const summary = summaryFrom(item);
  const customerId = text(item, 'customerId');
  const target = text(item, 'target');
  const channel = text(item, 'channel');
  const purpose = text(item, 'purpose');
  if (!summary || !customerId || !target || !channel || !purpose) return undefined;
  return {
    ...summary,
    customerId,
    target,
    channel: channel as Channel,
    purpose: purpose as Purpose,
    authTime: number(item, 'authTime') ?? summary.loginAt,
  };
}

export async function findSession(dynamo: Dynamo, sid: string): Promise<SessionFamily | undefined> {
  const { Item } = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: stateKey.family(sid) }),
      // A revocation must be seen by the very next check.
      ConsistentRead: true,
    }),
  );
  return Item ? familyFrom(unmarshall(Item)) : undefined;
}

/** The families of a customer in the index whose absolute end is after `now`, last-ending first. */
function familiesQuery(dynamo: Dynamo, customerId: string, now: number, limit: number, keysOnly: boolean) {
  return (start: Record<string, AttributeValue> | undefined) =>
    new QueryCommand({
      TableName: dynamo.tables.stateTable,
      IndexName: SESSIONS_INDEX.name,
      KeyConditionExpression: '#of = :customer AND #end > :now',
      ExpressionAttributeNames: {
        '#of': SESSIONS_INDEX.partitionKey,
        '#end': SESSIONS_INDEX.sortKey,
        ...(keysOnly ? { '#pk': STATE_PK } : {}),
      },
      ExpressionAttributeValues: marshall({ ':customer': customerId, ':now': now }),
      ...(keysOnly ? { ProjectionExpression: '#pk' } : {}),
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    });
}

export async function listSessions(
  dynamo: Dynamo,
  customerId: string,
  now: number,
  limit: number,
): Promise<SessionSummary[]> {
  const page = await dynamo.client.send(familiesQuery(dynamo, customerId, now, limit, false)(undefined));
  return (page.Items ?? []).flatMap((item) => summaryFrom(unmarshall(item)) ?? []);
}

/**
 * Revokes every family of the customer that the index lists, page by page (bounded pages, a bounded
 * number at once), each in the race-safe order of endFamily. The index is eventually consistent: a
 * login that completed just before may not be listed yet, and one that completes after the Query is
 * not revoked (core/sessions.ts, revokeAllSessions). A family stored before families were indexed is
 * not listed; its next refresh lists it.
 */
export async function revokeCustomerSessions(dynamo: Dynamo, customerId: string, now: number): Promise<number> {
  const query = familiesQuery(dynamo, customerId, now, REVOKE_PAGE, true);
  let start: Record<string, AttributeValue> | undefined;
  let ended = 0;
  do {
    const page = await dynamo.client.send(query(start));
    const sids = (page.Items ?? []).flatMap((item) => {
      const pk: unknown = unmarshall(item)[STATE_PK];
      return typeof pk === 'string' && pk.startsWith(FAMILY_PREFIX) ? [pk.slice(FAMILY_PREFIX.length)] : [];
    });
    for (let i = 0; i < sids.length; i += PARALLEL_ENDS) {
      const done = await Promise.all(sids.slice(i, i + PARALLEL_ENDS).map((sid) => endFamily(dynamo, sid, now)));
      ended += done.filter((revocation) => revocation !== undefined).length;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return ended;
}

/**
 * Marks a family revoked (keeping the first time), unless the cleanup has removed it already.
 * `unlist` also takes it out of the sessions index: only once its current session is known to be
 * ended too, so that a revoke-all that failed half-way finds it again when retried.
 */
export function familyRevocation(dynamo: Dynamo, sid: string, now: number, unlist: boolean) {
  return {
    TableName: dynamo.tables.stateTable,
    Key: marshall({ [STATE_PK]: stateKey.family(sid) }),
    UpdateExpression: `SET revokedAt = if_not_exists(revokedAt, :now)${unlist ? ' REMOVE #of' : ''}`,
    ConditionExpression: 'attribute_exists(#pk)',
    ExpressionAttributeNames: { '#pk': STATE_PK, ...(unlist ? { '#of': SESSIONS_OF } : {}) },
    ExpressionAttributeValues: marshall({ ':now': now }),
  };
}

/** What revoking a family found: its session at that moment, and whether it was revoked already. */
export interface FamilyRevocation {
  /** The family's current session token hash; undefined for a family that never recorded one. */
  current?: string;
  /** Revoked before this call (by a logout, a reuse, a revoke-all): this call ended nothing new. */
  revokedBefore: boolean;
}

/**
 * Ends a family: no token of it rotates again (the rotation's condition refuses a revoked family).
 * Returns the hash of the family's session at that moment, which can no longer change, so that the
 * caller can end it too; undefined when the family is gone.
 */
export async function revokeFamily(dynamo: Dynamo, sid: string, now: number): Promise<FamilyRevocation | undefined> {
  try {
    const result = await retryConflicts(() =>
      dynamo.client.send(
        // The item before this update: the revocation changes neither the current session nor an
        // earlier revokedAt, and tells whether it was revoked already.
        new UpdateItemCommand({ ...familyRevocation(dynamo, sid, now, false), ReturnValues: 'ALL_OLD' }),
      ),
    );
    const current = result.Attributes?.currentSessionHash?.S;
    return {
      current: typeof current === 'string' ? current : undefined,
      revokedBefore: result.Attributes?.revokedAt !== undefined,
    };
  } catch (error) {
    // Already removed by the cleanup after its end: nothing left to revoke.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return undefined;
  }
}

/**
 * Ends a whole session, in the order that no refresh can outrun: the family is revoked first, which
 * fixes its current session for good; then that session is deleted; then the family leaves the
 * sessions index. Single-item writes, each safe to repeat (a family revoked before is ended again, in
 * case that earlier end stopped half-way). Undefined when the family is gone.
 */
export async function endFamily(dynamo: Dynamo, sid: string, now: number): Promise<FamilyRevocation | undefined> {
  const table = dynamo.tables.stateTable;
  const revocation = await revokeFamily(dynamo, sid, now);
  if (revocation === undefined) return undefined;
  const { current } = revocation;
  if (current !== undefined) {
    await retryConflicts(() =>
      dynamo.client.send(
        new DeleteItemCommand({ TableName: table, Key: marshall({ [STATE_PK]: stateKey.session(current) }) }),
      ),
    );
  }
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: marshall({ [STATE_PK]: stateKey.family(sid) }),
          UpdateExpression: 'REMOVE #of',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': STATE_PK, '#of': SESSIONS_OF },
        }),
      ),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  return revocation;
}
