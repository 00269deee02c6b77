import {
  ConditionalCheckFailedException,
  type AttributeValue,
  type Update,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SendRefusal, SendReservation } from '../../core/ports.js';
import { DAY_MS, HOUR_MS, type Window, windowOf } from '../../core/windows.js';
import type { Dynamo } from './client.js';
import { dueUpdate } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { cancellationReasons, isConflict, retryConflicts, transact } from './retry.js';
import { smsCounters } from './sms-limits.js';
import { stampUntil } from './stamps.js';

/** Until when a mailbox's new codes must be token-bound (core/guesses.ts), on its send counters. */
const TOKEN_ONLY = 'tokenOnlyUntil';

export interface Counter {
  update: Update;
  /** Which limit refused the send, from the counter's item as it was. */
  refusal: (old: Record<string, unknown>) => SendRefusal;
}

/**
 * A counter spread over shards (adapters/dynamo/sms-limits.ts): the shards in the order this send
 * tries them, and the counter on one of them.
 */
export interface ShardedCounter {
  order: number[];
  on: (shard: number) => Counter;
}

/**
 * Counts one send against every limit in a single conditional write: the mailbox's hour, day and
 * cooldown live on one item per UTC day; near midnight the next day's item carries the cooldown;
 * the source IP has an item per hour; an SMS adds its caps (sms-limits.ts). With more than one item
 * the write is a transaction, so a send refused by one limit is counted by none. Returns the limit
 * that refused it, if one did. A full shard of a sharded cap sends the send on to the next shard.
 */
export async function reserveSend(dynamo: Dynamo, request: SendReservation): Promise<SendRefusal | undefined> {
  const day = windowOf(request.now, DAY_MS);
  const hour = windowOf(request.now, HOUR_MS);
  const fixed = [targetCounter(dynamo, request, day, hour)];
  if (request.cooldownSeconds > 0 && request.now + request.cooldownSeconds * 1000 > day.end) {
    fixed.push(cooldownCarry(dynamo, request, windowOf(day.end, DAY_MS)));
  }
  if (request.ipKey) fixed.push(ipCounter(dynamo, request.ipKey, request, hour));
  const sms = request.sms ? smsCounters(dynamo, request.sms, request.now, hour) : { fixed: [], sharded: [] };
  fixed.push(...sms.fixed);
  const tried = sms.sharded.map(() => 0);
  for (;;) {
    const counters = [
      ...fixed,
      ...sms.sharded.map((counter, index) => counter.on(counter.order[tried[index] ?? 0] ?? 0)),
    ];
    const refusal = await countOnce(dynamo, request, counters);
    if (!refusal) return undefined;
    const shardedIndex = refusal.index - fixed.length;
    const sharded = sms.sharded[shardedIndex];
    const next = (tried[shardedIndex] ?? 0) + 1;
    // Refused only once every shard is full, so that the shards together let exactly the limit
    // through; the extra tries happen only at the cap, and only when nothing else refused.
    if (!sharded || refusal.refusal.limit === 'country-paused' || next >= sharded.order.length) {
      return refusal.refusal;
    }
    tried[shardedIndex] = next;
  }
}

/** One try: the counters in one write; which one refused, if one did. */
async function countOnce(
  dynamo: Dynamo,
  request: SendReservation,
  counters: Counter[],
): Promise<{ index: number; refusal: SendRefusal } | undefined> {
  const [only] = counters;
  try {
    if (only && counters.length === 1)
      await retryConflicts(() => dynamo.client.send(new UpdateItemCommand(only.update)));
    else
      await transact(
        dynamo,
        counters.map((counter) => ({ Update: counter.update })),
      );
    return undefined;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException && only)
      return { index: 0, refusal: only.refusal(old(error.Item)) };
    const reasons = cancellationReasons(error);
    const index = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
    const refused = counters[index];
    if (refused) return { index, refusal: refused.refusal(old(reasons[index]?.Item)) };
    // Still colliding after the retries: someone is hammering this mailbox or network.
    if (isConflict(error)) return { index: -1, refusal: { limit: 'contended', until: request.now + 1000 } };
    throw error;
  }
}

const old = (item: Record<string, AttributeValue> | undefined) => (item ? unmarshall(item) : {});
const num = (item: Record<string, unknown>, name: string): number | undefined =>
  typeof item[name] === 'number' ? item[name] : undefined;

