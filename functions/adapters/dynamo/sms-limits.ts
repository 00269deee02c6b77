import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { BreakerSample, BreakerWindowRef, SmsReservation } from '../../core/ports.js';
import { breakerWindowOf, shardOrder, shardShare, type WindowCounts } from '../../core/sms-protection.js';
import { HOUR_MS, type Window, windowOf } from '../../core/windows.js';
import type { Dynamo } from './client.js';
import { dueEntry, dueUpdate } from './due-index.js';
import { STATE_PK, stateKey, TTL, ttlOf } from './keys.js';
import { retryConflicts } from './retry.js';
import { stampUntil } from './stamps.js';
import type { Counter, ShardedCounter } from './send-limits.js';

const num = (item: Record<string, unknown>, name: string): number | undefined =>
  typeof item[name] === 'number' ? item[name] : undefined;

/**
 * The caps an SMS is counted against (API.md, send 429 reasons), for reserveSend's one write: its
 * number block's hour, and, spread over shards, its country's hour (where a breaker pause is stamped
 * too), the deployment's hour and the client's own caps.
 */
export function smsCounters(
  dynamo: Dynamo,
  sms: SmsReservation,
  now: number,
  hour: Window,
): { fixed: Counter[]; sharded: ShardedCounter[] } {
  const fixed: Counter[] = [];
  const sharded: ShardedCounter[] = [];
  const cap = (pk: string, limit: number, refused: Counter['refusal'], extra?: PauseCheck): Counter =>
    hourlyCap(dynamo, { pk, limit, now, hour, refused, pause: extra });
  const hourly = (limit: SendRefusalLimit) => () => ({ limit, until: hour.end });

  if (sms.perCountryPerHour > 0 || sms.checkPause) {
    const limit = sms.perCountryPerHour;
    sharded.push({
      // Without a cap the country's items still carry the pause: any shard will do.
      order: shardOrder(limit > 0 ? limit : sms.shards, sms.shards),
      on: (shard) =>
        cap(
          stateKey.smsCountry(sms.country, hour.index, shard),
          limit > 0 ? shardShare(limit, sms.shards, shard) : 0,
          (item) => {
            const pausedUntil = num(item, 'pausedUntil') ?? 0;
            return pausedUntil > now
              ? { limit: 'country-paused', until: pausedUntil }
              : { limit: 'country-hourly', until: hour.end };
          },
          sms.checkPause ? 'checked' : undefined,
        ),
    });
  }
  if (sms.perPrefixPerHour > 0) {
    fixed.push(cap(stateKey.smsBlock(sms.blockKey, hour.index), sms.perPrefixPerHour, hourly('prefix-hourly')));
  }
  const shardedCap = (limit: number, pkOf: (shard: number) => string, refused: SendRefusalLimit) => {
    if (limit > 0) {
      sharded.push({
        order: shardOrder(limit, sms.shards),
        on: (shard) => cap(pkOf(shard), shardShare(limit, sms.shards, shard), hourly(refused)),
      });
    }
  };
  shardedCap(sms.perHour, (shard) => stateKey.smsDeployment(hour.index, shard), 'sms-hourly');
  const client = sms.client;
  if (client) {
    shardedCap(client.perHour, (shard) => stateKey.smsClient(client.id, hour.index, shard), 'client-sms-hourly');
    shardedCap(
      client.perCountryPerHour,
      (shard) => stateKey.smsClientCountry(client.id, sms.country, hour.index, shard),
      'client-country-hourly',
    );
  }
  return { fixed, sharded };
}

type SendRefusalLimit = ReturnType<Counter['refusal']>['limit'];
type PauseCheck = 'checked';

