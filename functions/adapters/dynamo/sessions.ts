import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Platform, SessionRecord } from '../../core/ports.js';
import type { Channel, Purpose } from '../../core/purposes.js';
import type { Dynamo } from './client.js';
import { dueEntry, type ExpirySweep } from './due-index.js';
import { endFamily, familyRevocation } from './families.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { cancellationReasons, retryConflicts, transact } from './retry.js';

/** The session as stored; written by the login transaction (login.ts). */
export function sessionItem(session: SessionRecord, sweep: ExpirySweep): Record<string, unknown> {
  const pk = stateKey.session(session.tokenHash);
  return {
    [STATE_PK]: pk,
    customerId: session.customerId,
    target: session.target,
    channel: session.channel,
    purpose: session.purpose,
    sid: session.sid,
    issuedAt: session.issuedAt,
    authTime: session.authTime,
    expiresAt: session.expiresAt,
    clientId: session.origin.clientId,
    sourceIp: session.origin.sourceIp,
    platform: session.origin.platform,
    [TTL]: ttlOf(session.expiresAt),
    ...dueEntry(sweep, pk, session.expiresAt),
  };
}

export async function getSession(dynamo: Dynamo, tokenHash: string): Promise<SessionRecord | undefined> {
  const result = await dynamo.client.send(
    new GetItemCommand({
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: stateKey.session(tokenHash) }),
      // A revocation must be seen by the very next check.
      ConsistentRead: true,
    }),
  );
  if (!result.Item) return undefined;
  return sessionFrom(tokenHash, unmarshall(result.Item));
}

/** A session from its stored attributes (a session item, or the copy on a refresh item). */
export function sessionFrom(tokenHash: string, item: Record<string, unknown>): SessionRecord {
  return {
    tokenHash,
    sid: typeof item.sid === 'string' ? item.sid : undefined,
    customerId: typeof item.customerId === 'string' ? item.customerId : '',
    target: typeof item.target === 'string' ? item.target : '',
    channel: item.channel as Channel,
    purpose: item.purpose as Purpose,
    issuedAt: Number(item.issuedAt ?? 0),
    // Sessions written before authTime was recorded stand on the verification that issued them.
    authTime: Number(item.authTime ?? item.issuedAt ?? 0),
    expiresAt: Number(item.expiresAt ?? 0),
    revokedAt: typeof item.revokedAt === 'number' ? item.revokedAt : undefined,
    origin: {
      clientId: typeof item.clientId === 'string' ? item.clientId : undefined,
      sourceIp: typeof item.sourceIp === 'string' ? item.sourceIp : undefined,
      platform: typeof item.platform === 'string' ? (item.platform as Platform) : undefined,
    },
  };
}

/**
 * A session named by its token's hash, or (`{ sid }`, for an access token) by its id.
 *
 * By its token: false when the session is unknown, expired or already revoked. A session with a
 * family is revoked together with the family in one transaction, so that no refresh slips in between
 * and no failure leaves the refresh token working; the family leaves the sessions index with it. A
 * token that no longer validates but names its family still ends that family and its current session
 * (and answers false, as the token is no longer valid): an expired one, and one that a refresh has
 * rotated away, which the rotation keeps as a revoked tombstone (refresh.ts), also when the refresh
 * lands between this read and the transaction below.
 *
 * By its id: ends the family and its current session (endFamily); false when the family is gone or
 * was revoked already.
 */
export async function revokeSession(dynamo: Dynamo, which: string | { sid: string }, now: number): Promise<boolean> {
  if (typeof which !== 'string') {
    const ended = await endFamily(dynamo, which.sid, now);
    return ended !== undefined && !ended.revokedBefore;
  }
  const tokenHash = which;
  const key = marshall({ [STATE_PK]: stateKey.session(tokenHash) });
  const { Item } = await dynamo.client.send(
    new GetItemCommand({ TableName: dynamo.tables.stateTable, Key: key, ConsistentRead: true }),
  );
  if (!Item) return false;
  const session = sessionFrom(tokenHash, unmarshall(Item));
  const live = session.revokedAt === undefined && session.expiresAt > now;
  if (!live) {
    if (session.sid) await endFamily(dynamo, session.sid, now);
    return false;
  }
  const revoke = {
    TableName: dynamo.tables.stateTable,
    Key: key,
    UpdateExpression: 'SET revokedAt = :now',
    ConditionExpression: 'attribute_exists(#pk) AND expiresAt > :now AND attribute_not_exists(revokedAt)',
    ExpressionAttributeNames: { '#pk': STATE_PK },
    ExpressionAttributeValues: marshall({ ':now': now }),
  };
  try {
    if (!session.sid) {
      await retryConflicts(() => dynamo.client.send(new UpdateItemCommand(revoke)));
      return true;
    }
    await transact(dynamo, [
      { Update: revoke },
      // A live session's family lives at least as long (the session is capped at its end).
      { Update: familyRevocation(dynamo, session.sid, now, true) },
    ]);
    return true;
  } catch (error) {
    const refused =
      error instanceof ConditionalCheckFailedException ||
      cancellationReasons(error)[0]?.Code === 'ConditionalCheckFailed';
    if (!refused) throw error;
    // A refresh rotated this token away, or another revoke ended it, after the read: this token is no
    // longer a live session, but its login must still end, whatever session the refresh made.
    if (session.sid) await endFamily(dynamo, session.sid, now);
    return false;
  }
}