function targetCounter(dynamo: Dynamo, request: SendReservation, day: Window, hour: Window): Counter {
  const { now, perHour, perDay } = request;
  const cooldownMs = request.cooldownSeconds * 1000;
  const pk = stateKey.sendCounter(request.mailboxKey, day.index);
  const hourAttribute = `h${hour.index - day.index * 24}`;
  const conditions = [
    '(attribute_not_exists(#locked) OR #locked <= :now)',
    '(attribute_not_exists(#day) OR #day < :perDay)',
    '(attribute_not_exists(#hour) OR #hour < :perHour)',
  ];
  if (cooldownMs > 0) conditions.push('(attribute_not_exists(#last) OR #last <= :cooldownEdge)');
  // A mailbox past the open half of its wrong codes gets token-bound codes (core/guesses.ts): a send
  // that does not store one is refused, and tried again as one, so that no send pays a read for it.
  if (!request.tokenBound) conditions.push('(attribute_not_exists(#tokenOnly) OR #tokenOnly <= :now)');
  const due = dueUpdate(dynamo, pk, day.end + cooldownMs);
  return {
    update: {
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: pk }),
      UpdateExpression: `ADD #day :one, #hour :one SET ${['#last = :now', '#ttl = :ttl', ...due.set].join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: {
        '#day': 'day',
        '#hour': hourAttribute,
        '#last': 'lastSentAt',
        '#locked': 'lockedUntil',
        '#ttl': TTL,
        ...(request.tokenBound ? {} : { '#tokenOnly': TOKEN_ONLY }),
        ...due.names,
      },
      ExpressionAttributeValues: marshall({
        ':one': 1,
        ':perDay': perDay,
        ':perHour': perHour,
        ':now': now,
        ':ttl': ttlOf(day.end + cooldownMs),
        ...due.values,
        ...(cooldownMs > 0 ? { ':cooldownEdge': now - cooldownMs } : {}),
      }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
    refusal: (item) => {
      const lockedUntil = num(item, 'lockedUntil') ?? 0;
      if (lockedUntil > now) return { limit: 'target-locked', until: lockedUntil };
      if ((num(item, 'day') ?? 0) >= perDay) return { limit: 'target-daily', until: day.end };
      if ((num(item, hourAttribute) ?? 0) >= perHour) return { limit: 'target-hourly', until: hour.end };
      const lastSentAt = num(item, 'lastSentAt');
      const tokenOnlyUntil = num(item, TOKEN_ONLY) ?? 0;
      const cooling = cooldownMs > 0 && lastSentAt !== undefined && lastSentAt > now - cooldownMs;
      if (!request.tokenBound && tokenOnlyUntil > now && !cooling)
        return { limit: 'token-bound', until: tokenOnlyUntil };
      return { limit: 'cooldown', until: (lastSentAt ?? now) + cooldownMs };
    },
  };
}

/** In the last seconds of a UTC day, the next day's item must hold the cooldown too. */
function cooldownCarry(dynamo: Dynamo, request: SendReservation, next: Window): Counter {
  const cooldownMs = request.cooldownSeconds * 1000;
  const pk = stateKey.sendCounter(request.mailboxKey, next.index);
  const due = dueUpdate(dynamo, pk, next.end + cooldownMs);
  return {
    update: {
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: pk }),
      // Expiry as the next day's own sends will set it, so its index entry is written once.
      UpdateExpression: `SET ${['#last = :now', '#ttl = :ttl', ...due.set].join(', ')}`,
      ConditionExpression: 'attribute_not_exists(#last) OR #last <= :cooldownEdge',
      ExpressionAttributeNames: { '#last': 'lastSentAt', '#ttl': TTL, ...due.names },
      ExpressionAttributeValues: marshall({
        ':now': request.now,
        ':ttl': ttlOf(next.end + cooldownMs),
        ':cooldownEdge': request.now - cooldownMs,
        ...due.values,
      }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
    refusal: (item) => ({ limit: 'cooldown', until: (num(item, 'lastSentAt') ?? request.now) + cooldownMs }),
  };
}

function ipCounter(dynamo: Dynamo, ipKey: string, request: SendReservation, hour: Window): Counter {
  const pk = stateKey.ipCounter(ipKey, hour.index);
  const due = dueUpdate(dynamo, pk, hour.end);
  return {
    update: {
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: pk }),
      UpdateExpression: `ADD #count :one SET ${['#ttl = :ttl', ...due.set].join(', ')}`,
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
      ExpressionAttributeNames: { '#count': 'sends', '#ttl': TTL, ...due.names },
      ExpressionAttributeValues: marshall({
        ':one': 1,
        ':limit': request.perIpPerHour,
        ':ttl': ttlOf(hour.end),
        ...due.values,
      }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
    refusal: () => ({ limit: 'ip-hourly', until: hour.end }),
  };
}

/**
 * Refuses sends to a mailbox until `until`, stamped on the send counters that `reserveSend` checks
 * anyway, so that sends pay no extra read for the lock. A lock lasts at most a day, so it covers
 * today's counter and possibly tomorrow's.
 */
export async function lockSends(
  dynamo: Dynamo,
  mailboxKey: string,
  now: number,
  until: number,
  cooldownSeconds: number,
  attribute: 'lockedUntil' | typeof TOKEN_ONLY = 'lockedUntil',
): Promise<void> {
  const cooldownMs = cooldownSeconds * 1000;
  const days = [...new Map([now, until].map((t) => windowOf(t, DAY_MS)).map((day) => [day.index, day])).values()];
  await Promise.all(
    // Expiry as the day's own sends set it.
    days.map((day) =>
      stampUntil(dynamo, stateKey.sendCounter(mailboxKey, day.index), attribute, until, day.end + cooldownMs),
    ),
  );
}

/** Ends a mailbox's token-bound stage (its run of wrong codes ended): today's counter and tomorrow's. */
export async function endTokenOnly(dynamo: Dynamo, mailboxKey: string, now: number): Promise<void> {
  const today = windowOf(now, DAY_MS);
  await Promise.all(
    [today.index, today.index + 1].map((dayIndex) =>
      retryConflicts(() =>
        dynamo.client.send(
          new UpdateItemCommand({
            TableName: dynamo.tables.stateTable,
            Key: marshall({ [STATE_PK]: stateKey.sendCounter(mailboxKey, dayIndex) }),
            UpdateExpression: 'REMOVE #tokenOnly',
            ConditionExpression: 'attribute_exists(#tokenOnly)',
            ExpressionAttributeNames: { '#tokenOnly': TOKEN_ONLY },
          }),
        ),
      ).catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }),
    ),
  );
}
