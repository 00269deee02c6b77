import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  type Update,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { InvalidCodeError, RateLimitedError } from '../core/errors.js';
import type {
  AttemptOutcome,
  Customer,
  FailureCount,
  LoginCompletion,
  OtpStore,
  SendReservation,
  SessionRecord,
  StoredCode,
} from '../core/ports.js';
import type { Channel, Purpose } from '../core/purposes.js';
import { DAY_MS, HOUR_MS, secondsUntil, type Window, windowOf } from '../core/windows.js';
import { CUSTOMERS_TABLE, STATE_TABLE } from '../tables.js';

type Item = Record<string, AttributeValue>;

const PK = STATE_TABLE.partitionKey;
const TTL = STATE_TABLE.timeToLiveAttribute;
const CUSTOMER_PK = CUSTOMERS_TABLE.partitionKey;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const ttlOf = (epochMs: number): AttributeValue => N(Math.ceil(epochMs / 1000));
const str = (item: Item, name: string): string | undefined => item[name]?.S;
const num = (item: Item, name: string): number | undefined =>
  item[name]?.N === undefined ? undefined : Number(item[name].N);

/** Writes that collide with a transaction in flight are tried this often before giving up. */
const CONFLICT_TRIES = 5;

export interface TableNames {
  stateTable: string;
  customersTable: string;
}

/**
 * DynamoDB implementation of the store. Every rule that must hold under concurrency is a condition
 * expression evaluated by DynamoDB, never a read followed by a write, and expiry is always part of
 * the condition because TTL deletion is lazy.
 */