/** One hour's count on one item: `limit` 0 counts without a cap (the item is there for its pause). */
function hourlyCap(
  dynamo: Dynamo,
  cap: { pk: string; limit: number; now: number; hour: Window; refused: Counter['refusal']; pause?: PauseCheck },
): Counter {
  const conditions: string[] = [];
  if (cap.limit > 0) conditions.push('(attribute_not_exists(#count) OR #count < :limit)');
  if (cap.pause) conditions.push('(attribute_not_exists(#paused) OR #paused <= :now)');
  const due = dueUpdate(dynamo, cap.pk, cap.hour.end);
  return {
    update: {
      TableName: dynamo.tables.stateTable,
      Key: marshall({ [STATE_PK]: cap.pk }),
      UpdateExpression: `ADD #count :one SET ${['#ttl = :ttl', ...due.set].join(', ')}`,
      ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
      ExpressionAttributeNames: {
        '#count': 'sends',
        '#ttl': TTL,
        ...(cap.pause ? { '#paused': 'pausedUntil' } : {}),
        ...due.names,
      },
      ExpressionAttributeValues: marshall({
        ':one': 1,
        ':ttl': ttlOf(cap.hour.end),
        ...due.values,
        ...(cap.limit > 0 ? { ':limit': cap.limit } : {}),
        ...(cap.pause ? { ':now': cap.now } : {}),
      }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
    refusal: cap.refused,
  };
}

/**
 * Stamps a country's pause on its hourly items (every shard, every hour the pause reaches), which
 * reserveSend checks anyway: a paused country costs a send no extra read. Created where no SMS has
 * counted yet, with the expiry those SMS would give it, so that its index entry is written once.
 */
export async function pauseCountry(
  dynamo: Dynamo,
  country: string,
  now: number,
  until: number,
  shards: number,
): Promise<void> {
  const hours: Window[] = [];
  for (let at = windowOf(now, HOUR_MS).start; at < until; at += HOUR_MS) hours.push(windowOf(at, HOUR_MS));
  await Promise.all(
    hours.flatMap((hour) =>
      Array.from({ length: shards }, (_, shard) =>
        stampUntil(dynamo, stateKey.smsCountry(country, hour.index, shard), 'pausedUntil', until, hour.end),
      ),
    ),
  );
}

/** The breaker window an SMS sent at `ref.at` counts in, and when its items may go. */
function windowItemsOf(ref: BreakerWindowRef): { index: number; start: number; expiresAt: number } {
  const window = breakerWindowOf(ref.at, ref.windowMs);
  // Read as the previous window until the next one ends, and a code sent near its end may be
  // verified after that.
  return { index: window.index, start: window.start, expiresAt: window.end + ref.windowMs + HOUR_MS };
}

const shardCounts = (item: Record<string, unknown>): WindowCounts => {
  const firstAt = num(item, 'firstAt');
  return {
    sent: num(item, 'sent') ?? 0,
    verified: num(item, 'verified') ?? 0,
    ...(firstAt === undefined ? {} : { firstAt }),
  };
};

/**
 * Adds one to a count on a random shard of the window `ref.at` falls in, creating the shard with the
 * window's expiry; an SMS sent also records when the window's first one was. The shard as it is now.
 */
async function countOnRandomShard(
  dynamo: Dynamo,
  ref: BreakerWindowRef,
  attribute: 'sent' | 'verified',
): Promise<{ shard: number; item: Record<string, unknown> }> {
  const { index, expiresAt } = windowItemsOf(ref);
  const shard = Math.floor(Math.random() * ref.shards);
  const pk = stateKey.breaker(ref.country, index, shard);
  const first = attribute === 'sent';
  const due = dueUpdate(dynamo, pk, expiresAt);
  const set = [...(first ? ['#first = if_not_exists(#first, :now)'] : []), '#ttl = :ttl', ...due.set];
  const result = await retryConflicts(() =>
    dynamo.client.send(
      new UpdateItemCommand({
        TableName: dynamo.tables.stateTable,
        Key: marshall({ [STATE_PK]: pk }),
        UpdateExpression: `ADD #count :one SET ${set.join(', ')}`,
        ExpressionAttributeNames: {
          '#count': attribute,
          '#ttl': TTL,
          ...(first ? { '#first': 'firstAt' } : {}),
          ...due.names,
        },
        ExpressionAttributeValues: marshall({
          ':one': 1,
          ':ttl': ttlOf(expiresAt),
          ...due.values,
          ...(first ? { ':now': ref.at } : {}),
        }),
        ReturnValues: first ? 'ALL_NEW' : 'NONE',
      }),
    ),
  );
  return { shard, item: result.Attributes ? unmarshall(result.Attributes) : {} };
}

/** Counts an SMS in its country's breaker window, on a random shard; that shard as the count left it. */
export async function countSmsSent(dynamo: Dynamo, ref: BreakerWindowRef): Promise<BreakerSample> {
  const { shard, item } = await countOnRandomShard(dynamo, ref, 'sent');
  const judgedUntil = num(item, 'judgedUntil');
  return { shard, ...shardCounts(item), ...(judgedUntil === undefined ? {} : { judgedUntil }) };
}

/** Takes back an SMS that could not be delivered, from the shard that counted it (if it is still there). */
export async function uncountSmsSent(dynamo: Dynamo, ref: BreakerWindowRef, shard: number): Promise<void> {
  const pk = stateKey.breaker(ref.country, windowItemsOf(ref).index, shard);
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: dynamo.tables.stateTable,
          Key: marshall({ [STATE_PK]: pk }),
          UpdateExpression: 'ADD #sent :minusOne',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#sent': 'sent', '#pk': STATE_PK },
          ExpressionAttributeValues: marshall({ ':minusOne': -1 }),
        }),
      ),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Counts a verified code on a random shard of the window it was sent in. */
