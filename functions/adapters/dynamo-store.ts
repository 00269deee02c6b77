import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { InvalidCodeError, RateLimitedError } from '../core/errors.js';
import type {
  AttemptOutcome,
  Customer,
  LoginCompletion,
  OtpStore,
  SendReservation,
  SessionRecord,
  StoredCode,
} from '../core/ports.js';
import type { Channel, Purpose } from '../core/purposes.js';
import { DAY_MS, HOUR_MS, secondsUntil, windowOf } from '../core/windows.js';
import { CUSTOMERS_TABLE, STATE_TABLE } from '../tables.js';

type Item = Record<string, AttributeValue>;

const PK = STATE_TABLE.partitionKey;
const TTL = STATE_TABLE.timeToLiveAttribute ?? 'ttl';
const CUSTOMER_PK = CUSTOMERS_TABLE.partitionKey;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const ttlOf = (epochMs: number): AttributeValue => N(Math.ceil(epochMs / 1000));
const str = (item: Item, name: string): string | undefined => item[name]?.S;
const num = (item: Item, name: string): number | undefined =>
  item[name]?.N === undefined ? undefined : Number(item[name].N);

/** Parallel verifies of one code can collide in a transaction; a short retry lets one of them win. */
const TRANSACTION_TRIES = 4;

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

  async reserveSend(request: SendReservation): Promise<void> {
    // The per-IP counter goes first: one source spraying many targets is stopped before it touches them.
    if (request.ipKey) await this.countIpSend(request.ipKey, request);
    try {
      await this.countTargetSend(request);
    } catch (error) {
      // The send did not happen, so it must not count against the IP either.
      if (request.ipKey) await this.releaseIpSend(request.ipKey, request.now);
      throw error;
    }
  }

  /**
   * Hour count, day count and resend cooldown of one target live on one item per UTC day, so a
   * single conditional update checks and counts all three atomically.
   */
  private async countTargetSend(request: SendReservation): Promise<void> {
    const { now, perHour, perDay, cooldownSeconds } = request;
    const day = windowOf(now, DAY_MS);
    const hour = windowOf(now, HOUR_MS);
    const cooldownMs = cooldownSeconds * 1000;
    const hourAttribute = `h${hour.index - day.index * 24}`;
    const conditions = [
      '(attribute_not_exists(#day) OR #day < :perDay)',
      '(attribute_not_exists(#hour) OR #hour < :perHour)',
    ];
    if (cooldownMs > 0) conditions.push('(attribute_not_exists(#last) OR #last <= :cooldownEdge)');
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.stateTable,
          Key: { [PK]: S(`send#${request.targetKey}#${day.index}`) },
          UpdateExpression: 'ADD #day :one, #hour :one SET #last = :now, #ttl = :ttl',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: { '#day': 'day', '#hour': hourAttribute, '#last': 'lastSentAt', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':one': N(1),
            ':perDay': N(perDay),
            ':perHour': N(perHour),
            ':now': N(now),
            ':ttl': ttlOf(day.end + cooldownMs),
            ...(cooldownMs > 0 ? { ':cooldownEdge': N(now - cooldownMs) } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item ?? {};
      if ((num(old, 'day') ?? 0) >= perDay) {
        throw new RateLimitedError('Daily limit of codes for this target reached.', secondsUntil(now, day.end));
      }
      if ((num(old, hourAttribute) ?? 0) >= perHour) {
        throw new RateLimitedError('Hourly limit of codes for this target reached.', secondsUntil(now, hour.end));
      }
      const lastSentAt = num(old, 'lastSentAt') ?? now;
      throw new RateLimitedError(
        'A code was sent to this target moments ago.',
        secondsUntil(now, lastSentAt + cooldownMs),
      );
    }
    if (cooldownMs > 0 && now + cooldownMs > day.end) await this.carryCooldown(request, day.end);
  }

  /**
   * A send in the last seconds of a UTC day also stamps the next day's item, so that the cooldown
   * holds across midnight. Losing this write only shortens one cooldown, so its failure is ignored.
   */
  private async carryCooldown(request: SendReservation, dayEnd: number): Promise<void> {
    const next = windowOf(dayEnd, DAY_MS);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.stateTable,
          Key: { [PK]: S(`send#${request.targetKey}#${next.index}`) },
          UpdateExpression: 'SET #last = :now, #ttl = if_not_exists(#ttl, :ttl)',
          ConditionExpression: 'attribute_not_exists(#last) OR #last < :now',
          ExpressionAttributeNames: { '#last': 'lastSentAt', '#ttl': TTL },
          ExpressionAttributeValues: { ':now': N(request.now), ':ttl': ttlOf(next.end) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async countIpSend(ipKey: string, request: SendReservation): Promise<void> {
    const hour = windowOf(request.now, HOUR_MS);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.stateTable,
          Key: { [PK]: S(`ip#${ipKey}#${hour.index}`) },
          UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'sends', '#ttl': TTL },
          ExpressionAttributeValues: { ':one': N(1), ':limit': N(request.perIpPerHour), ':ttl': ttlOf(hour.end) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new RateLimitedError('Too many codes requested from this network.', secondsUntil(request.now, hour.end));
    }
  }

  private async releaseIpSend(ipKey: string, now: number): Promise<void> {
    const hour = windowOf(now, HOUR_MS);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tables.stateTable,
        Key: { [PK]: S(`ip#${ipKey}#${hour.index}`) },
        UpdateExpression: 'ADD #count :minusOne',
        ConditionExpression: 'attribute_exists(#count)',
        ExpressionAttributeNames: { '#count': 'sends' },
        ExpressionAttributeValues: { ':minusOne': N(-1) },
      }),
    );
  }

  async saveCode(code: StoredCode): Promise<void> {
    await this.client.send(
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
        },
      }),
    );
  }

  async discardCode(codeKey: string, codeHash: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tables.stateTable,
          Key: { [PK]: S(codeKey) },
          ConditionExpression: 'codeHash = :hash',
          ExpressionAttributeValues: { ':hash': S(codeHash) },
        }),
      );
    } catch (error) {
      // A newer code replaced this one: it is not ours to delete.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async recordAttempt(codeKey: string, now: number, maxAttempts: number): Promise<AttemptOutcome> {
    try {
      const result = await this.client.send(
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
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteItemsCommand({
            TransactItems: this.loginItems(login, session, isNew ? customer : undefined),
          }),
        );
        return { customer, isNew };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [codeReason, , customerReason] = error.CancellationReasons ?? [];
        if (codeReason?.Code === 'ConditionalCheckFailed') throw new InvalidCodeError();
        if (customerReason?.Code === 'ConditionalCheckFailed' && customerReason.Item) {
          // Another login created this customer first: the session belongs to that one.
          customer = customerFrom(customerReason.Item);
          session = { ...session, customerId: customer.id };
          isNew = false;
          continue;
        }
        const conflicted = error.CancellationReasons?.some((reason) => reason.Code === 'TransactionConflict');
        if (!conflicted || attempt >= TRANSACTION_TRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
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
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.stateTable,
          Key: { [PK]: S(`session#${tokenHash}`) },
          UpdateExpression: 'SET revokedAt = :now',
          ConditionExpression: 'attribute_exists(#pk) AND expiresAt > :now AND attribute_not_exists(revokedAt)',
          ExpressionAttributeNames: { '#pk': PK },
          ExpressionAttributeValues: { ':now': N(now) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
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