export class DynamoOtpStore implements OtpStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: TableNames,
  ) {}

  /**
   * Counts one send against every limit in a single conditional write: the target's hour, day and
   * cooldown live on one item per UTC day; near midnight the next day's item carries the cooldown;
   * the source IP has an item per hour. With more than one item the write is a transaction, so a send
   * refused by one limit is counted by none.
   */
  async reserveSend(request: SendReservation): Promise<void> {
    const day = windowOf(request.now, DAY_MS);
    const hour = windowOf(request.now, HOUR_MS);
    const counters = [this.targetCounter(request, day, hour)];
    if (request.cooldownSeconds > 0 && request.now + request.cooldownSeconds * 1000 > day.end) {
      counters.push(this.cooldownCarry(request, windowOf(day.end, DAY_MS)));
    }
    if (request.ipKey) counters.push(this.ipCounter(request.ipKey, request, hour));
    const [only] = counters;
    try {
      if (only && counters.length === 1) await this.write(() => this.client.send(new UpdateItemCommand(only.update)));
      else await this.transact(counters.map((counter) => ({ Update: counter.update })));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && only) throw only.refusal(error.Item ?? {});
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        const index = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
        const refused = counters[index];
        if (refused) throw refused.refusal(reasons[index]?.Item ?? {});
      }
      // Still colliding after the retries: someone is hammering this target or network.
      if (isConflict(error)) throw new RateLimitedError('Too many codes requested for this target at once.', 1);
      throw error;
    }
  }

  private targetCounter(request: SendReservation, day: Window, hour: Window): Counter {
    const { now, perHour, perDay } = request;
    const cooldownMs = request.cooldownSeconds * 1000;
    const hourAttribute = `h${hour.index - day.index * 24}`;
    const conditions = [
      '(attribute_not_exists(#locked) OR #locked <= :now)',
      '(attribute_not_exists(#day) OR #day < :perDay)',
      '(attribute_not_exists(#hour) OR #hour < :perHour)',
    ];
    if (cooldownMs > 0) conditions.push('(attribute_not_exists(#last) OR #last <= :cooldownEdge)');
    return {
      update: {
        TableName: this.tables.stateTable,
        Key: { [PK]: S(`send#${request.targetKey}#${day.index}`) },
        UpdateExpression: `ADD #day :one, #hour :one SET #last = :now, #ttl = :ttl, ${DUE_SET}`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: {
          '#day': 'day',
          '#hour': hourAttribute,
          '#last': 'lastSentAt',
          '#locked': 'lockedUntil',
          '#ttl': TTL,
          ...DUE_NAMES,
        },
        ExpressionAttributeValues: {
          ':one': N(1),
          ':perDay': N(perDay),
          ':perHour': N(perHour),
          ':now': N(now),
          ':ttl': ttlOf(day.end + cooldownMs),
          ...dueValues(`send#${request.targetKey}#${day.index}`, day.end + cooldownMs),
          ...(cooldownMs > 0 ? { ':cooldownEdge': N(now - cooldownMs) } : {}),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      refusal: (old) => {
        const lockedUntil = num(old, 'lockedUntil') ?? 0;
        if (lockedUntil > now) {
          return new RateLimitedError(
            'Too many wrong codes for this target. Try again later.',
            secondsUntil(now, lockedUntil),
          );
        }
        if ((num(old, 'day') ?? 0) >= perDay) {
          return new RateLimitedError('Daily limit of codes for this target reached.', secondsUntil(now, day.end));
        }
        if ((num(old, hourAttribute) ?? 0) >= perHour) {
          return new RateLimitedError('Hourly limit of codes for this target reached.', secondsUntil(now, hour.end));
        }
        return cooldownRefusal(now, num(old, 'lastSentAt') ?? now, cooldownMs);
      },
    };
  }

  /** In the last seconds of a UTC day, the next day's item must hold the cooldown too. */
  private cooldownCarry(request: SendReservation, next: Window): Counter {
    const cooldownMs = request.cooldownSeconds * 1000;
    return {
      update: {
        TableName: this.tables.stateTable,
        Key: { [PK]: S(`send#${request.targetKey}#${next.index}`) },
        // Expiry as the next day's own sends will set it, so its index entry is written once.
        UpdateExpression: `SET #last = :now, #ttl = :ttl, ${DUE_SET}`,
        ConditionExpression: 'attribute_not_exists(#last) OR #last <= :cooldownEdge',
        ExpressionAttributeNames: { '#last': 'lastSentAt', '#ttl': TTL, ...DUE_NAMES },
        ExpressionAttributeValues: {
          ':now': N(request.now),
          ':ttl': ttlOf(next.end + cooldownMs),
          ':cooldownEdge': N(request.now - cooldownMs),
          ...dueValues(`send#${request.targetKey}#${next.index}`, next.end + cooldownMs),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      refusal: (old) => cooldownRefusal(request.now, num(old, 'lastSentAt') ?? request.now, cooldownMs),
    };
  }

  private ipCounter(ipKey: string, request: SendReservation, hour: Window): Counter {
    return {
      update: {
        TableName: this.tables.stateTable,
        Key: { [PK]: S(`ip#${ipKey}#${hour.index}`) },
        UpdateExpression: `ADD #count :one SET #ttl = :ttl, ${DUE_SET}`,
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'sends', '#ttl': TTL, ...DUE_NAMES },
        ExpressionAttributeValues: {
          ':one': N(1),
          ':limit': N(request.perIpPerHour),
          ':ttl': ttlOf(hour.end),
          ...dueValues(`ip#${ipKey}#${hour.index}`, hour.end),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      refusal: () =>
        new RateLimitedError('Too many codes requested from this network.', secondsUntil(request.now, hour.end)),
    };
  }

  async saveCode(code: StoredCode): Promise<void> {
    await this.write(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tables.stateTable,
          Item: {
            [PK]: S(code.codeKey),
            codeHash: S(code.codeHash),
            attempts: N(0),
            channel: S(code.channel),
            sentAt: N(code.sentAt),
            expiresAt: N(code.expiresAt),
            [TTL]: ttlOf(code.expiresAt),
            ...dueEntry(code.codeKey, code.expiresAt),
          },
        }),
      ),
    );
  }

  async discardCode(codeKey: string, codeHash: string): Promise<void> {
    try {
      await this.write(() =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tables.stateTable,
            Key: { [PK]: S(codeKey) },
            ConditionExpression: 'codeHash = :hash',
            ExpressionAttributeValues: { ':hash': S(codeHash) },
          }),
        ),
      );
    } catch (error) {
      // A newer code replaced this one: it is not ours to delete.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async recordAttempt(codeKey: string, now: number, maxAttempts: number): Promise<AttemptOutcome> {
    try {
      const result = await this.write(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tables.stateTable,
            Key: { [PK]: S(codeKey) },
            UpdateExpression: 'ADD attempts :one',
            ConditionExpression: 'attribute_exists(#pk) AND attempts < :max AND expiresAt > :now',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':one': N(1), ':max': N(maxAttempts), ':now': N(now) },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      const item = result.Attributes ?? {};
      return { kind: 'counted', codeHash: str(item, 'codeHash') ?? '', channel: str(item, 'channel') as Channel };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item;
      if (!old || (num(old, 'expiresAt') ?? 0) <= now) return { kind: 'missing' };
      return { kind: 'exhausted' };
    }
  }

  async findCustomer(target: string): Promise<Customer | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tables.customersTable, Key: { [CUSTOMER_PK]: S(target) } }),
    );
    return result.Item ? customerFrom(result.Item) : undefined;
  }

  async completeLogin(login: LoginCompletion): Promise<{ customer: Customer; isNew: boolean }> {
    let { session, customer, isNew } = login;
    for (;;) {
      try {
        await this.transact(this.loginItems(login, session, isNew ? customer : undefined));
        return { customer, isNew };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [codeReason, , customerReason] = error.CancellationReasons ?? [];
        if (codeReason?.Code === 'ConditionalCheckFailed') throw new InvalidCodeError();
        if (!isNew || customerReason?.Code !== 'ConditionalCheckFailed' || !customerReason.Item) throw error;
        // Another login created this customer first: the session belongs to that one.
        customer = customerFrom(customerReason.Item);
        session = { ...session, customerId: customer.id };
        isNew = false;
      }
    }
  }

  /** Consecutive failed verifications of a target, while the last one is under a day old. */
  async failures(targetKey: string, now: number): Promise<FailureCount> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tables.stateTable, Key: { [PK]: S(`fails#${targetKey}`) } }),
    );
    const expiresAt = num(result.Item ?? {}, 'expiresAt') ?? 0;
    return expiresAt > now
      ? { count: num(result.Item ?? {}, 'failures') ?? 0, expiresAt }
      : { count: 0, expiresAt: now };
  }

  async recordFailure(targetKey: string, now: number, windowMs: number): Promise<number> {
    const key = { [PK]: S(`fails#${targetKey}`) };
    const values = { ':now': N(now), ':expiresAt': N(now + windowMs), ':ttl': ttlOf(now + windowMs) };
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.write(() =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.tables.stateTable,
              Key: key,
              UpdateExpression: `ADD failures :one SET expiresAt = :expiresAt, #ttl = :ttl, ${DUE_SET}`,
              ConditionExpression: 'attribute_not_exists(#pk) OR expiresAt > :now',
              ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL, ...DUE_NAMES },
              ExpressionAttributeValues: {
                ...values,
                ':one': N(1),
                ...dueValues(`fails#${targetKey}`, now + windowMs),
              },
              ReturnValues: 'UPDATED_NEW',
            }),
          ),
        );
        return num(result.Attributes ?? {}, 'failures') ?? 1;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 3) throw error;
      }
      // The count expired but TTL has not deleted it yet: start again from one, unless another
      // failure just did (then count on top of it).
      try {
        await this.write(() =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tables.stateTable,
              Item: {
                ...key,
                failures: N(1),
                expiresAt: values[':expiresAt'],
                [TTL]: values[':ttl'],
                ...dueEntry(`fails#${targetKey}`, now + windowMs),
              },
              ConditionExpression: 'expiresAt <= :now',
              ExpressionAttributeValues: { ':now': values[':now'] },
            }),
          ),
        );
        return 1;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  async lockSends(targetKey: string, now: number, until: number, cooldownSeconds: number): Promise<void> {
    const cooldownMs = cooldownSeconds * 1000;
    // A lock lasts at most a day, so it covers today's counter and possibly tomorrow's.
    const days = [...new Map([now, until].map((t) => windowOf(t, DAY_MS)).map((day) => [day.index, day])).values()];
    await Promise.all(
      days.map(async (day) => {
        const pk = `send#${targetKey}#${day.index}`;
        try {
          await this.write(() =>
            this.client.send(
              new UpdateItemCommand({
                TableName: this.tables.stateTable,
                Key: { [PK]: S(pk) },
                // Expiry as the day's own sends set it, so the index entry stays put.
                UpdateExpression: `SET #locked = :until, #ttl = :ttl, ${DUE_SET}`,
                ConditionExpression: 'attribute_not_exists(#locked) OR #locked < :until',
                ExpressionAttributeNames: { '#locked': 'lockedUntil', '#ttl': TTL, ...DUE_NAMES },
                ExpressionAttributeValues: {
                  ':until': N(until),
                  ':ttl': ttlOf(day.end + cooldownMs),
                  ...dueValues(pk, day.end + cooldownMs),
                },
              }),
            ),
          );
        } catch (error) {
          // Already locked until later by a failure that landed first.
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  async clearFailures(targetKey: string): Promise<void> {
    await this.write(() =>
      this.client.send(
        new DeleteItemCommand({ TableName: this.tables.stateTable, Key: { [PK]: S(`fails#${targetKey}`) } }),
      ),
    );
  }

  /**
   * Deletes items past their expiry that TTL has not removed yet, at most `limit`, oldest hours
   * first. Each delete re-checks the expiry, since an index entry can lag behind its item.
   */
  async removeExpired(now: number, limit: number, lookbackHours: number): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    let budget = limit;
    const current = windowOf(now, HOUR_MS).index;
    for (let hour = current - lookbackHours; hour <= current && budget > 0; hour++) {
      for (let shard = 0; shard < DUE_SHARDS && budget > 0; shard++) {
        let start: Item | undefined;
        do {
          const page = await this.client.send(
            new QueryCommand({
              TableName: this.tables.stateTable,
              IndexName: DUE_INDEX.name,
              KeyConditionExpression: '#dueBucket = :bucket AND #dueAt <= :now',
              ExpressionAttributeNames: DUE_NAMES,
              ExpressionAttributeValues: { ':bucket': S(dueBucket(hour, shard)), ':now': N(now) },
              Limit: Math.min(budget, 100),
              ExclusiveStartKey: start,
            }),
          );
          const keys = (page.Items ?? []).flatMap((item) => str(item, PK) ?? []);
          const deleted = await Promise.all(keys.map((pk) => this.deleteIfDue(pk, now)));
          keys.forEach((pk, index) => {
            if (!deleted[index]) return;
            const kind = pk.slice(0, pk.indexOf('#'));
            removed[kind] = (removed[kind] ?? 0) + 1;
            budget--;
          });
          start = page.LastEvaluatedKey;
        } while (start && budget > 0);
      }
    }
    return removed;
  }

  private async deleteIfDue(pk: string, now: number): Promise<boolean> {
    try {
      await this.write(() =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tables.stateTable,
            Key: { [PK]: S(pk) },
            ConditionExpression: '#dueAt <= :now',
            ExpressionAttributeNames: { '#dueAt': DUE_INDEX.sortKey },
            ExpressionAttributeValues: { ':now': N(now) },
          }),
        ),
      );
      return true;
    } catch (error) {
      // Already gone, or given a later expiry since the index was read.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * A single-item write that meets a running transaction on the same item is refused with
   * TransactionConflictException, which the SDK does not retry. Such collisions last milliseconds.
   */
  private async write<Output>(request: () => Promise<Output>): Promise<Output> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!isConflict(error) || attempt >= CONFLICT_TRIES) throw error;
        await pause(attempt);
      }
    }
  }

  /** A transaction, tried again while it is cancelled only by other transactions in flight. */
  private async transact(items: TransactWriteItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return;
      } catch (error) {
        const failedCondition =
          error instanceof TransactionCanceledException &&
          (error.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed');
        if (failedCondition || !isConflict(error) || attempt >= CONFLICT_TRIES) throw error;
        await pause(attempt);
      }
    }
  }

  /**
   * One transaction consumes the code and writes the session (and a new customer): either the login
   * happened completely or the code is still there. The code's condition makes it single-use.
   */
  private loginItems(login: LoginCompletion, session: SessionRecord, newCustomer?: Customer): TransactWriteItem[] {
    const items: TransactWriteItem[] = [
      {
        Delete: {
          TableName: this.tables.stateTable,
          Key: { [PK]: S(login.codeKey) },
          ConditionExpression: 'codeHash = :hash AND expiresAt > :now',
          ExpressionAttributeValues: { ':hash': S(login.codeHash), ':now': N(login.now) },
        },
      },
      {
        Put: {
          TableName: this.tables.stateTable,
          Item: sessionItem(session),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        },
      },
    ];
    if (newCustomer) {
      items.push({
        Put: {
          TableName: this.tables.customersTable,
          Item: customerItem(newCustomer),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CUSTOMER_PK },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
    }
    return items;
  }

  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tables.stateTable,
        Key: { [PK]: S(`session#${tokenHash}`) },
        // A revocation must be seen by the very next check.
        ConsistentRead: true,
      }),
    );
    const item = result.Item;
    if (!item) return undefined;
    return {
      tokenHash,
      customerId: str(item, 'customerId') ?? '',
      target: str(item, 'target') ?? '',
      channel: str(item, 'channel') as Channel,
      purpose: str(item, 'purpose') as Purpose,
      issuedAt: num(item, 'issuedAt') ?? 0,
      expiresAt: num(item, 'expiresAt') ?? 0,
      revokedAt: num(item, 'revokedAt'),
    };
  }

  async revokeSession(tokenHash: string, now: number): Promise<boolean> {
    try {
      await this.write(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tables.stateTable,
            Key: { [PK]: S(`session#${tokenHash}`) },
            UpdateExpression: 'SET revokedAt = :now',
            ConditionExpression: 'attribute_exists(#pk) AND expiresAt > :now AND attribute_not_exists(revokedAt)',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':now': N(now) },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/**
 * The `due` index lists an item under the UTC hour it expires in, spread over a few shards so that
 * no index partition takes every write of an hour. The attributes change only with the expiry:
 * updates that leave them as they were cost no index write.
 */
const DUE_INDEX = STATE_TABLE.dueIndex;
const DUE_SHARDS = 4;
const DUE_SET = '#dueBucket = :dueBucket, #dueAt = :dueAt';
const DUE_NAMES = { '#dueBucket': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey };

function dueBucket(hourIndex: number, shard: number): string {
  return `due#${hourIndex}#${shard}`;
}

/** The index bucket and sort value of an item expiring at `expiresAt`. */
function due(pk: string, expiresAt: number): { bucket: AttributeValue; at: AttributeValue } {
  let hash = 0;
  for (let i = 0; i < pk.length; i++) hash = (hash * 31 + pk.charCodeAt(i)) >>> 0;
  return { bucket: S(dueBucket(windowOf(expiresAt, HOUR_MS).index, hash % DUE_SHARDS)), at: N(expiresAt) };
}

/** As item attributes, for a put. */
function dueEntry(pk: string, expiresAt: number): Item {
  const { bucket, at } = due(pk, expiresAt);
  return { [DUE_INDEX.partitionKey]: bucket, [DUE_INDEX.sortKey]: at };
}

/** As expression values, for an update's DUE_SET. */
function dueValues(pk: string, expiresAt: number): Item {
  const { bucket, at } = due(pk, expiresAt);
  return { ':dueBucket': bucket, ':dueAt': at };
}

interface Counter {
  update: Update;
  /** The error for a send this counter refused, from the item as it was. */
  refusal: (old: Item) => RateLimitedError;
}

function cooldownRefusal(now: number, lastSentAt: number, cooldownMs: number): RateLimitedError {
  return new RateLimitedError(
    'A code was sent to this target moments ago.',
    secondsUntil(now, lastSentAt + cooldownMs),
  );
}

function isConflict(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict');
  }
  return error instanceof Error && error.name === 'TransactionConflictException';
}

function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
}

function sessionItem(session: SessionRecord): Item {
  return {
    [PK]: S(`session#${session.tokenHash}`),
    customerId: S(session.customerId),
    target: S(session.target),
    channel: S(session.channel),
    purpose: S(session.purpose),
    issuedAt: N(session.issuedAt),
    expiresAt: N(session.expiresAt),
    [TTL]: ttlOf(session.expiresAt),
    ...dueEntry(`session#${session.tokenHash}`, session.expiresAt),
  };
}

function customerItem(customer: Customer): Item {
  return {
    [CUSTOMER_PK]: S(customer.target),
    id: S(customer.id),
    channel: S(customer.channel),
    ...(customer.name ? { name: S(customer.name) } : {}),
    createdAt: N(customer.createdAt),
  };
}

function customerFrom(item: Item): Customer {
  return {
    id: str(item, 'id') ?? '',
    target: str(item, CUSTOMER_PK) ?? '',
    channel: str(item, 'channel') as Channel,
    name: str(item, 'name') ?? null,
    createdAt: num(item, 'createdAt') ?? 0,
  };
}