export async function countSmsVerified(dynamo: Dynamo, ref: BreakerWindowRef): Promise<void> {
  await countOnRandomShard(dynamo, ref, 'verified');
}

/** Every shard of a country's breaker window and of the one before it, added up. */
export async function breakerWindows(
  dynamo: Dynamo,
  ref: BreakerWindowRef,
): Promise<{ current: WindowCounts; previous: WindowCounts }> {
  const { index, start } = windowItemsOf(ref);
  const previousIndex = breakerWindowOf(start - 1, ref.windowMs).index;
  const table = dynamo.tables.stateTable;
  const pks = [index, previousIndex].flatMap((window) =>
    Array.from({ length: ref.shards }, (_, shard) => stateKey.breaker(ref.country, window, shard)),
  );
  let keys = pks.map((pk) => marshall({ [STATE_PK]: pk }));
  const totals = new Map<number, WindowCounts>([
    [index, { sent: 0, verified: 0 }],
    [previousIndex, { sent: 0, verified: 0 }],
  ]);
  for (let round = 0; keys.length > 0; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** Math.min(round, 6)));
    const result = await dynamo.client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys } } }));
    for (const raw of result.Responses?.[table] ?? []) {
      const item = unmarshall(raw);
      const window = pks.indexOf(String(item[STATE_PK])) < ref.shards ? index : previousIndex;
      const total = totals.get(window) as WindowCounts;
      const counts = shardCounts(item);
      total.sent += counts.sent;
      total.verified += counts.verified;
      if (counts.firstAt !== undefined && (total.firstAt === undefined || counts.firstAt < total.firstAt)) {
        total.firstAt = counts.firstAt;
      }
    }
    keys = result.UnprocessedKeys?.[table]?.Keys ?? [];
  }
  return { current: totals.get(index) as WindowCounts, previous: totals.get(previousIndex) as WindowCounts };
}

/** Stamps `judgedUntil` on one shard of the window, or on every shard (`shard` undefined). */
export async function deferBreaker(
  dynamo: Dynamo,
  ref: BreakerWindowRef,
  shard: number | undefined,
  until: number,
): Promise<void> {
  const { index, expiresAt } = windowItemsOf(ref);
  const shards = shard === undefined ? Array.from({ length: ref.shards }, (_, i) => i) : [shard];
  await Promise.all(
    shards.map((each) => {
      const pk = stateKey.breaker(ref.country, index, each);
      const due = dueUpdate(dynamo, pk, expiresAt);
      return retryConflicts(() =>
        dynamo.client.send(
          new UpdateItemCommand({
            TableName: dynamo.tables.stateTable,
            Key: marshall({ [STATE_PK]: pk }),
            UpdateExpression: `SET ${['#judged = :until', '#ttl = :ttl', ...due.set].join(', ')}`,
            ExpressionAttributeNames: { '#judged': 'judgedUntil', '#ttl': TTL, ...due.names },
            ExpressionAttributeValues: marshall({
              ':until': until,
              ':ttl': ttlOf(expiresAt),
              ...due.values,
            }),
          }),
        ),
      );
    }),
  );
}

/**
 * Claims a country's trip until `until`: true for the first claim while no earlier one lasts. The
 * window's shards then carry `judgedUntil`, which countSmsSent returns, so that the sends after it
 * stop judging (and reading) until then.
 */
export async function claimBreakerTrip(dynamo: Dynamo, ref: BreakerWindowRef, until: number): Promise<boolean> {
  const pk = stateKey.breakerTrip(ref.country);
  try {
    await retryConflicts(() =>
      dynamo.client.send(
        new PutItemCommand({
          TableName: dynamo.tables.stateTable,
          Item: marshall({ [STATE_PK]: pk, until, [TTL]: ttlOf(until), ...dueEntry(dynamo, pk, until) }),
          ConditionExpression: 'attribute_not_exists(#pk) OR #until <= :now',
          ExpressionAttributeNames: { '#pk': STATE_PK, '#until': 'until' },
          ExpressionAttributeValues: marshall({ ':now': ref.at }),
        }),
      ),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
  await deferBreaker(dynamo, ref, undefined, until);
  return true;
}
