import { GetItemCommand, type PutItemCommandInput, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { RefreshIssue, RefreshRecord, RefreshRotation, SessionRecord } from '../../core/ports.js';
import type { Dynamo } from './client.js';
import { dueEntry, type ExpirySweep } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { endFamily, familyItem, SESSIONS_OF } from './families.js';
import { cancellationReasons, transact } from './retry.js';
import { sessionFrom, sessionItem } from './sessions.js';

/**
 * Refresh tokens rotate (OAuth 2.0 Security BCP, 4.14): each use gives a new one, and presenting a
 * used one again revokes the whole session. A login's refresh tokens form a family (`sid`); one
 * family item says which refresh token and session are current, so that rotating is one condition
 * on it (two parallel refreshes with one token: one wins) and theft is told from a stale token by
 * that same condition. Each refresh token's own item keeps a copy of the session it was issued with,
 * so that a refresh reads one item before it writes.
 */

const marshalled = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true });

function refreshItem(
  sweep: ExpirySweep,
  tokenHash: string,
  session: SessionRecord,
  absoluteExpiresAt: number,
  sessionTtlSeconds?: number,
) {
  const pk = stateKey.refresh(tokenHash);
  return {
    ...sessionItem(session, sweep),
    [STATE_PK]: pk,
    sessionHash: session.tokenHash,
    absoluteExpiresAt,
    sessionTtlSeconds,
    // Kept until the family ends, used or not: a used token presented later must still be known.
    [TTL]: ttlOf(absoluteExpiresAt),
    ...dueEntry(sweep, pk, absoluteExpiresAt),
  };
}

/**
 * What a login writes for its session's family: the family item, which goes into the login's
 * transaction, and, for a login with a refresh token (login, register), the token's own item, which
 * does not. The family is what makes a refresh token work: a refresh reads the token's item, then
 * rotates by a condition on the family item (its current refresh token, not revoked, not ended), in
 * the transaction that also writes everything the refresh makes. A token item whose family was
 * never written (its login's transaction was refused or failed) therefore leads nowhere: the
 * rotation is refused on the missing family, the refresh answers 401 and writes nothing
 * (refreshSession), as for any unknown token. And the token reaches its caller only once both writes
 * are done (login.ts). So the token's item is a plain put sent beside the transaction, one write
 * unit instead of two, in no extra round trip.
 */
export function loginFamily(
  dynamo: Dynamo,
  session: SessionRecord,
  refresh?: RefreshIssue,
): { family: TransactWriteItem; refreshToken?: PutItemCommandInput } {
  const family: TransactWriteItem = {
    Put: {
      TableName: dynamo.tables.stateTable,
      Item: marshalled(familyItem(session, refresh, dynamo)),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': STATE_PK },
    },
  };
  if (!refresh) return { family };
  return {
    family,
    refreshToken: {
      TableName: dynamo.tables.stateTable,
      Item: marshalled(
        refreshItem(dynamo, refresh.tokenHash, session, refresh.absoluteExpiresAt, refresh.sessionTtlSeconds),
      ),
    },
  };
}

/**
 * The family's update of a rotation: the new refresh token and session become current, and what a
 * listing shows moves with them. A family stored before families recorded their sessions gets the
 * rest from the presented token's copy of the session, and joins the sessions index
 * (`loginAt` is then that session's issue time, the best this token knows of its login).
 */
function rotationUpdate(rotation: RefreshRotation): {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const { presented, newSession } = rotation;
  const old = presented.session;
  const set = [
    'currentRefreshHash = :next',
    'currentSessionHash = :session',
    'idleUntil = :idle',
    'lastUsedAt = :now',
    'sessionExpiresAt = :sessionEnd',
    '#sessionsOf = :customer',
  ];
  // Names, not the attributes themselves: some (such as these) may be DynamoDB reserved words.
  const names: Record<string, string> = { '#sessionsOf': SESSIONS_OF };
  const values: Record<string, unknown> = {
    ':next': rotation.newRefreshHash,
    ':session': newSession.tokenHash,
    ':idle': rotation.idleUntil,
    ':now': rotation.now,
    ':sessionEnd': newSession.expiresAt,
    ':customer': newSession.customerId,
    ':presented': presented.tokenHash,
  };
  const keep: [string, unknown][] = [
    ['target', old.target],
    ['channel', old.channel],
    ['purpose', old.purpose],
    ['clientId', old.origin.clientId],
    ['platform', old.origin.platform],
    ['authTime', old.authTime],
    ['loginAt', old.issuedAt],
  ];
  for (const [name, value] of keep) {
    if (value === undefined || value === '') continue;
    set.push(`#${name} = if_not_exists(#${name}, :${name})`);
    names[`#${name}`] = name;
    values[`:${name}`] = value;
  }
  return { expression: `SET ${set.join(', ')}`, names, values };
}

/**
 * The rotation's write of the presented token's session: marked revoked, with what a logout needs to
 * end its family (`sid`) and what lets it expire (its expiry, TTL and due entry). Those are set only
 * where missing, so that on the stored item (the usual case) they stay as they are and the due index
 * is not written; where the cleanup has already removed the expired item, the update writes it again
 * whole, as a tombstone that expires at once rather than a stray item.
 */
function tombstone(dynamo: Dynamo, session: SessionRecord, now: number) {
  const pk = stateKey.session(session.tokenHash);
  // A tombstone written again after the cleanup removed the item files itself under this hour: its
  // own expiry may lie further back than the cleanup ever looks (functions/core/cleanup.ts).
  const removal = Math.max(session.expiresAt, now);
  const kept: Record<string, unknown> = {
    sid: session.sid,
    expiresAt: session.expiresAt,
    [TTL]: ttlOf(removal),
    ...dueEntry(dynamo, pk, removal),
  };
  const names: Record<string, string> = { '#revokedAt': 'revokedAt' };
  const values: Record<string, unknown> = { ':now': now };
  const set = ['#revokedAt = :now'];
  Object.entries(kept).forEach(([name, value], index) => {
    names[`#k${index}`] = name;
    values[`:k${index}`] = value;
    set.push(`#k${index} = if_not_exists(#k${index}, :k${index})`);
  });
  return {
    TableName: dynamo.tables.stateTable,
    Key: marshall({ [STATE_PK]: pk }),
    UpdateExpression: `SET ${set.join(', ')}`,
    ConditionExpression: 'attribute_not_exists(#revokedAt)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: marshalled(values),
  };
}

export async function findRefresh(dynamo: Dynamo, refreshHash: string): Promise<RefreshRecord | undefined> {
  const result = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: stateKey.refresh(refreshHash) }),
      ConsistentRead: true,
    }),
  );
  if (!result.Item) return undefined;
  const item = unmarshall(result.Item);
  const session = sessionFrom(String(item.sessionHash ?? ''), item);
  if (!session.sid) return undefined;
  return {
    tokenHash: refreshHash,
    sid: session.sid,
    session,
    absoluteExpiresAt: Number(item.absoluteExpiresAt ?? 0),
    sessionTtlSeconds: typeof item.sessionTtlSeconds === 'number' ? item.sessionTtlSeconds : undefined,
  };
}

export async function rotateRefresh(
  dynamo: Dynamo,
  rotation: RefreshRotation,
): Promise<'rotated' | 'reused' | 'refused'> {
  const { presented, newSession, now } = rotation;
  const table = dynamo.tables.stateTable;
  const familyKey = marshall({ [STATE_PK]: stateKey.family(presented.sid) });
  const update = rotationUpdate(rotation);
  try {
    await transact(dynamo, [
      {
        Update: {
          TableName: table,
          Key: familyKey,
          UpdateExpression: update.expression,
          ConditionExpression:
            'currentRefreshHash = :presented AND attribute_not_exists(revokedAt) AND absoluteExpiresAt > :now AND idleUntil > :now',
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: marshall(update.values),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      // The presented token's session is kept as a revoked tombstone rather than deleted: GET refuses
      // it like any revoked token, and a logout with it still finds its family and ends the session
      // this rotation makes (sessions.ts, revokeSession). It goes with its own expiry, by TTL or the
      // cleanup. A revoked session's refresh token does not rotate.
      { Update: tombstone(dynamo, presented.session, now) },
      {
        Put: {
          TableName: table,
          Item: marshalled(sessionItem(newSession, dynamo)),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': STATE_PK },
        },
      },
      // The new refresh token's item stays in the transaction, unlike a login's (loginFamily): were it
      // a put beside it that failed after the rotation passed, the caller, answered an error, would
      // come back with the token the rotation used up, which reads as reuse and ends the login.
      {
        Put: {
          TableName: table,
          Item: marshalled(
            refreshItem(
              dynamo,
              rotation.newRefreshHash,
              newSession,
              presented.absoluteExpiresAt,
              presented.sessionTtlSeconds,
            ),
          ),
        },
      },
    ]);
    return 'rotated';
  } catch (error) {
    const [familyReason, oldSessionReason] = cancellationReasons(error);
    // The family first: a used token's session is a tombstone, so its condition fails too on a reuse.
    if (familyReason?.Code !== 'ConditionalCheckFailed') {
      if (oldSessionReason?.Code === 'ConditionalCheckFailed') return 'refused';
      throw error;
    }
    const family = familyReason.Item ? unmarshall(familyReason.Item) : undefined;
    if (!family || family.revokedAt !== undefined || family.currentRefreshHash === presented.tokenHash)
      return 'refused';
    // A token of this family that is no longer current was presented: it was used before, by the
    // client or by a thief. Either way nobody can tell which, so the whole session ends, in the
    // order that no rotation can outrun (families.ts, endFamily).
    await endFamily(dynamo, presented.sid, now);
    return 'reused';
  }
}
